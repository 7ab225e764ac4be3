import { chmodSync, lstatSync, mkdirSync, readdirSync, renameSync, rmdirSync } from 'node:fs';
import path from 'node:path';
import { FerryError, type ErrorCode } from '../../src/protocol/index.js';
import { homeDir, partialsDir } from '../storage/usage.js';

/**
 * What belongs to an account on disk (its home and its partial uploads), and moving it away in
 * one go: to the archive when an account is deleted, so that a later account of the same name
 * starts empty, or aside for deletion (--purge). Everything here is synchronous so that the user
 * store can run it inside the SQLite transaction that deletes the account: either both happen or
 * neither does.
 */

/** `<root>/archive`: deleted accounts' files, outside homes/ and partials/, so no account sees them. */
export function archiveDir(root: string): string {
  return path.join(root, 'archive');
}

/** The places of `name` under `root`, with the names they get inside an archive entry. */
function places(root: string, name: string): { from: string; as: string }[] {
  return [
    { from: homeDir(root, name), as: 'home' },
    { from: partialsDir(root, name), as: 'partials' },
  ];
}

function exists(file: string): boolean {
  return lstatSync(file, { throwIfNoEntry: false }) !== undefined;
}

/** True when `file` is anything but a missing path or an empty directory. */
function holdsFiles(file: string): boolean {
  const st = lstatSync(file, { throwIfNoEntry: false });
  if (st === undefined) return false;
  return !st.isDirectory() || readdirSync(file).length > 0;
}

/** The home and the partials directory of `name` that exist and are not empty. */
export function strayFiles(root: string, name: string): string[] {
  return places(root, name)
    .filter((place) => holdsFiles(place.from))
    .map((place) => place.from);
}

/** `20240501T093000Z`: ISO 8601 (basic format, UTC), no ':' so it is a plain file name everywhere. */
export function archiveStamp(at: number): string {
  return new Date(at).toISOString().replace(/\.\d+Z$/, 'Z').replace(/[-:]/g, '');
}

/** Files moved away from their places; `undo` puts them back (when what made them move failed). */
export interface MovedFiles {
  /** Where they are now (absolute), in the order home, partials (those that existed). */
  to: string[];
  /** True when what was moved holds no file at all (empty directories only at the top). */
  empty: boolean;
  undo(): void;
}

function osCode(error: unknown): string | undefined {
  return (error as NodeJS.ErrnoException | undefined)?.code;
}

function ferryCode(error: unknown): ErrorCode {
  switch (osCode(error)) {
    case 'EACCES':
    case 'EPERM':
      return 'EACCES';
    case 'ENOSPC':
    case 'EDQUOT':
      return 'ENOSPC';
    case 'EXDEV':
      return 'ENOTSUP';
    default:
      return 'EINTERNAL';
  }
}

function moveError(error: unknown, from: string, to: string): FerryError {
  const reason = osCode(error) === 'EXDEV' ? `${path.dirname(from)} and ${path.dirname(to)} are on different file systems` : (error as Error).message;
  return new FerryError(ferryCode(error), `cannot move ${from} to ${to}: ${reason}; nothing was changed`);
}

/** Creates a new directory `<parent>/<base>` (or `<base>-2`, `-3`, … when taken), mode 0700. */
function freshDir(parent: string, base: string): string {
  for (let n = 1; ; n++) {
    const dir = path.join(parent, n === 1 ? base : `${base}-${n}`);
    try {
      mkdirSync(dir, { mode: 0o700 });
      chmodSync(dir, 0o700);
      return dir;
    } catch (error) {
      if (osCode(error) !== 'EEXIST' || n >= 1000) throw error;
    }
  }
}

/**
 * Moves the home and the partials of `name` (those that exist) by rename into a new entry
 * `<root>/archive/<name>-<stamp>/{home,partials}` (archive/ and the entry mode 0700). Undefined
 * when neither exists. A failure puts back what was moved and throws FerryError (EACCES, ENOSPC,
 * ENOTSUP for another file system, else EINTERNAL) saying nothing was changed.
 */
export function moveToArchive(root: string, name: string, at: number): (MovedFiles & { entry: string }) | undefined {
  const present = places(root, name).filter((place) => exists(place.from));
  if (present.length === 0) return undefined;
  const archive = archiveDir(root);
  let entry: string;
  try {
    if (mkdirSync(archive, { recursive: true, mode: 0o700 }) !== undefined) chmodSync(archive, 0o700);
    entry = freshDir(archive, `${name}-${archiveStamp(at)}`);
  } catch (error) {
    throw new FerryError(ferryCode(error), `cannot create the archive for ${name} in ${archive}: ${(error as Error).message}; nothing was changed`);
  }
  return { ...movePlaces(present.map((place) => ({ from: place.from, to: path.join(entry, place.as) })), entry), entry };
}

/**
 * Renames the home and the partials of `name` aside, next to where they are (`.deleting-…` in
 * homes/ and partials/: a name no account can have, on the same file system), for deletion.
 * Undefined when there was nothing. Fails like moveToArchive.
 */
export function moveAside(root: string, name: string, at: number): MovedFiles | undefined {
  const present = places(root, name).filter((place) => exists(place.from));
  if (present.length === 0) return undefined;
  const moves: { from: string; to: string }[] = [];
  for (const place of present) {
    const parent = path.dirname(place.from);
    let to = path.join(parent, `.deleting-${name}-${archiveStamp(at)}`);
    for (let n = 2; exists(to); n++) to = path.join(parent, `.deleting-${name}-${archiveStamp(at)}-${n}`);
    moves.push({ from: place.from, to });
  }
  return movePlaces(moves, undefined);
}

function movePlaces(moves: { from: string; to: string }[], entry: string | undefined): MovedFiles {
  const done: { from: string; to: string }[] = [];
  const undo = () => {
    const failures: string[] = [];
    for (const move of [...done].reverse()) {
      try {
        renameSync(move.to, move.from);
      } catch (error) {
        failures.push(`${move.to} → ${move.from}: ${(error as Error).message}`);
      }
    }
    done.length = 0;
    if (entry !== undefined && failures.length === 0) rmdirSync(entry);
    if (failures.length > 0) throw new FerryError('EINTERNAL', `could not move the files back (${failures.join('; ')})`);
  };
  for (const move of moves) {
    try {
      renameSync(move.from, move.to);
      done.push(move);
    } catch (error) {
      const failure = moveError(error, move.from, move.to);
      try {
        undo();
      } catch (undoError) {
        throw new FerryError(failure.code, `${failure.message.replace(/; nothing was changed$/, '')}; and ${(undoError as Error).message}`);
      }
      throw failure;
    }
  }
  return { to: moves.map((move) => move.to), empty: !moves.some((move) => holdsFiles(move.to)), undo };
}

/**
 * Removes an archive entry that holds only empty directories (see MovedFiles.empty). False, and
 * the entry left as it is, when something is in it after all.
 */
export function dropEmptyArchive(entry: string): boolean {
  try {
    for (const child of readdirSync(entry)) rmdirSync(path.join(entry, child));
    rmdirSync(entry);
    return true;
  } catch {
    return false;
  }
}

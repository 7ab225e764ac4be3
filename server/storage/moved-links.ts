import { open, readdir, readlink, type FileHandle } from 'node:fs/promises';
import { DIR_FLAGS, fdPath } from './fd-path.js';
import { isOsError } from './os-errors.js';

/** A symbolic link in a tree whose relative target climbs above the tree's top. */
export interface ClimbingLink {
  /** Directories from the tree's top down to the link's directory. */
  dirs: string[];
  name: string;
  target: string;
}

/**
 * The links under the directory `top` (a path the caller has checked, e.g. a descriptor path)
 * whose meaning depends on where the tree sits: relative targets that climb above `top`.
 * Absolute targets and links that stay within the tree mean the same wherever it moves.
 * Directories are entered by descriptor with O_NOFOLLOW.
 */
export async function* climbingLinks(top: string): AsyncGenerator<ClimbingLink> {
  yield* walk(top, []);
}

/** A generator cannot run inside inDirectory's callback, so it opens and closes its directory itself. */
async function* walk(entry: string, dirs: string[]): AsyncGenerator<ClimbingLink> {
  let dir: FileHandle;
  try {
    dir = await open(entry, DIR_FLAGS);
  } catch (error) {
    if (isOsError(error, 'ENOENT', 'ENOTDIR', 'ELOOP')) return;
    throw error;
  }
  try {
    const base = fdPath(dir);
    for (const child of await readdir(base, { withFileTypes: true })) {
      if (child.isSymbolicLink()) {
        const target = await readlink(`${base}/${child.name}`).catch(() => null);
        if (target !== null && !target.startsWith('/') && !staysInsideLexically(dirs, target)) {
          yield { dirs, name: child.name, target };
        }
      } else if (child.isDirectory()) {
        yield* walk(`${base}/${child.name}`, [...dirs, child.name]);
      }
    }
  } finally {
    await dir.close();
  }
}

/**
 * True when the relative link text `target`, read in the directory `dirs` (components below some
 * top), never climbs above that top, taking '..' as it is written. Links inside the target are
 * not followed: this asks what the text means, for a tree about to move.
 */
export function staysInsideLexically(dirs: readonly string[], target: string): boolean {
  let depth = dirs.length;
  for (const part of target.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (--depth < 0) return false;
    } else {
      depth++;
    }
  }
  return true;
}

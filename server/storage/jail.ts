import { constants, type Stats } from 'node:fs';
import { lstat, mkdir, open, readlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { FerryError, LIMITS } from '../../src/protocol/index.js';
import { DIR_FLAGS, fdPath, fstatFd, openFd } from './fd-path.js';
import { giveToHomeOwner } from './home-owner.js';
import { isOsError, toFerryError } from './os-errors.js';
import { closeAll, Place } from './place.js';

/** How often a held home is looked for on disk (a deleted account's sessions are refused within this). */
const HOME_RECHECK_MS = 1000;

/** Linux gives up after 40 links; so do we, with EACCES (a loop is an attack or a mistake). */
const MAX_SYMLINK_HOPS = 40;

/** Quotes a path for an error message: control characters escaped, long paths shortened. */
export function displayPath(wire: string): string {
  const shown = wire.length > 200 ? `${wire.slice(0, 200)}…` : wire;
  return JSON.stringify(shown);
}

/**
 * Splits a wire path into home-relative components with chroot semantics: '/a/b' and 'a/b' are
 * the same place, '/' and '' are the home. EACCES for a NUL byte or a '..' that would climb above
 * the home at any point (even if later components come back down: a client has no business
 * naming anything above its home). ELIMIT for a component over 255 bytes or a path over 4096.
 * A backslash is an ordinary character on Linux and is kept.
 */
export function splitWirePath(wire: string): string[] {
  if (typeof wire !== 'string') throw new FerryError('EINVAL', 'path must be a string');
  if (wire.includes('\0')) throw new FerryError('EACCES', 'access denied: NUL byte in path');
  const parts: string[] = [];
  for (const component of wire.split('/')) {
    if (component === '' || component === '.') continue;
    if (component === '..') {
      if (parts.length === 0) throw new FerryError('EACCES', `access denied: path leaves the home: ${displayPath(wire)}`);
      parts.pop();
      continue;
    }
    if (Buffer.byteLength(component) > LIMITS.maxNameBytes) {
      throw new FerryError('ELIMIT', `name longer than ${LIMITS.maxNameBytes} bytes in ${displayPath(wire)}`);
    }
    parts.push(component);
  }
  if (Buffer.byteLength(wire) > LIMITS.maxPathBytes) {
    throw new FerryError('ELIMIT', `path longer than ${LIMITS.maxPathBytes} bytes`);
  }
  return parts;
}

/** True when a wire path names a directory by its spelling: 'a/' or 'a/.' (POSIX: ENOTDIR otherwise). */
function spelledAsDirectory(wire: string): boolean {
  return /\/\.?$/.test(wire) && splitWirePath(wire).length > 0;
}

/** What a walk counts and finds on its way. */
interface WalkState {
  hops: number;
  /** The final entry's lstat, when the walk looked at it (following links): null for none there. */
  entry?: Stats | null;
}

/** How a walk treats its last component. */
interface WalkOptions {
  /** Follow a symbolic link as the final component (stat, read, write a file's content). */
  follow: boolean;
  /** The final component must be a directory, and the place is that directory (name null). */
  directory: boolean;
  /** Create missing directories on the way (mkdir -p). */
  create: boolean;
}

/**
 * Resolves wire paths inside one home without ever letting the kernel follow a link: each
 * component is looked up in the descriptor of the directory before it, with O_NOFOLLOW, so a
 * directory swapped for a symlink between two calls is met as a link, never walked through.
 * Links met on the way are read and walked the same way; one that lands outside the real home
 * (an absolute target elsewhere, or '..' above the home) is refused with EACCES. Callers act on
 * the Place the walk returns: its descriptors are what was checked.
 */
export class Jail {
  private readonly homeParts: string[];
  #home: number | undefined;
  #opening: Promise<number> | undefined;
  #holders = 0;
  #checkedAt = 0;
  #gone = false;
  /** Who owned the home when last looked at: what the server creates in it goes to them. */
  #owner = { uid: 0, gid: 0 };

  /**
   * `realHome` must already be a real path (fs.realpath of the home), created by the server;
   * `identity` is its lstat then. A home with another identity later is another account's (the
   * name was deleted and given again): this jail then refuses everything, so a session of the
   * deleted account never reaches the new one's files.
   */
  constructor(
    readonly realHome: string,
    private readonly identity: { dev: number; ino: number },
  ) {
    this.homeParts = realHome.split('/').filter((part) => part !== '');
  }

  /** True while the home on disk is the one this jail was made for (and notes who owns it). */
  async isCurrent(): Promise<boolean> {
    try {
      const st = await lstat(this.realHome);
      if (!st.isDirectory() || st.dev !== this.identity.dev || st.ino !== this.identity.ino) return false;
      this.#owner = { uid: st.uid, gid: st.gid };
      return true;
    } catch {
      return false;
    }
  }

  /** The home was given to another owner (remote commands' own uid): look again at the next walk. */
  ownerChanged(): void {
    this.#checkedAt = 0;
  }

  /** One more user space walks in this jail: its home stays open until the last one lets go. */
  acquire(): void {
    this.#holders++;
  }

  /** A user space is done (its session ended). The last one closes the home's descriptor. */
  release(): void {
    this.#holders = Math.max(0, this.#holders - 1);
    if (this.#holders === 0) this.close();
  }

  /** Closes the home's descriptor now (the storage is closing, or nobody holds the jail). */
  close(): void {
    if (this.#home === undefined) return;
    closeAll([this.#home]);
    this.#home = undefined;
    this.#opening = undefined;
  }

  /**
   * The home's descriptor, opened once (and checked to be the home this jail was made for) and
   * kept while anyone holds the jail: every walk starts there, so no walk can start in a home
   * that replaced it. Whether the home is still on disk is looked at once a second; once it is
   * gone (the account deleted), this jail refuses everything.
   */
  private async openHome(): Promise<number> {
    const gone = () => new FerryError('ENOENT', 'this account\'s home is gone (the account was deleted); log in again');
    if (this.#gone) throw gone();
    if (this.#home !== undefined) {
      if (Date.now() - this.#checkedAt > HOME_RECHECK_MS) {
        this.#checkedAt = Date.now();
        if (!(await this.isCurrent())) this.#gone = true;
      }
      if (this.#gone) throw gone();
      return this.#home;
    }
    this.#opening ??= (async () => {
      let home: number;
      try {
        home = await openFd(this.realHome, DIR_FLAGS);
      } catch (error) {
        if (isOsError(error, 'ENOENT', 'ENOTDIR', 'ELOOP')) throw gone();
        throw error;
      }
      const st = await fstatFd(home).catch((error: unknown) => {
        closeAll([home]);
        throw error;
      });
      if (st.dev !== this.identity.dev || st.ino !== this.identity.ino) {
        closeAll([home]);
        this.#gone = true;
        throw gone();
      }
      this.#home = home;
      this.#owner = { uid: st.uid, gid: st.gid };
      this.#checkedAt = Date.now();
      return home;
    })();
    const opening = this.#opening;
    opening.catch(() => {
      if (this.#opening === opening) this.#opening = undefined;
    });
    return opening;
  }

  /**
   * The place `wire` names. With `follow`, a symlink as the final component is followed too;
   * without, the final component is the entry itself (lstat, remove, rename: a link is acted on,
   * never its target). The entry need not exist (that is where it would be created); its
   * directory must (ENOENT, ENOTDIR otherwise).
   */
  locate(wire: string, options: { follow: boolean }): Promise<Place> {
    return this.walkWire(wire, { follow: options.follow, directory: false, create: false });
  }

  /** The directory `wire` names, links followed; with `create`, missing ones are made (mkdir -p). */
  openDirectory(wire: string, options: { create?: boolean } = {}): Promise<Place> {
    return this.walkWire(wire, { follow: true, directory: true, create: options.create ?? false });
  }

  /**
   * Opens the file `wire` names, links followed, with `flags` (O_NOFOLLOW is added). A link
   * at the end (or one swapped in between the walk and the open) fails the open with ELOOP; the
   * walk is then done again, following it, a few times before giving up with EACCES.
   */
  async openFile(wire: string, flags: number): Promise<{ place: Place; file: FileHandle }> {
    for (let attempt = 1; ; attempt++) {
      // Most files are no link: open the entry itself first, and walk through a link only when
      // O_NOFOLLOW says there is one (ELOOP). That saves an lstat per open.
      const place = await this.locate(wire, { follow: attempt > 1 });
      try {
        if (place.name === null) throw new FerryError('EISDIR', `is a directory: ${displayPath(place.wire)}`);
        return { place, file: await open(place.path, flags | constants.O_NOFOLLOW) };
      } catch (error) {
        await place.close();
        if (!isOsError(error, 'ELOOP') || attempt === 4) throw toFerryError(error, place.wire);
      }
    }
  }

  /**
   * True when the path text `target` (a link's text, a command's argument), read in the last
   * directory of `place`, resolves inside the home the way the kernel would resolve it: '..'
   * physically, links followed. What does not exist counts as inside (nothing can be reached
   * through it).
   */
  async reachesOnlyInside(place: Place, target: string): Promise<boolean> {
    if (target.includes('\0')) return false;
    const opened: number[] = [];
    try {
      await this.walk([...place.chain], [...place.names], target.split('/'), path.isAbsolute(target), { follow: true, directory: false, create: false }, opened, target, { hops: 0 }, true);
      return true;
    } catch (error) {
      return !(error instanceof FerryError && error.code === 'EACCES');
    } finally {
      closeAll(opened);
    }
  }

  private async walkWire(wire: string, options: WalkOptions): Promise<Place> {
    const parts = splitWirePath(wire);
    const normalised = `/${parts.join('/')}`;
    const directory = options.directory || spelledAsDirectory(wire);
    const opened: number[] = [];
    try {
      // The home's descriptor belongs to the jail, not to this walk: it is not in `opened`.
      const stack = [await this.openHome()];
      const names: string[] = [];
      const state: WalkState = { hops: 0 };
      const name = await this.walk(stack, names, parts, false, { ...options, directory }, opened, normalised, state, false);
      return new Place(normalised, stack, names, name, opened, this.realHome, this.#owner, state.entry);
    } catch (error) {
      closeAll(opened);
      throw toFerryError(error, normalised);
    }
  }

  /**
   * Walks `components` from the directories `stack` (home first; `names` alongside), pushing
   * each directory reached. Returns the final entry's name in the last directory, or null when
   * the walk ends on a directory that is the place itself. `probing` walks a link's text for
   * reachesOnlyInside: what is missing is then no error.
   */
  private async walk(
    stack: number[],
    names: string[],
    components: string[],
    absolute: boolean,
    options: WalkOptions,
    opened: number[],
    wire: string,
    state: WalkState,
    probing: boolean,
  ): Promise<string | null> {
    const outside = () => new FerryError('EACCES', `access denied: ${displayPath(wire)} goes through a symbolic link that points outside the home`);
    const queue = absolute ? this.belowHome(components, outside) : components.filter((part) => part !== '' && part !== '.');
    if (absolute) {
      stack.length = 1;
      names.length = 0;
    }
    while (queue.length > 0) {
      const component = queue.shift()!;
      if (component === '' || component === '.') continue;
      if (component === '..') {
        // Only link targets (and exec arguments) carry '..' here; wire paths are normalised first.
        if (stack.length === 1) throw outside();
        stack.pop();
        names.pop();
        continue;
      }
      const last = queue.length === 0;
      const top = fdPath(stack[stack.length - 1]!);
      const entry = `${top}/${component}`;
      if (last && !options.directory) {
        if (!options.follow) return component;
        let st;
        try {
          st = await lstat(entry);
        } catch (error) {
          if (!isOsError(error, 'ENOENT')) throw error;
          state.entry = null;
          return component;
        }
        if (!st.isSymbolicLink()) {
          state.entry = st;
          return component;
        }
        if (!(await this.expandLink(entry, queue, stack, names, outside, state, wire))) queue.unshift(component);
        continue;
      }
      let handle: number;
      try {
        handle = await openFd(entry, DIR_FLAGS);
      } catch (error) {
        if (isOsError(error, 'ENOENT')) {
          if (probing) return null;
          if (options.create) {
            // Someone removing what we make, over and over, is not worth waiting out.
            if (++state.hops > MAX_SYMLINK_HOPS) throw new FerryError('EBUSY', `${displayPath(wire)} keeps changing; try again`);
            const made = await mkdir(entry, 0o755).then(
              () => true,
              (failure: unknown) => {
                if (!isOsError(failure, 'EEXIST')) throw failure;
                return false;
              },
            );
            if (made) await giveToHomeOwner(this.#owner, entry);
            queue.unshift(component);
            continue;
          }
          throw error;
        }
        if (!isOsError(error, 'ENOTDIR', 'ELOOP')) throw error;
        if (!(await lstat(entry)).isSymbolicLink()) {
          if (probing) return null;
          throw error;
        }
        if (!(await this.expandLink(entry, queue, stack, names, outside, state, wire))) queue.unshift(component);
        continue;
      }
      opened.push(handle);
      stack.push(handle);
      names.push(component);
    }
    return null;
  }

  /**
   * Puts a link's target in front of what is left to walk; an absolute one restarts at the home.
   * False when `entry` turned out not to be a link any more.
   */
  private async expandLink(
    entry: string,
    queue: string[],
    stack: number[],
    names: string[],
    outside: () => FerryError,
    state: { hops: number },
    wire: string,
  ): Promise<boolean> {
    if (++state.hops > MAX_SYMLINK_HOPS) {
      throw new FerryError('EACCES', `access denied: too many symbolic links in ${displayPath(wire)}`);
    }
    let target: string;
    try {
      target = await readlink(entry);
    } catch (error) {
      // No longer a link (swapped since we looked): the caller looks at the component again.
      if (isOsError(error, 'EINVAL')) return false;
      throw error;
    }
    const parts = target.split('/');
    if (path.isAbsolute(target)) {
      queue.unshift(...this.belowHome(parts, outside));
      stack.length = 1;
      names.length = 0;
    } else {
      queue.unshift(...parts.filter((part) => part !== '' && part !== '.'));
    }
    return true;
  }

  /** The components of an absolute link target below the real home; EACCES when it is not below it. */
  private belowHome(parts: string[], outside: () => FerryError): string[] {
    const absolute = parts.filter((part) => part !== '' && part !== '.');
    // '..' in the leading part could walk the prefix anywhere: resolve it lexically first (the
    // prefix is the server's own path, with no links in it).
    const resolved = path.posix.normalize(`/${absolute.join('/')}`).split('/').filter((part) => part !== '');
    for (let i = 0; i < this.homeParts.length; i++) {
      if (resolved[i] !== this.homeParts[i]) throw outside();
    }
    return resolved.slice(this.homeParts.length);
  }
}

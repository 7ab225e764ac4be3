import { closeSync, type Stats } from 'node:fs';
import { lstat } from 'node:fs/promises';
import path from 'node:path';
import { fdPath, fstatFd } from './fd-path.js';

/** Closes descriptors of directories we walked: O_PATH descriptors, whose close never waits on a disk. */
export function closeAll(fds: number[]): void {
  for (const fd of fds) {
    try {
      closeSync(fd);
    } catch {
      // EBADF cannot be: each list is emptied once closed, so no descriptor is closed twice
      // (a second close could hit a number the process has given to another file since).
    }
  }
  fds.length = 0;
}

/**
 * A place in a home, held by descriptors: every directory from the home down to the one holding
 * the entry is open (O_PATH), and the entry is named inside the last of them. Nothing anyone
 * renames afterwards changes what these descriptors are, so a place checked once is the place
 * used. Always close() it.
 */
export class Place {
  /** @internal */
  constructor(
    /** The normalised wire path: '/' for the home, else '/a/b'. Safe to show to the user. */
    readonly wire: string,
    /** The home and the directories below it down to the entry's directory, in order. */
    private readonly stack: number[],
    /** Names of `stack` below the home, as they were when walked. */
    readonly names: string[],
    /** The entry in the last directory; null when the place is that directory itself. */
    readonly name: string | null,
    private readonly opened: number[],
    private readonly realHome: string,
    /** Who owned the home when the walk began (see giveToHomeOwner). */
    readonly homeOwner: { uid: number; gid: number },
    /**
     * The entry's lstat as the walk saw it, when the walk looked (a followed final component):
     * null when nothing is there, undefined when the walk did not look.
     */
    private readonly seen?: Stats | null,
  ) {}

  /** lstat of the entry, or null when nothing is there; the walk's own look when it had one. */
  async entryStat(): Promise<Stats | null> {
    if (this.seen !== undefined && this.name !== null) return this.seen;
    try {
      return await this.lstat();
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw error;
    }
  }

  /** The directory holding the entry (or the directory itself, when `name` is null). */
  get dir(): number {
    return this.stack[this.stack.length - 1]!;
  }

  /** The directory as a descriptor path. */
  get dirPath(): string {
    return fdPath(this.dir);
  }

  /** The entry as a descriptor path: for calls that take a path (lstat, rename, unlink, open). */
  get path(): string {
    return this.name === null ? this.dirPath : `${this.dirPath}/${this.name}`;
  }

  /** lstat of the entry; for a place that is a directory itself, fstat of its descriptor. */
  lstat(): Promise<Stats> {
    return this.name === null ? fstatFd(this.dir) : lstat(this.path);
  }

  /** True for the home itself. */
  get isHome(): boolean {
    return this.name === null && this.stack.length === 1;
  }

  /** Home-relative real location, '/'-separated, '' for the home: a stable key, never for access. */
  get realRel(): string {
    return (this.name === null ? this.names : [...this.names, this.name]).join('/');
  }

  /** The absolute location of the entry's directory when walked: for fsync keys and logs, never for access. */
  get realDir(): string {
    return path.join(this.realHome, ...this.names);
  }

  /** @internal The open directories, home first: link targets from here are resolved against them. */
  get chain(): readonly number[] {
    return this.stack;
  }

  async close(): Promise<void> {
    closeAll(this.opened);
  }
}

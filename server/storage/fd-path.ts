import { constants, fstat, open, type Stats } from 'node:fs';
import { isOsError } from './os-errors.js';
import { open as openHandle, type FileHandle } from 'node:fs/promises';
import { promisify } from 'node:util';

/**
 * Linux's O_PATH (not in Node's constants): a descriptor that names a file without opening its
 * content, so it can be taken of anything (a FIFO, a device, a directory we may not read) with no
 * side effect, and used as the directory of later lookups.
 */
export const O_PATH = 0o10000000;

/** A directory to walk through: never a link, whatever was swapped in since we looked. */
export const DIR_FLAGS = O_PATH | constants.O_DIRECTORY | constants.O_NOFOLLOW;

/**
 * The name of an open descriptor as a path. Lookups below it start at that very directory (the
 * kernel's magic link), which is how Node, with no openat(), walks relative to a descriptor.
 */
export function fdPath(handle: FileHandle | number): string {
  return `/proc/self/fd/${typeof handle === 'number' ? handle : handle.fd}`;
}

/**
 * open(2) giving a bare descriptor. The jail holds many short-lived directory descriptors; a
 * FileHandle would cost a thread-pool round trip to close each, a bare one closes at once.
 */
export const openFd: (path: string, flags: number) => Promise<number> = promisify(open) as never;

export const fstatFd: (fd: number) => Promise<Stats> = promisify(fstat) as never;

/**
 * Runs `task` on the directory at `entry` (a descriptor path, or a path the server owns) opened
 * with DIR_FLAGS, and closes it after. Undefined, without running `task`, when there is no
 * directory there any more (gone, or replaced by a file or a link since it was listed): a tree
 * walk then simply skips it.
 */
export async function inDirectory<T>(entry: string, task: (dir: FileHandle) => Promise<T>): Promise<T | undefined> {
  let dir: FileHandle;
  try {
    dir = await openHandle(entry, DIR_FLAGS);
  } catch (error) {
    if (isOsError(error, 'ENOENT', 'ENOTDIR', 'ELOOP')) return undefined;
    throw error;
  }
  try {
    return await task(dir);
  } finally {
    await dir.close();
  }
}

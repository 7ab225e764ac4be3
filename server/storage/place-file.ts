import type { Stats } from 'node:fs';
import { link, lstat, rename, unlink } from 'node:fs/promises';
import path from 'node:path';
import { FerryError } from '../../src/protocol/index.js';
import { syncDirectory } from '../../src/fs/directory-sync.js';
import { displayPath, type Jail } from './jail.js';
import { isOsError } from './os-errors.js';

/**
 * Puts a finished file (`from`, outside the home, already fsync'd) at the wire path `wire` in one
 * step, so the destination never holds a half file. With `overwrite` it replaces a file there;
 * without, link() fails with EEXIST if one appeared meanwhile: no-clobber without a race.
 * The path is resolved through the jail now, not when the upload began: the tree may have
 * changed since. Returns the bytes of a regular file that was replaced (freed from the quota).
 */
export async function placeFile(jail: Jail, wire: string, from: string, overwrite: boolean): Promise<number> {
  const target = await jail.resolve(wire, { follow: true });
  if (target.parts.length === 0) throw new FerryError('EISDIR', 'cannot upload onto the home');
  const parent = await lstat(path.dirname(target.real));
  if (!parent.isDirectory()) throw new FerryError('ENOTDIR', `not a directory: ${displayPath(path.posix.dirname(target.wire))}`);
  let existing: Stats | null = null;
  try {
    existing = await lstat(target.real);
  } catch (error) {
    if (!isOsError(error, 'ENOENT')) throw error;
  }
  if (existing?.isDirectory()) throw new FerryError('EISDIR', `is a directory: ${displayPath(target.wire)}`);
  let freed = 0;
  if (overwrite) {
    if (existing?.isFile() && existing.nlink === 1) freed = existing.size;
    await rename(from, target.real);
  } else {
    if (existing !== null) throw new FerryError('EEXIST', `file already exists: ${displayPath(target.wire)}`);
    await link(from, target.real);
    await unlink(from);
  }
  await syncDirectory(path.dirname(target.real));
  return freed;
}

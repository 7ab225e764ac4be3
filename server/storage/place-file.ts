import { link, rename, unlink } from 'node:fs/promises';
import { FerryError } from '../../src/protocol/index.js';
import { syncDirectory } from '../../src/fs/directory-sync.js';
import { giveToHomeOwner } from './home-owner.js';
import { displayPath, type Jail } from './jail.js';

/**
 * Puts a finished file (`from`, outside the home, already fsync'd) at the wire path `wire` in one
 * step, so the destination never holds a half file. With `overwrite` it replaces a file there;
 * without, link() fails with EEXIST if one appeared meanwhile: no-clobber without a race.
 * The path is resolved through the jail now, not when the upload began: the tree may have
 * changed since; and the file lands in the directory descriptor the jail checked, so nothing
 * swapped in after the check can send it elsewhere. Returns the bytes of a regular file that
 * was replaced (freed from the quota).
 */
export async function placeFile(jail: Jail, wire: string, from: string, overwrite: boolean): Promise<number> {
  const target = await jail.locate(wire, { follow: true });
  try {
    if (target.name === null) {
      throw new FerryError('EISDIR', target.isHome ? 'cannot upload onto the home' : `is a directory: ${displayPath(target.wire)}`);
    }
    const existing = await target.entryStat();
    if (existing?.isDirectory()) throw new FerryError('EISDIR', `is a directory: ${displayPath(target.wire)}`);
    await giveToHomeOwner(target.homeOwner, from);
    let freed = 0;
    if (overwrite) {
      if (existing?.isFile() && existing.nlink === 1) freed = existing.size;
      await rename(from, target.path);
    } else {
      if (existing !== null) throw new FerryError('EEXIST', `file already exists: ${displayPath(target.wire)}`);
      await link(from, target.path);
      await unlink(from);
    }
    // Keyed by the real location so that syncs of one directory are shared (see syncDirectory).
    await syncDirectory(target.realDir);
    return freed;
  } finally {
    await target.close();
  }
}

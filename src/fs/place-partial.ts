import { link, lstat, rename, unlink } from 'node:fs/promises';
import { FerryError } from '../protocol/index.js';
import { fromNodeError } from './node-errors.js';

/**
 * Moves a complete partial onto its destination: rename with `overwrite`, else link() (which
 * refuses an existing name atomically, unlike rename, which would replace it) and unlink. File
 * systems without hard links get a check, then rename: a small window, but no other way. EEXIST
 * says where the complete file was kept.
 */
export async function placePartial(part: string, destination: string, overwrite: boolean): Promise<void> {
  if (overwrite) {
    await rename(part, destination).catch((error: unknown) => {
      throw fromNodeError(error, destination);
    });
    return;
  }
  const appeared = () => new FerryError('EEXIST', `${destination}: appeared during the transfer (the complete file is kept in ${part})`);
  try {
    await link(part, destination);
    await unlink(part);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw appeared();
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EXDEV') throw fromNodeError(error, destination);
    if (await lstat(destination).then(() => true, () => false)) throw appeared();
    await rename(part, destination);
  }
}

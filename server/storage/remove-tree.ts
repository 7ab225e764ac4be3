import type { Stats } from 'node:fs';
import { lstat, open, readdir, rmdir, unlink, type FileHandle } from 'node:fs/promises';
import { DIR_FLAGS, fdPath } from './fd-path.js';
import { isOsError } from './os-errors.js';

/**
 * Removes the directory `name` in the open directory `parent` and everything below it, entering
 * each directory by descriptor with O_NOFOLLOW: a directory swapped for a link half way is
 * unlinked as a link, never walked through (fs.rm walks by path strings, which a swap can
 * redirect outside the home). Returns the bytes of regular files with no other link that went,
 * for the quota. Stops at the first error; what was removed before it stays removed.
 */
export async function removeTree(parent: FileHandle | number, name: string): Promise<number> {
  const dir = await open(`${fdPath(parent)}/${name}`, DIR_FLAGS);
  let freed = 0;
  try {
    const base = fdPath(dir);
    for (const entry of await readdir(base)) {
      const st = await lstatOrNull(`${base}/${entry}`);
      if (st === null) continue;
      if (st.isDirectory()) {
        freed += await removeTree(dir, entry).catch((error: unknown) => {
          // Swapped for something else since the lstat: remove that instead.
          if (!isOsError(error, 'ENOTDIR', 'ELOOP')) throw error;
          return unlinkEntry(`${base}/${entry}`);
        });
      } else {
        await unlink(`${base}/${entry}`);
        if (st.isFile() && st.nlink === 1) freed += st.size;
      }
    }
  } finally {
    await dir.close();
  }
  await rmdir(`${fdPath(parent)}/${name}`);
  return freed;
}

async function unlinkEntry(entry: string): Promise<number> {
  await unlink(entry);
  return 0;
}

async function lstatOrNull(entry: string): Promise<Stats | null> {
  try {
    return await lstat(entry);
  } catch (error) {
    if (isOsError(error, 'ENOENT')) return null;
    throw error;
  }
}

import { randomFile as writeRandomFile, sha256File } from './files.js';
import { mkdir, readdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';

export { sha256File };

/** Writes `size` random bytes to `path` (parents created). */
export async function randomFile(path: string, size: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeRandomFile(path, size);
}

/**
 * Builds a tree under `root` from relative paths: a path ending in '/' is an (empty) directory,
 * anything else a file of the given size of random bytes.
 */
export async function makeTree(root: string, spec: Record<string, number | null>): Promise<void> {
  for (const [rel, size] of Object.entries(spec)) {
    const full = join(root, rel);
    if (rel.endsWith('/') || size === null) await mkdir(full, { recursive: true });
    else await randomFile(full, size);
  }
}

export interface TreeListing {
  /** Relative file path ('/'-separated) → SHA-256. */
  files: Map<string, string>;
  /** Relative directory paths. */
  dirs: Set<string>;
}

/**
 * Every regular file (with its SHA-256) and directory under `root`. Names matching `ignore`
 * (default: ferry's partial files) are left out.
 */
export async function hashTree(root: string, ignore: RegExp = /\.ferry-(part|copy)(\.json)?$/): Promise<TreeListing> {
  const files = new Map<string, string>();
  const dirs = new Set<string>();
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      const full = join(dir, entry.name);
      const rel = relative(root, full).split(sep).join('/');
      if (ignore.test(entry.name)) continue;
      if (entry.isDirectory()) {
        dirs.add(rel);
        await walk(full);
      } else if (entry.isFile()) {
        files.set(rel, await sha256File(full));
      }
    }
  };
  await walk(root);
  return { files, dirs };
}

/** Writes text to a file, creating parents. */
export async function writeText(path: string, text: string): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  await writeFile(path, text);
}

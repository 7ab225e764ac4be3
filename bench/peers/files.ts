import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, copyFile, mkdir, readdir, stat } from 'node:fs/promises';
import { join, relative } from 'node:path';

/** SHA-256 (hex) of a file, read as a stream. */
export async function sha256File(path: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(path, { highWaterMark: 1024 * 1024 })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Throws unless `path` is a file of `size` bytes whose SHA-256 is `sha256`; `tool` names the culprit. */
export async function verifyFile(tool: string, path: string, size: number, sha256: string): Promise<void> {
  const info = await stat(path).catch(() => undefined);
  if (!info?.isFile()) throw new Error(`${tool}: no file at ${path} after the transfer`);
  if (info.size !== size) throw new Error(`${tool}: ${path} has ${info.size} bytes, expected ${size}`);
  const actual = await sha256File(path);
  if (actual !== sha256) throw new Error(`${tool}: ${path} has SHA-256 ${actual}, expected ${sha256}`);
}

/** Every regular file under `root` (recursively), as paths relative to it, sorted. */
export async function listFiles(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(root, join(entry.parentPath, entry.name)))
    .sort();
}

/**
 * Throws unless the tree at `target` has the same files as `source`, with `files` files and
 * `files × fileSize` bytes in all, and the first, middle and last files (sorted by path) hash
 * the same as their sources.
 */
export async function verifyTree(tool: string, target: string, source: string, files: number, fileSize: number): Promise<void> {
  const found = await listFiles(target).catch(() => undefined);
  if (!found) throw new Error(`${tool}: no directory at ${target} after the transfer`);
  if (found.length !== files) throw new Error(`${tool}: ${target} holds ${found.length} files, expected ${files}`);
  let bytes = 0;
  for (const file of found) bytes += (await stat(join(target, file))).size;
  if (bytes !== files * fileSize) throw new Error(`${tool}: ${target} holds ${bytes} bytes, expected ${files * fileSize}`);
  const samples = [...new Set([found[0]!, found[Math.floor(found.length / 2)]!, found[found.length - 1]!])];
  for (const file of samples) {
    const [want, got] = await Promise.all([sha256File(join(source, file)).catch(() => `missing in the source (${join(source, file)})`), sha256File(join(target, file))]);
    if (want !== got) throw new Error(`${tool}: ${join(target, file)} has SHA-256 ${got}, the source ${want}`);
  }
}

/** Copies the tree at `source` to `target`, every directory 0755 and file 0644 so an anonymous FTP session may read them. */
export async function copyTree(source: string, target: string): Promise<void> {
  await mkdir(target, { recursive: true });
  await chmod(target, 0o755);
  for (const entry of await readdir(source, { withFileTypes: true })) {
    const from = join(source, entry.name);
    const to = join(target, entry.name);
    if (entry.isDirectory()) await copyTree(from, to);
    else if (entry.isFile()) {
      await copyFile(from, to);
      await chmod(to, 0o644);
    }
  }
}

/**
 * Reads every byte of a file, or of every file of a tree, and drops them: this leaves them in the
 * page cache, as the harness does with the sources, so every download starts from a warm cache.
 */
export async function readThrough(path: string): Promise<void> {
  const info = await stat(path);
  const files = info.isDirectory() ? (await listFiles(path)).map((file) => join(path, file)) : [path];
  for (const file of files) {
    for await (const chunk of createReadStream(file, { highWaterMark: 1024 * 1024 })) void chunk;
  }
}

import { createHash, type Hash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { FerryError } from '../protocol/index.js';
import { toFerryError } from './errors.js';

/*
 * local → local copy with the same guarantees as a transfer: the bytes go to a partial next to
 * the destination (`.name.ferry-copy` + a `.json` sidecar naming the source), which is renamed
 * into place when complete; an interrupted copy continues from the partial after its prefix has
 * been checked against the source.
 */

const CHUNK = 1024 * 1024;

interface Sidecar {
  source: string;
  size: number;
  mtime: number;
}

export interface LocalCopyOptions {
  signal?: AbortSignal;
  onProgress?: (progress: { done: number; total: number }) => void;
  /** Replace an existing destination. */
  overwrite?: boolean;
  /** Take an existing shorter destination as the partial, if it is a prefix of the source. */
  adopt?: boolean;
  /** Drop any partial and start at 0. */
  restart?: boolean;
}

export interface LocalCopyResult {
  size: number;
  sha256: string;
  resumedFrom: number;
}

export function localPartialPath(destination: string): string {
  return path.join(path.dirname(destination), `.${path.basename(destination)}.ferry-copy`);
}

/**
 * Copies the file `source` to `destination`. EEXIST when the destination exists and neither
 * `overwrite` nor `adopt` is set; ECHANGED when the source changes during the copy; ECANCELED
 * when `signal` aborts (the partial is kept for the next attempt).
 */
export async function copyLocalFile(source: string, destination: string, options: LocalCopyOptions = {}): Promise<LocalCopyResult> {
  try {
    return await copy(source, destination, options);
  } catch (error) {
    throw error instanceof FerryError ? error : fromOs(error, destination);
  }
}

async function copy(source: string, destination: string, options: LocalCopyOptions): Promise<LocalCopyResult> {
  const { signal } = options;
  const partial = localPartialPath(destination);
  const sidecarPath = `${partial}.json`;
  const input = await fsp.open(source, 'r').catch((error: unknown) => {
    throw fromOs(error, source);
  });
  try {
    const info = await input.stat();
    if (!info.isFile()) throw new FerryError('EISDIR', `not a regular file: ${source}`);
    const identity: Sidecar = { source: path.resolve(source), size: info.size, mtime: Math.trunc(info.mtimeMs) };
    const existing = await fsp.stat(destination).catch(() => undefined);
    if (existing && !options.overwrite && !options.adopt) throw new FerryError('EEXIST', `already exists: ${destination}`);
    if (existing?.isDirectory()) throw new FerryError('EISDIR', `a directory is in the way: ${destination}`);

    if (options.restart) await discard(partial);
    else if (!(await sidecarMatches(sidecarPath, identity))) await discard(partial);
    if (options.adopt && existing && existing.size < info.size && !(await exists(partial))) {
      // Adopting moves the shorter destination to the partial; the prefix check below decides
      // whether its bytes are kept.
      await fsp.rename(destination, partial);
    }
    await fsp.writeFile(sidecarPath, JSON.stringify(identity));

    const output = await fsp.open(partial, 'a+').catch((error: unknown) => {
      throw fromOs(error, partial);
    });
    try {
      const hash = createHash('sha256');
      const kept = Math.min((await output.stat()).size, info.size);
      const resumedFrom = kept > 0 && (await samePrefix(input, output, kept, hash, signal)) ? kept : 0;
      if (resumedFrom === 0) await output.truncate(0);
      else await output.truncate(resumedFrom);
      options.onProgress?.({ done: resumedFrom, total: info.size });

      const buffer = Buffer.allocUnsafe(CHUNK);
      let offset = resumedFrom;
      while (offset < info.size) {
        if (signal?.aborted) throw new FerryError('ECANCELED', 'copy canceled');
        const { bytesRead } = await input.read(buffer, 0, Math.min(CHUNK, info.size - offset), offset);
        if (bytesRead === 0) throw new FerryError('ECHANGED', `source shrank while copying: ${source}`);
        const chunk = buffer.subarray(0, bytesRead);
        await writeAll(output, chunk, offset);
        hash.update(chunk);
        offset += bytesRead;
        options.onProgress?.({ done: offset, total: info.size });
      }
      await output.sync();
      const after = await input.stat();
      if (after.size !== info.size || after.mtimeMs !== info.mtimeMs) throw new FerryError('ECHANGED', `source changed while copying: ${source}`);
      await output.close().catch(() => undefined);
      await fsp.utimes(partial, info.atimeMs / 1000, info.mtimeMs / 1000);
      if (!options.overwrite && (await fsp.stat(destination).catch(() => undefined))) {
        throw new FerryError('EEXIST', `already exists: ${destination}`);
      }
      await fsp.rename(partial, destination);
      await fsp.rm(sidecarPath, { force: true });
      return { size: info.size, sha256: hash.digest('hex'), resumedFrom };
    } finally {
      await output.close().catch(() => undefined);
    }
  } finally {
    await input.close();
  }
}

/** Compares [0, length) of both files, feeding the source bytes to `hash` as it goes. */
async function samePrefix(a: fsp.FileHandle, b: fsp.FileHandle, length: number, hash: Hash, signal?: AbortSignal): Promise<boolean> {
  const left = Buffer.allocUnsafe(CHUNK);
  const right = Buffer.allocUnsafe(CHUNK);
  for (let offset = 0; offset < length; ) {
    if (signal?.aborted) throw new FerryError('ECANCELED', 'copy canceled');
    const n = Math.min(CHUNK, length - offset);
    const [ra, rb] = await Promise.all([a.read(left, 0, n, offset), b.read(right, 0, n, offset)]);
    if (ra.bytesRead !== n || rb.bytesRead !== n || !left.subarray(0, n).equals(right.subarray(0, n))) return false;
    hash.update(left.subarray(0, n));
    offset += n;
  }
  return true;
}

async function writeAll(handle: fsp.FileHandle, data: Buffer, position: number): Promise<void> {
  for (let written = 0; written < data.length; ) {
    const { bytesWritten } = await handle.write(data, written, data.length - written, position + written);
    written += bytesWritten;
  }
}

async function sidecarMatches(file: string, identity: Sidecar): Promise<boolean> {
  try {
    const known = JSON.parse(await fsp.readFile(file, 'utf8')) as Sidecar;
    return known.source === identity.source && known.size === identity.size && known.mtime === identity.mtime;
  } catch {
    return false;
  }
}

async function exists(file: string): Promise<boolean> {
  return (await fsp.stat(file).catch(() => undefined)) !== undefined;
}

async function discard(partial: string): Promise<void> {
  await fsp.rm(partial, { force: true });
  await fsp.rm(`${partial}.json`, { force: true });
}

function fromOs(error: unknown, file: string): FerryError {
  const converted = toFerryError(error);
  return converted.message.includes(file) || error instanceof FerryError ? converted : new FerryError(converted.code, `${converted.message} (${file})`);
}

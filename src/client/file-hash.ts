import { createHash, type Hash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { DirectReader } from '../fs/direct-reader.js';
import { FerryError, LIMITS } from '../protocol/index.js';
import { canceled } from './connection.js';

/**
 * SHA-256 state after the first `length` bytes of an open file, not yet digested, so the caller
 * can go on hashing from there (`hash.copy().digest('hex')` gives the prefix's hash). Throws
 * ECHANGED when the file is shorter than `length`, ECANCELED when `signal` aborts.
 */
export async function hashFilePrefix(handle: FileHandle, length: number, signal?: AbortSignal): Promise<Hash> {
  const hash = createHash('sha256');
  const buffer = Buffer.allocUnsafe(Math.min(LIMITS.chunkSize * 4, Math.max(length, 1)));
  let position = 0;
  while (position < length) {
    if (signal?.aborted) throw canceled(signal);
    const want = Math.min(buffer.length, length - position);
    const { bytesRead } = await handle.read(buffer, 0, want, position);
    if (bytesRead === 0) throw new FerryError('ECHANGED', `file is shorter than ${length} bytes now`);
    hash.update(buffer.subarray(0, bytesRead));
    position += bytesRead;
  }
  return hash;
}

/**
 * Fills `buffer[offset, offset + length)` from file position `position`, looping over short
 * reads. Throws ECHANGED when the file ends first (it shrank under us).
 */
export async function readFully(source: FileHandle | DirectReader, buffer: Buffer, offset: number, length: number, position: number): Promise<void> {
  let filled = 0;
  while (filled < length) {
    const at = position + filled;
    const bytesRead =
      source instanceof DirectReader ? await source.read(buffer, offset + filled, length - filled, at) : (await source.read(buffer, offset + filled, length - filled, at)).bytesRead;
    if (bytesRead === 0) throw new FerryError('ECHANGED', `file ended at ${position + filled} bytes, expected at least ${position + length}`);
    filled += bytesRead;
  }
}

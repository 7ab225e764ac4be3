import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { SLOT_BYTES, borrowAligned, returnAligned } from './aligned-buffers.js';

const BLOCK = 4096;
/** Reads shorter than this use the page cache: a direct read always waits for the device. */
const DIRECT_MIN_BYTES = 256 * 1024;

/**
 * Positional reads of one file, the big ones past the page cache. Bringing a file that is not
 * cached into the page cache costs more CPU here than hashing it (the same page allocation that
 * makes buffered writes slow, see AppendWriter); a direct read into aligned memory and one copy
 * out costs a fraction, and a cached file is read from the device at several times the network's
 * speed. Dirty cached pages of the range are written back by the kernel before a direct read, so
 * the bytes are the same either way. Small reads, and every read where O_DIRECT is refused, go
 * through the handle.
 */
export class DirectReader {
  readonly #handle: FileHandle;
  #direct: FileHandle | undefined;

  private constructor(handle: FileHandle, direct: FileHandle | undefined) {
    this.#handle = handle;
    this.#direct = direct;
  }

  /** A reader over `handle` (which stays the caller's to close, after this reader's close()). */
  static async attach(handle: FileHandle): Promise<DirectReader> {
    let direct: FileHandle | undefined;
    if (constants.O_DIRECT !== undefined && process.platform === 'linux') {
      direct = await open(`/proc/self/fd/${handle.fd}`, constants.O_RDONLY | constants.O_DIRECT).catch(() => undefined);
    }
    return new DirectReader(handle, direct);
  }

  /** Like FileHandle.read: up to `length` bytes at `position` into `buffer` at `offset`; 0 at the end. */
  async read(buffer: Uint8Array, offset: number, length: number, position: number): Promise<number> {
    const start = position - (position % BLOCK);
    const span = Math.ceil((position + length) / BLOCK) * BLOCK - start;
    const slot = this.#direct && length >= DIRECT_MIN_BYTES && span <= SLOT_BYTES ? borrowAligned() : undefined;
    if (!slot) return (await this.#handle.read(buffer, offset, length, position)).bytesRead;
    try {
      let bytesRead: number;
      try {
        ({ bytesRead } = await this.#direct!.read(slot, 0, span, start));
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EINVAL') throw error;
        // This file system refuses the alignment: the page cache from now on.
        await this.close();
        return (await this.#handle.read(buffer, offset, length, position)).bytesRead;
      }
      const got = Math.max(0, Math.min(length, bytesRead - (position - start)));
      buffer.set(slot.subarray(position - start, position - start + got), offset);
      return got;
    } finally {
      returnAligned(slot);
    }
  }

  /** Closes the direct descriptor. */
  async close(): Promise<void> {
    const direct = this.#direct;
    this.#direct = undefined;
    await direct?.close().catch(() => undefined);
  }
}

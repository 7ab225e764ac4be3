import { constants } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { SLOT_BYTES, borrowAligned, returnAligned } from './aligned-buffers.js';

/** O_DIRECT's unit: offsets, lengths and memory in whole blocks (4096 covers 512-byte disks too). */
const BLOCK = 4096;
/** Writes with fewer whole blocks than this go through the page cache: a direct write waits for the device. */
const DIRECT_MIN_BYTES = 256 * 1024;

const alignDown = (n: number) => n - (n % BLOCK);

/**
 * A file written front to back (an upload's partial, a download's), bypassing the page cache
 * where the file system allows. On this kind of machine a buffered write of new data costs more
 * CPU than receiving, hashing and framing it together (each new page-cache page must be found,
 * charged and later written back); a direct write of the same bytes costs a tenth. Whole blocks
 * go through a second descriptor opened with O_DIRECT from aligned memory; the partial block at
 * the end is carried in memory and written through the ordinary handle only when the file must
 * hold every byte (flush), so the file on disk is always an exact prefix of what was written.
 * Without O_DIRECT (another OS, tmpfs, a refused alignment) everything goes through the handle.
 */
export class AppendWriter {
  readonly #handle: FileHandle;
  #direct: FileHandle | undefined;
  #offset: number;
  /** The bytes [alignDown(offset), offset): a direct write starts at their block. */
  readonly #tail = Buffer.alloc(BLOCK);
  /** Whether the tail is in the file, or the file ends at alignDown(offset). */
  #tailInFile = true;

  private constructor(handle: FileHandle, direct: FileHandle | undefined, offset: number) {
    this.#handle = handle;
    this.#direct = direct;
    this.#offset = offset;
  }

  /**
   * A writer that goes on at `offset`, the length of the file behind `handle` (opened for
   * reading and writing). The direct descriptor is opened on the very same file through
   * /proc/self/fd, so no path is looked up again.
   */
  static async attach(handle: FileHandle, offset: number): Promise<AppendWriter> {
    let direct: FileHandle | undefined;
    if (constants.O_DIRECT !== undefined && process.platform === 'linux') {
      direct = await open(`/proc/self/fd/${handle.fd}`, constants.O_WRONLY | constants.O_DIRECT).catch(() => undefined);
    }
    const writer = new AppendWriter(handle, direct, offset);
    const tailLength = offset % BLOCK;
    if (tailLength > 0) await readAll(handle, writer.#tail, tailLength, alignDown(offset));
    return writer;
  }

  /** Whether whole blocks go past the page cache (false: another OS, tmpfs, a refused alignment). */
  get direct(): boolean {
    return this.#direct !== undefined;
  }

  /** Bytes accepted so far; the file holds them all after flush(). */
  get offset(): number {
    return this.#offset;
  }

  /**
   * Writes `data` at the end. On failure the file is cut back to what it held before and the
   * writer is as it was, so the caller may report the error and go on from the same offset.
   */
  async write(data: Uint8Array): Promise<void> {
    if (data.length === 0) return;
    const start = this.#offset;
    const tailBefore = Buffer.from(this.#tail.subarray(0, start % BLOCK));
    const tailInFileBefore = this.#tailInFile;
    try {
      const slot = this.#direct && alignDown((start % BLOCK) + data.length) >= DIRECT_MIN_BYTES ? borrowAligned() : undefined;
      if (slot) {
        try {
          await this.#writeDirect(slot, data);
        } finally {
          returnAligned(slot);
        }
      } else {
        await this.#writeBuffered(data);
      }
    } catch (error) {
      this.#offset = start;
      tailBefore.copy(this.#tail);
      this.#tailInFile = tailInFileBefore;
      await this.#handle.truncate(tailInFileBefore ? start : alignDown(start)).catch(() => undefined);
      throw error;
    }
  }

  /** Puts the carried partial block into the file, so that it holds every byte accepted. */
  async flush(): Promise<void> {
    if (this.#tailInFile) return;
    const length = this.#offset % BLOCK;
    await writeAll(this.#handle, this.#tail.subarray(0, length), alignDown(this.#offset));
    this.#tailInFile = true;
  }

  /** Closes the direct descriptor (the handle stays the caller's). */
  async close(): Promise<void> {
    const direct = this.#direct;
    this.#direct = undefined;
    await direct?.close().catch(() => undefined);
  }

  async #writeDirect(slot: Buffer, data: Uint8Array): Promise<void> {
    let used = 0;
    while (used < data.length) {
      const carried = this.#offset % BLOCK;
      const take = Math.min(data.length - used, SLOT_BYTES - carried);
      this.#tail.copy(slot, 0, 0, carried);
      slot.set(data.subarray(used, used + take), carried);
      const filled = carried + take;
      const whole = alignDown(filled);
      if (whole > 0) {
        try {
          await writeAll(this.#direct!, slot.subarray(0, whole), alignDown(this.#offset));
        } catch (error) {
          // EINVAL: this file system (or this memory) refuses the alignment; never again for this file.
          if ((error as NodeJS.ErrnoException).code !== 'EINVAL') throw error;
          await this.close();
          return this.#writeBuffered(data.subarray(used));
        }
      }
      slot.copy(this.#tail, 0, whole, filled);
      this.#offset = alignDown(this.#offset) + filled;
      this.#tailInFile = filled === whole;
      used += take;
    }
  }

  async #writeBuffered(data: Uint8Array): Promise<void> {
    await this.flush();
    await writeAll(this.#handle, data, this.#offset);
    const end = this.#offset + data.length;
    const tailLength = end % BLOCK;
    if (tailLength <= data.length) {
      this.#tail.set(data.subarray(data.length - tailLength));
    } else {
      // The new bytes end inside the block the old tail began.
      this.#tail.set(data, this.#offset % BLOCK);
    }
    this.#offset = end;
    this.#tailInFile = true;
  }
}

async function writeAll(handle: FileHandle, data: Uint8Array, position: number): Promise<void> {
  let written = 0;
  while (written < data.length) {
    const { bytesWritten } = await handle.write(data, written, data.length - written, position + written);
    written += bytesWritten;
  }
}

async function readAll(handle: FileHandle, into: Buffer, length: number, position: number): Promise<void> {
  let read = 0;
  while (read < length) {
    const { bytesRead } = await handle.read(into, read, length - read, position + read);
    if (bytesRead === 0) throw new Error(`file shorter than ${position + length} bytes`);
    read += bytesRead;
  }
}

import { constants } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import { DirectReader } from '../../src/fs/direct-reader.js';
import { FerryError } from '../../src/protocol/index.js';
import { displayPath } from './jail.js';
import { toFerryError } from './os-errors.js';
import type { FileReader } from './storage.js';

/**
 * Flags for opening a file the jail has approved: no following a link swapped in after the check,
 * and no blocking forever on a FIFO someone placed in a home (O_NONBLOCK does nothing to a
 * regular file).
 */
export const SAFE_READ_FLAGS = constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK;

/** Reads one file from an open descriptor; size and mtime are those at open time (fstat). */
export class LocalFileReader implements FileReader {
  private constructor(
    private readonly file: FileHandle,
    private readonly reader: DirectReader,
    readonly size: number,
    readonly mtime: number,
    /** The wire path it was opened by, for messages. */
    readonly wire: string,
  ) {}

  /** Takes over `file` (opened with SAFE_READ_FLAGS); closes it on any refusal. */
  static async fromHandle(file: FileHandle, wire: string): Promise<LocalFileReader> {
    try {
      const st = await file.stat();
      if (st.isDirectory()) throw new FerryError('EISDIR', `is a directory: ${displayPath(wire)}`);
      if (!st.isFile()) throw new FerryError('EINVAL', `not a regular file: ${displayPath(wire)}`);
      return new LocalFileReader(file, await DirectReader.attach(file), st.size, Math.round(st.mtimeMs), wire);
    } catch (error) {
      await file.close();
      throw toFerryError(error, wire);
    }
  }

  async read(buffer: Buffer, bufferOffset: number, length: number, position: number): Promise<number> {
    try {
      return await this.reader.read(buffer, bufferOffset, length, position);
    } catch (error) {
      throw toFerryError(error);
    }
  }

  async close(): Promise<void> {
    await this.reader.close();
    await this.file.close();
  }
}

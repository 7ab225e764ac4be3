import { createHash, type Hash } from 'node:crypto';
import type { Logger } from 'pino';
import { FerryError, type WireError } from '../../src/protocol/errors.js';
import { FRAME_HEADER_BYTES, FrameKind, writeFrameHeader } from '../../src/protocol/frame.js';
import { LIMITS } from '../../src/protocol/limits.js';
import type { FileReader, UserSpace } from '../storage/storage.js';
import { asFerryError } from './errors.js';

/** What a download stream needs from its session. */
export interface DownloadStreamHost {
  /**
   * Sends one binary frame; resolves when the socket can take more (send-side backpressure).
   * `onFlushed` runs once the socket has written the frame (or dropped it), after which its
   * buffer may be reused.
   */
  sendFrame(frame: Buffer, onFlushed: () => void): Promise<void>;
  sendEvent(
    event:
      | { event: 'download.end'; stream: number; size: number; sha256: string }
      | { event: 'download.error'; stream: number; error: WireError },
  ): void;
  /** For unexpected (non-FerryError) failures, logged with their stack. */
  log: Logger;
}

export interface DownloadRequest {
  path: string;
  offset: number;
  expectSize?: number;
  expectMtime?: number;
  prefixSha256?: string;
}

/** Read size when hashing a kept prefix. */
const PREFIX_CHUNK = 1024 * 1024;
/**
 * Frame buffers a stream keeps for reuse once the socket has written them. Enough for the
 * socket's high-water mark plus the chunk read ahead; allocating a fresh megabyte per frame
 * leaves the garbage collector to chase external memory and lets the RSS swing.
 */
const MAX_SPARE_BUFFERS = 8;

/**
 * One download on a session. `open()` checks the request (ECHANGED, EINVAL for an offset past
 * the end, EINTEGRITY when the client's kept prefix differs from the server's); `run()` then
 * pumps frames until EOF and ends with `download.end` carrying the whole file's SHA-256. The
 * prefix is hashed once at open and the same running hash goes on over the rest, so the file is
 * read exactly once.
 */
export class DownloadStream {
  readonly id: number;
  readonly path: string;
  readonly offset: number;
  readonly size: number;
  readonly mtime: number;
  readonly startedAt = Date.now();
  #reader: FileReader;
  #hash: Hash;
  #host: DownloadStreamHost;
  #canceled = false;
  #sent = 0;
  /** Every frame buffer of this stream has this size: header + min(chunkSize, bytes to send). */
  #bufferSize: number;
  #spare: Buffer[] = [];

  private constructor(id: number, path: string, offset: number, reader: FileReader, hash: Hash, host: DownloadStreamHost) {
    this.id = id;
    this.path = path;
    this.offset = offset;
    this.size = reader.size;
    this.mtime = reader.mtime;
    this.#reader = reader;
    this.#hash = hash;
    this.#host = host;
    this.#bufferSize = FRAME_HEADER_BYTES + Math.min(LIMITS.chunkSize, this.size - offset);
  }

  /** Opens the file and verifies the client's prefix. The reader is closed on any failure. */
  static async open(id: number, space: UserSpace, request: DownloadRequest, host: DownloadStreamHost): Promise<DownloadStream> {
    const reader = await space.openRead(request.path, { expectSize: request.expectSize, expectMtime: request.expectMtime });
    try {
      if (request.offset > reader.size) {
        throw new FerryError('EINVAL', `offset ${request.offset} is past the end of the file (${reader.size} bytes)`);
      }
      const hash = createHash('sha256');
      if (request.offset > 0) {
        await hashRange(reader, hash, request.offset);
        if (request.prefixSha256 !== undefined && hash.copy().digest('hex') !== request.prefixSha256) {
          throw new FerryError('EINTEGRITY', `the first ${request.offset} bytes differ from the server's file`);
        }
      }
      return new DownloadStream(id, request.path, request.offset, reader, hash, host);
    } catch (error) {
      await reader.close().catch(() => {});
      throw error;
    }
  }

  /** Payload bytes sent so far. */
  get bytesSent(): number {
    return this.#sent;
  }

  /** Stops the pump before its next frame; `run()` then resolves with ECANCELED. */
  cancel(): void {
    this.#canceled = true;
  }

  /**
   * Sends the file from the offset to the end, then `download.end`. Never throws: resolves with
   * 'OK' or the error (already reported to the client as `download.error`, unless canceled).
   */
  async run(): Promise<FerryError | 'OK'> {
    // One chunk is read ahead while the previous one is hashed and sent, so the disk and the
    // CPU overlap; memory stays at the socket's high-water mark plus two chunks per stream.
    let ahead: Promise<{ buffer: Buffer; frame: Buffer }> | undefined;
    try {
      let position = this.offset;
      ahead = position < this.size ? this.#readAhead(position) : undefined;
      while (ahead) {
        const { buffer, frame } = await ahead;
        const length = frame.length - FRAME_HEADER_BYTES;
        const at = position;
        position += length;
        ahead = position < this.size ? this.#readAhead(position) : undefined;
        if (this.#canceled) throw new FerryError('ECANCELED');
        writeFrameHeader(frame, { kind: FrameKind.DATA, flags: 0, stream: this.id, offset: at, length });
        this.#hash.update(frame.subarray(FRAME_HEADER_BYTES));
        await this.#host.sendFrame(frame, () => this.#giveBack(buffer));
        this.#sent += length;
      }
      this.#host.sendEvent({ event: 'download.end', stream: this.id, size: this.size, sha256: this.#hash.digest('hex') });
      return 'OK';
    } catch (error) {
      const ferr = asFerryError(error, this.#host.log, { stream: this.id, path: this.path });
      if (ferr.code !== 'ECANCELED') this.#host.sendEvent({ event: 'download.error', stream: this.id, error: ferr.toWire() });
      return ferr;
    } finally {
      // A read still in flight must finish before the reader is closed under it.
      await ahead?.catch(() => undefined);
      await this.#reader.close().catch(() => {});
    }
  }

  /** Starts reading the chunk at `position`; a failure surfaces when the loop awaits it, not as an unhandled rejection. */
  #readAhead(position: number): Promise<{ buffer: Buffer; frame: Buffer }> {
    const read = this.#readFrame(position);
    read.catch(() => undefined);
    return read;
  }

  /**
   * Reads the chunk at `position` straight into a frame buffer, after the room for its header.
   * `frame` is the part of `buffer` that goes on the wire (shorter for the last chunk).
   */
  async #readFrame(position: number): Promise<{ buffer: Buffer; frame: Buffer }> {
    const length = Math.min(LIMITS.chunkSize, this.size - position);
    const buffer = this.#spare.pop() ?? Buffer.allocUnsafeSlow(this.#bufferSize);
    try {
      const got = await readFully(this.#reader, buffer, FRAME_HEADER_BYTES, length, position);
      if (got < length) throw new FerryError('ECHANGED', 'the file became shorter while it was being sent');
    } catch (error) {
      this.#giveBack(buffer);
      throw error;
    }
    return { buffer, frame: buffer.subarray(0, FRAME_HEADER_BYTES + length) };
  }

  #giveBack(buffer: Buffer): void {
    if (this.#spare.length < MAX_SPARE_BUFFERS) this.#spare.push(buffer);
  }
}

async function hashRange(reader: FileReader, hash: Hash, length: number): Promise<void> {
  const buffer = Buffer.allocUnsafe(Math.min(PREFIX_CHUNK, length));
  for (let position = 0; position < length; ) {
    const want = Math.min(buffer.length, length - position);
    const got = await readFully(reader, buffer, 0, want, position);
    if (got < want) throw new FerryError('ECHANGED', 'the file became shorter while it was being read');
    hash.update(buffer.subarray(0, got));
    position += got;
  }
}

async function readFully(reader: FileReader, buffer: Buffer, at: number, length: number, position: number): Promise<number> {
  let filled = 0;
  while (filled < length) {
    const got = await reader.read(buffer, at + filled, length - filled, position + filled);
    if (got === 0) break;
    filled += got;
  }
  return filled;
}

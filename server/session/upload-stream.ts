import type { Logger } from 'pino';
import { FerryError, type WireError } from '../../src/protocol/errors.js';
import type { Frame } from '../../src/protocol/frame.js';
import type { PartialUpload } from '../storage/storage.js';
import { asFerryError } from './errors.js';

/** What an upload stream needs from its session. */
export interface UploadStreamHost {
  /** Sends an event (`ack`, `upload.error`) to the client; a no-op once the socket is gone. */
  sendEvent(event: { event: 'ack'; stream: number; offset: number } | { event: 'upload.error'; stream: number; error: WireError }): void;
  /** `bytes` of payload now wait in memory for the disk (flow control). */
  onQueued(bytes: number): void;
  /** `bytes` of payload left memory (written or dropped). */
  onSettled(bytes: number): void;
  /** Called for unexpected (non-FerryError) failures, which are logged with their stack. */
  log: Logger;
  /** fdatasync + ack after this many bytes. */
  syncEveryBytes: number;
}

/** A stream that receives no frame for this long is synced and acked, so the client learns what is durable. */
const IDLE_SYNC_MS = 100;

export type UploadOutcome = 'OK' | WireError['code'];

/**
 * One open upload on a session: frames are written strictly in arrival order through a serial
 * queue, each checked against the partial's offset first (a wrong one is answered EOFFSET and
 * dropped without touching the disk). Bytes are acked only after fdatasync: every
 * `syncEveryBytes`, when the stream goes quiet, and before finishing.
 */
export class UploadStream {
  readonly id: number;
  readonly partial: PartialUpload;
  readonly startedAt = Date.now();
  readonly startOffset: number;
  #host: UploadStreamHost;
  /** The serial queue; every link swallows its own errors so the chain never rejects. */
  #tail: Promise<void> = Promise.resolve();
  /** Set by a write error: later frames are dropped until the client opens the upload again. */
  #failed: FerryError | undefined;
  /** Set once finished, canceled or released: nothing more is written. */
  #closed = false;
  #sinceSync = 0;
  /** The fdatasync under way, if any; writes go on beside it. */
  #syncing: Promise<void> | undefined;
  /** More bytes came while a sync ran: sync again when it ends. */
  #syncAgain = false;
  #acked: number;
  #idleTimer: NodeJS.Timeout | undefined;
  /** The expected offset last reported by EOFFSET, so a window of stale frames yields one error, not one each. */
  #reportedExpected: number | undefined;

  constructor(id: number, partial: PartialUpload, host: UploadStreamHost) {
    this.id = id;
    this.partial = partial;
    this.#host = host;
    this.startOffset = partial.offset;
    this.#acked = partial.durableOffset;
  }

  get failed(): FerryError | undefined {
    return this.#failed;
  }

  /** True once finished, canceled or released: the session forgets the stream. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Bytes written by this stream (not counting what an earlier session already held). */
  get bytesWritten(): number {
    return this.partial.offset - this.startOffset;
  }

  /** Queues a DATA frame. Dropped at once when the stream failed or closed. */
  push(frame: Frame): void {
    if (this.#failed || this.#closed) return;
    const bytes = frame.payload.length;
    this.#host.onQueued(bytes);
    this.#tail = this.#tail
      .then(() => this.#write(frame))
      .catch((error: unknown) => this.#fail(error))
      .finally(() => this.#host.onSettled(bytes));
  }

  async #write(frame: Frame): Promise<void> {
    if (this.#failed || this.#closed) return;
    const expected = this.partial.offset;
    if (frame.offset !== expected) {
      this.#reportOffset(expected);
      return;
    }
    try {
      await this.partial.write(frame.offset, frame.payload);
    } catch (error) {
      if (error instanceof FerryError && error.code === 'EOFFSET') {
        this.#reportOffset(this.partial.offset);
        return;
      }
      throw error;
    }
    this.#reportedExpected = undefined;
    this.#sinceSync += frame.payload.length;
    if (this.#sinceSync >= this.#host.syncEveryBytes) this.#startSync();
    else this.#armIdleSync();
  }

  #reportOffset(expected: number): void {
    if (this.#reportedExpected === expected) return;
    this.#reportedExpected = expected;
    this.#host.sendEvent({
      event: 'upload.error',
      stream: this.id,
      error: new FerryError('EOFFSET', `expected offset ${expected}`, { expected }).toWire(),
    });
  }

  #armIdleSync(): void {
    clearTimeout(this.#idleTimer);
    this.#idleTimer = setTimeout(() => {
      if (!this.#failed && !this.#closed && this.partial.offset > this.#acked) this.#startSync();
    }, IDLE_SYNC_MS);
  }

  /**
   * Starts an fdatasync + ack without holding up the writes behind it (a flush of several MiB
   * takes milliseconds the network would otherwise sit idle for); at most one runs at a time.
   */
  #startSync(): void {
    clearTimeout(this.#idleTimer);
    this.#sinceSync = 0;
    if (this.#syncing) {
      this.#syncAgain = true;
      return;
    }
    this.#syncing = (async () => {
      do {
        this.#syncAgain = false;
        await this.#syncAndAck();
      } while (this.#syncAgain && !this.#failed && !this.#closed);
    })()
      .catch((error: unknown) => this.#fail(error))
      .finally(() => {
        this.#syncing = undefined;
      });
  }

  async #syncAndAck(): Promise<void> {
    clearTimeout(this.#idleTimer);
    this.#sinceSync = 0;
    const durable = await this.partial.sync();
    if (durable > this.#acked) {
      this.#acked = durable;
      this.#host.sendEvent({ event: 'ack', stream: this.id, offset: durable });
    }
  }

  #fail(error: unknown): void {
    if (this.#failed) return;
    const ferr = asFerryError(error, this.#host.log, { stream: this.id, path: this.partial.path });
    this.#failed = ferr;
    clearTimeout(this.#idleTimer);
    this.#host.sendEvent({ event: 'upload.error', stream: this.id, error: ferr.toWire() });
  }

  /** Waits until every queued frame has been written or dropped, and any sync under way. */
  async drain(): Promise<void> {
    let tail: Promise<void>;
    do {
      tail = this.#tail;
      await tail;
      await this.#syncing;
    } while (tail !== this.#tail || this.#syncing);
  }

  /**
   * Writes what is queued, syncs (the last ack equals the size), then verifies the SHA-256 and
   * moves the file into place. Throws the stream's write error if it had one. After EINTEGRITY
   * the stream is closed (the partial is gone); after other errors it stays open.
   */
  async finish(sha256: string): Promise<{ size: number; sha256: string; mtime: number }> {
    await this.drain();
    if (this.#failed) throw this.#failed;
    if (this.#closed) throw new FerryError('ECANCELED', 'upload already closed');
    if (this.partial.offset !== this.partial.size) {
      throw new FerryError('ELIMIT', `upload holds ${this.partial.offset} of ${this.partial.size} bytes`, { expected: this.partial.offset });
    }
    await this.#syncAndAck();
    try {
      const result = await this.partial.finish(sha256);
      this.#closed = true;
      return result;
    } catch (error) {
      // EINTEGRITY dropped the partial. Anything else (EEXIST: the destination appeared
      // meanwhile, ...) leaves the stream open, so the client may fix the cause and finish again.
      if (error instanceof FerryError && error.code === 'EINTEGRITY') this.#closed = true;
      throw error;
    }
  }

  /**
   * Stops the stream: frames still queued are written (they are already in memory and make the
   * durable prefix longer) unless `discard`; then the partial is kept (release) or deleted.
   */
  async close(mode: 'release' | 'discard'): Promise<void> {
    if (mode === 'discard') this.#closed = true;
    await this.drain();
    this.#closed = true;
    clearTimeout(this.#idleTimer);
    if (mode === 'discard') await this.partial.discard();
    else await this.partial.release();
  }
}

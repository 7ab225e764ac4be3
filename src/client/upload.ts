import { createHash, type Hash } from 'node:crypto';
import { open, stat, type FileHandle } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import { FRAME_HEADER_BYTES, FerryError, FrameKind, LIMITS, writeFrameHeader, type Results } from '../protocol/index.js';
import { fromNodeError } from '../fs/node-errors.js';
import { canceled } from './connection.js';
import { hashFilePrefix, readFully } from './file-hash.js';
import { FramePool } from './frame-pool.js';
import type { Session } from './session.js';
import { uploadSmallFile } from './small-upload.js';
import { cancelStream, isNetworkLoss, throwIfAborted } from './transfer-common.js';
import type { TransferOptions, TransferResult } from './transfer-types.js';
import { Wakeup } from './wakeup.js';
import { DirectReader } from '../fs/direct-reader.js';

const MiB = 1024 * 1024;
/**
 * Unacknowledged bytes in flight. The server acks after each fdatasync (every 8 MiB by default),
 * so the window must span several of those or the sender would stall on every sync.
 */
const WINDOW_BYTES = 32 * MiB;
/** Frames read ahead of the socket, and frame buffers per pass (read ahead + queued in the socket). */
const READ_AHEAD = 4;
const POOL_FRAMES = 12;
/** How often (in bytes sent) the source is checked for changes during a long upload. */
const CHECK_SOURCE_EVERY = 16 * MiB;

interface Source {
  size: number;
  /** Whole milliseconds, as the wire carries them. */
  mtime: number;
  ino: number;
  dev: number;
}

type PassOutcome =
  | { done: TransferResult }
  | { again: 'network' | 'resync' }
  /** 'prefix': the server's partial differs from the local file; 'result': the finished file did. */
  | { restart: 'prefix' | 'result'; error: FerryError };

/**
 * Uploads a local file to `remotePath` and resolves once the server has verified its SHA-256 and
 * renamed it into place. Resumes from whatever the server holds for the same (path, size, mtime),
 * after checking that the server's prefix hash matches the local file's; a mismatch starts over.
 * Survives reconnects of the session (re-opening from the server's offset) until it succeeds,
 * fails with a non-network error, is aborted (ECANCELED; the server keeps the partial), or the
 * session closes for good. ECHANGED when the local file changes meanwhile.
 * Options: overwrite (default false → EEXIST), adopt, restart, signal, onProgress (acked bytes).
 */
export async function uploadFile(session: Session, localPath: string, remotePath: string, options: TransferOptions = {}): Promise<TransferResult> {
  throwIfAborted(options.signal);
  let handle: FileHandle;
  try {
    handle = await open(localPath, 'r');
  } catch (error) {
    throw fromNodeError(error, localPath);
  }
  try {
    const st = await handle.stat();
    if (st.isDirectory()) throw new FerryError('EISDIR', `${localPath}: is a directory`);
    if (!st.isFile()) throw new FerryError('EINVAL', `${localPath}: not a regular file`);
    const source = sourceOf(st);
    // Small files go whole in one put; adopt (append to a shorter target) needs the stream path.
    if (source.size <= LIMITS.maxPutBytes && !options.adopt) {
      return await uploadSmallFile(session, handle, remotePath, source, () => checkSource(localPath, source), options);
    }
    const reader = await DirectReader.attach(handle);
    try {
      return await new Upload(session, handle, reader, localPath, remotePath, source, options).run();
    } finally {
      await reader.close();
    }
  } finally {
    await handle.close().catch(() => {});
  }
}

function sourceOf(st: Stats): Source {
  return { size: st.size, mtime: Math.floor(st.mtimeMs), ino: st.ino, dev: st.dev };
}

class Upload {
  readonly #session: Session;
  readonly #handle: FileHandle;
  /** Reads the frames (big reads past the page cache); #handle serves the rest. */
  readonly #reader: DirectReader;
  readonly #localPath: string;
  readonly #remotePath: string;
  readonly #source: Source;
  readonly #options: TransferOptions;
  readonly #signal: AbortSignal | undefined;
  /**
   * Hash states at frame boundaries that may still be needed: the server re-opens at an offset
   * between the last ack and the last byte sent, and with the state at hand there is no re-read.
   */
  #checkpoints = new Map<number, Hash>([[0, createHash('sha256')]]);
  #resumedFrom = 0;

  constructor(session: Session, handle: FileHandle, reader: DirectReader, localPath: string, remotePath: string, source: Source, options: TransferOptions) {
    this.#session = session;
    this.#handle = handle;
    this.#reader = reader;
    this.#localPath = localPath;
    this.#remotePath = remotePath;
    this.#source = source;
    this.#options = options;
    this.#signal = options.signal;
  }

  async run(): Promise<TransferResult> {
    let restart = this.#options.restart ?? false;
    let adopt = this.#options.adopt ?? false;
    let integrityRetried = false;
    for (;;) {
      throwIfAborted(this.#signal);
      await this.#checkSource();
      await this.#session.waitReady(this.#signal);
      let opened: Results['upload.open'];
      try {
        opened = await this.#session.request(
          'upload.open',
          {
            path: this.#remotePath,
            size: this.#source.size,
            mtime: this.#source.mtime,
            ...(this.#options.overwrite ? { overwrite: true } : {}),
            ...(restart ? { restart: true } : {}),
            ...(adopt ? { adopt: true } : {}),
          },
          { signal: this.#signal },
        );
      } catch (error) {
        // Lost link: open again once the session is back; the server hands the partial our
        // dropped connection may still hold over to the new open.
        if (isNetworkLoss(error)) continue;
        throw error;
      }
      restart = false;
      adopt = false;
      const outcome = await this.#pass(opened);
      if ('done' in outcome) return outcome.done;
      if ('restart' in outcome) {
        if (outcome.restart === 'result') {
          // Once may be a fluke on either disk; twice means something keeps corrupting the data.
          if (integrityRetried) throw outcome.error;
          integrityRetried = true;
        }
        this.#options.onRestart?.({ code: 'EINTEGRITY', message: outcome.error.message, discarded: opened.offset });
        this.#checkpoints = new Map([[0, createHash('sha256')]]);
        restart = true;
        continue;
      }
    }
  }

  /** One open stream: check the server's prefix, send the rest, finish. */
  async #pass(opened: Results['upload.open']): Promise<PassOutcome> {
    const session = this.#session;
    const generation = session.generation;
    const { stream, offset } = opened;
    const { size } = this.#source;
    const wake = new Wakeup();
    let acked = offset;
    let failure: FerryError | undefined;
    let lost = false;
    let resync = false;
    const unsubscribe = session.onStream(stream, {
      event: (event) => {
        if (event.event === 'ack') {
          if (event.offset > acked) {
            acked = event.offset;
            this.#onAck(acked);
          }
        } else if (event.event === 'upload.error') {
          const error = FerryError.fromWire(event.error);
          if (error.code === 'EOFFSET') resync = true;
          else failure ??= error;
        }
        wake.notify();
      },
      lost: () => {
        lost = true;
        wake.notify();
      },
    });
    const onAbort = () => wake.notify();
    this.#signal?.addEventListener('abort', onAbort);
    /** Why this pass must stop now, if it must. */
    const interruption = (): PassOutcome | undefined => {
      throwIfAborted(this.#signal);
      if (failure) throw failure;
      if (lost) return { again: 'network' };
      if (resync) return { again: 'resync' };
      return undefined;
    };
    try {
      const hash = await this.#verifiedPrefix(offset, opened.prefixSha256);
      if (!hash) {
        await cancelStream(session, generation, 'upload.cancel', stream);
        return {
          restart: 'prefix',
          error: new FerryError('EINTEGRITY', `the server's partial of ${this.#remotePath} (${offset} bytes) does not match ${this.#localPath}; starting over`),
        };
      }
      this.#resumedFrom = offset;
      this.#progress(offset);

      // Reads run ahead of the socket into pooled buffers; each frame is hashed and sent in
      // order as its read completes, so the disk, the hash and the socket overlap.
      const pool = new FramePool(POOL_FRAMES, FRAME_HEADER_BYTES + LIMITS.chunkSize);
      const ahead: Array<{ position: number; length: number; frame: Buffer; read: Promise<void> }> = [];
      let nextRead = offset;
      let position = offset;
      let sinceCheck = 0;
      try {
        while (position < size) {
          const stop = interruption();
          if (stop) return await this.#stopped(stop, generation, stream);
          while (ahead.length < READ_AHEAD && nextRead < size && nextRead - acked < WINDOW_BYTES) {
            const frame = pool.take();
            if (frame === undefined) break;
            const length = Math.min(LIMITS.chunkSize, size - nextRead);
            const read = readFully(this.#reader, frame, FRAME_HEADER_BYTES, length, nextRead);
            read.catch(() => undefined);
            ahead.push({ position: nextRead, length, frame, read });
            nextRead += length;
          }
          const next = ahead.shift();
          if (next === undefined) {
            // The window is full (an ack will come) or every buffer waits for the socket.
            await wake.wait();
            continue;
          }
          await next.read;
          const { frame, length } = next;
          writeFrameHeader(frame, { kind: FrameKind.DATA, flags: 0, stream, offset: position, length });
          const payload = frame.subarray(FRAME_HEADER_BYTES, FRAME_HEADER_BYTES + length);
          hash.update(payload);
          position += length;
          this.#checkpoints.set(position, hash.copy());
          sinceCheck += length;
          if (sinceCheck >= CHECK_SOURCE_EVERY) {
            sinceCheck = 0;
            await this.#checkSource();
          }
          try {
            await session.sendFrame(frame.subarray(0, FRAME_HEADER_BYTES + length), () => {
              pool.give(frame);
              wake.notify();
            });
          } catch (error) {
            if (isNetworkLoss(error)) return { again: 'network' };
            throw error;
          }
        }
      } finally {
        // Reads still running write into buffers nobody will send; let them end first.
        await Promise.allSettled(ahead.map((item) => item.read));
      }
      const stop = interruption();
      if (stop) return await this.#stopped(stop, generation, stream);
      await this.#checkSource();
      const sha256 = hash.digest('hex');
      let finished: Results['upload.finish'];
      try {
        finished = await session.request('upload.finish', { stream, sha256 }, { signal: this.#signal, generation });
      } catch (error) {
        // A refused frame explains a refused finish better than the finish's own error does.
        if (failure) throw failure;
        const expectedMore = error instanceof FerryError && error.code === 'ELIMIT' && error.details.expected !== undefined;
        if (resync || expectedMore) return await this.#stopped({ again: 'resync' }, generation, stream);
        if (isNetworkLoss(error)) return { again: 'network' };
        if (error instanceof FerryError && error.code === 'EINTEGRITY') return { restart: 'result', error };
        throw error;
      }
      if (finished.sha256 !== sha256 || finished.size !== size) {
        throw new FerryError('EINTEGRITY', `server stored ${finished.size} bytes with SHA-256 ${finished.sha256}, expected ${size} bytes with ${sha256}`);
      }
      this.#progress(size);
      return { done: { size, sha256, resumedFrom: this.#resumedFrom } };
    } catch (error) {
      if (!lost) await cancelStream(session, generation, 'upload.cancel', stream);
      if (this.#signal?.aborted) throw canceled(this.#signal);
      throw error;
    } finally {
      unsubscribe();
      this.#signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Leaves a stream that must be re-opened; a refused offset needs the old stream closed first. */
  async #stopped(outcome: PassOutcome, generation: number, stream: number): Promise<PassOutcome> {
    if ('again' in outcome && outcome.again === 'resync') await cancelStream(this.#session, generation, 'upload.cancel', stream);
    return outcome;
  }

  /**
   * The hash state after the local prefix [0, offset) if it matches what the server holds, or
   * undefined when it does not (or cannot be checked). Uses a checkpoint when one is at hand.
   */
  async #verifiedPrefix(offset: number, remoteSha256: string | undefined): Promise<Hash | undefined> {
    if (offset === 0) return createHash('sha256');
    if (offset > this.#source.size || remoteSha256 === undefined) return undefined;
    const kept = this.#checkpoints.get(offset);
    const hash = kept ? kept.copy() : await hashFilePrefix(this.#handle, offset, this.#signal);
    if (hash.copy().digest('hex') !== remoteSha256) return undefined;
    if (!kept) this.#checkpoints.set(offset, hash.copy());
    return hash;
  }

  #onAck(acked: number): void {
    // Offsets below the ack can no longer be asked for, except the ack itself.
    for (const at of this.#checkpoints.keys()) {
      if (at < acked) this.#checkpoints.delete(at);
    }
    this.#progress(acked);
  }

  #progress(done: number): void {
    this.#options.onProgress?.({ done, total: this.#source.size });
  }

  #checkSource(): Promise<void> {
    return checkSource(this.#localPath, this.#source);
  }
}

/** ECHANGED when the local file is no longer the one the upload started with. */
async function checkSource(localPath: string, before: Source): Promise<void> {
  let now: Stats;
  try {
    now = await stat(localPath);
  } catch (error) {
    throw new FerryError('ECHANGED', `${localPath} changed during the upload: ${fromNodeError(error).message}`);
  }
  const current = sourceOf(now);
  if (current.size !== before.size || current.mtime !== before.mtime || current.ino !== before.ino || current.dev !== before.dev) {
    throw new FerryError('ECHANGED', `${localPath} changed during the upload (size ${before.size} → ${current.size})`);
  }
}

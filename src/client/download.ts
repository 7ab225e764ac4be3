import { createHash, type Hash } from 'node:crypto';
import type { Stats } from 'node:fs';
import { lstat, open, readFile, rename, rm, stat, utimes, writeFile, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { FerryError, FrameKind, LIMITS, type Frame, type Results } from '../protocol/index.js';
import { AppendWriter } from '../fs/append-writer.js';
import { syncDirectory } from '../fs/directory-sync.js';
import { placePartial } from '../fs/place-partial.js';
import { fromNodeError } from '../fs/node-errors.js';
import { canceled } from './connection.js';
import { hashFilePrefix } from './file-hash.js';
import type { Session } from './session.js';
import { cancelStream, isNetworkLoss, throwIfAborted } from './transfer-common.js';
import type { TransferOptions, TransferResult } from './transfer-types.js';
import { Wakeup } from './wakeup.js';

const MiB = 1024 * 1024;
/** Received bytes waiting for the disk before the socket is paused, and where it resumes. */
const PAUSE_ABOVE = 8 * MiB;
const RESUME_BELOW = 2 * MiB;
/** Starts over after the source changed mid-transfer at most this often, then gives up (ECHANGED). */
const MAX_CHANGED_RESTARTS = 3;

/** What the sidecar next to a partial says about where its bytes come from. */
export interface PartialSidecar {
  version: 1;
  url: string;
  user: string;
  path: string;
  size: number;
  mtime: number;
}

/** The partial and sidecar names a download of `localPath` uses: `.<name>.ferry-part[.json]`. */
export function partialPathsFor(localPath: string): { part: string; sidecar: string } {
  const destination = resolve(localPath);
  const part = join(dirname(destination), `.${basename(destination)}.ferry-part`);
  return { part, sidecar: `${part}.json` };
}

type PassOutcome = { done: TransferResult } | { again: 'network' } | { restart: FerryError };

/**
 * Downloads `remotePath` to `localPath`. Bytes go to a partial next to the destination
 * (`.<name>.ferry-part`, with a `.json` sidecar naming the source) and the running SHA-256 is
 * checked against the server's at the end; only then is the partial fsync'd, given the remote
 * mtime and renamed over the destination, so the destination never holds a half file.
 * A partial left by an earlier attempt is resumed after the server confirmed its prefix hash;
 * ECHANGED / EINTEGRITY there drop it and start from 0 (reported through onRestart). A wrong final
 * hash starts over once, then fails EINTEGRITY. Survives reconnects of the session until done, a
 * non-network error, abort (ECANCELED, partial kept) or the session closing for good.
 * Options: overwrite (default false: EEXIST when the destination exists), adopt (take an existing
 * shorter destination as the partial; if its prefix does not match, the download starts over and
 * replaces it only with overwrite, else EEXIST), restart (ignore any partial), signal, onProgress.
 */
export async function downloadFile(session: Session, remotePath: string, localPath: string, options: TransferOptions = {}): Promise<TransferResult> {
  throwIfAborted(options.signal);
  const download = new Download(session, remotePath, localPath, options);
  try {
    return await download.run();
  } finally {
    await download.dispose();
  }
}

class Download {
  readonly #session: Session;
  readonly #remotePath: string;
  readonly #destination: string;
  readonly #part: string;
  readonly #sidecar: string;
  readonly #options: TransferOptions;
  readonly #signal: AbortSignal | undefined;
  /** The partial's handle (or, while adopting, the destination's: it follows the rename). */
  #handle: FileHandle | undefined;
  /** Writes the partial's new bytes through #handle; made before the first write of a pass. */
  #writer: AppendWriter | undefined;
  /** Bytes in the partial, in order and hashed into #hash. */
  #offset = 0;
  #hash: Hash = createHash('sha256');
  /** The source's identity once known; sent as expectSize/expectMtime on every re-open. */
  #expect: { size: number; mtime: number } | undefined;
  #adopting = false;
  #resumedFrom = 0;
  /**
   * A sidecar may be on disk: one this download wrote or resumed with. (#loadKept removes any
   * other, so without this the finish need not remove one.)
   */
  #sidecarOnDisk = false;

  constructor(session: Session, remotePath: string, localPath: string, options: TransferOptions) {
    this.#session = session;
    this.#remotePath = remotePath;
    this.#destination = resolve(localPath);
    ({ part: this.#part, sidecar: this.#sidecar } = partialPathsFor(localPath));
    this.#options = options;
    this.#signal = options.signal;
  }

  async dispose(): Promise<void> {
    // What the writer still carries goes into the partial, so a later resume keeps it.
    await this.#writer?.flush().catch(() => {});
    await this.#writer?.close();
    this.#writer = undefined;
    await this.#handle?.close().catch(() => {});
    this.#handle = undefined;
  }

  async run(): Promise<TransferResult> {
    const existing = await this.#checkDestination();
    await this.#loadKept(existing);
    let integrityRetried = false;
    let changedRestarts = 0;
    for (;;) {
      throwIfAborted(this.#signal);
      await this.#session.waitReady(this.#signal);
      let opened: Results['download.open'];
      try {
        opened = await this.#session.request('download.open', this.#openParams(), { signal: this.#signal });
      } catch (error) {
        if (isNetworkLoss(error)) continue;
        const code = (error as FerryError).code;
        if ((code === 'ECHANGED' || code === 'EINTEGRITY') && (this.#offset > 0 || this.#expect)) {
          if (code === 'ECHANGED' && ++changedRestarts > MAX_CHANGED_RESTARTS) throw error;
          await this.#startOver(error as FerryError);
          continue;
        }
        throw error;
      }
      const outcome = await this.#pass(opened);
      if ('done' in outcome) return outcome.done;
      if ('restart' in outcome) {
        const code = outcome.restart.code;
        if (code === 'EINTEGRITY') {
          if (integrityRetried) throw outcome.restart;
          integrityRetried = true;
        } else if (++changedRestarts > MAX_CHANGED_RESTARTS) {
          throw outcome.restart;
        }
        await this.#startOver(outcome.restart);
      }
    }
  }

  #openParams(): { path: string; offset: number; expectSize?: number; expectMtime?: number; prefixSha256?: string } {
    return {
      path: this.#remotePath,
      offset: this.#offset,
      ...(this.#expect ? { expectSize: this.#expect.size, expectMtime: this.#expect.mtime } : {}),
      ...(this.#offset > 0 ? { prefixSha256: this.#hash.copy().digest('hex') } : {}),
    };
  }

  /** EISDIR / EEXIST up front; returns the destination's stat when something is there. */
  async #checkDestination(): Promise<Stats | undefined> {
    try {
      await stat(dirname(this.#destination));
    } catch (error) {
      throw fromNodeError(error, dirname(this.#destination));
    }
    let existing: Stats;
    try {
      existing = await lstat(this.#destination);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw fromNodeError(error, this.#destination);
    }
    if (existing.isDirectory()) throw new FerryError('EISDIR', `${this.#destination}: is a directory`);
    if (!this.#options.overwrite && !this.#options.adopt) throw new FerryError('EEXIST', `${this.#destination}: file already exists`);
    return existing;
  }

  /** Picks up a partial of the same source (or, with adopt, the destination) to resume from. */
  async #loadKept(existing: Stats | undefined): Promise<void> {
    const [sidecar, partStat] = await Promise.all([this.#readSidecar(), lstat(this.#part).catch(() => undefined)]);
    const ours =
      !this.#options.restart &&
      sidecar !== undefined &&
      sidecar.url === this.#session.url &&
      sidecar.user === this.#session.user &&
      sidecar.path === this.#remotePath &&
      partStat?.isFile() === true &&
      partStat.size <= sidecar.size;
    if (ours) {
      try {
        this.#handle = await open(this.#part, 'r+');
        this.#hash = await hashFilePrefix(this.#handle, partStat.size, this.#signal);
        this.#offset = partStat.size;
        this.#expect = { size: sidecar.size, mtime: sidecar.mtime };
        this.#sidecarOnDisk = true;
        return;
      } catch (error) {
        if ((error as FerryError).code === 'ECANCELED') throw error;
        await this.dispose();
        this.#hash = createHash('sha256');
      }
    }
    // A partial of another source (or an unreadable one) is of no use to anybody now.
    if (partStat || sidecar) await this.#removePartial();
    if (this.#options.adopt && !this.#options.restart && existing?.isFile() && existing.size > 0) {
      this.#handle = await open(this.#destination, 'r+').catch((error: unknown) => {
        throw fromNodeError(error, this.#destination);
      });
      this.#hash = await hashFilePrefix(this.#handle, existing.size, this.#signal);
      this.#offset = existing.size;
      this.#adopting = true;
    }
  }

  /** One open stream: take frames in order, write them, check the end. */
  async #pass(opened: Results['download.open']): Promise<PassOutcome> {
    const session = this.#session;
    const generation = session.generation;
    const { stream, size, mtime } = opened;
    if (opened.offset !== this.#offset) {
      // Claim the stream so frames already on their way are dropped, not kept for nobody.
      session.onStream(stream, {})();
      await cancelStream(session, generation, 'download.cancel', stream);
      throw new FerryError('EPROTO', `asked for ${this.#remotePath} from ${this.#offset}, the server sends from ${opened.offset}`);
    }
    this.#resumedFrom = this.#offset;
    this.#progress(size);

    const wake = new Wakeup();
    let next = this.#offset;
    let queued = 0;
    let paused = false;
    let end: { size: number; sha256: string } | undefined;
    let failure: FerryError | undefined;
    let restart: FerryError | undefined;
    let writeError: FerryError | undefined;
    let lost = false;
    const resume = () => {
      if (!paused) return;
      paused = false;
      // A pause belongs to the connection it was made on; a newer one was never paused by us.
      if (session.generation === generation) session.resumeIncoming();
    };
    let writing = this.#prepare(opened).catch((error: unknown) => {
      writeError ??= fromNodeError(error, this.#part);
      wake.notify();
    });
    const onFrame = (frame: Frame) => {
      if (failure || writeError || lost || end || restart) return;
      if (frame.kind !== FrameKind.DATA || frame.offset !== next || next + frame.length > size) {
        failure = new FerryError('EPROTO', `frame of ${frame.length} bytes at ${frame.offset} (kind ${frame.kind}); expected data at ${next} of ${size}`);
        wake.notify();
        return;
      }
      const { payload, offset, length } = frame;
      this.#hash.update(payload);
      next += length;
      queued += length;
      writing = writing.then(async () => {
        if (writeError) return;
        try {
          await this.#writer!.write(payload);
          this.#offset = offset + length;
          queued -= length;
          this.#progress(size);
          if (queued <= RESUME_BELOW) resume();
        } catch (error) {
          writeError ??= fromNodeError(error, this.#part);
          wake.notify();
        }
      });
      if (queued > PAUSE_ABOVE && !paused) {
        paused = true;
        session.pauseIncoming();
      }
    };
    const unsubscribe = session.onStream(stream, {
      frame: onFrame,
      event: (event) => {
        if (event.event === 'download.end') end = { size: event.size, sha256: event.sha256 };
        else if (event.event === 'download.error') {
          const error = FerryError.fromWire(event.error);
          if (error.code === 'ECHANGED') restart = error;
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
    try {
      while (!(failure || writeError || lost || end || restart)) {
        throwIfAborted(this.#signal);
        await wake.wait();
      }
      // A cancel wins over an end that arrived meanwhile: the caller was told it stops.
      throwIfAborted(this.#signal);
      // Everything received so far reaches the partial, so the running hash and the file agree.
      await writing;
      resume();
      if (writeError) throw writeError;
      if (failure) throw failure;
      if (restart) return { restart };
      if (lost) return { again: 'network' };
      const final = end!;
      const sha256 = this.#hash.copy().digest('hex');
      if (next !== size || final.size !== size || sha256 !== final.sha256) {
        return {
          restart: new FerryError('EINTEGRITY', `${this.#remotePath}: received ${next} bytes with SHA-256 ${sha256}, the server sent ${final.size} bytes with ${final.sha256}`),
        };
      }
      await this.#finish(mtime);
      this.#options.onProgress?.({ done: size, total: size });
      return { done: { size, sha256, resumedFrom: this.#resumedFrom } };
    } catch (error) {
      if (!lost && !end) await cancelStream(session, generation, 'download.cancel', stream);
      await writing;
      if (this.#signal?.aborted) throw canceled(this.#signal);
      throw error;
    } finally {
      resume();
      unsubscribe();
      this.#signal?.removeEventListener('abort', onAbort);
    }
  }

  /** Runs before the first write of a pass: the partial exists and the sidecar names the source. */
  async #prepare(opened: Results['download.open']): Promise<void> {
    if (!this.#handle) {
      this.#handle = await open(this.#part, 'w');
    } else if (this.#adopting) {
      // The open handle follows the inode, so writes go on into what is now the partial.
      await rename(this.#destination, this.#part);
      this.#adopting = false;
    }
    this.#writer ??= await AppendWriter.attach(this.#handle, this.#offset);
    if (this.#expect?.size !== opened.size || this.#expect.mtime !== opened.mtime) {
      this.#expect = { size: opened.size, mtime: opened.mtime };
      // A file that comes in one frame is not worth resuming: without a sidecar, a partial
      // left by a crash is simply dropped on the next try, and a tree of small files saves a
      // file create and delete each.
      if (opened.size <= LIMITS.maxPutBytes) return;
      const sidecar: PartialSidecar = {
        version: 1,
        url: this.#session.url,
        user: this.#session.user,
        path: this.#remotePath,
        size: opened.size,
        mtime: opened.mtime,
      };
      await writeFile(this.#sidecar, `${JSON.stringify(sidecar)}\n`);
      this.#sidecarOnDisk = true;
    }
  }

  /** The kept bytes are of no use (the source changed, or they differ): drop them, from 0 again. */
  async #startOver(reason: FerryError): Promise<void> {
    const discarded = this.#offset;
    await this.dispose();
    if (this.#adopting) {
      this.#adopting = false;
      // The destination was never touched; replacing it is only allowed with overwrite.
      if (!this.#options.overwrite) {
        throw new FerryError('EEXIST', `${this.#destination} exists and is not the beginning of ${this.#remotePath} (${reason.message})`);
      }
    } else {
      await this.#removePartial();
    }
    this.#offset = 0;
    this.#hash = createHash('sha256');
    this.#expect = undefined;
    this.#options.onRestart?.({ code: reason.code === 'ECHANGED' ? 'ECHANGED' : 'EINTEGRITY', message: reason.message, discarded });
  }

  /** fsync, mtime, then the atomic step: partial → destination. */
  async #finish(mtime: number): Promise<void> {
    const handle = this.#handle!;
    await this.#writer!.flush();
    await this.#writer!.close();
    this.#writer = undefined;
    await handle.sync();
    await handle.close();
    this.#handle = undefined;
    await utimes(this.#part, new Date(), new Date(mtime));
    await placePartial(this.#part, this.#destination, this.#options.overwrite === true);
    if (this.#sidecarOnDisk) await rm(this.#sidecar, { force: true });
    this.#sidecarOnDisk = false;
    await syncDirectory(dirname(this.#destination));
  }

  async #readSidecar(): Promise<PartialSidecar | undefined> {
    try {
      const raw = JSON.parse(await readFile(this.#sidecar, 'utf8')) as Partial<PartialSidecar>;
      const valid =
        raw.version === 1 &&
        typeof raw.url === 'string' &&
        typeof raw.user === 'string' &&
        typeof raw.path === 'string' &&
        Number.isSafeInteger(raw.size) &&
        Number.isSafeInteger(raw.mtime);
      return valid ? (raw as PartialSidecar) : undefined;
    } catch {
      return undefined;
    }
  }

  async #removePartial(): Promise<void> {
    await rm(this.#part, { force: true });
    await rm(this.#sidecar, { force: true });
    this.#sidecarOnDisk = false;
  }

  #progress(total: number): void {
    this.#options.onProgress?.({ done: this.#offset, total });
  }
}

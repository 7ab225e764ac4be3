import { createHash, type Hash } from 'node:crypto';
import { constants } from 'node:fs';
import { lstat, open, readFile, rename, rm, writeFile, type FileHandle } from 'node:fs/promises';
import { AppendWriter } from '../../src/fs/append-writer.js';
import { FerryError } from '../../src/protocol/index.js';
import type { PartialUpload } from './storage.js';
import { displayPath, type Jail } from './jail.js';
import { placeFile } from './place-file.js';
import { isOsError, toFerryError } from './os-errors.js';
import type { UsageTracker } from './usage.js';

/** Reads of a partial to rebuild its hash go in pieces of this size. */
const REHASH_CHUNK = 1024 * 1024;

/** The sidecar of a partial: who it is for. After a crash the data file's length is the offset. */
export interface PartialInfo {
  /** Home-relative real path of the destination, '/a/b'. */
  path: string;
  size: number;
  mtime: number;
  createdAt: number;
  updatedAt: number;
}

/** The identity of a .part file as we last left it, to notice when someone else changed it. */
interface Fingerprint {
  size: number;
  ino: number;
  ctimeMs: number;
}

/**
 * One partial upload as the server knows it. Lives in the storage-level registry and outlives
 * the handles (sessions) that write it, so that a client reconnecting after a cut resumes without
 * the server re-reading the prefix.
 */
export class PartialState {
  offset: number;
  durableOffset: number;
  file: FileHandle | null = null;
  /** Writes the data file's new bytes; made with the file, closed with it. */
  #writer: AppendWriter | null = null;
  /** The handle allowed to write; a newer openUpload takes this over. */
  owner: LocalPartialUpload | null = null;
  /** Set once the partial is finished, discarded or expired: every handle on it is cancelled. */
  gone = false;
  /** Taken when the writer released it; compared on the next open. */
  fingerprint: Fingerprint | null = null;

  constructor(
    readonly user: string,
    /** Registry key: `${user}/${sha256(path)}`. */
    readonly registryKey: string,
    readonly partPath: string,
    readonly infoPath: string,
    readonly info: PartialInfo,
    public hash: Hash,
    offset: number,
  ) {
    this.offset = offset;
    this.durableOffset = offset;
  }

  get size(): number {
    return this.info.size;
  }

  get mtime(): number {
    return this.info.mtime;
  }

  /** Writes the sidecar (atomically: a torn .info would orphan the data). */
  async writeInfo(): Promise<void> {
    const temporary = `${this.infoPath}.tmp`;
    await writeFile(temporary, JSON.stringify(this.info), { mode: 0o600 });
    await rename(temporary, this.infoPath);
  }

  /** Opens the data file for writing if no handle holds it open. */
  async openFile(): Promise<FileHandle> {
    if (this.file === null) {
      this.file = await open(this.partPath, constants.O_RDWR | constants.O_CREAT | constants.O_NOFOLLOW, 0o600);
    }
    return this.file;
  }

  /** The writer for the data file's next bytes (at `offset`), opening the file if need be. */
  async openWriter(): Promise<AppendWriter> {
    const file = await this.openFile();
    this.#writer ??= await AppendWriter.attach(file, this.offset);
    return this.#writer;
  }

  /** The open data file holding every byte written so far (a writer may carry its last block). */
  async flushedFile(): Promise<FileHandle> {
    const file = await this.openFile();
    await this.#writer?.flush();
    return file;
  }

  async #dropWriter(): Promise<void> {
    const writer = this.#writer;
    this.#writer = null;
    await writer?.close();
  }

  /** Closes the data file, remembering how it looked so that outside edits are noticed. */
  async closeFile(): Promise<void> {
    const file = this.file;
    if (file === null) return;
    this.file = null;
    try {
      await this.#writer?.flush();
      const st = await file.stat();
      this.fingerprint = { size: st.size, ino: st.ino, ctimeMs: st.ctimeMs };
    } finally {
      await this.#dropWriter();
      await file.close();
    }
  }

  /** True when the data file on disk is still the one we left. */
  async unchangedOnDisk(): Promise<boolean> {
    if (this.file !== null) return true;
    if (this.fingerprint === null) return false;
    try {
      const st = await lstat(this.partPath);
      return st.isFile() && st.size === this.fingerprint.size && st.ino === this.fingerprint.ino && st.ctimeMs === this.fingerprint.ctimeMs;
    } catch (error) {
      if (isOsError(error, 'ENOENT')) return false;
      throw error;
    }
  }

  /** Deletes the files; marks the state gone so every handle on it is cancelled. */
  async deleteFiles(): Promise<void> {
    this.gone = true;
    this.owner = null;
    const file = this.file;
    this.file = null;
    await this.#dropWriter();
    await file?.close().catch(() => undefined);
    await rm(this.partPath, { force: true });
    await rm(this.infoPath, { force: true });
  }
}

/** Reads a .info sidecar; null when missing or not one of ours. */
export async function readPartialInfo(infoPath: string): Promise<PartialInfo | null> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(infoPath, 'utf8'));
  } catch {
    return null;
  }
  if (typeof raw !== 'object' || raw === null) return null;
  const info = raw as Record<string, unknown>;
  const isCount = (value: unknown): value is number => typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
  if (typeof info.path !== 'string' || !isCount(info.size) || !isCount(info.mtime) || !isCount(info.createdAt) || !isCount(info.updatedAt)) {
    return null;
  }
  return { path: info.path, size: info.size, mtime: info.mtime, createdAt: info.createdAt, updatedAt: info.updatedAt };
}

/**
 * SHA-256 state of the first `length` bytes of the data file, re-read from disk. Done once after
 * a server restart (or an outside edit), never on a plain reconnect.
 */
export async function hashPrefix(file: FileHandle, length: number): Promise<Hash> {
  const hash = createHash('sha256');
  const buffer = Buffer.allocUnsafe(Math.min(REHASH_CHUNK, Math.max(1, length)));
  let position = 0;
  while (position < length) {
    const { bytesRead } = await file.read(buffer, 0, Math.min(buffer.length, length - position), position);
    if (bytesRead === 0) throw new FerryError('EINTERNAL', 'partial upload shorter than expected');
    hash.update(buffer.subarray(0, bytesRead));
    position += bytesRead;
  }
  return hash;
}

/** What a handle needs from the storage and user space around it. */
export interface UploadContext {
  readonly jail: Jail;
  readonly usage: UsageTracker;
  quotaBytes(): number;
  /** Serialises work on one partial (the storage's keyed mutex). */
  locked<T>(state: PartialState, task: () => Promise<T>): Promise<T>;
  /** Removes the state from the registry (finished, discarded). */
  forget(state: PartialState): void;
}

/**
 * A session's handle on a partial upload. Several handles may exist for one partial over time
 * (reconnects); only the newest may write, the others get ECANCELED.
 */
export class LocalPartialUpload implements PartialUpload {
  constructor(
    private readonly state: PartialState,
    private readonly context: UploadContext,
    /** The normalised wire path the upload was opened with; re-resolved when finishing. */
    readonly path: string,
    private readonly overwrite: boolean,
    /**
     * Bytes of the file this upload replaces: they are freed when it finishes, so they do not
     * count against the quota while it is written.
     */
    private readonly overwriteCredit: number,
  ) {}

  get size(): number {
    return this.state.size;
  }

  get mtime(): number {
    return this.state.mtime;
  }

  get offset(): number {
    return this.state.offset;
  }

  get durableOffset(): number {
    return this.state.durableOffset;
  }

  prefixSha256(): string {
    return this.state.hash.copy().digest('hex');
  }

  write(offset: number, data: Uint8Array): Promise<void> {
    return this.guarded(async () => {
      const state = this.assertOwner();
      if (offset !== state.offset) {
        throw new FerryError('EOFFSET', `unexpected offset ${offset}, expected ${state.offset}`, { expected: state.offset });
      }
      if (offset + data.length > state.size) {
        throw new FerryError('ELIMIT', `write past the declared size of ${state.size} bytes`);
      }
      if (data.length === 0) return;
      const { usage } = this.context;
      await usage.get(state.user);
      const quota = this.context.quotaBytes();
      // Check and reserve with no await in between: another upload of this user may be writing.
      if (quota > 0 && usage.peek(state.user) - this.overwriteCredit + data.length > quota) {
        throw new FerryError('EQUOTA', `disk quota exceeded: ${quota} bytes allowed`);
      }
      usage.add(state.user, data.length);
      const writer = await state.openWriter();
      // A failed write leaves the file as it was (the writer cuts back what part of it made it).
      const writing = writer.write(data);
      // Hash while the disk write runs on the thread pool; the running hash takes the new state
      // only once the bytes are written, so a failed write leaves it as it was.
      const hashed = state.hash.copy().update(data);
      try {
        await writing;
      } catch (error) {
        usage.add(state.user, -data.length);
        throw toFerryError(error, this.path);
      }
      state.hash = hashed;
      state.offset += data.length;
    });
  }

  /**
   * fdatasync outside the partial's lock, so writes go on while the disk flushes: the sync covers
   * every write completed before it started, and only that offset is reported durable.
   */
  async sync(): Promise<number> {
    const { target, file } = await this.guarded(async () => {
      const state = this.assertOwner();
      if (state.durableOffset >= state.offset) return { target: state.durableOffset, file: undefined };
      return { target: state.offset, file: await state.flushedFile() };
    });
    if (file === undefined) return target;
    try {
      await file.datasync();
    } catch (error) {
      // Dropped or taken over while flushing: the file was closed under us, and that is why.
      this.assertOwner();
      throw toFerryError(error, this.path);
    }
    const state = this.state;
    if (target > state.durableOffset) state.durableOffset = target;
    return state.durableOffset;
  }

  finish(sha256: string): Promise<{ size: number; sha256: string; mtime: number }> {
    return this.guarded(async () => {
      const state = this.assertOwner();
      if (state.offset !== state.size) {
        throw new FerryError('ELIMIT', `upload incomplete: ${state.offset} of ${state.size} bytes received`);
      }
      const actual = state.hash.copy().digest('hex');
      if (actual !== sha256) {
        await this.drop(state);
        throw new FerryError('EINTEGRITY', `checksum mismatch for ${displayPath(this.path)}: the upload was discarded`);
      }
      try {
        const file = await state.flushedFile();
        const mtime = new Date(state.mtime);
        await file.utimes(mtime, mtime);
        // Partials are private (0600); the finished file gets the usual mode for a user's file.
        await file.chmod(0o644);
        // fsync, not fdatasync: the mtime is metadata and must survive a crash with the data.
        await file.sync();
        state.durableOffset = state.offset;
        const freed = await placeFile(this.context.jail, this.path, state.partPath, this.overwrite);
        this.context.usage.add(state.user, -freed);
      } catch (error) {
        // The partial stays as it was: the client may fix the cause (EEXIST, ENOENT) and retry.
        throw toFerryError(error, this.path);
      }
      await state.closeFile().catch(() => undefined);
      state.gone = true;
      state.owner = null;
      this.context.forget(state);
      await rm(state.infoPath, { force: true });
      return { size: state.size, sha256: actual, mtime: state.mtime };
    });
  }

  release(): Promise<void> {
    return this.guarded(async () => {
      const state = this.state;
      if (state.gone || state.owner !== this) return;
      state.owner = null;
      await state.closeFile();
      state.info.updatedAt = Date.now();
      await state.writeInfo().catch(() => undefined);
    });
  }

  discard(): Promise<void> {
    return this.guarded(async () => {
      const state = this.state;
      // A handle that was taken over must not destroy the new writer's partial.
      if (state.gone || (state.owner !== null && state.owner !== this)) return;
      await this.drop(state);
    });
  }

  /** Runs `task` holding the partial's lock; whatever it throws leaves as a FerryError. */
  private guarded<T>(task: () => Promise<T>): Promise<T> {
    return this.context.locked(this.state, task).catch((error: unknown) => {
      throw toFerryError(error, this.path);
    });
  }

  private assertOwner(): PartialState {
    const state = this.state;
    if (state.gone) throw new FerryError('ECANCELED', `upload of ${displayPath(this.path)} is no longer open`);
    if (state.owner !== this) {
      throw new FerryError('ECANCELED', `upload of ${displayPath(this.path)} was taken over by a newer connection`);
    }
    return state;
  }

  private async drop(state: PartialState): Promise<void> {
    const bytes = state.offset;
    await state.deleteFiles();
    this.context.forget(state);
    this.context.usage.add(state.user, -bytes);
  }
}

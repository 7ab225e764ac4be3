import { createHash } from 'node:crypto';
import { promises as fsp } from 'node:fs';
import path from 'node:path';
import { FerryError, type ErrorCode } from '../protocol/index.js';
import { journalDir } from '../util/paths.js';
import type { ConflictPolicy, TransferRequest } from './types.js';

/*
 * The transfer journal: what a queue was asked to do and how far each file got, on disk, so a
 * queue killed with its process carries on when the same command (or the TUI) runs again. Bytes
 * are not its business: a resumed file continues from its partial. One JSON file per queue run
 * under <stateDir>/journal, named by a hash of the requests, so the same command finds it.
 */

export const JOURNAL_VERSION = 1;

export interface JournalEndpoint {
  kind: 'local' | 'remote' | 'sftp';
  /** FileSystem.label: "local" or "alice@host:7070". */
  label: string;
  path: string;
}

export interface JournalRequest {
  /** Hash of everything below but `destination`: the request's identity. */
  key: string;
  source: JournalEndpoint;
  target: JournalEndpoint;
  move: boolean;
  conflict: ConflictPolicy;
  exactTarget: boolean;
  /**
   * Where the source's copy goes, decided on the first run (the target itself, or a new name
   * inside it when it was a directory). Kept because after one run a new target directory exists
   * and would otherwise be taken as "put it inside".
   */
  destination?: string;
}

export type JournalJobState = 'pending' | 'done' | 'failed';

export interface JournalJob {
  request: string;
  /** Path of the file relative to the request's source ('' when the source is the file). */
  path: string;
  /** Source size and mtime when recorded: a changed source is transferred again. */
  size: number;
  mtime: number;
  state: JournalJobState;
  error?: ErrorCode;
}

export interface JournalFile {
  version: typeof JOURNAL_VERSION;
  key: string;
  createdAt: number;
  updatedAt: number;
  /** The process writing it last, so a listing can tell a live queue from an abandoned one. */
  pid: number;
  requests: JournalRequest[];
  jobs: JournalJob[];
}

/** An unfinished queue found on disk, for the TUI's "resume?" prompt. */
export interface UnfinishedJournal {
  key: string;
  file: string;
  createdAt: number;
  updatedAt: number;
  requests: JournalRequest[];
  done: number;
  pending: number;
  failed: number;
  /** True when the process that wrote it is still alive (probably still running it). */
  active: boolean;
}

/** Describes a request the way the journal keys it (the policy is the one in force for it). */
export function describeRequest(request: TransferRequest, conflict: ConflictPolicy): JournalRequest {
  const identity = {
    source: { kind: request.source.fs.kind, label: request.source.fs.label, path: request.source.path },
    target: { kind: request.target.fs.kind, label: request.target.fs.label, path: request.target.path },
    move: request.move === true,
    conflict: request.conflict ?? conflict,
    exactTarget: request.exactTarget === true,
  };
  return { key: hash(JSON.stringify(identity)), ...identity };
}

/** The journal key of a queue run: a hash of its requests' identities, in order. */
export function journalKey(requests: readonly Pick<JournalRequest, 'key'>[]): string {
  return hash(JSON.stringify(requests.map((r) => r.key)));
}

function hash(text: string): string {
  return createHash('sha256').update(text).digest('hex').slice(0, 32);
}

function jobId(request: string, relPath: string): string {
  return `${request}\u0000${relPath}`;
}

/**
 * One queue run's journal. Changes are kept in memory and written after `debounceMs` (default
 * 200 ms; longer when a write takes long, so a huge journal costs at most ~10% of the time)
 * with a write-to-temp, fsync, rename, so the file on disk is always a whole JSON document: the
 * old one or the new one, never a mix.
 */
export class TransferJournal {
  readonly key: string;
  readonly file: string;
  /** True when an earlier run's journal was loaded. */
  readonly resumed: boolean;
  private readonly debounceMs: number;
  private readonly createdAt: number;
  private readonly requests = new Map<string, JournalRequest>();
  private readonly jobs = new Map<string, JournalJob>();
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private dirty = false;
  private completed = false;
  /** How long the last write took: a huge journal is written less often (≤ ~10% of the time). */
  private lastWriteMs = 0;

  private constructor(key: string, file: string, debounceMs: number, loaded: JournalFile | undefined) {
    this.key = key;
    this.file = file;
    this.debounceMs = debounceMs;
    this.resumed = loaded !== undefined;
    this.createdAt = loaded?.createdAt ?? Date.now();
    for (const r of loaded?.requests ?? []) this.requests.set(r.key, r);
    for (const j of loaded?.jobs ?? []) this.jobs.set(jobId(j.request, j.path), j);
  }

  /**
   * Opens the journal `key` in `dir` (default: journalDir()), loading what an earlier run left.
   * A journal that cannot be read as ours is set aside (renamed `.corrupt`) and a fresh one
   * started: losing it only costs re-checking files, which the conflict policy does anyway.
   */
  static async open(options: { key: string; dir?: string; debounceMs?: number }): Promise<TransferJournal> {
    if (!/^[0-9a-f]{8,64}$/.test(options.key)) throw new FerryError('EINVAL', `bad journal key: ${options.key}`);
    const dir = options.dir ?? journalDir();
    const file = path.join(dir, `${options.key}.json`);
    const loaded = await readJournal(file).catch(async (error: unknown) => {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      await fsp.rename(file, `${file}.corrupt`).catch(() => undefined);
      return undefined;
    });
    return new TransferJournal(options.key, file, options.debounceMs ?? 200, loaded);
  }

  /** Registers a request (idempotent) and returns the journal's record of it. */
  addRequest(request: JournalRequest): JournalRequest {
    const known = this.requests.get(request.key);
    if (known !== undefined) return known;
    const copy = { ...request };
    this.requests.set(request.key, copy);
    this.touch();
    return copy;
  }

  getRequest(key: string): JournalRequest | undefined {
    return this.requests.get(key);
  }

  setDestination(requestKey: string, destination: string): void {
    const request = this.requests.get(requestKey);
    if (request === undefined || request.destination === destination) return;
    request.destination = destination;
    this.touch();
  }

  getJob(requestKey: string, relPath: string): JournalJob | undefined {
    return this.jobs.get(jobId(requestKey, relPath));
  }

  /** True when an earlier run finished this file and the source still has the same size and mtime. */
  isDone(requestKey: string, relPath: string, size: number, mtime: number): boolean {
    const job = this.getJob(requestKey, relPath);
    return job !== undefined && job.state === 'done' && job.size === size && job.mtime === mtime;
  }

  setJob(job: JournalJob): void {
    const id = jobId(job.request, job.path);
    const known = this.jobs.get(id);
    if (known && known.state === job.state && known.size === job.size && known.mtime === job.mtime && known.error === job.error) return;
    this.jobs.set(id, { ...job });
    this.touch();
  }

  /** The journal as it would be written now. */
  toJSON(): JournalFile {
    return {
      version: JOURNAL_VERSION,
      key: this.key,
      createdAt: this.createdAt,
      updatedAt: Date.now(),
      pid: process.pid,
      requests: [...this.requests.values()],
      jobs: [...this.jobs.values()],
    };
  }

  /** Writes pending changes now (and waits for a write in progress). */
  async flush(): Promise<void> {
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    if (!this.dirty || this.completed) return this.writing;
    this.dirty = false;
    const content = `${JSON.stringify(this.toJSON())}\n`;
    const write = this.writing.then(async () => {
      const started = Date.now();
      await writeAtomic(this.file, content);
      this.lastWriteMs = Date.now() - started;
    });
    // The chain itself never rejects, so one failed write does not block the next ones; what it
    // should have written is written again with the next flush.
    this.writing = write.catch(() => {
      this.dirty = true;
    });
    await write;
  }

  /**
   * The queue finished cleanly: deletes the file. Later changes (a TUI queue that gets more
   * work) write it again.
   */
  async complete(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.completed = true;
    this.dirty = false;
    await this.writing;
    await fsp.rm(this.file, { force: true });
  }

  /** Stops the timer after writing what is pending. */
  async close(): Promise<void> {
    await this.flush();
  }

  private touch(): void {
    this.dirty = true;
    this.completed = false;
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      // A failed write is retried with the next change or flush; it must not crash the queue.
      this.flush().catch(() => undefined);
    }, Math.max(this.debounceMs, 10 * this.lastWriteMs));
    this.timer.unref();
  }
}

async function readJournal(file: string): Promise<JournalFile> {
  const raw = JSON.parse(await fsp.readFile(file, 'utf8')) as Partial<JournalFile>;
  if (raw.version !== JOURNAL_VERSION || !Array.isArray(raw.requests) || !Array.isArray(raw.jobs) || typeof raw.key !== 'string') {
    throw new Error('not a ferry journal');
  }
  return raw as JournalFile;
}

/** tmp + fsync + rename + fsync of the directory: the file is either the old or the new one. */
async function writeAtomic(file: string, content: string): Promise<void> {
  const dir = path.dirname(file);
  await fsp.mkdir(dir, { recursive: true, mode: 0o700 });
  const tmp = `${file}.${process.pid}.tmp`;
  const handle = await fsp.open(tmp, 'w', 0o600);
  try {
    await handle.writeFile(content);
    await handle.sync();
  } finally {
    await handle.close();
  }
  await fsp.rename(tmp, file);
  const dirHandle = await fsp.open(dir, 'r');
  try {
    await dirHandle.sync();
  } catch {
    // Some file systems refuse fsync on a directory; the rename is still atomic there.
  } finally {
    await dirHandle.close();
  }
}

function pidAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Unfinished queue runs in `dir` (default: journalDir()), newest first. Unreadable files are
 * left out.
 */
export async function listUnfinished(dir: string = journalDir()): Promise<UnfinishedJournal[]> {
  let names: string[];
  try {
    names = await fsp.readdir(dir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw error;
  }
  const found: UnfinishedJournal[] = [];
  for (const name of names) {
    if (!/^[0-9a-f]+\.json$/.test(name)) continue;
    const file = path.join(dir, name);
    const journal = await readJournal(file).catch(() => undefined);
    if (journal === undefined) continue;
    const count = (state: JournalJobState) => journal.jobs.filter((j) => j.state === state).length;
    found.push({
      key: journal.key,
      file,
      createdAt: journal.createdAt,
      updatedAt: journal.updatedAt,
      requests: journal.requests,
      done: count('done'),
      pending: count('pending'),
      failed: count('failed'),
      active: typeof journal.pid === 'number' && pidAlive(journal.pid),
    });
  }
  return found.sort((a, b) => b.updatedAt - a.updatedAt);
}

import { EventEmitter } from 'node:events';
import type { FileSystem } from '../fs/file-system.js';
import { FerryError, type Entry } from '../protocol/index.js';
import { decideConflict, numberedName } from './conflict.js';
import { copyStep, discardLocalPartials, sessionOf, type CopyStepResult } from './copy-step.js';
import { TRANSIENT_CODES, toFerryError } from './errors.js';
import { describeRequest, type TransferJournal } from './journal.js';
import { initialQueueState, reduceTransfer, type QueueState } from './progress.js';
import type {
  ConflictHandler,
  ConflictPolicy,
  JobError,
  JobInfo,
  JobOutcome,
  JobState,
  ResolvedPolicy,
  TransferDirection,
  TransferEvent,
  TransferRequest,
} from './types.js';

export interface TransferQueueOptions {
  /** Files transferred at once. Default 4. */
  concurrency?: number;
  /** Policy for requests that name none. Default 'resume'. */
  conflict?: ConflictPolicy;
  /** Extra attempts for a job failing with a transient error (ENETWORK, ETIMEDOUT, EBUSY). Default 3. */
  retries?: number;
  /** Wait before the first retry; doubles each time, at most 30 s. Default 500 ms. */
  retryDelayMs?: number;
  /** Asked, one conflict at a time, when the policy is 'ask'. Without it 'ask' fails with EEXIST. */
  onConflict?: ConflictHandler;
  /** Records requests and finished files so a killed run can continue. */
  journal?: TransferJournal;
  /**
   * Gives a replacement for a remote file system whose session has closed for good (it gave up
   * reconnecting), e.g. a new session with the same credentials. Called before a retry; without
   * it a retry on a dead session fails again at once.
   */
  reopen?: (fs: FileSystem) => Promise<FileSystem>;
  /** How often speeds are refreshed while nothing else happens. Default 1000 ms. */
  tickMs?: number;
  /** Clock for events, in ms. Default Date.now. */
  clock?: () => number;
}

export interface TransferQueueEvents {
  /** Every event, as it is reduced. */
  event: [event: TransferEvent];
  /** The state changed; read it with snapshot() (at the rate you redraw). */
  update: [state: QueueState];
  /** Nothing is queued, running, waiting for a retry or being planned. */
  idle: [state: QueueState];
}

interface RequestRecord {
  id: number;
  request: TransferRequest;
  policy: ConflictPolicy;
  /** Journal identity of the request. */
  key: string;
  /** Jobs not yet finished, plus one while the tree is being walked. */
  outstanding: number;
  /** Source directories in walk order, removed deepest first after a move. */
  sourceDirs: string[];
  canceled: boolean;
}

interface Job {
  info: JobInfo;
  record: RequestRecord;
  /** Path relative to the request's source, '/'-separated ('' for the source itself). */
  relPath: string;
  sourcePath: string;
  targetPath: string;
  entry: Entry;
  state: JobState;
  attempt: number;
  controller?: AbortController;
  retryTimer?: NodeJS.Timeout;
  /** The job's error when it failed. */
  error?: FerryError;
}

type JobResult =
  | { kind: 'done'; outcome: JobOutcome; size: number; resumedFrom?: number; sha256?: string; sizeOnly?: true }
  | { kind: 'skipped'; reason: string };

const MAX_RETRY_DELAY_MS = 30_000;
/** What downloads (`.name.ferry-part`) and local copies (`.name.ferry-copy`) leave while unfinished. */
const PARTIAL_NAME = /^\..+\.ferry-(part|copy)(\.json)?$/;
const MAX_RENAME_TRIES = 10_000;

/**
 * Runs `task` again after a lost connection for as long as the session behind `fs` is trying to
 * come back, as the transfers themselves do: a walk's listing or mkdir must not fail a copy that
 * the user was promised would survive a cut. `task` must be safe to repeat.
 */
/** What the conflict policy says about an existing target: copy how, or the job's result. */
type ConflictOutcome = { overwrite: boolean; adopt: boolean } | { result: JobResult };

async function throughCuts<T>(fs: FileSystem, task: () => Promise<T>): Promise<T> {
  for (;;) {
    try {
      return await task();
    } catch (error) {
      const session = sessionOf(fs);
      if (!(error instanceof FerryError && error.code === 'ENETWORK') || session === undefined || session.state === 'closed') throw error;
    }
  }
}

/**
 * Copies files and trees between file systems, N at a time, with a conflict policy, retries of
 * transient failures, progress reduced into one state, and an optional journal. Used by the CLI
 * and the TUI alike.
 *
 * Usage: `queue.add(request)` for each request (it walks the source and queues one job per file;
 * jobs start while the walk goes on), then `await queue.whenIdle()`; sample `queue.snapshot()` on
 * 'update' for progress.
 */
export class TransferQueue extends EventEmitter<TransferQueueEvents> {
  readonly concurrency: number;
  readonly retries: number;
  private readonly defaultPolicy: ConflictPolicy;
  private readonly retryDelayMs: number;
  private readonly onConflict: ConflictHandler | undefined;
  private readonly journal: TransferJournal | undefined;
  private readonly reopen: ((fs: FileSystem) => Promise<FileSystem>) | undefined;
  /** Replacements made by `reopen`, by the original instance; a pending one is shared. */
  private readonly reopened = new Map<FileSystem, Promise<FileSystem>>();
  private readonly tickMs: number;
  private readonly clock: () => number;

  private state: QueueState = initialQueueState();
  private readonly jobs = new Map<number, Job>();
  private readonly pending = new Fifo<Job>();
  /** Jobs in state 'queued' (waiting for a slot or for a retry). */
  private queued = 0;
  private readonly requests = new Map<number, RequestRecord>();
  private nextJobId = 1;
  private nextRequestId = 1;
  private running = 0;
  /** Walks, retry waits and post-move cleanups in progress. */
  private busy = 0;
  private paused = false;
  private closed = false;
  /** Conflict prompts are shown one at a time. */
  private asking: Promise<unknown> = Promise.resolve();
  /** An "apply to all" answer from onConflict. */
  private askedForAll: ResolvedPolicy | undefined;
  private ticker: NodeJS.Timeout | undefined;
  private idleWaiters: ((state: QueueState) => void)[] = [];
  private settling: Promise<void> = Promise.resolve();

  constructor(options: TransferQueueOptions = {}) {
    super();
    this.concurrency = Math.max(1, Math.floor(options.concurrency ?? 4));
    this.retries = Math.max(0, Math.floor(options.retries ?? 3));
    this.defaultPolicy = options.conflict ?? 'resume';
    this.retryDelayMs = options.retryDelayMs ?? 500;
    this.onConflict = options.onConflict;
    this.journal = options.journal;
    this.reopen = options.reopen;
    this.tickMs = options.tickMs ?? 1000;
    this.clock = options.clock ?? Date.now;
  }

  /** The current progress state (immutable; a new object after each change). */
  snapshot(): QueueState {
    return this.state;
  }

  /**
   * Plans `request` and queues its jobs: a file, or a directory walked recursively (directories
   * are created on the target as they are reached, empty ones too; symlinks and special files
   * become skipped jobs). When the target is an existing directory the source goes inside it.
   * Resolves with the request id once the walk is over; rejects when the source itself cannot be
   * read (ENOENT, EACCES, …), in which case nothing was queued for it.
   */
  async add(request: TransferRequest): Promise<number> {
    if (this.closed) throw new FerryError('ECANCELED', 'the transfer queue is closed');
    const policy = request.conflict ?? this.defaultPolicy;
    const described = describeRequest(request, this.defaultPolicy);
    const record: RequestRecord = {
      id: this.nextRequestId++,
      request,
      policy,
      key: described.key,
      outstanding: 1,
      sourceDirs: [],
      canceled: false,
    };
    this.requests.set(record.id, record);
    this.journal?.addRequest(described);
    this.busy++;
    this.startTicker();
    try {
      await this.plan(record);
      return record.id;
    } finally {
      this.busy--;
      this.finishOne(record);
      this.checkIdle();
    }
  }

  /**
   * Resolves when the queue has nothing left to do (at once if it is idle), after the journal has
   * been removed (every job done or skipped) or written (some failed).
   */
  whenIdle(): Promise<QueueState> {
    if (this.isIdle()) return this.settling.then(() => this.state);
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /**
   * Puts a failed file job back in the queue with a fresh set of retries. (A directory that could
   * not be created is not retried alone: add its request again.)
   */
  retry(jobId: number): void {
    const job = this.jobs.get(jobId);
    if (job === undefined || job.state !== 'failed' || job.info.kind !== 'file' || this.closed) return;
    job.attempt = 0;
    delete job.error;
    job.record.outstanding++;
    this.setState(job, 'queued');
    this.dispatch({ type: 'job-requeued', at: this.clock(), id: job.info.id });
    this.journalJob(job, 'pending');
    this.pending.push(job);
    this.startTicker();
    this.pump();
  }

  /**
   * Cancels one job, or everything (queued, running, waiting, and walks in progress) when no id is
   * given. Canceled jobs fail with ECANCELED; a running transfer keeps its partial for later.
   */
  cancel(jobId?: number): void {
    const targets = jobId === undefined ? [...this.jobs.values()] : [this.jobs.get(jobId)].filter((j): j is Job => j !== undefined);
    if (jobId === undefined) for (const record of this.requests.values()) record.canceled = true;
    for (const job of targets) this.cancelJob(job);
    this.checkIdle();
  }

  /** Stops starting new jobs; running ones finish. */
  pause(): void {
    this.paused = true;
  }

  /** Starts queued jobs again after pause(). */
  resume(): void {
    this.paused = false;
    this.pump();
  }

  get isPaused(): boolean {
    return this.paused;
  }

  /**
   * Cancels everything and writes the journal as it stands (not removed: the next run continues
   * from it). Safe to call more than once.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.cancel();
    this.stopTicker();
    await this.settling;
    await this.journal?.flush();
  }

  // ---- planning ----

  private async plan(record: RequestRecord): Promise<void> {
    const { source } = record.request;
    const entry = await source.fs.stat(source.path);
    if (entry === null) throw new FerryError('ENOENT', `no such file or directory: ${display(source.fs, source.path)}`);
    const destination = await this.destinationOf(record, entry);
    this.journal?.setDestination(record.key, destination);
    if (entry.type === 'dir') {
      await this.walk(record, source.path, destination, '');
    } else {
      this.addJob(record, '', source.path, destination, { ...entry, name: source.fs.basename(source.path) || entry.name });
    }
  }

  /**
   * Where the source's copy goes: inside the target when that is an existing directory, else the
   * target path itself. A journal from an earlier run has the answer of that run, which matters
   * because that run may have created the target directory since.
   */
  private async destinationOf(record: RequestRecord, entry: Entry): Promise<string> {
    const known = this.journal?.getRequest(record.key)?.destination;
    if (known !== undefined) return known;
    const { source, target } = record.request;
    const existing = await target.fs.stat(target.path);
    if (record.request.exactTarget) {
      if (existing !== null && (existing.type === 'dir') !== (entry.type === 'dir')) {
        throw new FerryError(existing.type === 'dir' ? 'EISDIR' : 'ENOTDIR', `${existing.type === 'dir' ? 'a directory' : 'a file'} is in the way: ${display(target.fs, target.path)}`);
      }
      return target.path;
    }
    if (existing?.type === 'dir') {
      const name = source.fs.basename(source.path) || entry.name;
      if (name === '' || name === '/') throw new FerryError('EINVAL', `cannot copy ${display(source.fs, source.path)} into a directory: it has no name`);
      return target.fs.join(target.path, name);
    }
    if (entry.type === 'dir' && existing !== null) {
      throw new FerryError('ENOTDIR', `not a directory: ${display(target.fs, target.path)}`);
    }
    return target.path;
  }

  private async walk(record: RequestRecord, sourceDir: string, targetDir: string, relPath: string): Promise<void> {
    if (record.canceled) return;
    const { source, target } = record.request;
    const dirJob = this.createJob(record, relPath, sourceDir, targetDir, {
      name: source.fs.basename(sourceDir),
      type: 'dir',
      size: 0,
      mtime: 0,
      mode: 0,
    });
    const created = await this.makeDirectory(dirJob, target.fs, targetDir);
    if (!created) return;
    record.sourceDirs.push(sourceDir);
    let entries: Entry[];
    try {
      entries = await throughCuts(source.fs, () => source.fs.list(sourceDir));
    } catch (error) {
      this.fail(dirJob, toFerryError(error));
      return;
    }
    this.finishDirJob(dirJob);
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      if (record.canceled) return;
      const childSource = source.fs.join(sourceDir, entry.name);
      const childTarget = target.fs.join(targetDir, entry.name);
      const childRel = relPath === '' ? entry.name : `${relPath}/${entry.name}`;
      if (entry.type === 'dir') await this.walk(record, childSource, childTarget, childRel);
      else if (entry.type === 'file' && source.fs.kind !== 'remote' && PARTIAL_NAME.test(entry.name)) {
        // Half a file from an interrupted transfer (a download or copy here, an upload to an SSH
        // server there; a ferry server keeps its partials outside the homes): copying it on would
        // spread the damage.
        this.skip(this.createJob(record, childRel, childSource, childTarget, entry), 'partial file of an unfinished transfer');
      } else if (entry.type === 'file') this.addJob(record, childRel, childSource, childTarget, entry);
      else {
        const job = this.createJob(record, childRel, childSource, childTarget, entry);
        this.skip(job, entry.type === 'symlink' ? 'symbolic link' : 'not a regular file');
      }
    }
  }

  /** Creates `dir` on the target unless a directory is there already; false when it failed. */
  private async makeDirectory(job: Job, fs: FileSystem, dir: string): Promise<boolean> {
    job.attempt = 1;
    this.setState(job, 'running');
    this.dispatch({ type: 'job-started', at: this.clock(), id: job.info.id, attempt: 1 });
    try {
      // Looked at again after a cut: the mkdir whose reply was lost may have happened.
      await throughCuts(fs, async () => {
        const existing = await fs.stat(dir);
        if (existing === null) await fs.mkdir(dir);
        else if (existing.type !== 'dir') throw new FerryError('EEXIST', `not a directory, in the way: ${display(fs, dir)}`);
      });
      return true;
    } catch (error) {
      this.fail(job, toFerryError(error));
      return false;
    }
  }

  private finishDirJob(job: Job): void {
    this.setState(job, 'done');
    this.dispatch({ type: 'job-done', at: this.clock(), id: job.info.id, outcome: 'created', size: 0 });
    this.finishOne(job.record);
  }

  private createJob(record: RequestRecord, relPath: string, sourcePath: string, targetPath: string, entry: Entry): Job {
    const { source, target } = record.request;
    const info: JobInfo = {
      id: this.nextJobId++,
      requestId: record.id,
      kind: entry.type === 'dir' ? 'dir' : 'file',
      name: entry.name,
      source: display(source.fs, sourcePath),
      target: display(target.fs, targetPath),
      size: entry.type === 'file' ? entry.size : 0,
      direction: directionOf(source.fs, target.fs),
    };
    const job: Job = { info, record, relPath, sourcePath, targetPath, entry, state: 'queued', attempt: 0 };
    this.queued++;
    this.jobs.set(info.id, job);
    record.outstanding++;
    this.dispatch({ type: 'job-added', at: this.clock(), job: info });
    return job;
  }

  private addJob(record: RequestRecord, relPath: string, sourcePath: string, targetPath: string, entry: Entry): void {
    const job = this.createJob(record, relPath, sourcePath, targetPath, entry);
    if (this.journal?.isDone(record.key, relPath, entry.size, entry.mtime)) {
      this.setState(job, 'done');
      this.dispatch({ type: 'job-done', at: this.clock(), id: job.info.id, outcome: 'journal', size: entry.size });
      this.finishOne(record);
      return;
    }
    this.journalJob(job, 'pending');
    this.pending.push(job);
    this.pump();
  }

  // ---- running ----

  private pump(): void {
    while (!this.paused && !this.closed && this.running < this.concurrency) {
      const job = this.pending.shift();
      if (job === undefined) break;
      if (job.state !== 'queued') continue;
      this.running++;
      void this.run(job).finally(() => {
        this.running--;
        this.pump();
        this.checkIdle();
      });
    }
  }

  private async run(job: Job): Promise<void> {
    job.attempt++;
    const controller = new AbortController();
    job.controller = controller;
    let unwatch = () => {};
    try {
      // A cancel that comes after the copy completed changes nothing: the file is there.
      const result = await this.execute(job, controller.signal, (off) => {
        unwatch = off;
      });
      // Canceled while it was still checking its target (maybe waiting for onConflict): it
      // failed then and there, and stays so.
      if (job.state === 'failed') return;
      if (result.kind === 'skipped') {
        this.skip(job, result.reason);
        return;
      }
      if (job.record.request.move) await this.removeMovedSource(job);
      this.setState(job, 'done');
      this.dispatch({
        type: 'job-done',
        at: this.clock(),
        id: job.info.id,
        outcome: result.outcome,
        size: result.size,
        ...(result.resumedFrom === undefined ? {} : { resumedFrom: result.resumedFrom }),
        ...(result.sha256 === undefined ? {} : { sha256: result.sha256 }),
        ...(result.sizeOnly ? { sizeOnly: true as const } : {}),
      });
      this.journalJob(job, 'done');
      this.finishOne(job.record);
    } catch (thrown) {
      if (job.state === 'failed') return;
      const error = controller.signal.aborted ? canceledError(job) : toFerryError(thrown);
      if (!controller.signal.aborted && TRANSIENT_CODES.has(error.code) && job.attempt <= this.retries && !this.closed) {
        this.scheduleRetry(job, error);
      } else {
        this.fail(job, error);
      }
    } finally {
      unwatch();
      delete job.controller;
    }
  }

  /** Conflict check, then the copy. `watch` receives the unsubscribe of the session watcher. */
  private async execute(job: Job, signal: AbortSignal, watch: (off: () => void) => void): Promise<JobResult> {
    const source = { fs: await this.live(job.record.request.source.fs) };
    const target = { fs: await this.live(job.record.request.target.fs) };
    // A remote target is not looked at first: the copy is tried without overwriting, and the
    // server's EEXIST (before any data moves) is what starts the conflict handling. A tree of
    // small files then costs no stat round trip per file. A local stat costs next to nothing.
    const optimistic = target.fs.kind === 'remote';
    let decision: ConflictOutcome = { overwrite: false, adopt: false };
    if (!optimistic) {
      decision = await this.resolveConflict(job, target.fs);
      if ('result' in decision) return decision.result;
    }
    if (signal.aborted) throw canceledError(job);
    const at = this.clock();
    this.setState(job, 'running');
    this.dispatch({ type: 'job-started', at, id: job.info.id, attempt: job.attempt, target: display(target.fs, job.targetPath) });
    watch(this.watchSessions(job, [source.fs, target.fs]));
    const copy = (how: { overwrite: boolean; adopt: boolean }) =>
      copyStep(source.fs, job.sourcePath, target.fs, job.targetPath, {
        signal,
        overwrite: how.overwrite,
        adopt: how.adopt,
        onProgress: ({ done, total }) => {
          if (job.state === 'running' || job.state === 'reconnecting') {
            this.dispatch({ type: 'job-progress', at: this.clock(), id: job.info.id, done, total });
          }
        },
      });
    let result: CopyStepResult;
    try {
      result = await copy(decision);
    } catch (error) {
      if (!optimistic || !(error instanceof FerryError) || error.code !== 'EEXIST') throw error;
      decision = await this.resolveConflict(job, target.fs);
      if ('result' in decision) return decision.result;
      if (signal.aborted) throw canceledError(job);
      result = await copy(decision);
    }
    return { kind: 'done', outcome: 'transferred', size: result.size, resumedFrom: result.resumedFrom, sha256: result.sha256, ...(result.check === 'size' ? { sizeOnly: true as const } : {}) };
  }

  /**
   * Looks at the job's target and applies the conflict policy: how to copy (overwrite, adopt,
   * or a new name set on the job), or the job's result when there is nothing to copy.
   */
  private async resolveConflict(job: Job, fs: FileSystem): Promise<ConflictOutcome> {
    const existing = await throughCuts(fs, () => fs.stat(job.targetPath));
    if (existing === null) return { overwrite: false, adopt: false };
    const policy = await this.policyFor(job, existing);
    const action = decideConflict(policy, job.entry, existing);
    switch (action.action) {
      case 'up-to-date':
        await discardLocalPartials(fs, job.targetPath);
        return { result: { kind: 'done', outcome: 'up-to-date', size: job.entry.size } };
      case 'skip':
        return { result: { kind: 'skipped', reason: action.reason } };
      case 'fail':
        throw new FerryError(action.code, action.message);
      case 'rename':
        job.targetPath = await freeName(fs, job.targetPath);
        return { overwrite: false, adopt: false };
      case 'transfer':
        return { overwrite: action.overwrite, adopt: action.adopt };
    }
  }

  /**
   * `fs`, or its replacement when its session closed for good and a `reopen` hook can make a new
   * one. A replacement that dies in turn is replaced again.
   */
  private async live(fs: FileSystem): Promise<FileSystem> {
    let current = fs;
    for (;;) {
      const replacement = this.reopened.get(current);
      if (replacement === undefined) break;
      current = await replacement;
    }
    if (this.reopen === undefined || sessionOf(current)?.state !== 'closed') return current;
    const pending = this.reopen(current);
    this.reopened.set(current, pending);
    try {
      return await pending;
    } catch (error) {
      // Reopening failed (the server is still away): the next retry tries again.
      this.reopened.delete(current);
      throw error;
    }
  }

  /** The policy for this job's conflict; 'ask' waits for the (one at a time) handler. */
  private async policyFor(job: Job, existing: Entry): Promise<ResolvedPolicy> {
    if (job.record.policy !== 'ask') return job.record.policy;
    const ask = async (): Promise<ResolvedPolicy> => {
      if (this.askedForAll !== undefined) return this.askedForAll;
      if (this.onConflict === undefined) throw new FerryError('EEXIST', `target exists and no one to ask: ${job.info.target}`);
      const decision = await this.onConflict(job.info, job.entry, existing);
      if (decision.applyToAll) this.askedForAll = decision.policy;
      return decision.policy;
    };
    const answer = this.asking.then(ask);
    this.asking = answer.catch(() => undefined);
    return answer;
  }

  /** Shows 'reconnecting' on the job while a session it uses is reconnecting. */
  private watchSessions(job: Job, systems: FileSystem[]): () => void {
    const offs: (() => void)[] = [];
    for (const fs of systems) {
      const session = sessionOf(fs);
      if (session === undefined) continue;
      const onState = (state: string) => {
        if (state === 'reconnecting' && job.state === 'running') {
          this.setState(job, 'reconnecting');
          this.dispatch({ type: 'job-reconnecting', at: this.clock(), id: job.info.id });
        } else if (state === 'ready' && job.state === 'reconnecting') {
          this.setState(job, 'running');
          this.dispatch({ type: 'job-reconnected', at: this.clock(), id: job.info.id });
        }
      };
      session.on('state', onState);
      offs.push(() => session.off('state', onState));
    }
    return () => {
      for (const off of offs) off();
    };
  }

  private scheduleRetry(job: Job, error: FerryError): void {
    const backoff = Math.min(MAX_RETRY_DELAY_MS, this.retryDelayMs * 2 ** (job.attempt - 1));
    const delayMs = Math.max(backoff, error.details.retryAfterMs ?? 0);
    this.setState(job, 'queued');
    this.dispatch({ type: 'job-retrying', at: this.clock(), id: job.info.id, attempt: job.attempt, error: wire(error), delayMs });
    this.busy++;
    job.retryTimer = setTimeout(() => {
      delete job.retryTimer;
      this.busy--;
      if (job.state !== 'queued') return this.checkIdle();
      this.pending.push(job);
      this.pump();
      this.checkIdle();
    }, delayMs);
  }

  /** After a verified copy of a moved file: remove its source. */
  private async removeMovedSource(job: Job): Promise<void> {
    const fs = await this.live(job.record.request.source.fs);
    try {
      await fs.remove(job.sourcePath);
    } catch (error) {
      const cause = toFerryError(error);
      if (cause.code === 'ENOENT') return;
      throw new FerryError(cause.code, `copied, but could not remove the source: ${cause.message}`);
    }
  }

  private cancelJob(job: Job): void {
    if (job.state === 'queued') {
      if (job.retryTimer) {
        clearTimeout(job.retryTimer);
        delete job.retryTimer;
        this.busy--;
      }
      // A queued job may already be in run(), looking at its target or waiting for an answer
      // from onConflict: it must not go on to copy once that answer comes.
      job.controller?.abort();
      this.fail(job, canceledError(job));
    } else if (job.state === 'running' || job.state === 'reconnecting') {
      job.controller?.abort();
    }
  }

  private fail(job: Job, error: FerryError): void {
    job.error = error;
    this.setState(job, 'failed');
    this.dispatch({ type: 'job-failed', at: this.clock(), id: job.info.id, error: wire(error) });
    this.journalJob(job, 'failed');
    this.finishOne(job.record);
  }

  private skip(job: Job, reason: string): void {
    this.setState(job, 'skipped');
    this.dispatch({ type: 'job-skipped', at: this.clock(), id: job.info.id, reason });
    // A skipped file is settled: a later run of the same queue need not look at it again.
    this.journalJob(job, 'done');
    this.finishOne(job.record);
  }

  private setState(job: Job, state: JobState): void {
    if (job.state === 'queued') this.queued--;
    if (state === 'queued') this.queued++;
    job.state = state;
  }

  private journalJob(job: Job, state: 'pending' | 'done' | 'failed'): void {
    if (this.journal === undefined || job.info.kind !== 'file') return;
    this.journal.setJob({
      request: job.record.key,
      path: job.relPath,
      size: job.entry.size,
      mtime: job.entry.mtime,
      state,
      ...(state === 'failed' && job.error ? { error: job.error.code } : {}),
    });
  }

  /** One job (or the walk) of a request is over; after the last, a move removes the source dirs. */
  private finishOne(record: RequestRecord): void {
    record.outstanding--;
    if (record.outstanding > 0 || !record.request.move || record.sourceDirs.length === 0) return;
    const dirs = record.sourceDirs.splice(0).reverse();
    this.busy++;
    void (async () => {
      const fs = await this.live(record.request.source.fs);
      // Deepest first, never recursive: a directory still holding a skipped or failed file stays.
      for (const dir of dirs) await fs.remove(dir).catch(() => undefined);
    })()
      .catch(() => undefined)
      .finally(() => {
        this.busy--;
        this.checkIdle();
      });
  }

  // ---- state and idleness ----

  private dispatch(event: TransferEvent): void {
    this.state = reduceTransfer(this.state, event);
    this.emit('event', event);
    this.emit('update', this.state);
  }

  private isIdle(): boolean {
    return this.busy === 0 && this.running === 0 && this.queued === 0;
  }

  private checkIdle(): void {
    if (!this.isIdle()) return;
    this.pending.clear();
    this.stopTicker();
    this.dispatch({ type: 'tick', at: this.clock() });
    const state = this.state;
    this.settling = this.settling.then(() => this.settleJournal()).catch(() => undefined);
    const waiters = this.idleWaiters.splice(0);
    void this.settling.then(() => {
      this.emit('idle', state);
      for (const resolve of waiters) resolve(this.state);
    });
  }

  /**
   * A clean finish (nothing failed but canceled jobs, queue not closed) removes the journal;
   * otherwise it is written so the next run can pick up the failed files.
   */
  private async settleJournal(): Promise<void> {
    if (this.journal === undefined) return;
    const failed = [...this.jobs.values()].some((job) => job.state === 'failed' && job.error?.code !== 'ECANCELED');
    if (failed || this.closed) await this.journal.flush();
    else await this.journal.complete();
  }

  private startTicker(): void {
    if (this.ticker !== undefined || this.tickMs <= 0) return;
    this.ticker = setInterval(() => this.dispatch({ type: 'tick', at: this.clock() }), this.tickMs);
    this.ticker.unref();
  }

  private stopTicker(): void {
    if (this.ticker === undefined) return;
    clearInterval(this.ticker);
    this.ticker = undefined;
  }
}

function display(fs: FileSystem, path: string): string {
  return fs.kind === 'local' ? path : `${fs.label}:${path}`;
}

function directionOf(source: FileSystem, target: FileSystem): TransferDirection {
  if (source.kind === 'local') return target.kind === 'local' ? 'local' : 'upload';
  return target.kind === 'local' ? 'download' : 'remote';
}

function wire(error: FerryError): JobError {
  return { code: error.code, message: error.message };
}

function canceledError(job: Job): FerryError {
  return new FerryError('ECANCELED', `canceled: ${job.info.source}`);
}

/** The first `name (n).ext` next to `path` that does not exist. */
async function freeName(fs: FileSystem, path: string): Promise<string> {
  const dir = fs.dirname(path);
  const name = fs.basename(path);
  for (let n = 1; n <= MAX_RENAME_TRIES; n++) {
    const candidate = fs.join(dir, numberedName(name, n));
    if ((await fs.stat(candidate)) === null) return candidate;
  }
  throw new FerryError('EEXIST', `no free name for a copy of ${display(fs, path)}`);
}

/** A first-in first-out list whose shift() is O(1) (Array#shift moves every element). */
class Fifo<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  push(item: T): void {
    this.items.push(item);
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head >= 1024 && this.head * 2 >= this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  clear(): void {
    this.items = [];
    this.head = 0;
  }
}

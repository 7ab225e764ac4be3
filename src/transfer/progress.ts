import { JobTable } from './job-table.js';
import { EMPTY_METER, addSample, etaSeconds, rateOf, type SpeedMeter } from './speed-meter.js';
import type { JobError, JobInfo, JobOutcome, JobState, TransferEvent } from './types.js';

/*
 * The one place where transfer events become state (yazi's scheduler: workers emit, one reducer
 * folds). Pure: the clock comes in on the events. Queue totals are kept incrementally, as the sum
 * of each job's contribution, so a progress event costs the same with 10 jobs or 10,000.
 */

export interface JobProgress extends JobInfo {
  state: JobState;
  /** Bytes of the target that are in place (including a resumed prefix). */
  bytesDone: number;
  bytesTotal: number;
  /** Bytes actually moved by this queue for this job, over all attempts. */
  transferred: number;
  /** Bytes per second, smoothed over a few seconds; 0 when not running. */
  speed: number;
  /** Seconds left, null when unknown. */
  eta: number | null;
  /** 1 for the first try; 0 before the job starts. */
  attempt: number;
  outcome?: JobOutcome;
  error?: JobError;
  /** Why a job was skipped. */
  reason?: string;
  /** Where the current attempt resumed from (bytes kept from an earlier attempt or run). */
  resumedFrom?: number;
  /** Done, but checked by its size only: an SSH server that may not run sha256sum. */
  sizeOnly?: true;
  startedAt?: number;
  finishedAt?: number;
  /** Internal: the rate meter of the current attempt. */
  meter: SpeedMeter;
  /** Internal: `transferred` before the current attempt, and the attempt's starting offset. */
  transferredBefore: number;
  startOffset: number | null;
  /** Internal: how much of `transferred` has been fed to the queue's speed meter. */
  flowed: number;
}

export interface QueueTotals {
  files: number;
  dirs: number;
  queued: number;
  /** Running or reconnecting. */
  running: number;
  done: number;
  failed: number;
  skipped: number;
  /** File jobs that are over: done, failed or skipped. */
  filesFinished: number;
  /** File jobs by how they got done. */
  transferredFiles: number;
  upToDate: number;
  fromJournal: number;
  /** Bytes of every file not skipped. */
  bytesTotal: number;
  bytesDone: number;
  /** Bytes moved by this queue (a resumed prefix is not counted). */
  bytesTransferred: number;
  speed: number;
  eta: number | null;
}

export interface QueueState {
  /** Every job by id (read like a ReadonlyMap: get, has, size, values()). */
  jobs: JobTable;
  totals: QueueTotals;
  /** Time of the newest event. */
  now: number;
  /** Internal: everything ever moved, only growing, for the queue's speed. */
  flow: number;
  meter: SpeedMeter;
}

const ZERO_TOTALS: QueueTotals = {
  files: 0,
  dirs: 0,
  queued: 0,
  running: 0,
  done: 0,
  failed: 0,
  skipped: 0,
  filesFinished: 0,
  transferredFiles: 0,
  upToDate: 0,
  fromJournal: 0,
  bytesTotal: 0,
  bytesDone: 0,
  bytesTransferred: 0,
  speed: 0,
  eta: null,
};

export function initialQueueState(): QueueState {
  return { jobs: JobTable.EMPTY, totals: ZERO_TOTALS, now: 0, flow: 0, meter: EMPTY_METER };
}

type Counted = Omit<QueueTotals, 'speed' | 'eta'>;

/** What one job adds to the totals. */
function contribution(job: JobProgress): Counted {
  const isFile = job.kind === 'file';
  const counted = job.state !== 'skipped';
  return {
    files: isFile ? 1 : 0,
    dirs: isFile ? 0 : 1,
    queued: job.state === 'queued' ? 1 : 0,
    running: job.state === 'running' || job.state === 'reconnecting' ? 1 : 0,
    done: job.state === 'done' ? 1 : 0,
    failed: job.state === 'failed' ? 1 : 0,
    skipped: job.state === 'skipped' ? 1 : 0,
    filesFinished: isFile && (job.state === 'done' || job.state === 'failed' || job.state === 'skipped') ? 1 : 0,
    transferredFiles: isFile && job.state === 'done' && job.outcome === 'transferred' ? 1 : 0,
    upToDate: isFile && job.state === 'done' && job.outcome === 'up-to-date' ? 1 : 0,
    fromJournal: isFile && job.state === 'done' && job.outcome === 'journal' ? 1 : 0,
    bytesTotal: counted ? job.bytesTotal : 0,
    bytesDone: counted ? job.bytesDone : 0,
    bytesTransferred: job.transferred,
  };
}

function applyDelta(totals: QueueTotals, before: JobProgress | undefined, after: JobProgress): QueueTotals {
  const next = { ...totals };
  const add = contribution(after);
  const sub = before === undefined ? undefined : contribution(before);
  for (const key of Object.keys(add) as (keyof Counted)[]) {
    next[key] += add[key] - (sub?.[key] ?? 0);
  }
  return next;
}

/**
 * Folds one event into the state and returns the new state (the old one is not modified). Events
 * for unknown job ids are ignored, so a late event from a canceled job cannot corrupt the totals.
 */
export function reduceTransfer(state: QueueState, event: TransferEvent): QueueState {
  if (event.type === 'tick') return withSpeeds(state, event.at);
  if (event.type === 'job-added') {
    const job: JobProgress = {
      ...event.job,
      state: 'queued',
      bytesDone: 0,
      bytesTotal: event.job.size,
      transferred: 0,
      speed: 0,
      eta: null,
      attempt: 0,
      meter: EMPTY_METER,
      transferredBefore: 0,
      startOffset: null,
      flowed: 0,
    };
    return finish(state, undefined, job, event.at, 0);
  }
  const before = state.jobs.get(event.id);
  if (before === undefined) return state;
  const { job, moved } = reduceJob(before, event);
  return finish(state, before, job, event.at, moved);
}

function reduceJob(job: JobProgress, event: Exclude<TransferEvent, { type: 'job-added' | 'tick' }>): { job: JobProgress; moved: number } {
  const stopped = { speed: 0, eta: null, meter: EMPTY_METER };
  switch (event.type) {
    case 'job-started': {
      const { error: _e, reason: _r, outcome: _o, resumedFrom: _f, ...rest } = job;
      return {
        job: {
          ...rest,
          ...stopped,
          ...(event.target === undefined ? {} : { target: event.target }),
          state: 'running',
          attempt: event.attempt,
          startedAt: event.at,
          transferredBefore: job.transferred,
          startOffset: null,
        },
        moved: 0,
      };
    }
    case 'job-progress': {
      if (job.state !== 'running' && job.state !== 'reconnecting') return { job, moved: 0 };
      // The first report of an attempt may include bytes kept from before (a resumed partial):
      // they are where the attempt starts, not bytes it moved.
      const startOffset = job.startOffset ?? Math.min(job.bytesDone, event.done);
      const transferred = job.transferredBefore + Math.max(0, event.done - startOffset);
      const meter = job.startOffset === null ? addSample(EMPTY_METER, event.at, event.done) : addSample(job.meter, event.at, event.done);
      const speed = rateOf(meter, event.at);
      // The first report's jump is not counted as flow yet (it may be a resumed prefix); the
      // job's completion settles the difference.
      const moved = job.startOffset === null ? 0 : Math.max(0, event.done - job.bytesDone);
      return {
        job: {
          ...job,
          state: 'running',
          startOffset,
          bytesDone: event.done,
          bytesTotal: event.total,
          transferred,
          meter,
          speed,
          eta: etaSeconds(event.total - event.done, speed),
          flowed: job.flowed + moved,
          ...(startOffset > 0 ? { resumedFrom: startOffset } : {}),
        },
        moved,
      };
    }
    case 'job-reconnecting':
      return job.state === 'running' ? { job: { ...job, state: 'reconnecting' }, moved: 0 } : { job, moved: 0 };
    case 'job-reconnected':
      return job.state === 'reconnecting' ? { job: { ...job, state: 'running' }, moved: 0 } : { job, moved: 0 };
    case 'job-retrying':
      return { job: { ...job, ...stopped, state: 'queued', attempt: event.attempt, error: event.error }, moved: 0 };
    case 'job-requeued': {
      const { error: _e, reason: _r, finishedAt: _f, ...rest } = job;
      return { job: { ...rest, ...stopped, state: 'queued', attempt: 0 }, moved: 0 };
    }
    case 'job-done': {
      // The engine knows exactly where the last attempt resumed; trust it over the estimate.
      const transferred =
        event.outcome === 'transferred'
          ? job.transferredBefore + Math.max(0, event.size - (event.resumedFrom ?? job.startOffset ?? 0))
          : job.transferred;
      return {
        job: {
          ...job,
          ...stopped,
          state: 'done',
          outcome: event.outcome,
          bytesDone: event.size,
          bytesTotal: event.size,
          transferred,
          finishedAt: event.at,
          flowed: Math.max(job.flowed, transferred),
          ...(event.resumedFrom !== undefined && event.resumedFrom > 0 ? { resumedFrom: event.resumedFrom } : {}),
          ...(event.sizeOnly ? { sizeOnly: true as const } : {}),
        },
        // Growth only: the queue's flow never goes backwards.
        moved: Math.max(0, transferred - job.flowed),
      };
    }
    case 'job-failed':
      return { job: { ...job, ...stopped, state: 'failed', error: event.error, finishedAt: event.at }, moved: 0 };
    case 'job-skipped':
      return { job: { ...job, ...stopped, state: 'skipped', reason: event.reason, finishedAt: event.at }, moved: 0 };
  }
}

function finish(state: QueueState, before: JobProgress | undefined, job: JobProgress, at: number, moved: number): QueueState {
  const jobs = state.jobs.with(job);
  const now = Math.max(state.now, at);
  const flow = state.flow + moved;
  const meter = moved > 0 || state.meter.samples.length === 0 ? addSample(state.meter, now, flow) : state.meter;
  const totals = queueSpeed(applyDelta(state.totals, before, job), meter, now);
  return { jobs, totals, now, flow, meter };
}

function queueSpeed(totals: QueueTotals, meter: SpeedMeter, now: number): QueueTotals {
  const active = totals.running + totals.queued > 0;
  const speed = active ? rateOf(meter, now) : 0;
  return { ...totals, speed, eta: active ? etaSeconds(totals.bytesTotal - totals.bytesDone, speed) : 0 };
}

/** A tick: running jobs' and the queue's speeds decay while no bytes arrive. */
function withSpeeds(state: QueueState, at: number): QueueState {
  const now = Math.max(state.now, at);
  let jobs = state.jobs;
  for (const job of state.jobs.values()) {
    if (job.state !== 'running' && job.state !== 'reconnecting') continue;
    const speed = rateOf(job.meter, now);
    if (speed === job.speed) continue;
    jobs = jobs.with({ ...job, speed, eta: etaSeconds(job.bytesTotal - job.bytesDone, speed) });
  }
  return { ...state, jobs, now, totals: queueSpeed(state.totals, state.meter, now) };
}

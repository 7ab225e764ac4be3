import type { FileSystem } from '../fs/file-system.js';
import type { Entry, ErrorCode } from '../protocol/index.js';

/**
 * What to do when the destination of a file already exists.
 * - overwrite: always transfer and replace it.
 * - resume: identical size+mtime → done already; a shorter target → adopt it as the partial and
 *   append (the engine checks the prefix by hash first); anything else → overwrite.
 * - skip: leave it alone.
 * - rename: keep both, the new one as `name (1).ext`.
 * - newer: transfer only when the source is newer.
 * - size-differs: transfer only when the sizes differ.
 * - ask: the queue's `onConflict` callback decides (the TUI's dialog).
 */
export type ConflictPolicy = 'overwrite' | 'resume' | 'skip' | 'rename' | 'newer' | 'size-differs' | 'ask';

export const CONFLICT_POLICIES: readonly ConflictPolicy[] = ['overwrite', 'resume', 'skip', 'rename', 'newer', 'size-differs', 'ask'];

/** The policies a decision can resolve to (everything but 'ask'). */
export type ResolvedPolicy = Exclude<ConflictPolicy, 'ask'>;

export interface TransferEndpoint {
  fs: FileSystem;
  /** A file or a directory; for the target, an existing directory receives the source inside it. */
  path: string;
}

export interface TransferRequest {
  source: TransferEndpoint;
  target: TransferEndpoint;
  /** Remove the source once its copy is complete and verified. */
  move?: boolean;
  /** Overrides the queue's policy for this request. */
  conflict?: ConflictPolicy;
  /**
   * Take `target.path` as the destination itself even when it is an existing directory: a
   * directory's contents merge into it (rsync's `src/`), a file gets that name. Default false:
   * an existing directory receives the source inside it under the source's name.
   */
  exactTarget?: boolean;
}

export type JobState = 'queued' | 'running' | 'reconnecting' | 'done' | 'failed' | 'skipped';

/** How a job reached 'done'. */
export type JobOutcome =
  /** Bytes were sent (maybe only the rest of a partial). */
  | 'transferred'
  /** The target already held the same size and mtime. */
  | 'up-to-date'
  /** A previous run of the same queue finished it (journal). */
  | 'journal'
  /** A directory was created (or was there already). */
  | 'created';

/** Which way a job's bytes go, by the kinds of its file systems (remote → remote is 'remote'). */
export type TransferDirection = 'upload' | 'download' | 'local' | 'remote';

export interface JobInfo {
  id: number;
  requestId: number;
  kind: 'file' | 'dir';
  /** The source's base name, for display. */
  name: string;
  /** For display: `label:path`. */
  source: string;
  target: string;
  /** The size announced by the source listing (0 for directories). */
  size: number;
  /** Set by the queue; for the TUI's ↑/↓ arrows, which cannot tell from display strings. */
  direction?: TransferDirection;
}

export interface JobError {
  code: ErrorCode;
  message: string;
}

/**
 * Everything a job reports, reduced in one place (progress.ts). `at` is a clock reading in ms;
 * the reducer never reads the clock itself.
 */
export type TransferEvent =
  | { type: 'job-added'; at: number; job: JobInfo }
  | { type: 'job-started'; at: number; id: number; attempt: number; target?: string }
  | { type: 'job-progress'; at: number; id: number; done: number; total: number }
  | { type: 'job-reconnecting'; at: number; id: number }
  | { type: 'job-reconnected'; at: number; id: number }
  | { type: 'job-retrying'; at: number; id: number; attempt: number; error: JobError; delayMs: number }
  | { type: 'job-requeued'; at: number; id: number }
  | { type: 'job-done'; at: number; id: number; outcome: JobOutcome; size: number; resumedFrom?: number; sha256?: string; sizeOnly?: true }
  | { type: 'job-failed'; at: number; id: number; error: JobError }
  | { type: 'job-skipped'; at: number; id: number; reason: string }
  /** Lets speeds decay while nothing moves. */
  | { type: 'tick'; at: number };

/** What `onConflict` answers: a policy for this file, and whether to use it for the rest. */
export interface ConflictDecision {
  policy: ResolvedPolicy;
  applyToAll: boolean;
}

export type ConflictHandler = (job: JobInfo, source: Entry, target: Entry) => Promise<ConflictDecision>;

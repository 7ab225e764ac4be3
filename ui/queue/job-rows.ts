import type { JobProgress } from '../../src/transfer/progress.js';
import type { JobTable } from '../../src/transfer/job-table.js';

/*
 * The queue panel's rows: every job in the order it was added. A TransferQueue numbers its jobs
 * 1, 2, 3, … and never removes one, so row i is job i + 1 and a frame reads only the rows it
 * shows, whatever the queue's length (a 100,000-file copy costs the same to draw as a 10-file
 * one). A table with gaps (not from a TransferQueue) falls back to a list built once per table.
 */

export interface JobRows {
  readonly count: number;
  at(index: number): JobProgress | undefined;
  /** The row of job `id`, or -1. */
  indexOf(id: number): number;
}

const listed = new WeakMap<JobTable, JobRows>();

function isDense(jobs: JobTable): boolean {
  return jobs.size === 0 || (jobs.has(1) && jobs.has(jobs.size) && !jobs.has(jobs.size + 1));
}

/** The rows of `jobs`; O(1) per row for a TransferQueue's table. */
export function jobRows(jobs: JobTable): JobRows {
  if (isDense(jobs)) {
    return {
      count: jobs.size,
      at: (index) => (index >= 0 && index < jobs.size ? jobs.get(index + 1) : undefined),
      indexOf: (id) => (id >= 1 && id <= jobs.size ? id - 1 : -1),
    };
  }
  let rows = listed.get(jobs);
  if (rows === undefined) {
    const list = [...jobs.values()];
    const index = new Map(list.map((job, i) => [job.id, i]));
    rows = { count: list.length, at: (i) => list[i], indexOf: (id) => index.get(id) ?? -1 };
    listed.set(jobs, rows);
  }
  return rows;
}

/** True while a job can still change: queued, running or reconnecting. */
export function isUnfinished(job: JobProgress): boolean {
  return job.state === 'queued' || job.state === 'running' || job.state === 'reconnecting';
}

/**
 * The first unfinished row at or after `from` (where the queue's work is), or -1. Jobs start in
 * the order they were added, so a caller that passes the previous answer as `from` scans each
 * row about once over the whole copy.
 */
export function firstUnfinished(rows: JobRows, from = 0): number {
  for (let i = Math.max(0, from); i < rows.count; i++) {
    const job = rows.at(i);
    if (job !== undefined && isUnfinished(job)) return i;
  }
  return -1;
}

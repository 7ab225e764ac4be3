import type { JobProgress } from './progress.js';

const CHUNK_BITS = 8;
const CHUNK = 1 << CHUNK_BITS;

/**
 * An immutable table of jobs by id with cheap updates: ids are grouped in chunks of 256 and
 * `with()` copies only the chunk it changes plus the list of chunks, so each progress event costs
 * O(n / 256) instead of copying every job (a 100,000-file queue stays fast). Read it like a
 * ReadonlyMap: get, has, size, values(), iteration in id order.
 */
export class JobTable implements Iterable<[number, JobProgress]> {
  static readonly EMPTY = new JobTable([], 0);

  private constructor(
    private readonly chunks: readonly (readonly (JobProgress | undefined)[] | undefined)[],
    readonly size: number,
  ) {}

  get(id: number): JobProgress | undefined {
    return this.chunks[id >>> CHUNK_BITS]?.[id & (CHUNK - 1)];
  }

  has(id: number): boolean {
    return this.get(id) !== undefined;
  }

  /** A table with `job` stored under `job.id` (added or replaced). */
  with(job: JobProgress): JobTable {
    if (!Number.isSafeInteger(job.id) || job.id < 0) throw new RangeError(`bad job id ${job.id}`);
    const index = Math.floor(job.id / CHUNK);
    const slot = job.id % CHUNK;
    const chunks = this.chunks.slice();
    const chunk = (chunks[index] ?? []).slice();
    const added = chunk[slot] === undefined;
    chunk[slot] = job;
    chunks[index] = chunk;
    return new JobTable(chunks, this.size + (added ? 1 : 0));
  }

  *values(): IterableIterator<JobProgress> {
    for (const chunk of this.chunks) {
      if (chunk === undefined) continue;
      for (const job of chunk) if (job !== undefined) yield job;
    }
  }

  *keys(): IterableIterator<number> {
    for (const job of this.values()) yield job.id;
  }

  *[Symbol.iterator](): IterableIterator<[number, JobProgress]> {
    for (const job of this.values()) yield [job.id, job];
  }
}

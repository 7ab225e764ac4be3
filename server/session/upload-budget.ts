/** What the budget needs from a session: stop and start reading its socket. */
export interface BudgetMember {
  pauseForBudget(): void;
  resumeFromBudget(): void;
}

/**
 * Upload payload held in memory by all sessions together, waiting for the disk. Each session
 * has its own bound (sessionBufferBytes), but with many sessions those add up: 50 clients × 4 MiB
 * is 200 MiB before counting the sockets and the garbage. Past `limit` every session that adds
 * more pauses reading; when the total falls to half of it, they all resume. The disk is shared,
 * so a server-wide bound costs no throughput: it only stops memory growing with the clients.
 */
export class UploadBudget {
  readonly limit: number;
  #held = 0;
  #paused = new Set<BudgetMember>();

  constructor(limit: number) {
    this.limit = limit;
  }

  get held(): number {
    return this.#held;
  }

  /** `member` now holds `bytes` more; it is paused if the total went past the limit. */
  add(member: BudgetMember, bytes: number): void {
    this.#held += bytes;
    if (this.#held > this.limit && !this.#paused.has(member)) {
      this.#paused.add(member);
      member.pauseForBudget();
    }
  }

  /** `bytes` were written (or dropped); at half the limit every paused member resumes. */
  release(bytes: number): void {
    this.#held -= bytes;
    if (this.#held > this.limit / 2 || this.#paused.size === 0) return;
    const paused = [...this.#paused];
    this.#paused.clear();
    for (const member of paused) member.resumeFromBudget();
  }

  /** A session that ends is no longer waiting for anything. */
  forget(member: BudgetMember): void {
    this.#paused.delete(member);
  }
}

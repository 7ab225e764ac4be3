import { FerryError } from '../../src/protocol/errors.js';

export interface AdmissionLimits {
  /** Sessions at once, server-wide (≥ 1). */
  maxSessions: number;
  /** Sessions at once for one user (≥ 1). */
  maxSessionsPerUser: number;
}

/** A held session slot. `release()` is idempotent. */
export interface Slot {
  readonly user: string;
  release(): void;
}

export interface AdmissionRequestOptions {
  /** Give up with EBUSY after this long in the queue. */
  timeoutMs: number;
  /** Called with the 1-based queue position on entering the queue and whenever it changes. */
  onPosition?: (position: number) => void;
  /** What EBUSY tells the client to wait before trying again. Default 5000 ms. */
  retryAfterMs?: number;
}

export interface AdmissionTicket {
  /** Resolves with the slot; rejects with EBUSY on timeout, ECANCELED after cancel(). */
  readonly granted: Promise<Slot>;
  /** Leaves the queue; once the slot is granted this does nothing (release the slot instead). */
  cancel(): void;
}

interface Waiter {
  user: string;
  onPosition: ((position: number) => void) | undefined;
  lastPosition: number;
  timer: NodeJS.Timeout | undefined;
  resolve: (slot: Slot) => void;
  reject: (error: FerryError) => void;
}

const DEFAULT_RETRY_AFTER_MS = 5000;

/**
 * Session slots: a global limit and a per-user limit, with one FIFO queue for whoever does not
 * fit. No sockets and no protocol here, only counting, so it is unit-tested on its own.
 *
 * A waiter blocked only by its own user's limit does not hold up the waiters behind it: when a
 * slot frees, it goes to the first waiter in line whose user is under the per-user limit.
 * (Queueing rather than refusing at the per-user limit is deliberate: a client that reconnects
 * after a network cut often finds its old sessions not yet reaped; waiting briefly for them to
 * go away is better than a failure.)
 */
export class Admission {
  readonly limits: AdmissionLimits;
  #active = 0;
  #peak = 0;
  #perUser = new Map<string, number>();
  #queue: Waiter[] = [];
  #closed: FerryError | undefined;

  constructor(limits: AdmissionLimits) {
    if (!(limits.maxSessions >= 1) || !(limits.maxSessionsPerUser >= 1)) {
      throw new FerryError('EINVAL', 'maxSessions and maxSessionsPerUser must be at least 1');
    }
    this.limits = { ...limits };
  }

  /** Slots held now. */
  get active(): number {
    return this.#active;
  }

  /** The most slots ever held at once. */
  get peak(): number {
    return this.#peak;
  }

  /** Requests waiting in the queue. */
  get waiting(): number {
    return this.#queue.length;
  }

  activeFor(user: string): number {
    return this.#perUser.get(user) ?? 0;
  }

  /** Asks for a slot for `user`: granted at once when one is free, else queued. */
  request(user: string, options: AdmissionRequestOptions): AdmissionTicket {
    let waiter!: Waiter;
    const granted = new Promise<Slot>((resolve, reject) => {
      waiter = { user, onPosition: options.onPosition, lastPosition: 0, timer: undefined, resolve, reject };
    });
    if (this.#closed) {
      waiter.reject(this.#closed);
      return { granted, cancel: () => {} };
    }
    this.#queue.push(waiter);
    this.#grant();
    if (this.#queue.includes(waiter)) {
      const retryAfterMs = options.retryAfterMs ?? DEFAULT_RETRY_AFTER_MS;
      waiter.timer = setTimeout(() => {
        const seconds = Math.round(options.timeoutMs / 100) / 10;
        this.#drop(waiter, new FerryError('EBUSY', `server busy: no session slot freed within ${seconds} s`, { retryAfterMs }));
      }, options.timeoutMs);
      this.#announcePositions();
    }
    return { granted, cancel: () => this.#drop(waiter, new FerryError('ECANCELED', 'left the session queue')) };
  }

  /** Refuses every waiter and every later request with `error` (server shutdown). */
  close(error: FerryError): void {
    this.#closed = error;
    for (const waiter of [...this.#queue]) this.#drop(waiter, error);
  }

  #canAdmit(user: string): boolean {
    return this.#active < this.limits.maxSessions && this.activeFor(user) < this.limits.maxSessionsPerUser;
  }

  /** Hands free slots to waiters in queue order, skipping those held back by their user's limit. */
  #grant(): void {
    for (let i = 0; i < this.#queue.length && this.#active < this.limits.maxSessions; ) {
      const waiter = this.#queue[i]!;
      if (!this.#canAdmit(waiter.user)) {
        i++;
        continue;
      }
      this.#queue.splice(i, 1);
      clearTimeout(waiter.timer);
      waiter.resolve(this.#take(waiter.user));
    }
  }

  #take(user: string): Slot {
    this.#active++;
    this.#peak = Math.max(this.#peak, this.#active);
    this.#perUser.set(user, this.activeFor(user) + 1);
    let held = true;
    return {
      user,
      release: () => {
        if (!held) return;
        held = false;
        this.#active--;
        const left = this.activeFor(user) - 1;
        if (left > 0) this.#perUser.set(user, left);
        else this.#perUser.delete(user);
        this.#grant();
        this.#announcePositions();
      },
    };
  }

  #drop(waiter: Waiter, error: FerryError): void {
    const index = this.#queue.indexOf(waiter);
    if (index < 0) return;
    this.#queue.splice(index, 1);
    clearTimeout(waiter.timer);
    waiter.reject(error);
    // Leaving may unblock nobody (slots are what block), but everyone behind moves up.
    this.#announcePositions();
  }

  #announcePositions(): void {
    this.#queue.forEach((waiter, index) => {
      const position = index + 1;
      if (position === waiter.lastPosition) return;
      waiter.lastPosition = position;
      waiter.onPosition?.(position);
    });
  }
}

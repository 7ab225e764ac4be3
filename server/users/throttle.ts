import { FerryError } from '../../src/protocol/index.js';

export interface ThrottleOptions {
  /** Failures within the window before ETHROTTLE; 0 turns throttling off. */
  maxFailedLogins: number;
  throttleWindowMs: number;
  /** Clock, for tests. Default Date.now. */
  now?: () => number;
}

export interface LoginAttempt {
  succeeded(): void;
  failed(): void;
}

/** Past this many tracked names + addresses, expired ones are swept, then the oldest dropped. */
const MAX_TRACKED_KEYS = 100_000;

/**
 * Failed logins in a sliding window, counted per user name and per client address. Once either
 * reaches the limit, further attempts are refused with ETHROTTLE (and retryAfterMs) before the
 * password is even checked, so guessing stops costing us scrypt work. A successful login clears
 * the name's failures (not the address's: one good account must not unlock guessing others).
 */
export class LoginThrottle {
  private readonly failures = new Map<string, number[]>();
  /** Attempts admitted and not yet settled, per key. */
  private readonly inFlight = new Map<string, number>();
  private waiters: (() => void)[] = [];
  private readonly now: () => number;

  constructor(private readonly options: ThrottleOptions) {
    this.now = options.now ?? Date.now;
  }

  /** Throws ETHROTTLE when `name` or `ip` has used up its failures in the window. */
  check(name: string, ip: string): void {
    const wait = Math.max(this.retryAfter(`u:${name}`), this.retryAfter(`i:${normaliseIp(ip)}`));
    if (wait > 0) {
      throw new FerryError('ETHROTTLE', `too many failed attempts, try again in ${Math.ceil(wait / 1000)} s`, { retryAfterMs: wait });
    }
  }

  /**
   * Admits one login attempt. An attempt whose password hash is still running holds one of the
   * failures left to `name` and to `ip`: guesses sent in parallel can never exceed the limit,
   * yet correct logins arriving together are not refused. When every remaining failure is held
   * by attempts in flight, the next one waits for them to settle; when the failures are used up,
   * ETHROTTLE. Settle the result with exactly one of `succeeded()` (clears the name's failures)
   * or `failed()` (records the failure).
   */
  async attempt(name: string, ip: string): Promise<LoginAttempt> {
    const keys = [`u:${name}`, `i:${normaliseIp(ip)}`] as const;
    for (;;) {
      this.check(name, ip);
      if (this.options.maxFailedLogins <= 0) return { succeeded: () => undefined, failed: () => undefined };
      if (keys.every((key) => this.recent(key).length + (this.inFlight.get(key) ?? 0) < this.options.maxFailedLogins)) break;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
    for (const key of keys) this.inFlight.set(key, (this.inFlight.get(key) ?? 0) + 1);
    let settled = false;
    const settle = (outcome: () => void) => {
      if (settled) return;
      settled = true;
      for (const key of keys) {
        const left = (this.inFlight.get(key) ?? 1) - 1;
        if (left > 0) this.inFlight.set(key, left);
        else this.inFlight.delete(key);
      }
      outcome();
      // Wake every waiter: each re-checks its own keys, and most waits are for the same ones.
      const waiters = this.waiters.splice(0);
      for (const wake of waiters) wake();
    };
    return {
      succeeded: () => settle(() => this.recordSuccess(name)),
      failed: () => settle(() => this.recordFailure(name, ip)),
    };
  }

  recordFailure(name: string, ip: string, at = this.now()): void {
    if (this.options.maxFailedLogins <= 0) return;
    this.push(`u:${name}`, at);
    this.push(`i:${normaliseIp(ip)}`, at);
    if (this.failures.size > MAX_TRACKED_KEYS) this.sweep();
  }

  recordSuccess(name: string): void {
    this.failures.delete(`u:${name}`);
  }

  /** ms until `key` may try again; 0 when it may now. */
  private retryAfter(key: string): number {
    const { maxFailedLogins, throttleWindowMs } = this.options;
    if (maxFailedLogins <= 0) return 0;
    const times = this.recent(key);
    if (times.length < maxFailedLogins) return 0;
    // The oldest failure that still counts leaves the window first.
    return times[times.length - maxFailedLogins]! + throttleWindowMs - this.now();
  }

  private recent(key: string): number[] {
    const times = this.failures.get(key);
    if (times === undefined) return [];
    const cutoff = this.now() - this.options.throttleWindowMs;
    while (times.length > 0 && times[0]! <= cutoff) times.shift();
    if (times.length === 0) this.failures.delete(key);
    return times;
  }

  private push(key: string, at: number): void {
    const times = this.recent(key);
    times.push(at);
    // Only the newest `max` failures matter for the decision.
    if (times.length > this.options.maxFailedLogins) times.splice(0, times.length - this.options.maxFailedLogins);
    this.failures.set(key, times);
  }

  private sweep(): void {
    for (const key of [...this.failures.keys()]) this.recent(key);
    for (const key of this.failures.keys()) {
      if (this.failures.size <= MAX_TRACKED_KEYS) break;
      this.failures.delete(key);
    }
  }
}

/** '::ffff:1.2.3.4' and '1.2.3.4' are the same client. */
function normaliseIp(ip: string): string {
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}

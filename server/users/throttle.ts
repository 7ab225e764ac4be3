import { FerryError } from '../../src/protocol/index.js';

export interface ThrottleOptions {
  /** Failures within the window before ETHROTTLE; 0 turns throttling off. */
  maxFailedLogins: number;
  throttleWindowMs: number;
  /** Clock, for tests. Default Date.now. */
  now?: () => number;
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
   * Checks (ETHROTTLE) and counts one login attempt as a failure straight away, so that many
   * attempts sent in parallel cannot all pass the check while their password hashes run. Call
   * `succeeded()` on the result when the password was right: the name's failures are cleared and
   * this attempt no longer counts against the address.
   */
  attempt(name: string, ip: string): { succeeded(): void } {
    this.check(name, ip);
    if (this.options.maxFailedLogins <= 0) return { succeeded: () => undefined };
    const at = this.now();
    this.recordFailure(name, ip, at);
    return {
      succeeded: () => {
        this.recordSuccess(name);
        const times = this.failures.get(`i:${normaliseIp(ip)}`);
        const index = times?.lastIndexOf(at) ?? -1;
        if (times !== undefined && index >= 0) {
          times.splice(index, 1);
          if (times.length === 0) this.failures.delete(`i:${normaliseIp(ip)}`);
        }
      },
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

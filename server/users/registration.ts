import { FerryError } from '../../src/protocol/errors.js';
import type { RegistrationMode } from '../options.js';
import type { UserRecord, UserStore } from './types.js';
import { validateRegistrationName } from './validate.js';

/** Self-chosen passwords shorter than this are refused (an admin may still set any with `ferry user passwd`). */
export const MIN_REGISTRATION_PASSWORD = 8;
/** Past this many tracked addresses, expired ones are swept, then the oldest dropped. */
const MAX_TRACKED_IPS = 100_000;

export interface RegistrationOptions {
  mode: RegistrationMode;
  /** Requests one address may make within windowMs. */
  maxPerIp: number;
  windowMs: number;
  /** Quota of a registered account. */
  quotaBytes: number;
  /** Clock, for tests. Default Date.now. */
  now?: () => number;
}

/**
 * The `register` op: creates an account from a client when the server allows it. Every request
 * from an address counts toward its rate limit, whatever its outcome, so that the limit also
 * bounds guessing which names exist (EEXIST) and the password hashing a stranger can cause.
 */
export class Registration {
  readonly #options: RegistrationOptions;
  readonly #now: () => number;
  readonly #attempts = new Map<string, number[]>();

  constructor(options: RegistrationOptions) {
    this.#options = options;
    this.#now = options.now ?? Date.now;
  }

  /**
   * Registers `name` for a client at `ip`. ENOTSUP when registration is off; ETHROTTLE (with
   * retryAfterMs) past the per-address limit; EINVAL for a bad name (validateUserName) or a
   * password shorter than MIN_REGISTRATION_PASSWORD; EACCES for a name reserved for the
   * administrators (admin, support, postmaster, …: see registrationReserved); EEXIST for a name
   * taken by an active or a pending account, or held by an earlier account's files (an archive of
   * a deleted account, files left in its home: UserStore.nameHold). The account is 'pending' in approval mode, 'active' in open mode, and gets
   * the quota from the options.
   */
  async register(users: UserStore, name: string, password: string, ip: string): Promise<UserRecord> {
    const { mode } = this.#options;
    if (mode === 'off') throw new FerryError('ENOTSUP', 'this server does not accept registrations; ask its administrator for an account');
    this.#count(ip);
    validateRegistrationName(name);
    if (password.length < MIN_REGISTRATION_PASSWORD) {
      throw new FerryError('EINVAL', `the password must be at least ${MIN_REGISTRATION_PASSWORD} characters long`);
    }
    const existing = users.get(name);
    if (existing !== undefined) {
      throw new FerryError('EEXIST', existing.status === 'pending' ? `the name ${name} is already waiting for approval` : `the name ${name} is taken`);
    }
    // Where the files are is the administrator's business, not the stranger's.
    if (users.nameHold(name) !== undefined) throw new FerryError('EEXIST', `the name ${name} is not available`);
    return users.add(name, password, { quota: this.#options.quotaBytes, status: mode === 'approval' ? 'pending' : 'active' });
  }

  /** Records one request from `ip`, or throws ETHROTTLE when it has used up its window. */
  #count(ip: string): void {
    const { maxPerIp, windowMs } = this.#options;
    const now = this.#now();
    const key = ip.startsWith('::ffff:') ? ip.slice(7) : ip;
    const times = (this.#attempts.get(key) ?? []).filter((at) => at > now - windowMs);
    if (times.length >= maxPerIp) {
      const wait = times[times.length - maxPerIp]! + windowMs - now;
      this.#attempts.set(key, times);
      throw new FerryError('ETHROTTLE', `too many registrations from this address; try again in ${Math.ceil(wait / 60_000)} min`, { retryAfterMs: wait });
    }
    times.push(now);
    this.#attempts.set(key, times);
    if (this.#attempts.size > MAX_TRACKED_IPS) this.#sweep(now);
  }

  #sweep(now: number): void {
    for (const [key, times] of this.#attempts) {
      if (times.every((at) => at <= now - this.#options.windowMs)) this.#attempts.delete(key);
    }
    for (const key of this.#attempts.keys()) {
      if (this.#attempts.size <= MAX_TRACKED_IPS) break;
      this.#attempts.delete(key);
    }
  }
}

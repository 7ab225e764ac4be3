import { existsSync } from 'node:fs';
import { lstat, mkdir, readdir, realpath, rm } from 'node:fs/promises';
import path from 'node:path';
import { FerryError, LIMITS } from '../../src/protocol/index.js';
import { Jail } from './jail.js';
import { KeyedMutex } from './keyed-mutex.js';
import { LocalUserSpace } from './local-user-space.js';
import { isOsError, toFerryError } from './os-errors.js';
import { readPartialInfo, type PartialState } from './partial-upload.js';
import type { Storage, UserSpace } from './storage.js';
import { UsageTracker, homeDir, partialsDir } from './usage.js';

export { computeUsage } from './usage.js';

/**
 * What may name a directory under homes/ and partials/. The user store enforces the full rules
 * (validateUserName); this is the storage's own guard that a name can never be a path trick.
 */
const SAFE_USER_DIR = /^[a-z][a-z0-9._-]{0,63}$/;

export interface LocalStorageOptions {
  /** Count a user's usage again when the running figure is older than this. Default 5 minutes. */
  usageMaxAgeMs?: number;
  /** Entries in one list reply before it is cut. Default LIMITS.maxListEntries. */
  maxListEntries?: number;
}

/**
 * The disk side of the server: `<root>/homes/<user>/…` and `<root>/partials/<user>/<key>.part`
 * (+ `.info`). One instance per server; the usage figures and the registry of partial uploads
 * are shared by all sessions of a user, which is what lets a reconnecting client resume an
 * upload without the server re-reading it.
 */
/** A put's file beside the partials (see LocalUserSpace.putFile): `<uuid>.put`. */
const PUT_FILE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.put$/;

export class LocalStorage implements Storage {
  readonly root: string;
  readonly usage: UsageTracker;
  readonly maxListEntries: number;
  /** Partial uploads known in memory, by `${user}/${key}`. */
  readonly partials = new Map<string, PartialState>();
  /** Serialises all work on one partial, by the same key. */
  readonly mutex = new KeyedMutex();
  private readonly jails = new Map<string, Promise<Jail>>();
  /** Users whose partials directory this process has made (see partialsDirFor). */
  private readonly madePartialsDirs = new Set<string>();
  private closed = false;

  /** `root` is created on first use. Options: see LocalStorageOptions (all optional). */
  constructor(root: string, options: LocalStorageOptions = {}) {
    // The jail walks paths through /proc/self/fd (Jail): there is no safe fallback to path strings.
    if (!existsSync('/proc/self/fd')) {
      throw new FerryError('ENOTSUP', 'the ferry server needs Linux with /proc mounted: its jail resolves paths through /proc/self/fd');
    }
    this.root = path.resolve(root);
    this.usage = new UsageTracker(this.root, options.usageMaxAgeMs ?? 5 * 60_000);
    this.maxListEntries = options.maxListEntries ?? LIMITS.maxListEntries;
  }

  /** The user's view of the disk. The home is created on the first operation. EINVAL for an unusable name. */
  forUser(user: string, quotaBytes: () => number): UserSpace {
    return this.userSpace(user, quotaBytes);
  }

  /** Same as forUser, typed as the concrete class (tests, the admin CLI). */
  userSpace(user: string, quotaBytes: () => number): LocalUserSpace {
    if (!SAFE_USER_DIR.test(user)) throw new FerryError('EINVAL', `invalid user name: ${JSON.stringify(user)}`);
    return new LocalUserSpace(this, user, quotaBytes);
  }

  /**
   * The jail of `user`'s home, creating the home (mkdir -p) the first time. A home that was
   * replaced since (the account deleted and its name given to a new one) gets a new jail; user
   * spaces that hold the old one keep it, and it refuses them (see Jail).
   */
  async jailFor(user: string): Promise<Jail> {
    this.assertOpen();
    const cached = this.jails.get(user);
    if (cached !== undefined) {
      const jail = await cached.catch(() => undefined);
      if (jail !== undefined && (await jail.isCurrent())) return jail;
      if (this.jails.get(user) === cached) this.jails.delete(user);
      return this.jailFor(user);
    }
    const created = (async () => {
      const home = homeDir(this.root, user);
      try {
        await mkdir(home, { recursive: true, mode: 0o700 });
        const real = await realpath(home);
        return new Jail(real, await lstat(real));
      } catch (error) {
        throw toFerryError(error, '/');
      }
    })();
    this.jails.set(user, created);
    // A failure (disk full, permissions) is not remembered: the next call tries again.
    created.catch(() => {
      if (this.jails.get(user) === created) this.jails.delete(user);
    });
    return created;
  }

  /**
   * `<root>/partials/<user>`, created when first needed. With `cached`, made once per user and
   * process: every small file's put would otherwise pay a mkdir. A caller using the cache and
   * meeting ENOENT there (someone removed it behind the server's back) calls partialsDirGone and
   * asks again.
   */
  async partialsDirFor(user: string, options: { cached?: boolean } = {}): Promise<string> {
    this.assertOpen();
    const dir = partialsDir(this.root, user);
    if (!options.cached || !this.madePartialsDirs.has(user)) {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      this.madePartialsDirs.add(user);
    }
    return dir;
  }

  /** Forgets that the partials directory of `user` exists (an open there said ENOENT). */
  partialsDirGone(user: string): void {
    this.madePartialsDirs.delete(user);
  }

  /**
   * Deletes partial uploads not written to for longer than `ttlMs` (by the data file's mtime and
   * the .info's updatedAt, whichever is later), and stray files of half-created partials. A
   * partial a session holds open is never swept. Returns how many partials were removed.
   */
  async sweepExpired(ttlMs: number): Promise<number> {
    const base = path.join(this.root, 'partials');
    let users: string[];
    try {
      users = await readdir(base);
    } catch (error) {
      if (isOsError(error, 'ENOENT')) return 0;
      throw error;
    }
    let removed = 0;
    for (const user of users) {
      if (!SAFE_USER_DIR.test(user)) continue;
      const dir = path.join(base, user);
      let names: string[];
      try {
        names = await readdir(dir);
      } catch {
        continue;
      }
      const keys = new Set<string>();
      for (const name of names) {
        const match = /^([0-9a-f]{64})\.(part|part\.copy|info|info\.tmp)$/.exec(name);
        if (match) keys.add(match[1]!);
        else if (PUT_FILE.test(name)) await this.sweepPut(user, path.join(dir, name), ttlMs);
      }
      for (const key of keys) {
        if (await this.sweepOne(user, dir, key, ttlMs)) removed++;
      }
    }
    return removed;
  }

  /**
   * A put's file lives for the seconds it takes to write and place it; one still here after the
   * ttl was left by a crash. Its ctime says when it was last written (its mtime is the source's).
   */
  private async sweepPut(user: string, file: string, ttlMs: number): Promise<void> {
    const st = await lstat(file).catch(() => null);
    if (st === null || Date.now() - st.ctimeMs <= ttlMs) return;
    await rm(file, { force: true });
    if (st.isFile()) this.usage.add(user, -st.size);
  }

  private sweepOne(user: string, dir: string, key: string, ttlMs: number): Promise<boolean> {
    const registryKey = `${user}/${key}`;
    return this.mutex.run(registryKey, async () => {
      const state = this.partials.get(registryKey);
      if (state?.owner) return false;
      const partPath = path.join(dir, `${key}.part`);
      const infoPath = path.join(dir, `${key}.info`);
      const part = await lstat(partPath).catch(() => null);
      const infoStat = await lstat(infoPath).catch(() => null);
      const info = infoStat ? await readPartialInfo(infoPath) : null;
      const lastTouched = Math.max(part?.mtimeMs ?? 0, infoStat?.mtimeMs ?? 0, info?.updatedAt ?? 0);
      if (Date.now() - lastTouched <= ttlMs) return false;
      if (state) {
        await state.deleteFiles();
        this.partials.delete(registryKey);
      } else {
        await rm(partPath, { force: true });
        await rm(infoPath, { force: true });
      }
      await rm(`${infoPath}.tmp`, { force: true });
      // Left by an adopt's copy (LocalUserSpace) that a crash interrupted.
      await rm(`${partPath}.copy`, { force: true });
      if (part?.isFile()) this.usage.add(user, -part.size);
      return part !== null;
    });
  }

  /** Closes every open partial (their data stays on disk for a resume after the restart). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(
      [...this.partials.entries()].map(([key, state]) =>
        this.mutex.run(key, async () => {
          state.owner = null;
          await state.closeFile().catch(() => undefined);
          state.gone = true;
        }),
      ),
    );
    this.partials.clear();
    const jails = await Promise.all([...this.jails.values()].map((jail) => jail.catch(() => undefined)));
    for (const jail of jails) jail?.close();
  }

  private assertOpen(): void {
    if (this.closed) throw new FerryError('ECANCELED', 'storage is closed');
  }
}

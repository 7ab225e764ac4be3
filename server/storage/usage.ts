import type { Dirent } from 'node:fs';
import { lstat, readdir, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { fdPath, inDirectory } from './fd-path.js';
import { isOsError } from './os-errors.js';

/** How many lstat calls a walk keeps in flight: enough to hide latency, not enough to hog the pool. */
const WALK_CONCURRENCY = 32;

/** Where a user's things live under a data root. */
export function homeDir(root: string, user: string): string {
  return path.join(root, 'homes', user);
}

export function partialsDir(root: string, user: string): string {
  return path.join(root, 'partials', user);
}

/**
 * Bytes of regular files under `dir`, walking without following symlinks; a file with several
 * hard links inside the tree counts once. A missing `dir` is 0 bytes. `filter` picks which file
 * names count (all by default). Each directory is entered by descriptor from its parent's
 * (O_NOFOLLOW), so a directory swapped for a link while we walk is never walked through.
 */
export async function treeBytes(dir: string, filter: (name: string) => boolean = () => true): Promise<number> {
  const seenLinked = new Set<string>();
  return (await inDirectory(dir, (top) => directoryBytes(top, filter, seenLinked))) ?? 0;
}

async function directoryBytes(dir: FileHandle, filter: (name: string) => boolean, seenLinked: Set<string>): Promise<number> {
  const base = fdPath(dir);
  let entries: Dirent[];
  try {
    entries = await readdir(base, { withFileTypes: true });
  } catch (error) {
    // Gone while we walked: it holds nothing any more.
    if (isOsError(error, 'ENOENT', 'ENOTDIR')) return 0;
    throw error;
  }
  let total = 0;
  const files = entries.filter((entry) => entry.isFile() && filter(entry.name)).map((entry) => entry.name);
  for (let i = 0; i < files.length; i += WALK_CONCURRENCY) {
    const sizes = await Promise.all(
      files.slice(i, i + WALK_CONCURRENCY).map(async (name) => {
        try {
          const st = await lstat(`${base}/${name}`);
          if (!st.isFile()) return 0;
          if (st.nlink > 1) {
            const id = `${st.dev}:${st.ino}`;
            if (seenLinked.has(id)) return 0;
            seenLinked.add(id);
          }
          return st.size;
        } catch (error) {
          if (isOsError(error, 'ENOENT')) return 0;
          throw error;
        }
      }),
    );
    for (const size of sizes) total += size;
  }
  for (const entry of entries) {
    if (entry.isDirectory()) total += (await inDirectory(`${base}/${entry.name}`, (child) => directoryBytes(child, filter, seenLinked))) ?? 0;
  }
  return total;
}

/**
 * A fresh count of what `user` uses under the data root `root`: regular files in the home plus
 * the data of the user's partial uploads. For `ferry user list`; the server keeps a running
 * figure instead (UsageTracker).
 */
export async function computeUsage(root: string, user: string): Promise<number> {
  const [home, partials] = await Promise.all([
    treeBytes(homeDir(root, user)),
    treeBytes(partialsDir(root, user), (name) => name.endsWith('.part')),
  ]);
  return home + partials;
}

interface UsageEntry {
  bytes: number;
  computedAt: number;
  /** A walk in progress, and the changes recorded while it runs (added to its result). */
  refresh?: Promise<void>;
  deltaDuringRefresh: number;
}

/**
 * Per-user usage shared by every session of the user: counted by a walk on first need, then
 * kept up to date by the operations that change it, and counted again when older than `maxAgeMs`
 * (an admin may have copied files in by hand). A stale figure is used while the new walk runs,
 * so a big home never stalls writes.
 */
export class UsageTracker {
  private readonly entries = new Map<string, UsageEntry>();

  /** Defaults: maxAgeMs 5 minutes. */
  constructor(
    private readonly root: string,
    private readonly maxAgeMs = 5 * 60_000,
    private readonly now: () => number = Date.now,
  ) {}

  /** Makes sure a figure exists for `user` (walking once if needed), then returns it. */
  async get(user: string): Promise<number> {
    let entry = this.entries.get(user);
    if (entry === undefined) {
      entry = { bytes: 0, computedAt: 0, deltaDuringRefresh: 0 };
      this.entries.set(user, entry);
      this.startRefresh(user, entry);
    } else if (entry.refresh === undefined && this.now() - entry.computedAt > this.maxAgeMs) {
      this.startRefresh(user, entry);
      return entry.bytes;
    }
    // Only the very first walk is waited for; later ones refresh in the background.
    if (entry.computedAt === 0 && entry.refresh !== undefined) await entry.refresh;
    return entry.bytes;
  }

  /**
   * Synchronous read of the current figure; call `get` first. Reading and `add` with no await in
   * between is how a quota check reserves room atomically.
   */
  peek(user: string): number {
    return this.entries.get(user)?.bytes ?? 0;
  }

  /** Records a change of `delta` bytes. Ignored for a user with no figure yet (a walk will see the disk). */
  add(user: string, delta: number): void {
    const entry = this.entries.get(user);
    if (entry === undefined) return;
    entry.bytes = Math.max(0, entry.bytes + delta);
    if (entry.refresh !== undefined) entry.deltaDuringRefresh += delta;
  }

  /** Forgets the figure, so the next `get` walks again (after something failed half way). */
  invalidate(user: string): void {
    const entry = this.entries.get(user);
    if (entry === undefined) return;
    if (entry.refresh === undefined) this.entries.delete(user);
    else entry.computedAt = -Infinity;
  }

  private startRefresh(user: string, entry: UsageEntry): void {
    entry.deltaDuringRefresh = 0;
    entry.refresh = computeUsage(this.root, user).then(
      (bytes) => {
        // Changes made while walking may or may not have been seen by the walk; adding them errs
        // on the side of counting too much, never of letting a user past the quota.
        entry.bytes = Math.max(0, bytes + entry.deltaDuringRefresh);
        entry.computedAt = this.now();
        entry.refresh = undefined;
      },
      (error: unknown) => {
        entry.refresh = undefined;
        if (entry.computedAt === 0) this.entries.delete(user);
        throw error;
      },
    );
    // A background refresh that fails keeps the old figure; the first one reports through get().
    entry.refresh.catch(() => undefined);
  }
}

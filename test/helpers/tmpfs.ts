import type { ExecutionContext } from 'ava';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

/**
 * Whether this machine lets us mount a tmpfs, probed (mount + umount at once) when a test file
 * loads, because ava wants every test declared before the first await. The real mount lives only
 * inside the test, so a run killed half way leaves as little behind as possible.
 */
export const tmpfsProbe = ((): { ok: true } | { ok: false; why: string } => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ferry-tmpfs-probe-'));
  try {
    const mounted = spawnSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { encoding: 'utf8' });
    if (mounted.status !== 0) return { ok: false, why: (mounted.stderr || String(mounted.error)).trim().split('\n')[0]! };
    spawnSync('umount', [dir]);
    return { ok: true };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
})();

/** ' (skipped: …)' for a test title when tmpfs cannot be mounted here, else ''. */
export const tmpfsSkipNote = tmpfsProbe.ok ? '' : ` (skipped: cannot mount a tmpfs: ${tmpfsProbe.why})`;

/** Mounts a tmpfs of `size` (default 1m) for one test; unmounted and removed in its teardown. */
export async function mountTinyTmpfs(t: ExecutionContext, size = '1m'): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-tmpfs-'));
  await run('mount', ['-t', 'tmpfs', '-o', `size=${size}`, 'tmpfs', dir]);
  t.teardown(async () => {
    await run('umount', [dir]).catch(() => undefined);
    await rm(dir, { recursive: true, force: true });
  });
  return dir;
}

import test from 'ava';
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { mkdtemp, open, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { AppendWriter } from '../src/fs/append-writer.js';
import { prng } from './helpers/prng.js';

const run = promisify(execFile);
const KiB = 1024;
const MiB = 1024 * KiB;

async function scratch(t: { teardown(fn: () => Promise<void>): void }, base = os.tmpdir()): Promise<string> {
  const dir = await mkdtemp(path.join(base, 'ferry-append-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Writes `pieces` through a writer, checking after each that the file is an exact prefix. */
async function writePieces(file: string, pieces: Buffer[], start = Buffer.alloc(0)): Promise<Buffer> {
  const handle = await open(file, 'r+');
  let expected = start;
  try {
    const writer = await AppendWriter.attach(handle, start.length);
    for (const piece of pieces) {
      await writer.write(piece);
      expected = Buffer.concat([expected, piece]);
      const onDisk = await readFile(file);
      if (!onDisk.equals(expected.subarray(0, onDisk.length))) throw new Error(`not a prefix after ${expected.length} bytes`);
      if (onDisk.length > expected.length || expected.length - onDisk.length >= 4096) throw new Error(`file holds ${onDisk.length} of ${expected.length}`);
    }
    await writer.flush();
    await writer.close();
  } finally {
    await handle.close();
  }
  return expected;
}

test('pieces of every size, aligned or not, land as one exact file', async (t) => {
  const dir = await scratch(t);
  for (const seed of [1, 2, 3]) {
    const random = prng(seed);
    const sizes = Array.from({ length: 14 }, () => {
      const kind = random();
      if (kind < 0.3) return Math.floor(random() * 5000);
      if (kind < 0.6) return MiB;
      return Math.floor(random() * 3 * MiB);
    });
    const file = path.join(dir, `f${seed}`);
    await writeFile(file, '');
    const expected = await writePieces(file, sizes.map((n) => randomBytes(n)));
    t.true((await readFile(file)).equals(expected), `seed ${seed}`);
  }
});

test('a writer attached at an unaligned length goes on from there (a resumed partial)', async (t) => {
  const dir = await scratch(t);
  const file = path.join(dir, 'resumed');
  const start = randomBytes(MiB + 1234);
  await writeFile(file, start);
  const expected = await writePieces(file, [randomBytes(MiB), randomBytes(700 * KiB + 3), randomBytes(10)], start);
  t.true((await readFile(file)).equals(expected));
});

test('on tmpfs (O_DIRECT only since Linux 6.6) the bytes are the same', async (t) => {
  const dir = await scratch(t, '/dev/shm');
  const file = path.join(dir, 'shm');
  await writeFile(file, '');

  const expected = await writePieces(file, [randomBytes(2 * MiB + 5), randomBytes(MiB), randomBytes(77)]);
  t.true((await readFile(file)).equals(expected));
});

/** A small ext4 (where O_DIRECT works) that runs out of space, when this machine can make one. */
const ext4Probe = (() => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ferry-ext4-probe-'));
  try {
    const image = path.join(dir, 'img');
    const made = spawnSync('mkfs.ext4', ['-q', '-F', image, '1M'], { encoding: 'utf8' });
    if (made.status !== 0) return { ok: false as const, why: 'no mkfs.ext4' };
    const mnt = path.join(dir, 'mnt');
    spawnSync('mkdir', [mnt]);
    const mounted = spawnSync('mount', ['-o', 'loop', image, mnt], { encoding: 'utf8' });
    if (mounted.status !== 0) return { ok: false as const, why: (mounted.stderr || 'mount failed').trim().split('\n')[0]! };
    spawnSync('umount', [mnt]);
    return { ok: true as const };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
})();

(ext4Probe.ok ? test : test.skip)(`a direct write that runs out of space leaves the file as it was, and the writer goes on${ext4Probe.ok ? '' : ` (${ext4Probe.why})`}`, async (t) => {
  const dir = await scratch(t);
  const image = path.join(dir, 'img');
  const mnt = path.join(dir, 'mnt');
  await run('mkfs.ext4', ['-q', '-F', image, '8M']);
  await run('mkdir', [mnt]);
  await run('mount', ['-o', 'loop', image, mnt]);
  t.teardown(() => run('umount', [mnt]).then(() => undefined, () => undefined));
  const filler = path.join(mnt, 'filler');
  const file = path.join(mnt, 'partial');
  await writeFile(file, '');
  const handle = await open(file, 'r+');
  try {
    const writer = await AppendWriter.attach(handle, 0);
    t.true(writer.direct, 'ext4 takes O_DIRECT');
    const first = randomBytes(MiB + 100);
    await writer.write(first);
    await writer.flush();
    // Fill what is left, then try a chunk that cannot fit.
    const free = (await run('df', ['--output=avail', '-B1', mnt])).stdout.trim().split('\n').pop()!;
    await writeFile(filler, Buffer.alloc(Math.max(0, Number(free) - 512 * KiB)));
    const error = await t.throwsAsync(writer.write(randomBytes(2 * MiB)));
    t.is((error as NodeJS.ErrnoException).code, 'ENOSPC');
    t.is(writer.offset, first.length);
    t.true(writer.direct, 'ENOSPC is not a reason to give up O_DIRECT');
    t.true((await readFile(file)).equals(first), 'the file is what it held before the failed write');
    // Space again: the same writer goes on from the same offset.
    await rm(filler);
    const second = randomBytes(MiB + 7);
    await writer.write(second);
    await writer.flush();
    await writer.close();
    t.true((await readFile(file)).equals(Buffer.concat([first, second])));
    t.is((await stat(file)).size, first.length + second.length);
  } finally {
    await handle.close();
  }
});

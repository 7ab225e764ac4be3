import { randomBytes } from 'node:crypto';
import { appendFileSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { downloadFile, partialPathsFor } from '../src/client/download.js';
import { Session, type SessionOptions } from '../src/client/session.js';
import type { TransferOptions } from '../src/client/transfer-types.js';
import { uploadFile } from '../src/client/upload.js';
import { FerryError } from '../src/protocol/errors.js';
import { startCutProxy } from './helpers/cut-proxy.js';
import { flipByte, randomFile, sha256File } from './helpers/files.js';
import { startServerProcess } from './helpers/server-process.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const ALICE = { name: 'alice', password: 'alice-password-1' };
const MiB = 1024 * 1024;
const BIG = 64 * MiB;
const CUTS = 24;

let work: string;
/** One 64 MiB random file shared by the tests, and its SHA-256. */
let big: string;
let bigSha: string;

test.before(async () => {
  work = await mkdtemp(join(tmpdir(), 'ferry-resume-'));
  big = join(work, 'big.bin');
  bigSha = await randomFile(big, BIG);
});

test.after.always(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

function sessionOptions(url: string, extra: Partial<SessionOptions> = {}): SessionOptions {
  return {
    url,
    user: ALICE.name,
    password: ALICE.password,
    reconnect: { initialDelayMs: 10, maxDelayMs: 250, giveUpAfterMs: 60_000 },
    ...extra,
  };
}

async function withServer(run: (server: TestServer) => Promise<void>, options: NonNullable<Parameters<typeof startTestServer>[0]>['options'] = {}): Promise<void> {
  const server = await startTestServer({ users: [ALICE], options });
  try {
    await mkdir(homeOf(server), { recursive: true });
    await run(server);
  } finally {
    await server.close();
  }
}

function homeOf(server: { root: string }, ...parts: string[]): string {
  return join(server.root, 'homes', ALICE.name, ...parts);
}

/**
 * `count` random points in (2 MiB, size − 2 MiB), one in each of `count` equal slots and in the
 * first 60 % of it, so consecutive points are at least ~1 MiB apart.
 */
function randomPoints(size: number, count: number): number[] {
  const low = 2 * MiB;
  const slot = (size - 4 * MiB) / count;
  return Array.from({ length: count }, (_, i) => Math.floor(low + i * slot + Math.random() * slot * 0.6));
}

/**
 * An onProgress that cuts the live connection each time progress passes the next point. A point
 * is used up only by a real cut of a logged-in connection, so none is wasted while reconnecting.
 */
function cutAtPoints(points: number[], session: () => Session | undefined, cut: () => number): { onProgress: TransferOptions['onProgress']; cuts: () => number } {
  let next = 0;
  let cuts = 0;
  return {
    onProgress: ({ done }) => {
      if (next >= points.length || done < points[next]! || session()?.state !== 'ready') return;
      if (cut() > 0) {
        next++;
        cuts++;
      }
    },
    cuts: () => cuts,
  };
}

test('an upload survives 20+ cuts at random offsets and ends identical', async (t) => {
  // Acks every MiB give progress fine enough to cut at many distinct points.
  await withServer(
    async (server) => {
      const proxy = await startCutProxy(server.port);
      const session = await Session.connect(sessionOptions(proxy.url));
      try {
        const plan = cutAtPoints(randomPoints(BIG, CUTS), () => session, () => proxy.cutAll());
        const result = await uploadFile(session, big, '/up.bin', { onProgress: plan.onProgress });
        t.true(plan.cuts() >= 20, `only ${plan.cuts()} cuts`);
        t.true(session.generation > plan.cuts(), 'every cut was followed by a reconnect');
        t.is(result.size, BIG);
        t.is(result.sha256, bigSha);
        t.is(await sha256File(homeOf(server, 'up.bin')), bigSha);
        t.log(`${plan.cuts()} cuts, ${session.generation - 1} reconnects, last pass resumed from ${result.resumedFrom}`);
      } finally {
        await session.close();
        await proxy.close();
      }
    },
    { syncEveryBytes: 1 * MiB },
  );
});

test('a download survives 20+ cuts at random offsets and ends identical', async (t) => {
  await withServer(async (server) => {
    await copyFile(big, homeOf(server, 'down.bin'));
    const proxy = await startCutProxy(server.port);
    const session = await Session.connect(sessionOptions(proxy.url));
    try {
      const plan = cutAtPoints(randomPoints(BIG, CUTS), () => session, () => proxy.cutAll());
      const target = join(work, 'down-cut.bin');
      const result = await downloadFile(session, '/down.bin', target, { onProgress: plan.onProgress });
      t.true(plan.cuts() >= 20, `only ${plan.cuts()} cuts`);
      t.true(session.generation > plan.cuts(), 'every cut was followed by a reconnect');
      t.true(result.resumedFrom > 0, 'the last pass resumed from kept bytes');
      t.is(result.sha256, bigSha);
      t.is(await sha256File(target), bigSha);
      const { part, sidecar } = partialPathsFor(target);
      t.false(await exists(part));
      t.false(await exists(sidecar));
      t.log(`${plan.cuts()} cuts, ${session.generation - 1} reconnects, last pass resumed from ${result.resumedFrom}`);
      await rm(target);
    } finally {
      await session.close();
      await proxy.close();
    }
  });
});

test('a server killed with SIGKILL mid-upload and restarted resumes from its durable offset', async (t) => {
  const server = await startServerProcess({ users: [ALICE] });
  const session = await Session.connect(sessionOptions(server.url));
  try {
    let ackedAtKill: number | undefined;
    let restarted: Promise<void> | undefined;
    const result = await uploadFile(session, big, '/killed.bin', {
      onProgress: ({ done }) => {
        if (ackedAtKill === undefined && done >= 24 * MiB) {
          ackedAtKill = done;
          restarted = server.kill('SIGKILL').then(() => server.restart());
        }
      },
    });
    await restarted;
    t.not(ackedAtKill, undefined);
    t.true(session.generation >= 2, 'the session reconnected to the new server process');
    // Acked bytes were fdatasync'd, so the restarted server holds at least those.
    t.true(result.resumedFrom > 0, `resumed from ${result.resumedFrom}`);
    t.true(result.resumedFrom >= ackedAtKill!, `resumed from ${result.resumedFrom}, below the ${ackedAtKill} acked`);
    t.true(result.resumedFrom <= BIG);
    t.is(result.sha256, bigSha);
    t.is(await sha256File(homeOf(server, 'killed.bin')), bigSha);
    t.log(`acked ${ackedAtKill} at the kill, resumed from ${result.resumedFrom}`);
  } finally {
    await session.close();
    await server.close();
  }
});

/** Runs a transfer and aborts it once its progress passes `at` bytes; it must end ECANCELED. */
async function abortAt(
  run: (options: TransferOptions) => Promise<unknown>,
  at: number,
): Promise<FerryError> {
  const controller = new AbortController();
  try {
    await run({
      signal: controller.signal,
      onProgress: ({ done }) => {
        if (done >= at) controller.abort();
      },
    });
  } catch (error) {
    return error as FerryError;
  }
  throw new Error(`the transfer finished before reaching ${at} bytes`);
}

test('a kept download partial resumes; one whose prefix was altered on disk is detected and not appended to', async (t) => {
  await withServer(async (server) => {
    const content = randomBytes(16 * MiB);
    await writeFile(homeOf(server, 'p.bin'), content);
    const session = await Session.connect(sessionOptions(server.url));
    try {
      const target = join(work, 'p.bin');
      const { part, sidecar } = partialPathsFor(target);

      const first = await abortAt((options) => downloadFile(session, '/p.bin', target, options), 4 * MiB);
      t.is(first.code, 'ECANCELED');
      t.false(await exists(target), 'no half file at the destination');
      const kept = (await stat(part)).size;
      t.true(kept >= 4 * MiB);
      t.like(JSON.parse(await readFile(sidecar, 'utf8')), { path: '/p.bin', size: content.length, user: 'alice' });

      // Unaltered: the kept bytes are proved and used.
      const second = await abortAt((options) => downloadFile(session, '/p.bin', target, options), 8 * MiB);
      t.is(second.code, 'ECANCELED');
      const keptNow = (await stat(part)).size;
      t.true(keptNow >= 8 * MiB);

      // Altered: one byte inside the prefix differs; the server's prefix hash says so.
      await flipByte(part, 1234);
      const restarts: string[] = [];
      const result = await downloadFile(session, '/p.bin', target, { onRestart: (r) => restarts.push(r.code) });
      t.deepEqual(restarts, ['EINTEGRITY']);
      t.is(result.resumedFrom, 0);
      t.true((await readFile(target)).equals(content));
      t.false(await exists(part));
    } finally {
      await session.close();
    }
  });
});

test('a resumed download without alteration picks up where it stopped', async (t) => {
  await withServer(async (server) => {
    const content = randomBytes(12 * MiB);
    await writeFile(homeOf(server, 'r.bin'), content);
    const session = await Session.connect(sessionOptions(server.url));
    try {
      const target = join(work, 'r.bin');
      await abortAt((options) => downloadFile(session, '/r.bin', target, options), 5 * MiB);
      const kept = (await stat(partialPathsFor(target).part)).size;
      const result = await downloadFile(session, '/r.bin', target);
      t.is(result.resumedFrom, kept);
      t.true((await readFile(target)).equals(content));
    } finally {
      await session.close();
    }
  });
});

test("an upload partial altered on the server's disk never ends up as the file", async (t) => {
  await withServer(async (server) => {
    const session = await Session.connect(sessionOptions(server.url));
    try {
      const source = join(work, 'u.bin');
      const sha = await randomFile(source, 48 * MiB);
      const first = await abortAt((options) => uploadFile(session, source, '/u.bin', options), 8 * MiB);
      t.is(first.code, 'ECANCELED');
      const partial = await largestFile(join(server.root, 'partials', ALICE.name));
      t.truthy(partial, 'the server kept a partial');
      await flipByte(partial!, 4321);

      const restarts: string[] = [];
      const result = await uploadFile(session, source, '/u.bin', { onRestart: (r) => restarts.push(r.code) });
      t.is(result.sha256, sha);
      t.is(await sha256File(homeOf(server, 'u.bin')), sha);
      t.deepEqual(restarts, ['EINTEGRITY']);
      t.log(`restarts: ${restarts.join(', ')}; resumed from ${result.resumedFrom}`);
    } finally {
      await session.close();
    }
  });
});

test('ECHANGED: a remote file replaced between attempts makes the download start over', async (t) => {
  await withServer(async (server) => {
    const remote = homeOf(server, 'c.bin');
    await writeFile(remote, randomBytes(12 * MiB));
    const session = await Session.connect(sessionOptions(server.url));
    try {
      const target = join(work, 'c.bin');
      await abortAt((options) => downloadFile(session, '/c.bin', target, options), 4 * MiB);
      t.true((await stat(partialPathsFor(target).part)).size >= 4 * MiB);

      const replacement = randomBytes(10 * MiB);
      await writeFile(remote, replacement);
      await utimes(remote, new Date(), new Date(Date.now() - 86_400_000));
      const restarts: string[] = [];
      const result = await downloadFile(session, '/c.bin', target, { onRestart: (r) => restarts.push(r.code) });
      t.deepEqual(restarts, ['ECHANGED']);
      t.is(result.resumedFrom, 0);
      t.true((await readFile(target)).equals(replacement));
    } finally {
      await session.close();
    }
  });
});

test('ECHANGED: a local file that changes during an upload fails it; changed between attempts, it starts over', async (t) => {
  await withServer(async (server) => {
    const session = await Session.connect(sessionOptions(server.url));
    try {
      const source = join(work, 'local-change.bin');
      await randomFile(source, 48 * MiB);
      let touched = false;
      const during = await t.throwsAsync(
        uploadFile(session, source, '/lc.bin', {
          onProgress: ({ done }) => {
            if (!touched && done > 0) {
              touched = true;
              appendFileSync(source, 'x');
            }
          },
        }),
      );
      t.is((during as FerryError).code, 'ECHANGED');
      t.false(await exists(homeOf(server, 'lc.bin')));

      // Between attempts: abort half way, change the source, upload again.
      // 48 MiB and a stop at the first ack (8 MiB): with a 32 MiB window the finish is never sent.
      await randomFile(source, 48 * MiB);
      t.is((await abortAt((options) => uploadFile(session, source, '/lc.bin', options), 8 * MiB)).code, 'ECANCELED');
      const sha2 = await randomFile(source, 48 * MiB);
      await utimes(source, new Date(), new Date(Date.now() - 3_600_000));
      const result = await uploadFile(session, source, '/lc.bin');
      t.is(result.resumedFrom, 0, 'the old partial belongs to another version of the file');
      t.is(result.sha256, sha2);
      t.is(await sha256File(homeOf(server, 'lc.bin')), sha2);
    } finally {
      await session.close();
    }
  });
});

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}

/** The biggest regular file directly in `dir` (the data file of the one partial there). */
async function largestFile(dir: string): Promise<string | undefined> {
  let best: { path: string; size: number } | undefined;
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    const path = join(dir, name);
    const st = await stat(path);
    if (st.isFile() && (!best || st.size > best.size)) best = { path, size: st.size };
  }
  return best?.path;
}

import { mkdir, mkdtemp, readFile, rm, stat, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { Session } from '../src/client/session.js';
import { LocalFileSystem } from '../src/fs/local-file-system.js';
import { RemoteFileSystem } from '../src/fs/remote-file-system.js';
import type { Entry } from '../src/protocol/index.js';
import { decideConflict, numberedName, sameMtime } from '../src/transfer/conflict.js';
import { copyLocalFile, localPartialPath } from '../src/transfer/local-copy.js';
import { initialQueueState, reduceTransfer, type QueueState } from '../src/transfer/progress.js';
import { EMPTY_METER, addSample, etaSeconds, rateOf } from '../src/transfer/speed-meter.js';
import { TransferQueue } from '../src/transfer/transfer-queue.js';
import type { JobInfo, TransferEvent } from '../src/transfer/types.js';
import { startCutProxy } from './helpers/cut-proxy.js';
import { startThrottleProxy } from './helpers/throttle-proxy.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { hashTree, makeTree, randomFile, sha256File, writeText } from './helpers/tree.js';

const ALICE = { name: 'alice', password: 'alice-password-1' };
const TIGHT = { name: 'tight', password: 'tight-password-1', quota: 64 * 1024 };
const KiB = 1024;
const MiB = 1024 * KiB;

// ---------------------------------------------------------------- speed meter (pure)

test('speed meter: a steady stream gives its rate, averaged over the window', (t) => {
  let meter = EMPTY_METER;
  for (let i = 0; i <= 30; i++) meter = addSample(meter, i * 100, i * 1000);
  t.is(Math.round(rateOf(meter)), 10_000);
  // Samples closer than 100 ms are merged, so the window holds a bounded number of them.
  let dense = EMPTY_METER;
  for (let i = 0; i <= 1000; i++) dense = addSample(dense, i * 5, i * 50);
  t.true(dense.samples.length <= 45, `${dense.samples.length} samples kept`);
  t.is(Math.round(rateOf(dense)), 10_000);
});

test('speed meter: bursts are smoothed, a stall decays towards 0, a rewind starts over', (t) => {
  let meter = EMPTY_METER;
  // 1 MiB every second, reported in one burst each time.
  for (let s = 0; s <= 4; s++) meter = addSample(meter, s * 1000, s * MiB);
  t.is(Math.round(rateOf(meter)), MiB);
  t.true(rateOf(meter, 6000) < MiB, 'two silent seconds lower the rate');
  t.is(rateOf(meter, 60_000), 0, 'a long stall ends at 0');
  const rewound = addSample(meter, 5000, 10);
  t.deepEqual(rewound.samples, [[5000, 10]]);
  t.is(rateOf(rewound), 0, 'one sample says nothing yet');
  t.is(rateOf(EMPTY_METER), 0);
});

test('speed meter: ETA', (t) => {
  t.is(etaSeconds(1000, 100), 10);
  t.is(etaSeconds(0, 0), 0);
  t.is(etaSeconds(10, 0), null);
});

// ---------------------------------------------------------------- reducer (pure)

function info(id: number, size: number, kind: 'file' | 'dir' = 'file'): JobInfo {
  return { id, requestId: 1, kind, name: `f${id}`, source: `/src/f${id}`, target: `/dst/f${id}`, size };
}

function fold(events: TransferEvent[], from: QueueState = initialQueueState()): QueueState {
  return events.reduce(reduceTransfer, from);
}

test('reducer: jobs move through their states and the totals follow', (t) => {
  const state = fold([
    { type: 'job-added', at: 0, job: info(1, 1000) },
    { type: 'job-added', at: 0, job: info(2, 500) },
    { type: 'job-added', at: 0, job: info(3, 0, 'dir') },
    { type: 'job-started', at: 0, id: 1, attempt: 1 },
    { type: 'job-progress', at: 100, id: 1, done: 0, total: 1000 },
    { type: 'job-progress', at: 600, id: 1, done: 400, total: 1000 },
  ]);
  const job = state.jobs.get(1)!;
  t.is(job.state, 'running');
  t.is(job.bytesDone, 400);
  t.is(job.transferred, 400);
  t.is(Math.round(job.speed), 800);
  t.is(Math.round(job.eta!), 1);
  t.like(state.totals, { files: 2, dirs: 1, queued: 2, running: 1, bytesTotal: 1500, bytesDone: 400, bytesTransferred: 400 });

  const after = fold(
    [
      { type: 'job-done', at: 900, id: 1, outcome: 'transferred', size: 1000, resumedFrom: 0 },
      { type: 'job-skipped', at: 900, id: 2, reason: 'target exists' },
      { type: 'job-done', at: 900, id: 3, outcome: 'created', size: 0 },
    ],
    state,
  );
  t.like(after.totals, { queued: 0, running: 0, done: 2, skipped: 1, filesFinished: 2, transferredFiles: 1, bytesTotal: 1000, bytesDone: 1000 });
  t.is(after.jobs.get(2)!.reason, 'target exists');
  t.is(after.totals.eta, 0);
  // The old state is untouched: consumers may keep a snapshot.
  t.is(state.jobs.get(1)!.state, 'running');
});

test('reducer: a resumed prefix is not counted as transferred, nor as speed', (t) => {
  const state = fold([
    { type: 'job-added', at: 0, job: info(1, 10_000) },
    { type: 'job-started', at: 0, id: 1, attempt: 1 },
    // The first report already holds 6000 bytes kept from an earlier run.
    { type: 'job-progress', at: 10, id: 1, done: 6000, total: 10_000 },
    { type: 'job-progress', at: 1010, id: 1, done: 7000, total: 10_000 },
  ]);
  t.is(Math.round(state.jobs.get(1)!.speed), 1000);
  t.is(state.flow, 1000, 'the queue speed only saw moved bytes');
  const done = reduceTransfer(state, { type: 'job-done', at: 2000, id: 1, outcome: 'transferred', size: 10_000, resumedFrom: 6000 });
  t.is(done.jobs.get(1)!.transferred, 4000);
  t.is(done.jobs.get(1)!.resumedFrom, 6000);
  t.is(done.totals.bytesTransferred, 4000);
  t.is(done.totals.bytesDone, 10_000);
});

test('reducer: retries, reconnects, failures, journal outcomes, unknown ids and ticks', (t) => {
  let state = fold([
    { type: 'job-added', at: 0, job: info(1, 100) },
    { type: 'job-added', at: 0, job: info(2, 100) },
    { type: 'job-started', at: 0, id: 1, attempt: 1 },
    { type: 'job-reconnecting', at: 5, id: 1 },
  ]);
  t.is(state.jobs.get(1)!.state, 'reconnecting');
  t.is(state.totals.running, 1);
  state = fold(
    [
      { type: 'job-reconnected', at: 6, id: 1 },
      { type: 'job-retrying', at: 7, id: 1, attempt: 1, error: { code: 'ENETWORK', message: 'lost' }, delayMs: 500 },
    ],
    state,
  );
  t.is(state.jobs.get(1)!.state, 'queued');
  t.is(state.jobs.get(1)!.error?.code, 'ENETWORK');
  state = fold(
    [
      { type: 'job-started', at: 600, id: 1, attempt: 2 },
      { type: 'job-failed', at: 700, id: 1, error: { code: 'EQUOTA', message: 'full' } },
      { type: 'job-done', at: 700, id: 2, outcome: 'journal', size: 100 },
      { type: 'job-progress', at: 800, id: 99, done: 5, total: 10 },
    ],
    state,
  );
  t.is(state.jobs.get(1)!.attempt, 2);
  t.like(state.totals, { failed: 1, done: 1, fromJournal: 1, bytesTransferred: 0 });
  t.false(state.jobs.has(99));
  state = reduceTransfer(state, { type: 'job-requeued', at: 900, id: 1 });
  t.is(state.jobs.get(1)!.state, 'queued');
  t.is(state.jobs.get(1)!.error, undefined);

  // A tick lowers the speed of a stalled job.
  let running = fold([
    { type: 'job-added', at: 0, job: info(1, 10 * MiB) },
    { type: 'job-started', at: 0, id: 1, attempt: 1 },
    { type: 'job-progress', at: 0, id: 1, done: 0, total: 10 * MiB },
    { type: 'job-progress', at: 1000, id: 1, done: MiB, total: 10 * MiB },
  ]);
  const before = running.jobs.get(1)!.speed;
  running = reduceTransfer(running, { type: 'tick', at: 3000 });
  t.true(running.jobs.get(1)!.speed < before);
  running = reduceTransfer(running, { type: 'tick', at: 60_000 });
  t.is(running.jobs.get(1)!.speed, 0);
  t.is(running.jobs.get(1)!.eta, null);
});

test('job table: updates copy only what changed and keep older tables intact', (t) => {
  const base = fold([]).jobs;
  let table = base;
  for (const id of [1, 2, 300, 70_000]) table = table.with({ ...fold([{ type: 'job-added', at: 0, job: info(id, id) }]).jobs.get(id)! });
  t.is(table.size, 4);
  t.deepEqual([...table.keys()], [1, 2, 300, 70_000]);
  t.is(table.get(300)?.size, 300);
  t.false(table.has(3));
  const updated = table.with({ ...table.get(2)!, state: 'done' });
  t.is(updated.size, 4, 'replacing is not adding');
  t.is(updated.get(2)?.state, 'done');
  t.is(table.get(2)?.state, 'queued', 'the older table still sees the old job');
  t.is(base.size, 0);
});

// ---------------------------------------------------------------- conflict rules (pure)

function entry(size: number, mtime: number, type: Entry['type'] = 'file'): Entry {
  return { name: 'x', type, size, mtime, mode: 0o644 };
}

test('conflict decisions for each policy', (t) => {
  const src = entry(100, 50_000);
  t.like(decideConflict('overwrite', src, entry(5, 1)), { action: 'transfer', overwrite: true, adopt: false });
  t.like(decideConflict('skip', src, entry(5, 1)), { action: 'skip' });
  t.like(decideConflict('rename', src, entry(5, 1)), { action: 'rename' });
  t.like(decideConflict('resume', src, entry(100, 50_000)), { action: 'up-to-date' });
  t.like(decideConflict('resume', src, entry(100, 50_001)), { action: 'up-to-date' }, 'a rounding millisecond is the same time');
  t.like(decideConflict('resume', src, entry(40, 1)), { action: 'transfer', adopt: true });
  t.like(decideConflict('resume', src, entry(100, 1)), { action: 'transfer', adopt: false });
  t.like(decideConflict('resume', src, entry(500, 50_000)), { action: 'transfer', adopt: false });
  t.like(decideConflict('newer', src, entry(5, 40_000)), { action: 'transfer' });
  t.like(decideConflict('newer', src, entry(5, 60_000)), { action: 'skip' });
  t.like(decideConflict('newer', src, entry(5, 50_000)), { action: 'skip' });
  t.like(decideConflict('size-differs', src, entry(100, 1)), { action: 'skip' });
  t.like(decideConflict('size-differs', src, entry(99, 1)), { action: 'transfer' });
  t.like(decideConflict('overwrite', src, entry(0, 1, 'dir')), { action: 'fail', code: 'EISDIR' });
  t.like(decideConflict('skip', src, entry(0, 1, 'dir')), { action: 'skip' });
});

test('numbered names keep the extension', (t) => {
  t.is(numberedName('report.pdf', 1), 'report (1).pdf');
  t.is(numberedName('archive.tar.gz', 2), 'archive.tar (2).gz');
  t.is(numberedName('.bashrc', 1), '.bashrc (1)');
  t.is(numberedName('Makefile', 3), 'Makefile (3)');
  t.is(numberedName('odd.', 1), 'odd. (1)');
});

// ---------------------------------------------------------------- against a real server

let server: TestServer;
let session: Session;
let remote: RemoteFileSystem;
const local = new LocalFileSystem();
let work: string;

test.before(async () => {
  // Acks every MiB so progress (and the cut in the retry test) happens inside a transfer.
  server = await startTestServer({ users: [ALICE, TIGHT], options: { syncEveryBytes: MiB } });
  session = await Session.connect({ url: server.url, user: ALICE.name, password: ALICE.password });
  remote = new RemoteFileSystem(session);
  work = await mkdtemp(join(tmpdir(), 'ferry-queue-'));
});

test.after.always(async () => {
  await session?.close();
  await server?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

function home(...parts: string[]): string {
  return join(server.root, 'homes', ALICE.name, ...parts);
}

/** A fresh directory for one test, locally and on the server. */
async function scratch(name: string): Promise<{ dir: string; remoteDir: string }> {
  const dir = join(work, name);
  await mkdir(dir, { recursive: true });
  await mkdir(home(name), { recursive: true });
  return { dir, remoteDir: `/${name}` };
}

function runQueue(queue: TransferQueue, requests: Parameters<TransferQueue['add']>[0][]): Promise<QueueState> {
  return Promise.all(requests.map((r) => queue.add(r))).then(() => queue.whenIdle());
}

function jobsOf(state: QueueState) {
  return [...state.jobs.values()];
}

test('a tree goes up and comes back down through the queue, 4 at a time, identical', async (t) => {
  const { dir, remoteDir } = await scratch('tree');
  const source = join(dir, 'src');
  await makeTree(source, {
    'empty.bin': 0,
    'one.bin': 1,
    'big.bin': 3 * MiB + 17,
    'a/b/c/deep.txt': 2000,
    'a/b/sibling.bin': 64 * KiB,
    'empty-dir/': null,
    'name with spaces/é.txt': 10,
  });
  for (let i = 0; i < 24; i++) await randomFile(join(source, 'many', `file-${String(i).padStart(2, '0')}.bin`), 1000 + i * 997);
  await symlink('/etc/passwd', join(source, 'link-out'));
  await writeFile(join(source, '.half.bin.ferry-part'), 'an unfinished download');

  const up = new TransferQueue({ concurrency: 4 });
  let maxRunning = 0;
  up.on('update', (state) => {
    // Files only: directories are created by the walk, outside the transfer slots.
    const running = jobsOf(state).filter((job) => job.kind === 'file' && (job.state === 'running' || job.state === 'reconnecting')).length;
    maxRunning = Math.max(maxRunning, running);
  });
  const upState = await runQueue(up, [{ source: { fs: local, path: source }, target: { fs: remote, path: remoteDir } }]);
  t.true(maxRunning <= 4, `at most 4 at once (saw ${maxRunning})`);
  t.is(upState.totals.failed, 0);
  t.is(upState.totals.files, 32, '30 files, a symlink and a partial');
  const link = jobsOf(upState).find((job) => job.name === 'link-out');
  t.is(link?.state, 'skipped');
  t.is(link?.reason, 'symbolic link');
  t.is(jobsOf(upState).find((job) => job.name === '.half.bin.ferry-part')?.state, 'skipped');

  const back = join(dir, 'back');
  const downState = await runQueue(new TransferQueue({ concurrency: 4 }), [
    { source: { fs: remote, path: `${remoteDir}/src` }, target: { fs: local, path: back } },
  ]);
  t.is(downState.totals.failed, 0);
  t.is(downState.totals.transferredFiles, 30);

  const original = await hashTree(source);
  const onServer = await hashTree(home('tree', 'src'));
  const returned = await hashTree(back);
  t.deepEqual(onServer.files, original.files);
  t.deepEqual(returned.files, original.files);
  t.deepEqual(returned.dirs, original.dirs);
  t.true(returned.dirs.has('empty-dir'));
  t.is(downState.totals.bytesDone, [...(await Promise.all([...original.files.keys()].map((rel) => stat(join(source, rel)))))].reduce((n, s) => n + s.size, 0));
});

test('policy overwrite, skip and rename on upload', async (t) => {
  const { dir, remoteDir } = await scratch('policies-a');
  await writeText(join(dir, 'doc.txt'), 'the new text');
  for (const policy of ['overwrite', 'skip', 'rename'] as const) {
    await writeText(home('policies-a', policy, 'doc.txt'), 'old');
    const state = await runQueue(new TransferQueue({ conflict: policy }), [
      { source: { fs: local, path: join(dir, 'doc.txt') }, target: { fs: remote, path: `${remoteDir}/${policy}` } },
    ]);
    t.is(state.totals.failed, 0, policy);
  }
  t.is(await readFile(home('policies-a', 'overwrite', 'doc.txt'), 'utf8'), 'the new text');
  t.is(await readFile(home('policies-a', 'skip', 'doc.txt'), 'utf8'), 'old');
  t.is(await readFile(home('policies-a', 'rename', 'doc.txt'), 'utf8'), 'old');
  t.is(await readFile(home('policies-a', 'rename', 'doc (1).txt'), 'utf8'), 'the new text');
  // A second rename finds the next free number.
  await runQueue(new TransferQueue({ conflict: 'rename' }), [
    { source: { fs: local, path: join(dir, 'doc.txt') }, target: { fs: remote, path: `${remoteDir}/rename` } },
  ]);
  t.is(await readFile(home('policies-a', 'rename', 'doc (2).txt'), 'utf8'), 'the new text');
});

test('policy newer and size-differs on download', async (t) => {
  const { dir } = await scratch('policies-b');
  await writeText(home('policies-b', 'a.txt'), 'server A');
  await writeText(home('policies-b', 'b.txt'), 'server B');
  await writeText(join(dir, 'newer', 'a.txt'), 'local a, newer');
  await writeText(join(dir, 'newer', 'b.txt'), 'local b, older');
  await utimes(home('policies-b', 'a.txt'), new Date(1_600_000_000_000), new Date(1_600_000_000_000));
  await utimes(join(dir, 'newer', 'a.txt'), new Date(1_700_000_000_000), new Date(1_700_000_000_000));
  await utimes(home('policies-b', 'b.txt'), new Date(1_700_000_000_000), new Date(1_700_000_000_000));
  await utimes(join(dir, 'newer', 'b.txt'), new Date(1_600_000_000_000), new Date(1_600_000_000_000));
  const newer = await runQueue(new TransferQueue({ conflict: 'newer' }), [
    { source: { fs: remote, path: '/policies-b/a.txt' }, target: { fs: local, path: join(dir, 'newer') } },
    { source: { fs: remote, path: '/policies-b/b.txt' }, target: { fs: local, path: join(dir, 'newer') } },
  ]);
  t.like(newer.totals, { skipped: 1, transferredFiles: 1 });
  t.is(await readFile(join(dir, 'newer', 'a.txt'), 'utf8'), 'local a, newer');
  t.is(await readFile(join(dir, 'newer', 'b.txt'), 'utf8'), 'server B');

  await writeText(join(dir, 'size', 'a.txt'), 'local A!'); // same length as 'server A'
  await writeText(join(dir, 'size', 'b.txt'), 'short');
  const sized = await runQueue(new TransferQueue({ conflict: 'size-differs' }), [
    { source: { fs: remote, path: '/policies-b/a.txt' }, target: { fs: local, path: join(dir, 'size') } },
    { source: { fs: remote, path: '/policies-b/b.txt' }, target: { fs: local, path: join(dir, 'size') } },
  ]);
  t.like(sized.totals, { skipped: 1, transferredFiles: 1 });
  t.is(await readFile(join(dir, 'size', 'a.txt'), 'utf8'), 'local A!');
  t.is(await readFile(join(dir, 'size', 'b.txt'), 'utf8'), 'server B');
});

test('policy resume: identical is done, a shorter prefix is adopted, anything else replaced', async (t) => {
  const { dir, remoteDir } = await scratch('policies-c');
  await randomFile(join(dir, 'src', 'same.bin'), 200 * KiB);
  await randomFile(join(dir, 'src', 'prefix.bin'), 3 * MiB);
  await randomFile(join(dir, 'src', 'other.bin'), 100 * KiB);
  // First a full upload, so 'same' is identical (size and mtime) on the server.
  await runQueue(new TransferQueue(), [{ source: { fs: local, path: join(dir, 'src', 'same.bin') }, target: { fs: remote, path: remoteDir } }]);
  const sameBefore = await stat(home('policies-c', 'same.bin'));
  // A shorter copy that is a true prefix, and a longer file that is not the source at all.
  const prefix = (await readFile(join(dir, 'src', 'prefix.bin'))).subarray(0, 2 * MiB);
  await writeFile(home('policies-c', 'prefix.bin'), prefix);
  await randomFile(home('policies-c', 'other.bin'), 300 * KiB);

  const again = new TransferQueue({ conflict: 'resume' });
  const events: TransferEvent[] = [];
  again.on('event', (event) => events.push(event));
  const requests = ['same.bin', 'prefix.bin', 'other.bin'].map((name) => ({
    source: { fs: local, path: join(dir, 'src', name) },
    target: { fs: remote, path: remoteDir },
  }));
  const second = await runQueue(again, requests);
  t.is(second.totals.failed, 0);
  const jobs = new Map(jobsOf(second).map((job) => [job.name, job]));
  t.is(jobs.get('same.bin')?.outcome, 'up-to-date');
  t.is((await stat(home('policies-c', 'same.bin'))).ino, sameBefore.ino, 'the identical file was not rewritten');
  const prefixDone = events.find((e) => e.type === 'job-done' && e.id === jobs.get('prefix.bin')?.id);
  t.is(prefixDone?.type === 'job-done' ? prefixDone.resumedFrom : undefined, 2 * MiB, 'the shorter target was adopted');
  t.is(jobs.get('prefix.bin')?.transferred, MiB);
  for (const name of ['same.bin', 'prefix.bin', 'other.bin']) {
    t.is(await sha256File(home('policies-c', name)), await sha256File(join(dir, 'src', name)), name);
  }
});

test("policy ask: the handler is asked one conflict at a time, and 'apply to all' sticks", async (t) => {
  const { dir, remoteDir } = await scratch('policies-d');
  for (const name of ['1.txt', '2.txt', '3.txt']) {
    await writeText(join(dir, 'src', name), `new ${name}`);
    await writeText(home('policies-d', 'src', name), 'old');
  }
  const asked: { job: JobInfo; source: Entry; target: Entry }[] = [];
  let open = 0;
  let overlapping = false;
  const queue = new TransferQueue({
    conflict: 'ask',
    concurrency: 3,
    onConflict: async (job, source, target) => {
      open++;
      overlapping ||= open > 1;
      asked.push({ job, source, target });
      await new Promise((resolve) => setImmediate(resolve));
      open--;
      return asked.length === 1 ? { policy: 'overwrite', applyToAll: false } : { policy: 'skip', applyToAll: true };
    },
  });
  const state = await runQueue(queue, [{ source: { fs: local, path: join(dir, 'src') }, target: { fs: remote, path: remoteDir } }]);
  t.false(overlapping, 'never two dialogs at once');
  t.is(asked.length, 2, 'the third conflict used the "apply to all" answer');
  t.is(asked[0]!.target.size, 3);
  t.is(asked[0]!.source.size, 9);
  t.like(state.totals, { transferredFiles: 1, skipped: 2 });
  const contents = await Promise.all(['1.txt', '2.txt', '3.txt'].map((n) => readFile(home('policies-d', 'src', n), 'utf8')));
  t.is(contents.filter((c) => c.startsWith('new')).length, 1);
});

test('a transient failure is retried with backoff and the transfer completes; other errors fail at once', async (t) => {
  const { dir, remoteDir } = await scratch('retries');
  const file = join(dir, 'big.bin');
  await randomFile(file, 16 * MiB);
  const proxy = await startCutProxy(server.port);
  const connect = () =>
    Session.connect({ url: proxy.url, user: ALICE.name, password: ALICE.password, reconnect: { initialDelayMs: 20, maxDelayMs: 50, giveUpAfterMs: 300 } });
  const flaky = new RemoteFileSystem(await connect());
  const sessions: Session[] = [flaky.session];
  try {
    const queue = new TransferQueue({
      retries: 3,
      retryDelayMs: 100,
      reopen: async () => {
        const fresh = new RemoteFileSystem(await connect());
        sessions.push(fresh.session);
        return fresh;
      },
    });
    const seen: TransferEvent[] = [];
    let cut = false;
    queue.on('event', (event) => {
      seen.push(event);
      if (event.type === 'job-progress' && event.done > 0 && !cut) {
        // The server goes away for longer than the session is willing to wait.
        cut = true;
        proxy.setRefusing(true);
        proxy.cutAll();
      }
      if (event.type === 'job-retrying') proxy.setRefusing(false);
    });
    const state = await runQueue(queue, [{ source: { fs: local, path: file }, target: { fs: flaky, path: remoteDir } }]);
    const retry = seen.find((e): e is Extract<TransferEvent, { type: 'job-retrying' }> => e.type === 'job-retrying');
    t.truthy(retry, 'the job was retried');
    t.is(retry?.error.code, 'ENETWORK');
    t.is(retry?.delayMs, 100);
    const job = jobsOf(state)[0]!;
    t.is(job.state, 'done');
    t.true(job.attempt >= 2);
    t.true(sessions.length >= 2, 'a new session was opened for the retry');
    t.is(await sha256File(home('retries', 'big.bin')), await sha256File(file));
  } finally {
    for (const s of sessions) await s.close();
    await proxy.close();
  }

  // EQUOTA is not transient: one attempt, no retry.
  const tightSession = await Session.connect({ url: server.url, user: TIGHT.name, password: TIGHT.password });
  try {
    const queue = new TransferQueue({ retries: 3, retryDelayMs: 10 });
    const events: TransferEvent[] = [];
    queue.on('event', (event) => events.push(event));
    await randomFile(join(dir, 'too-big.bin'), 200 * KiB);
    const state = await runQueue(queue, [{ source: { fs: local, path: join(dir, 'too-big.bin') }, target: { fs: new RemoteFileSystem(tightSession), path: '/' } }]);
    const job = jobsOf(state)[0]!;
    t.is(job.state, 'failed');
    t.is(job.error?.code, 'EQUOTA');
    t.is(job.attempt, 1);
    t.false(events.some((e) => e.type === 'job-retrying'));
  } finally {
    await tightSession.close();
  }
});

test('move: files and directories leave the source only once copied', async (t) => {
  const { dir, remoteDir } = await scratch('move');
  const source = join(dir, 'outgoing');
  await makeTree(source, { 'x.bin': 5000, 'sub/y.bin': 70 * KiB, 'sub/empty/': null });
  const before = await hashTree(source);
  const up = await runQueue(new TransferQueue(), [{ source: { fs: local, path: source }, target: { fs: remote, path: remoteDir }, move: true }]);
  t.is(up.totals.failed, 0);
  await t.throwsAsync(stat(source), { code: 'ENOENT' }, 'the whole source tree is gone');
  const moved = await hashTree(home('move', 'outgoing'));
  t.deepEqual(moved.files, before.files);
  t.true(moved.dirs.has('sub/empty'));

  // And back down: a single remote file moved to a local directory.
  const down = await runQueue(new TransferQueue(), [
    { source: { fs: remote, path: '/move/outgoing/x.bin' }, target: { fs: local, path: dir }, move: true },
  ]);
  t.is(down.totals.transferredFiles, 1);
  t.is(await sha256File(join(dir, 'x.bin')), before.files.get('x.bin') ?? 'missing');
  t.is(await remote.stat('/move/outgoing/x.bin'), null);

  // A skipped file keeps its directory.
  await makeTree(join(dir, 'keep'), { 'k.txt': 10 });
  await writeText(home('move', 'keep', 'k.txt'), 'already there');
  const kept = await runQueue(new TransferQueue({ conflict: 'skip' }), [
    { source: { fs: local, path: join(dir, 'keep') }, target: { fs: remote, path: remoteDir }, move: true },
  ]);
  t.is(kept.totals.skipped, 1);
  t.truthy(await stat(join(dir, 'keep', 'k.txt')), 'a skipped file is not removed');
});

test('local → local copies resume from their partial; remote → remote is refused with ENOTSUP', async (t) => {
  const { dir } = await scratch('local-copy');
  const source = join(dir, 'src.bin');
  await randomFile(source, 3 * MiB + 5);
  const destination = join(dir, 'dst.bin');
  // An earlier copy left 1 MiB behind, with the sidecar naming this source.
  const partial = localPartialPath(destination);
  const st = await stat(source);
  await writeFile(partial, (await readFile(source)).subarray(0, MiB));
  await writeFile(`${partial}.json`, JSON.stringify({ source, size: st.size, mtime: Math.trunc(st.mtimeMs) }));
  const result = await copyLocalFile(source, destination);
  t.is(result.resumedFrom, MiB);
  t.is(result.sha256, await sha256File(source));
  t.is(await sha256File(destination), result.sha256);
  await t.throwsAsync(stat(partial), { code: 'ENOENT' });
  t.true(sameMtime((await stat(destination)).mtimeMs, st.mtimeMs), 'the copy keeps the mtime');

  // A partial whose bytes are not the source's is not appended to.
  await writeFile(partial, Buffer.alloc(MiB, 7));
  await writeFile(`${partial}.json`, JSON.stringify({ source, size: st.size, mtime: Math.trunc(st.mtimeMs) }));
  const again = await copyLocalFile(source, destination, { overwrite: true });
  t.is(again.resumedFrom, 0);
  t.is(await sha256File(destination), result.sha256);

  // Through the queue: a tree, local to local.
  await makeTree(join(dir, 'tree'), { 'a.bin': 10, 'b/c.bin': 20_000, 'd/': null });
  const state = await runQueue(new TransferQueue(), [{ source: { fs: local, path: join(dir, 'tree') }, target: { fs: local, path: join(dir, 'copy') } }]);
  t.is(state.totals.failed, 0);
  t.deepEqual(await hashTree(join(dir, 'copy')), await hashTree(join(dir, 'tree')));

  await writeText(home('local-copy', 'on-server.txt'), 'hello');
  const file = await runQueue(new TransferQueue(), [{ source: { fs: remote, path: '/local-copy/on-server.txt' }, target: { fs: remote, path: '/copy.txt' } }]);
  t.is(jobsOf(file)[0]?.error?.code, 'ENOTSUP');
});

test('cancel fails queued and running jobs with ECANCELED and keeps partials; retry() runs a failed job again', async (t) => {
  const { dir, remoteDir } = await scratch('cancel');
  for (let i = 0; i < 6; i++) await randomFile(join(dir, 'src', `f${i}.bin`), 2 * MiB);
  // Uploads through a slow link, so the cancel lands while the first file is on its way.
  const proxy = await startThrottleProxy(server.port, 4 * MiB, { both: true });
  const slowSession = await Session.connect({ url: proxy.url, user: ALICE.name, password: ALICE.password });
  t.teardown(async () => {
    await slowSession.close();
    await proxy.close();
  });
  const slow = new RemoteFileSystem(slowSession);
  const queue = new TransferQueue({ concurrency: 1 });
  let canceled = false;
  queue.on('event', (event) => {
    if (event.type === 'job-progress' && event.done > 0 && !canceled) {
      canceled = true;
      queue.cancel();
    }
  });
  const state = await runQueue(queue, [{ source: { fs: local, path: join(dir, 'src') }, target: { fs: slow, path: remoteDir } }]);
  const files = jobsOf(state).filter((job) => job.kind === 'file');
  t.true(files.every((job) => job.state === 'failed' && job.error?.code === 'ECANCELED'), files.map((j) => `${j.name}:${j.state}`).join(' '));
  // The canceled upload kept its partial on the server: the next run continues it.
  const interrupted = files.find((job) => job.bytesDone > 0)!;
  const rerun = new TransferQueue({ concurrency: 2 });
  const finished: Extract<TransferEvent, { type: 'job-done' }>[] = [];
  rerun.on('event', (event) => {
    if (event.type === 'job-done') finished.push(event);
  });
  const resumed = await runQueue(rerun, [{ source: { fs: local, path: join(dir, 'src') }, target: { fs: remote, path: remoteDir } }]);
  t.is(resumed.totals.transferredFiles, 6);
  const continued = jobsOf(resumed).find((job) => job.name === interrupted.name)!;
  t.true((finished.find((e) => e.id === continued.id)?.resumedFrom ?? 0) > 0, 'resumed from the kept partial');
  t.deepEqual((await hashTree(home('cancel', 'src'))).files, (await hashTree(join(dir, 'src'))).files);

  const again = new TransferQueue({ concurrency: 2 });
  const first = await runQueue(again, [{ source: { fs: local, path: join(dir, 'src', 'f0.bin') }, target: { fs: remote, path: `${remoteDir}/missing-dir/f0.bin` } }]);
  const failed = jobsOf(first)[0]!;
  t.is(failed.state, 'failed');
  t.is(failed.error?.code, 'ENOENT');
  await remote.mkdir(`${remoteDir}/missing-dir`);
  again.retry(failed.id);
  const retried = await again.whenIdle();
  t.is(retried.jobs.get(failed.id)?.state, 'done');
  t.is(await sha256File(home('cancel', 'missing-dir', 'f0.bin')), await sha256File(join(dir, 'src', 'f0.bin')));
});

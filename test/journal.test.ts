import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { Session } from '../src/client/session.js';
import { LocalFileSystem } from '../src/fs/local-file-system.js';
import { RemoteFileSystem } from '../src/fs/remote-file-system.js';
import { describeRequest, journalKey, listUnfinished, TransferJournal, type JournalFile, type JournalRequest } from '../src/transfer/journal.js';
import { TransferQueue } from '../src/transfer/transfer-queue.js';
import type { TransferRequest } from '../src/transfer/types.js';
import { configDir, dataDir, journalDir, stateDir } from '../src/util/paths.js';
import { startTestServer } from './helpers/server.js';
import { hashTree, randomFile } from './helpers/tree.js';

const KiB = 1024;
const local = new LocalFileSystem();

async function tempDir(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-journal-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function request(source: string, target: string, conflict: JournalRequest['conflict'] = 'resume'): JournalRequest {
  const r: TransferRequest = { source: { fs: local, path: source }, target: { fs: local, path: target } };
  return describeRequest(r, conflict);
}

test('XDG directories: variables win, relative ones are ignored, HOME is the fallback', (t) => {
  const env = { HOME: '/home/u', XDG_STATE_HOME: '/s', XDG_CONFIG_HOME: 'relative/ignored', XDG_DATA_HOME: '/d' };
  t.is(stateDir(env), '/s/ferry');
  t.is(journalDir(env), '/s/ferry/journal');
  t.is(configDir(env), '/home/u/.config/ferry');
  t.is(dataDir(env), '/d/ferry');
  t.is(stateDir({ HOME: '/home/u' }), '/home/u/.local/state/ferry');
  t.is(dataDir({ HOME: '/home/u' }), '/home/u/.local/share/ferry');
});

test('the key depends on what was asked, in order, and not on anything else', (t) => {
  const a = request('/a', '/b');
  t.is(journalKey([a]), journalKey([request('/a', '/b')]));
  t.not(journalKey([a]), journalKey([request('/a', '/b', 'overwrite')]));
  t.not(journalKey([a]), journalKey([request('/a', '/c')]));
  t.not(journalKey([a, request('/x', '/y')]), journalKey([request('/x', '/y'), a]));
  t.regex(journalKey([a]), /^[0-9a-f]{32}$/);
});

test('writes are debounced until flush, whole-file, and survive a reload', async (t) => {
  const dir = await tempDir(t);
  const req = request('/src', '/dst');
  const key = journalKey([req]);
  const journal = await TransferJournal.open({ key, dir, debounceMs: 60_000 });
  t.false(journal.resumed);
  journal.addRequest(req);
  journal.setDestination(req.key, '/dst/src');
  journal.setJob({ request: req.key, path: 'a.txt', size: 10, mtime: 1000, state: 'done' });
  journal.setJob({ request: req.key, path: 'b/c.txt', size: 20, mtime: 2000, state: 'pending' });
  journal.setJob({ request: req.key, path: 'd.txt', size: 30, mtime: 3000, state: 'failed', error: 'EQUOTA' });
  await t.throwsAsync(readFile(journal.file), { code: 'ENOENT' }, 'nothing written before the debounce or a flush');
  await journal.flush();
  const written = JSON.parse(await readFile(journal.file, 'utf8')) as JournalFile;
  t.is(written.key, key);
  t.is(written.pid, process.pid);
  t.is(written.jobs.length, 3);
  t.deepEqual(await readdir(dir), [`${key}.json`], 'no temp file is left behind');

  const reloaded = await TransferJournal.open({ key, dir });
  t.true(reloaded.resumed);
  t.is(reloaded.getRequest(req.key)?.destination, '/dst/src');
  t.true(reloaded.isDone(req.key, 'a.txt', 10, 1000));
  t.false(reloaded.isDone(req.key, 'a.txt', 10, 1001), 'a source with another mtime is done again');
  t.false(reloaded.isDone(req.key, 'b/c.txt', 20, 2000));
  t.is(reloaded.getJob(req.key, 'd.txt')?.error, 'EQUOTA');
});

test('a failed write leaves the previous journal whole', async (t) => {
  const dir = await tempDir(t);
  const req = request('/src', '/dst');
  const journal = await TransferJournal.open({ key: journalKey([req]), dir, debounceMs: 60_000 });
  journal.addRequest(req);
  journal.setJob({ request: req.key, path: 'a', size: 1, mtime: 1, state: 'pending' });
  await journal.flush();
  const before = await readFile(journal.file, 'utf8');
  // Something is in the way of the temp file: the write fails before the rename.
  await mkdir(`${journal.file}.${process.pid}.tmp`);
  journal.setJob({ request: req.key, path: 'a', size: 1, mtime: 1, state: 'done' });
  await t.throwsAsync(journal.flush());
  t.is(await readFile(journal.file, 'utf8'), before);
  // Once the way is clear, the next flush writes what the failed one could not.
  await rm(`${journal.file}.${process.pid}.tmp`, { recursive: true });
  await journal.flush();
  t.is((JSON.parse(await readFile(journal.file, 'utf8')) as JournalFile).jobs[0]?.state, 'done');
});

test('listUnfinished finds journals newest first, tells live from abandoned ones, skips junk', async (t) => {
  const dir = await tempDir(t);
  t.deepEqual(await listUnfinished(join(dir, 'missing')), []);
  const first = request('/one', '/x');
  const second = request('/two', '/x');
  const j1 = await TransferJournal.open({ key: journalKey([first]), dir });
  j1.addRequest(first);
  j1.setJob({ request: first.key, path: 'f', size: 1, mtime: 1, state: 'done' });
  j1.setJob({ request: first.key, path: 'g', size: 1, mtime: 1, state: 'pending' });
  await j1.flush();
  // An abandoned run: written by a process that is gone.
  const gone = spawnSync(process.execPath, ['-e', '0']).pid!;
  const j2: JournalFile = {
    version: 1,
    key: journalKey([second]),
    createdAt: 1,
    updatedAt: Date.now() + 60_000,
    pid: gone,
    requests: [second],
    jobs: [{ request: second.key, path: 'h', size: 1, mtime: 1, state: 'failed', error: 'ENETWORK' }],
  };
  await writeFile(join(dir, `${j2.key}.json`), JSON.stringify(j2));
  await writeFile(join(dir, 'abcdef01.json'), '{ not json');
  await writeFile(join(dir, 'notes.txt'), 'not a journal');

  const found = await listUnfinished(dir);
  t.deepEqual(
    found.map((j) => j.key),
    [j2.key, j1.key],
  );
  t.like(found[0], { done: 0, pending: 0, failed: 1, active: false });
  t.like(found[1], { done: 1, pending: 1, failed: 0, active: true });
  t.is(found[1]!.requests[0]!.source.path, '/one');
});

test('complete() removes the file; an unreadable journal is set aside, not trusted', async (t) => {
  const dir = await tempDir(t);
  const req = request('/a', '/b');
  const key = journalKey([req]);
  const journal = await TransferJournal.open({ key, dir });
  journal.addRequest(req);
  await journal.flush();
  await journal.complete();
  t.deepEqual(await readdir(dir), []);

  await writeFile(join(dir, `${key}.json`), '{"version": 1, "key": "trunc');
  const fresh = await TransferJournal.open({ key, dir });
  t.false(fresh.resumed);
  t.deepEqual((await readdir(dir)).sort(), [`${key}.json.corrupt`]);
  await t.throwsAsync(TransferJournal.open({ key: '../../etc/passwd', dir }), { message: /bad journal key/ });
});

test('a queue with a journal: failures keep it, the next run skips what was done and removes it when clean', async (t) => {
  const dir = await tempDir(t);
  const journals = join(dir, 'journals');
  const server = await startTestServer({ users: [{ name: 'carol', password: 'carol-password', quota: 300 * KiB }] });
  t.teardown(() => server.close());
  const source = join(dir, 'src');
  for (let i = 0; i < 5; i++) await randomFile(join(source, `small-${i}.bin`), 20 * KiB);
  await randomFile(join(source, 'z-large.bin'), 400 * KiB);

  const run = async () => {
    const session = await Session.connect({ url: server.url, user: 'carol', password: 'carol-password' });
    try {
      const requests: TransferRequest[] = [{ source: { fs: local, path: source }, target: { fs: new RemoteFileSystem(session), path: '/' } }];
      const key = journalKey(requests.map((r) => describeRequest(r, 'resume')));
      const journal = await TransferJournal.open({ key, dir: journals });
      const queue = new TransferQueue({ journal, concurrency: 2 });
      for (const r of requests) await queue.add(r);
      return { state: await queue.whenIdle(), journal };
    } finally {
      await session.close();
    }
  };

  const first = await run();
  t.like(first.state.totals, { transferredFiles: 5, failed: 1 });
  const unfinished = await listUnfinished(journals);
  t.is(unfinished.length, 1);
  t.like(unfinished[0], { done: 5, failed: 1, pending: 0 });

  server.server.users.setQuota('carol', 0);
  const second = await run();
  t.like(second.state.totals, { fromJournal: 5, transferredFiles: 1, failed: 0 });
  t.true(second.journal.resumed);
  t.deepEqual(await listUnfinished(journals), [], 'a clean finish removes the journal');
  t.deepEqual((await hashTree(join(server.root, 'homes', 'carol', 'src'))).files, (await hashTree(source)).files);
});

import { once } from 'node:events';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createServer as createNetServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import type { Entry } from '../src/protocol/index.js';
import { EXIT_TABLE, exitCodeFor } from '../src/cli/exit-codes.js';
import { fitWidth, formatEta, formatMode } from '../src/cli/format.js';
import { renderProgress } from '../src/cli/progress-bar.js';
import { ERRORS, type ErrorCode } from '../src/protocol/index.js';
import type { JournalFile } from '../src/transfer/journal.js';
import { initialQueueState, reduceTransfer } from '../src/transfer/progress.js';
import type { TransferEvent } from '../src/transfer/types.js';
import { collect, runCli, spawnCli, type CliResult } from './helpers/cli.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { startThrottleProxy } from './helpers/throttle-proxy.js';
import { hashTree, makeTree, randomFile, sha256File, writeText } from './helpers/tree.js';

const ALICE = { name: 'alice', password: 'alice-password-1' };
const SMALL = { name: 'small', password: 'small-password-1', quota: 100 * 1024 };
const KiB = 1024;
const MiB = 1024 * KiB;

let server: TestServer;
let work: string;
/** Journals of the CLI runs go here, not into the real home. */
let state: string;

test.before(async () => {
  server = await startTestServer({ users: [ALICE, SMALL] });
  work = await mkdtemp(join(tmpdir(), 'ferry-cli-'));
  state = join(work, 'state');
});

test.after.always(async () => {
  await server?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

function url(path = '/', user = ALICE.name, port = server.port): string {
  return `ferry://${user}@127.0.0.1:${port}${path}`;
}

function home(...parts: string[]): string {
  return join(server.root, 'homes', ALICE.name, ...parts);
}

/** Runs the CLI as alice (password in FERRY_PASSWORD), journals in the test's state dir. */
function ferry(args: string[], env: Record<string, string | undefined> = {}, input?: string): Promise<CliResult> {
  return runCli(args, { env: { FERRY_PASSWORD: ALICE.password, XDG_STATE_HOME: state, ...env }, ...(input === undefined ? {} : { input }), cwd: work });
}

/** An error line as the CLI prints it, and never a stack trace. */
function assertError(t: { regex(s: string, r: RegExp): void; notRegex(s: string, r: RegExp): void }, result: CliResult, code: string): void {
  t.regex(result.stderr, new RegExp(`^ferry: .+ \\(${code}\\)$`, 'm'));
  t.notRegex(result.stderr, /^\s+at /m);
}

async function closedPort(): Promise<number> {
  const s = createNetServer();
  s.listen(0, '127.0.0.1');
  await once(s, 'listening');
  const port = (s.address() as { port: number }).port;
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

test('the progress display: a line per running file and a total, within the width', (t) => {
  const events: TransferEvent[] = [
    { type: 'job-added', at: 0, job: { id: 1, requestId: 1, kind: 'file', name: 'holiday-video.mp4', source: 's', target: 't', size: 100 * MiB } },
    { type: 'job-added', at: 0, job: { id: 2, requestId: 1, kind: 'file', name: 'b.txt', source: 's', target: 't', size: 10 } },
    { type: 'job-started', at: 0, id: 1, attempt: 1 },
    { type: 'job-progress', at: 0, id: 1, done: 0, total: 100 * MiB },
    { type: 'job-progress', at: 2000, id: 1, done: 20 * MiB, total: 100 * MiB },
  ];
  const state = events.reduce(reduceTransfer, initialQueueState());
  const lines = renderProgress(state, 100);
  t.is(lines.length, 2);
  t.regex(lines[0]!, /holiday-video\.mp4\s+20%\s+20\.0 MiB \/ 100\.0 MiB\s+10\.0 MiB\/s\s+ETA 0:08/);
  t.regex(lines[1]!, /^\[#{4}\.{16}\] 0\/2 files\s+19%/);
  for (const line of renderProgress(state, 40)) t.true([...line].length <= 40, line);
  t.is(formatEta(3725), '1:02:05');
  t.is(formatEta(null), '--:--');
  t.is(formatMode({ type: 'dir', mode: 0o755 }), 'drwxr-xr-x');
  t.is(fitWidth('abcdefghij', 5), 'ab…ij');
});

test('every error code has its exit status, and the table lists each once', (t) => {
  const listed = EXIT_TABLE.flatMap((row) => row.codes);
  t.is(new Set(listed).size, listed.length);
  const expected: Partial<Record<ErrorCode, number>> = {
    EINVAL: 2,
    EAUTH: 3,
    ETHROTTLE: 3,
    EPENDING: 3,
    ENOTAUTH: 3,
    ENOENT: 4,
    EQUOTA: 5,
    ENOSPC: 5,
    ENETWORK: 6,
    ETIMEDOUT: 6,
    EBUSY: 6,
    EIDENTITY: 6,
    EINTEGRITY: 7,
    ECHANGED: 7,
    EEXIST: 8,
    ENOTEMPTY: 8,
    EACCES: 9,
  };
  for (const code of Object.keys(ERRORS) as ErrorCode[]) t.is(exitCodeFor(code) as number, expected[code] ?? 1, code);
});

test('ls lists names, -l adds details, --json gives the entries', async (t) => {
  await makeTree(home('ls-demo'), { 'b.txt': 10, 'a dir/x': 1, 'c.bin': 2048 });
  const plain = await ferry(['ls', url('/ls-demo')]);
  t.is(plain.code, 0, plain.stderr);
  t.is(plain.stdout, 'a dir/\nb.txt\nc.bin\n');
  t.is(plain.stderr, '');

  const long = await ferry(['ls', '-l', url('/ls-demo')]);
  t.is(long.code, 0);
  const lines = long.stdout.trimEnd().split('\n');
  t.is(lines.length, 3);
  t.regex(lines[0]!, /^drwx.{6}\s+\d+\s+\d{4}-\d\d-\d\d \d\d:\d\d {2}a dir\/$/);
  t.regex(lines[2]!, /^-rw.{7}\s+2048\s+\d{4}-\d\d-\d\d \d\d:\d\d {2}c\.bin$/);

  const json = await ferry(['ls', '--json', url('/ls-demo')]);
  t.is(json.code, 0);
  const entries = JSON.parse(json.stdout) as Entry[];
  t.deepEqual(
    entries.map((e) => [e.name, e.type, e.size]),
    [
      ['a dir', 'dir', entries[0]!.size],
      ['b.txt', 'file', 10],
      ['c.bin', 'file', 2048],
    ],
  );
  t.true(entries.every((e) => typeof e.mtime === 'number' && typeof e.mode === 'number'));

  const one = await ferry(['ls', '--json', url('/ls-demo/b.txt')]);
  t.deepEqual(
    (JSON.parse(one.stdout) as Entry[]).map((e) => e.name),
    ['b.txt'],
  );
});

test('put and get a single file, then trees with -r, identical both ways; a second run changes nothing', async (t) => {
  const dir = join(work, 'roundtrip');
  await randomFile(join(dir, 'single.bin'), 3 * MiB + 5);
  const put = await ferry(['put', join(dir, 'single.bin'), url('/rt/')]);
  t.is(put.code, 0, put.stderr);
  t.is(await sha256File(home('rt', 'single.bin')), await sha256File(join(dir, 'single.bin')));
  const get = await ferry(['get', url('/rt/single.bin'), join(dir, 'copy.bin')]);
  t.is(get.code, 0, get.stderr);
  t.is(await sha256File(join(dir, 'copy.bin')), await sha256File(join(dir, 'single.bin')));

  await makeTree(join(dir, 'tree'), { 'a.bin': 100 * KiB, 'b/c.bin': 1, 'b/d/e.bin': 0, 'empty/': null, 'f g/h.txt': 33 });
  const putTree = await ferry(['put', '-r', '-j', '3', join(dir, 'tree'), url('/rt')]);
  t.is(putTree.code, 0, putTree.stderr);
  t.regex(putTree.stderr, /^4 files, .*: 4 transferred, 0 done earlier, 0 up to date, 0 skipped, 0 failed/m);
  const getTree = await ferry(['get', '-r', url('/rt/tree'), join(dir, 'back')]);
  t.is(getTree.code, 0, getTree.stderr);
  const original = await hashTree(join(dir, 'tree'));
  t.deepEqual(await hashTree(home('rt', 'tree')), original);
  t.deepEqual(await hashTree(join(dir, 'back', 'tree')), original);

  // The same commands again land in the same place and find everything up to date.
  const again = await ferry(['get', '-r', url('/rt/tree'), join(dir, 'back')]);
  t.is(again.code, 0);
  t.regex(again.stderr, /: 0 transferred, 0 done earlier, 4 up to date/);
  t.deepEqual(await readdir(join(dir, 'back')), ['tree']);
  // A trailing slash copies the contents.
  const contents = await ferry(['get', '-r', url('/rt/tree/'), join(dir, 'flat')]);
  t.is(contents.code, 0);
  t.deepEqual(await hashTree(join(dir, 'flat')), original);
});

test('mkdir, rm, mv and quota', async (t) => {
  t.is((await ferry(['mkdir', url('/ops/x/y')])).code, 4, 'a missing parent is not found');
  t.is((await ferry(['mkdir', '-p', url('/ops/x/y')])).code, 0);
  t.true((await stat(home('ops', 'x', 'y'))).isDirectory());
  const exists = await ferry(['mkdir', url('/ops/x')]);
  t.is(exists.code, 8);
  assertError(t, exists, 'EEXIST');

  await writeText(home('ops', 'x', 'y', 'file.txt'), 'hello');
  const notEmpty = await ferry(['rm', url('/ops/x')]);
  t.is(notEmpty.code, 8);
  assertError(t, notEmpty, 'ENOTEMPTY');
  t.is((await ferry(['mv', url('/ops/x/y/file.txt'), url('/ops/renamed.txt')])).code, 0);
  t.is(await readFile(home('ops', 'renamed.txt'), 'utf8'), 'hello');
  t.is((await ferry(['mv', url('/ops/renamed.txt'), '/ops/x'])).code, 0, 'into an existing directory, by path');
  t.is(await readFile(home('ops', 'x', 'renamed.txt'), 'utf8'), 'hello');
  t.is((await ferry(['rm', '-r', url('/ops/x')])).code, 0);
  await t.throwsAsync(stat(home('ops', 'x')), { code: 'ENOENT' });
  const rmHome = await ferry(['rm', '-r', url('/')]);
  t.is(rmHome.code, 9);

  const quota = await ferry(['quota', '--json', url('/')]);
  t.is(quota.code, 0);
  const q = JSON.parse(quota.stdout) as { used: number; total: number };
  t.is(q.total, 0);
  t.true(q.used >= 0);
  const small = await ferry(['quota', url('/', SMALL.name)], { FERRY_PASSWORD: SMALL.password });
  t.regex(small.stdout, /of 100\.0 KiB used/);
});

test('exit codes: usage 2, auth 3, not found 4, quota 5, network 6; errors are one line with the code', async (t) => {
  const usage = await Promise.all([
    ferry(['ls']),
    ferry(['get', url('/x')]),
    ferry(['frobnicate']),
    ferry(['ls', '--no-such-flag', url('/')]),
    ferry(['ls', 'http://example.com/']),
    ferry(['get', '-j', 'many', url('/x'), 'here']),
    ferry(['get', '--conflict', 'maybe', url('/x'), 'here']),
    ferry(['put', 'here', 'there']),
  ]);
  for (const result of usage) {
    t.is(result.code, 2, result.stderr);
    t.regex(result.stderr, /^ferry: /);
    t.notRegex(result.stderr, /^\s+at /m);
  }
  const noPassword = await runCli(['ls', url('/')], { env: { XDG_STATE_HOME: state } });
  t.is(noPassword.code, 2);
  t.regex(noPassword.stderr, /FERRY_PASSWORD/);

  const auth = await ferry(['ls', url('/')], { FERRY_PASSWORD: 'wrong' });
  t.is(auth.code, 3);
  assertError(t, auth, 'EAUTH');
  const viaStdin = await runCli(['ls', '--password-stdin', url('/')], { env: { XDG_STATE_HOME: state }, input: `${ALICE.password}\n` });
  t.is(viaStdin.code, 0, viaStdin.stderr);

  const missing = await ferry(['get', url('/no/such/file'), join(work, 'nothing')]);
  t.is(missing.code, 4);
  assertError(t, missing, 'ENOENT');
  t.is((await ferry(['ls', url('/not-there')])).code, 4);

  await randomFile(join(work, 'too-big.bin'), 200 * KiB);
  const quota = await ferry(['put', join(work, 'too-big.bin'), url('/', SMALL.name)], { FERRY_PASSWORD: SMALL.password });
  t.is(quota.code, 5);
  assertError(t, quota, 'EQUOTA');
  t.deepEqual(await readdir(join(server.root, 'homes', SMALL.name)).catch(() => []), [], 'nothing stored over quota');

  const network = await ferry(['ls', url('/', ALICE.name, await closedPort())]);
  t.is(network.code, 6);
  assertError(t, network, 'ENETWORK');

  const dirWithoutR = await ferry(['get', url('/'), join(work, 'x')]);
  t.is(dirWithoutR.code, 1);
  t.regex(dirWithoutR.stderr, /use -r/);

  const help = await runCli(['--help']);
  t.is(help.code, 0);
  t.regex(help.stdout, /Exit status:[\s\S]*6 {2}network/);
});

test('piped output: no progress, a one-line summary on stderr, and nothing at all with -q', async (t) => {
  await makeTree(home('piped'), { 'a.bin': 2 * MiB, 'b.bin': 10 });
  const loud = await ferry(['get', '-r', url('/piped'), join(work, 'piped-out')]);
  t.is(loud.code, 0);
  t.is(loud.stdout, '');
  t.is(loud.stderr.split('\n').filter(Boolean).length, 1, loud.stderr);
  t.notRegex(loud.stderr, /\x1b\[|\r/, 'no terminal control sequences');
  t.regex(loud.stderr, /^2 files, 2\.0 MiB: 2 transferred/);
  const quiet = await ferry(['get', '-q', '-r', url('/piped'), join(work, 'piped-quiet')]);
  t.is(quiet.code, 0);
  t.is(quiet.stdout + quiet.stderr, '');
});

test('a get -r killed with SIGKILL part way continues when run again, without redoing finished files', async (t) => {
  const files = 30;
  await mkdir(home('kill'), { recursive: true });
  for (let i = 0; i < files; i++) await randomFile(home('kill', 'tree', `f${String(i).padStart(2, '0')}.bin`), 2 * MiB);
  // Slow enough that the kill lands in the middle, whatever the machine.
  const proxy = await startThrottleProxy(server.port, 8 * MiB);
  t.teardown(() => proxy.close());
  const target = join(work, 'kill-target');
  const killState = join(work, 'kill-state');
  const journalDir = join(killState, 'ferry', 'journal');
  const args = ['get', '-r', url('/kill/tree', ALICE.name, proxy.port), target];
  const env = { FERRY_PASSWORD: ALICE.password, XDG_STATE_HOME: killState };

  const child = spawnCli(args, { env, cwd: work });
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const exited = collect(child);
  // Wait (by polling the journal, not by sleeping a guessed time) until some files are done.
  let journal: JournalFile | undefined;
  for (;;) {
    const names = await readdir(journalDir).catch(() => [] as string[]);
    const file = names.find((n) => n.endsWith('.json'));
    if (file) {
      journal = JSON.parse(await readFile(join(journalDir, file), 'utf8')) as JournalFile;
      if (journal.jobs.filter((j) => j.state === 'done').length >= 5) break;
    }
    if (child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  child.kill('SIGKILL');
  const killed = await exited;
  t.is(killed.signal, 'SIGKILL', `the first run was still going (stderr: ${killed.stderr})`);
  const doneBefore = journal!.jobs.filter((j) => j.state === 'done').map((j) => j.path);
  t.true(doneBefore.length >= 5 && doneBefore.length < files);
  const finishedBefore = new Map<string, number>();
  for (const name of await readdir(join(target, 'tree'))) {
    if (!name.startsWith('.')) finishedBefore.set(name, (await stat(join(target, 'tree', name))).ino);
  }
  t.true(finishedBefore.size < files, 'the kill left work to do');

  proxy.setRate(null);
  const second = await collect(spawnCli(args, { env, cwd: work }));
  t.is(second.code, 0, second.stderr);
  const summary = /^(\d+) files, .*: (\d+) transferred, (\d+) done earlier, (\d+) up to date, 0 skipped, 0 failed/m.exec(second.stderr);
  t.truthy(summary, second.stderr);
  const [, total, transferred, earlier, upToDate] = summary!.map(Number);
  t.is(total, files);
  t.true(earlier! >= doneBefore.length, `${earlier} done earlier per the journal (it listed ${doneBefore.length})`);
  t.is(transferred! + earlier! + upToDate!, files);
  t.true(transferred! <= files - doneBefore.length);
  for (const [name, ino] of finishedBefore) {
    t.is((await stat(join(target, 'tree', name))).ino, ino, `${name} was not transferred again`);
  }
  const result = await hashTree(join(target, 'tree'), /^$/);
  t.deepEqual(result.files, (await hashTree(home('kill', 'tree'))).files, 'all identical, no partial files left');
  t.deepEqual(await readdir(journalDir), [], 'the finished run removed its journal');
});

test('ferry demo serves the fixtures until interrupted, then removes its data', async (t) => {
  const child = spawnCli(['demo', '--password', 'demo-pass-1'], { cwd: work });
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const output = collect(child);
  let stdout = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  while (!/Press Ctrl-C/.test(stdout)) {
    if (child.exitCode !== null) break;
    await once(child.stdout!, 'data');
  }
  const port = /127\.0\.0\.1:(\d+)/.exec(stdout)?.[1];
  t.truthy(port, stdout);
  t.regex(stdout, /FERRY_PASSWORD='demo-pass-1'/);
  const listing = await runCli(['ls', `ferry://demo@127.0.0.1:${port}/`], { env: { FERRY_PASSWORD: 'demo-pass-1' } });
  t.is(listing.code, 0, listing.stderr);
  t.regex(listing.stdout, /^README\.txt$/m);
  t.regex(listing.stdout, /^notes\/$/m);
  const root = /Server log: (.*)\/server\.log/.exec(stdout)?.[1];
  child.kill('SIGINT');
  const done = await output;
  t.is(done.code, 0, done.stderr);
  await t.throwsAsync(stat(root!), { code: 'ENOENT' });
});

test('journals go where XDG_STATE_HOME says, and a clean run leaves none', async (t) => {
  const own = join(work, 'own-state');
  await writeFile(join(work, 'note.txt'), 'x');
  const failed = await ferry(['put', join(work, 'note.txt'), url('/no-such-dir/note.txt')], { XDG_STATE_HOME: own });
  t.is(failed.code, 4);
  t.is((await readdir(join(own, 'ferry', 'journal'))).length, 1, 'a failed run keeps its journal for the next try');
  await mkdir(home('no-such-dir'));
  const retried = await ferry(['put', join(work, 'note.txt'), url('/no-such-dir/note.txt')], { XDG_STATE_HOME: own });
  t.is(retried.code, 0, retried.stderr);
  t.deepEqual(await readdir(join(own, 'ferry', 'journal')), []);
});

import { mkdir, readdir } from 'node:fs/promises';
import { listUnfinished } from '../src/transfer/journal.js';
import { journalDir } from '../src/util/paths.js';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { startCutProxy } from './helpers/cut-proxy.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { startThrottleProxy } from './helpers/throttle-proxy.js';
import { builtCliExists, startTmux, tuiScratch, type TmuxSession } from './helpers/tmux.js';
import { lineWith, mkdirThenDelete, quit, toRightPane, waitForPaneEntry } from './helpers/tui-screen.js';
import { hashTree, makeTree, sha256File } from './helpers/tree.js';

/*
 * The built `ferry` in a real terminal (tmux, 160 × 45) against a real server on loopback: log
 * in through the dialog, browse, mark, copy with F5 both ways, F7 / F8, and a copy that survives
 * its connection being cut. Keys go in with send-keys, the screen comes back with capture-pane;
 * every wait is for something to appear on the screen or on disk. Each test has its own server,
 * temp HOME and tmux server; they run one after the other (each is a whole program).
 */

const ALICE = { name: 'alice', password: 'alice-password-1' };
const KiB = 1024;
const MiB = 1024 * KiB;

interface World {
  dir: string;
  /** The local side's starting directory (the TUI's cwd). */
  work: string;
  server: TestServer;
  /** alice's home on the server's disk. */
  home: string;
  tui: TmuxSession;
}

if (!builtCliExists()) {
  test('e2e TUI needs the build', (t) => t.fail('dist/src/cli/main.js is missing: run `npx tsc -p .` (npm test builds first)'));
}

/** Starts a server, then `ferry connect alice@127.0.0.1:<port>` (through `port` when given) and logs in. */
async function start(t: ExecutionContext, options: { viaPort?: (server: TestServer) => Promise<number> } = {}): Promise<World & { env: Record<string, string> }> {
  const { dir, work, env } = await tuiScratch(t, 'ferry-e2e-');
  const server = await startTestServer({ users: [ALICE] });
  t.teardown(() => server.close());
  const port = options.viaPort ? await options.viaPort(server) : server.port;
  const tui = await login(t, { dir, work, env }, port);
  return { dir, work, env, server, home: join(server.root, 'homes', ALICE.name), tui };
}

/** `ferry connect alice@127.0.0.1:<port>` in a new terminal, logged in through the dialog. */
async function login(t: ExecutionContext, where: { dir: string; work: string; env: Record<string, string> }, port: number): Promise<TmuxSession> {
  const tui = await startTmux({ args: ['connect', `${ALICE.name}@127.0.0.1:${port}`], dir: where.dir, cwd: where.work, env: where.env });
  t.teardown(() => tui.kill());
  await tui.waitFor(/Password +\[/);
  await tui.type(ALICE.password);
  // Enter only once the password is in the field: keys read together arrive as one paste.
  await tui.waitFor(`Password  [${'•'.repeat(ALICE.password.length)}`);
  await tui.press('Enter');
  await tui.waitFor(`alice@127.0.0.1:${port}:/`);
  await tui.waitForGone('Connect to a ferry server');
  return tui;
}

test.serial('log in, walk into a directory, mark two files, F5: the queue reaches 100 % and the server has them, byte for byte', async (t) => {
  const world = await start(t);
  const { tui, work, home } = world;
  await makeTree(join(work, 'src'), { 'alpha.bin': 3 * MiB + 17, 'beta.bin': 2 * MiB, 'gamma.txt': 1000 });
  await tui.press('C-r');
  await waitForPaneEntry(tui, 'left', '/src');

  // The cursor starts on `..`; `src` is the next row.
  await tui.press('Down', 'Enter');
  await tui.waitFor(`${work}/src`);
  await waitForPaneEntry(tui, 'left', 'alpha.bin');
  await tui.press('Down', 'IC', 'IC');
  await tui.waitFor(/2 marked, 5\.0 MiB/);

  await tui.press('F5');
  const done = await tui.waitFor(/Transfers · all done/, 60_000);
  t.regex(lineWith(done, 'Total'), /2\/2 files +100%/);
  // Queue rows: an upload arrow, the name, a full bar.
  t.regex(lineWith(done, '↑ alpha.bin'), /100%.*3\.0 MiB \/ 3\.0 MiB.*done/);
  t.regex(lineWith(done, '↑ beta.bin'), /100%.*2\.0 MiB \/ 2\.0 MiB.*done/);
  await waitForPaneEntry(tui, 'right', 'alpha.bin');
  await waitForPaneEntry(tui, 'right', 'beta.bin');

  t.is(await sha256File(join(home, 'alpha.bin')), await sha256File(join(work, 'src', 'alpha.bin')));
  t.is(await sha256File(join(home, 'beta.bin')), await sha256File(join(work, 'src', 'beta.bin')));
  t.false((await readdir(home)).includes('gamma.txt'), 'the unmarked file stayed behind');
  await quit(tui);
});

test.serial('a directory copied from the server to the local pane arrives whole', async (t) => {
  const world = await start(t);
  const { tui, work, home } = world;
  await makeTree(join(home, 'photos'), { 'a.jpg': 700 * KiB, 'b.jpg': 1 * MiB + 3, '2024/c.jpg': 300 * KiB, '2024/deep/d.raw': 2 * MiB, 'empty/': null });
  await toRightPane(tui);
  await tui.press('C-r');
  // The server's root has no `..`: `photos` is the first row.
  await waitForPaneEntry(tui, 'right', '/photos');
  await tui.press('F5');
  const done = await tui.waitFor(/Transfers · all done/, 60_000);
  t.regex(lineWith(done, 'Total'), /4\/4 files +100%/);
  t.regex(lineWith(done, '↓ d.raw'), /100%.*done/, 'a download, finished');
  await waitForPaneEntry(tui, 'left', '/photos');

  const copied = await hashTree(join(work, 'photos'));
  const original = await hashTree(join(home, 'photos'));
  t.deepEqual(copied.files, original.files);
  t.deepEqual(copied.dirs, original.dirs);
  t.is(copied.files.size, 4);
  await quit(tui);
});

test.serial('F7 makes a directory on the server, F8 deletes it after asking', async (t) => {
  const world = await start(t);
  const { tui, home } = world;
  await toRightPane(tui);
  await mkdirThenDelete(t, tui, 'made-by-f7', home);
  await quit(tui);
});

test.serial('the connection is cut during a copy: the TUI reconnects and the copy finishes by itself, intact', async (t) => {
  let cut: Awaited<ReturnType<typeof startCutProxy>> | undefined;
  // The TUI talks to a cutting proxy in front of a slow link (~1 MiB/s each way), so the copy is
  // surely still running when the cut comes.
  const world = await start(t, {
    viaPort: async (server) => {
      const slow = await startThrottleProxy(server.port, 1 * MiB, { both: true });
      t.teardown(() => slow.close());
      cut = await startCutProxy(slow.port);
      t.teardown(() => cut!.close());
      return cut.port;
    },
  });
  const { tui, work, home } = world;
  await makeTree(work, { 'big.bin': 6 * MiB });
  await tui.press('C-r');
  await waitForPaneEntry(tui, 'left', 'big.bin');
  await tui.press('Down', 'F5');
  // Cut once a part of the file is across.
  await tui.waitFor(/big\.bin .*\b([1-9]\d?)%/, 30_000);
  const accepted = cut!.accepted;
  // The server stays unreachable until the screen says so, then comes back.
  cut!.setRefusing(true);
  t.true(cut!.cutAll() >= 1, 'a live connection was cut');
  const down = await tui.waitFor(/big\.bin .*reconnecting…/, 30_000);
  t.regex(lineWith(down, '┌─ plain alice@') || lineWith(down, '╔═ plain alice@'), /\[reconnecting…\]/, 'the remote pane says it too');
  cut!.setRefusing(false);

  const done = await tui.waitFor(/Transfers · all done/, 90_000);
  t.regex(lineWith(done, 'Total'), /1\/1 files +100%/);
  t.true(cut!.accepted > accepted, 'the session came back through the proxy');
  t.is(await sha256File(join(home, 'big.bin')), await sha256File(join(work, 'big.bin')));
  await quit(tui);
});

test.serial('killed during a copy, ferry offers to resume it at the next start, and the copy continues where it stopped', async (t) => {
  let slow: Awaited<ReturnType<typeof startThrottleProxy>> | undefined;
  const world = await start(t, {
    viaPort: async (server) => {
      slow = await startThrottleProxy(server.port, 1 * MiB, { both: true });
      t.teardown(() => slow!.close());
      return slow.port;
    },
  });
  const { tui, work, home, env, dir } = world;
  await makeTree(work, { 'movie.mkv': 6 * MiB });
  await tui.press('C-r');
  await waitForPaneEntry(tui, 'left', 'movie.mkv');
  await tui.press('Down', 'F5');
  await tui.waitFor(/movie\.mkv .*\b([2-9]\d)%/, 30_000);
  // The queue's journal is on disk (written a moment after the copy started).
  const journals = journalDir(env);
  const deadline = Date.now() + 10_000;
  while ((await listUnfinished(journals)).length === 0) {
    if (Date.now() > deadline) throw new Error(`no journal in ${journals}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  await tui.signal('SIGKILL');
  await tui.waitFor('[ferry exited 137]');
  await tui.kill();

  // The next start, to the same address (the journal names the server by it), at full speed.
  slow!.setRate(null);
  const again = await login(t, { dir, work, env }, slow!.port);
  const offer = await again.waitFor('Unfinished transfers');
  t.regex(offer, /A copy did not finish last time/);
  t.regex(offer, new RegExp(`copy ${work.replaceAll('/', '\\/')}\\/movie\\.mkv → alice@127\\.0\\.0\\.1:\\d+:\\/`));
  t.regex(offer, /0 done · 1 pending/);
  await again.press('Enter');
  const done = await again.waitFor(/Transfers · all done/, 60_000);
  t.regex(lineWith(done, 'Total'), /1\/1 files +100%/);
  // The selected job's detail line says where the upload picked up: not from zero.
  t.regex(done, /movie\.mkv · resumed from \d/);
  t.is(await sha256File(join(home, 'movie.mkv')), await sha256File(join(work, 'movie.mkv')));
  t.deepEqual(await listUnfinished(journals), [], 'the finished copy leaves no journal behind');
  await quit(again);
});

test.serial('file exists: the dialog offers resume for a shorter target and overwrite for another; the queue panel shows where the resume started', async (t) => {
  const world = await start(t);
  const { tui, work, home } = world;
  await makeTree(work, { 'one.bin': 2 * MiB, 'two.bin': 1 * MiB });
  // On the server: the first half MiB of one.bin (an interrupted copy), and a longer, unrelated two.bin.
  await mkdir(home, { recursive: true });
  const { readFile, writeFile } = await import('node:fs/promises');
  await writeFile(join(home, 'one.bin'), (await readFile(join(work, 'one.bin'))).subarray(0, 512 * KiB));
  await writeFile(join(home, 'two.bin'), Buffer.alloc(1 * MiB + 1, 'x'));
  await tui.press('C-r');
  await waitForPaneEntry(tui, 'left', 'two.bin');
  await tui.press('Down', 'IC', 'IC');
  await tui.waitFor(/2 marked, 3\.0 MiB/);
  await tui.press('F5');

  // The queue asks one file at a time, in whichever order the two copies reach their targets.
  const answered: string[] = [];
  for (let i = 0; i < 2; i++) {
    // The dialog's line with the target's path (the queue's detail line names targets too).
    const asked = await tui.waitFor(/║ alice@127\.0\.0\.1:\d+:\/(one|two)\.bin/);
    t.regex(asked, /File exists/);
    const name = /║ alice@127\.0\.0\.1:\d+:\/(one|two)\.bin/.exec(asked)![1]!;
    if (name === 'one') {
      t.regex(asked, /Resume \(r\)/, 'a shorter target can be resumed');
      t.regex(asked, /The source is (newer|older|same time) and larger/);
      await tui.press('r');
    } else {
      t.notRegex(asked, /Resume \(r\)/, 'a longer, different target cannot');
      await tui.press('o');
    }
    answered.push(name);
    await tui.waitForGone(new RegExp(`║ alice@127\\.0\\.0\\.1:\\d+:\\/${name}\\.bin`));
  }
  t.deepEqual(answered.sort(), ['one', 'two']);
  await tui.waitFor(/Transfers · all done/, 60_000);
  t.is(await sha256File(join(home, 'one.bin')), await sha256File(join(work, 'one.bin')));
  t.is(await sha256File(join(home, 'two.bin')), await sha256File(join(work, 'two.bin')));

  // F9 hides the panel, F9 again brings it back with the input; select one.bin for its details.
  await tui.press('F9');
  await tui.waitForGone('Transfers ·');
  await tui.press('F9');
  await tui.waitFor(/Transfers · all done .*r retry/);
  // Two rows, in whichever order the copies started: one press towards one.bin selects it.
  const rows = await tui.capture();
  if (!/› ↑ one\.bin/.test(rows)) await tui.press(rows.search(/↑ one\.bin/) < rows.search(/↑ two\.bin/) ? 'Up' : 'Down');
  const detail = await tui.waitFor(/› ↑ one\.bin/);
  t.regex(detail, /one\.bin → alice@127\.0\.0\.1:\d+:\/one\.bin · resumed from 512\.0 KiB/);
  await tui.press('Escape');
  await quit(tui);
});

import { spawnSync } from 'node:child_process';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { Session } from '../src/client/session.js';
import { connectWithCredentials } from '../src/credentials/connect.js';
import { HostBook } from '../src/credentials/host-book.js';
import { LocalFileSystem } from '../src/fs/local-file-system.js';
import { RemoteFileSystem } from '../src/fs/remote-file-system.js';
import { TransferJournal, describeRequest } from '../src/transfer/journal.js';
import type { ServerOptions } from '../server/options.js';
import type { SqliteUserStore } from '../server/users/sqlite-user-store.js';
import type { LoginService } from '../ui/commands/login.js';
import { randomFile, sha256File } from './helpers/files.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { KEY, startTui, type TuiHarness } from './helpers/tui.js';

/*
 * Logging in from the TUI (Ctrl-N, the login dialog) against a real server, and the offer to
 * resume a copy an earlier run left unfinished.
 */

const ALICE = { name: 'alice', password: 'alice-password-1' };
let server: TestServer;
let work: string;
let counter = 0;

test.before(async () => {
  server = await startTestServer({ users: [ALICE] });
  work = await mkdtemp(join(tmpdir(), 'ferry-ui-connect-'));
  // The command's script is run by the user's own uid: it must be reachable by others.
  await chmod(work, 0o755);
});

test.after.always(async () => {
  await server?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

/** The real login path (connectWithCredentials) with the host list in a temp dir; passwords are typed, never saved. */
function loginService(dir: string): LoginService {
  const hosts = new HostBook({ dir });
  return {
    async load() {
      const data = await hosts.load();
      return { recent: data.recent, bookmarks: data.bookmarks, keychain: { available: false, reason: 'this test types its passwords' } };
    },
    connect: (request) => connectWithCredentials({ ...request, hosts }),
  };
}

async function openTui(t: ExecutionContext, journalDir?: string): Promise<{ tui: TuiHarness; config: string; local: string }> {
  const n = ++counter;
  const local = join(work, `local-${n}`);
  const config = join(work, `config-${n}`);
  await mkdir(local);
  const tui = await startTui({
    left: new LocalFileSystem({ home: local }),
    right: new LocalFileSystem({ home: local }),
    login: loginService(config),
    ...(journalDir ? { journalDir } : {}),
  });
  t.teardown(() => tui.close());
  await tui.ready();
  return { tui, config, local };
}

async function logIn(tui: TuiHarness, password: string): Promise<void> {
  await tui.press('\u000E');
  await tui.see('Connect to a ferry server');
  await tui.type('127.0.0.1');
  await tui.press(KEY.tab, '\u0015');
  await tui.type(String(server.port));
  await tui.press(KEY.tab);
  await tui.type(ALICE.name);
  await tui.press(KEY.tab);
  await tui.type(password);
  await tui.press(KEY.enter);
}

test('Ctrl-N logs in through the dialog; the right pane shows the home on the server, and the host goes on the recent list', async (t) => {
  await writeFile(join(server.root, 'homes', ALICE.name, 'hello-from-server.txt'), 'hi').catch(async () => {
    await mkdir(join(server.root, 'homes', ALICE.name), { recursive: true });
    await writeFile(join(server.root, 'homes', ALICE.name, 'hello-from-server.txt'), 'hi');
  });
  const { tui, config } = await openTui(t);
  t.true(tui.frame().includes('Ctrl-N connect'), 'the hint says how to connect');
  await logIn(tui, ALICE.password);
  await tui.see(`alice@127.0.0.1:${server.port}:/`);
  await tui.see('hello-from-server.txt');
  t.is(tui.ctx.store.getState().sides.right.fs.kind, 'remote');
  t.is(tui.ctx.sessions.size, 1);
  const hosts = JSON.parse(await readFile(join(config, 'hosts.json'), 'utf8')) as { recent: { host: string; port: number; user: string }[] };
  t.like(hosts.recent[0], { host: '127.0.0.1', port: server.port, user: ALICE.name });
  t.false(JSON.stringify(hosts).includes(ALICE.password), 'never the password');
});

test('a wrong password is a readable line in the dialog; the TUI stays', async (t) => {
  const { tui } = await openTui(t);
  await logIn(tui, 'not-the-password');
  await tui.see(/\(EAUTH\)/);
  t.is(tui.ctx.store.getState().overlay?.kind, 'login');
  t.is(tui.ctx.store.getState().sides.right.fs.kind, 'local');
  await tui.press(KEY.escape);
  await tui.until(({ store }) => store.getState().overlay === null, 'Esc to close the dialog');
  t.false(tui.exited());
});

test('after logging in, a copy an earlier run left unfinished is offered and resumed: finished files are not copied again', async (t) => {
  const journalDir = join(work, 'journals');
  await mkdir(journalDir, { recursive: true });
  const source = join(work, 'unfinished-src');
  await mkdir(source);
  const hashA = await randomFile(join(source, 'a.bin'), 40_000);
  const hashB = await randomFile(join(source, 'b.bin'), 90_000);

  // An earlier run: copied a.bin, then ended before b.bin (its journal says so), and its process is gone.
  const session = await Session.connect({ url: server.url, user: ALICE.name, password: ALICE.password });
  const remote = new RemoteFileSystem(session);
  await remote.mkdir('/resumed');
  const request = { source: { fs: new LocalFileSystem(), path: source }, target: { fs: remote, path: '/resumed' } };
  const journal = await TransferJournal.open({ key: 'aaaabbbbccccdddd', dir: journalDir });
  const described = describeRequest(request, 'resume');
  journal.addRequest({ ...described, destination: '/resumed/unfinished-src' });
  const aStat = await new LocalFileSystem().stat(join(source, 'a.bin'));
  const bStat = await new LocalFileSystem().stat(join(source, 'b.bin'));
  journal.setJob({ request: described.key, path: 'a.bin', size: aStat!.size, mtime: aStat!.mtime, state: 'done' });
  journal.setJob({ request: described.key, path: 'b.bin', size: bStat!.size, mtime: bStat!.mtime, state: 'pending' });
  await journal.flush();
  await session.close();
  const file = join(journalDir, 'aaaabbbbccccdddd.json');
  const dead = spawnSync(process.execPath, ['-e', '']).pid;
  const data = JSON.parse(await readFile(file, 'utf8')) as { pid: number; jobs: unknown[] };
  await writeFile(file, JSON.stringify({ ...data, pid: dead }));
  // a.bin is on the server already; the queue must not copy it again (its size and mtime say done).
  const home = join(server.root, 'homes', ALICE.name);
  await mkdir(join(home, 'resumed', 'unfinished-src'), { recursive: true });
  await writeFile(join(home, 'resumed', 'unfinished-src', 'a.bin'), await readFile(join(source, 'a.bin')));

  const { tui } = await openTui(t, journalDir);
  await logIn(tui, ALICE.password);
  await tui.see('Unfinished transfers');
  await tui.see('[ Resume ]');
  await tui.press(KEY.enter);
  await tui.until(({ queue }) => queue.snapshot().totals.files === 2, 'both files to be planned');
  await tui.ctx.queue.whenIdle();
  const totals = tui.ctx.queue.snapshot().totals;
  t.is(totals.fromJournal, 1, 'a.bin was done according to the journal');
  t.is(totals.transferredFiles, 1, 'only b.bin was sent');
  t.is(await sha256File(join(home, 'resumed', 'unfinished-src', 'a.bin')), hashA);
  t.is(await sha256File(join(home, 'resumed', 'unfinished-src', 'b.bin')), hashB);
  t.false((await readdir(journalDir)).includes('aaaabbbbccccdddd.json'), 'the old journal is gone once its copy is taken over');
});

test('":" in the panes opens the command line; the command runs on the server in the remote directory and its output docks below the panes', async (t) => {
  const script = join(work, 'where-am-i');
  await writeFile(script, '#!/bin/sh\necho "in: $(pwd)"\n');
  await chmod(script, 0o755);
  const exec = await startTestServer({ users: [ALICE], options: { exec: { allow: [script] } } as Partial<ServerOptions> });
  t.teardown(() => exec.close());
  (exec.server.users as SqliteUserStore).setExec(ALICE.name, true);
  await mkdir(join(exec.root, 'homes', ALICE.name, 'place'), { recursive: true });
  const session = await Session.connect({ url: exec.url, user: ALICE.name, password: ALICE.password, reconnect: false });
  t.teardown(() => session.close());
  const tui = await startTui({ left: new LocalFileSystem({ home: work }), right: new RemoteFileSystem(session), rightPath: '/place' });
  t.teardown(() => tui.close());
  await tui.ready();
  const rowsBefore = tui.ctx.store.getState().sides.left.pane.height;
  await tui.press(':');
  await tui.see(/alice@127\.0\.0\.1:\d+:\/place\$ /);
  await tui.type(script);
  await tui.press(KEY.enter);
  await tui.see(/in: .*\/homes\/alice\/place/, 10_000);
  await tui.see('[exit 0]');
  t.true(tui.ctx.store.getState().sides.left.pane.height < rowsBefore, 'the panes made room for the output');
  t.is(tui.frame().split('\n').length, 30, 'still exactly the terminal height');
  await tui.press(KEY.escape);
  await tui.until(({ store }) => store.getState().sides.left.pane.height === rowsBefore, 'the panes to get their rows back');
  await tui.press(KEY.f10);
  await tui.until(() => tui.exited(), 'F10 to reach the panes again');
});

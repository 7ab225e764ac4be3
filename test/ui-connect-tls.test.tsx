import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { connectWithCredentials } from '../src/credentials/connect.js';
import { HostBook } from '../src/credentials/host-book.js';
import { KnownHosts } from '../src/credentials/known-hosts.js';
import { LocalFileSystem } from '../src/fs/local-file-system.js';
import type { LoginService } from '../ui/commands/login.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { KEY, startTui, type TuiHarness } from './helpers/tui.js';

/*
 * Logging in from the TUI over TLS against a real TLS server with its own self-signed
 * certificate: the trust dialog comes up over the busy login dialog before the password is
 * sent; each answer does what it says; a changed identity raises the alarm; a remote pane says
 * TLS or plain.
 */

const ALICE = { name: 'alice', password: 'alice-password-1' };
const CTRL_N = '\u000E';
let tlsServer: TestServer;
let plainServer: TestServer;
let work: string;
let counter = 0;

test.before(async () => {
  tlsServer = await startTestServer({ users: [ALICE], options: { tls: 'on' } });
  plainServer = await startTestServer({ users: [ALICE] });
  work = await mkdtemp(join(tmpdir(), 'ferry-ui-connect-tls-'));
});

test.after.always(async () => {
  await tlsServer?.close();
  await plainServer?.close();
  if (work) await rm(work, { recursive: true, force: true });
});

interface World {
  tui: TuiHarness;
  knownHosts: string;
}

/** The real login path with the host list and known_hosts in a temp dir; the password is typed. */
async function openTui(t: ExecutionContext): Promise<World> {
  const dir = join(work, `run-${++counter}`);
  await mkdir(join(dir, 'local'), { recursive: true });
  const knownHosts = join(dir, 'known_hosts');
  const hosts = new HostBook({ dir });
  const login: LoginService = {
    async load() {
      const data = await hosts.load();
      return { recent: data.recent, bookmarks: data.bookmarks, keychain: { available: false, reason: 'this test types its passwords' } };
    },
    connect: (request) => connectWithCredentials({ ...request, hosts, trust: { ...request.trust, knownHosts: new KnownHosts(knownHosts) } }),
  };
  const local = new LocalFileSystem({ home: join(dir, 'local') });
  const tui = await startTui({ left: local, right: local, login, columns: 120, rows: 40 });
  t.teardown(() => tui.close());
  await tui.ready();
  return { tui, knownHosts };
}

/** Ctrl-N, the fields, and the TLS box ticked when `tls` (127.0.0.1 is plain by default), then Enter. */
async function logIn(tui: TuiHarness, port: number, tls: boolean): Promise<void> {
  await tui.press(CTRL_N);
  await tui.see('Connect to a ferry server');
  await tui.type('127.0.0.1');
  await tui.press(KEY.tab, KEY.ctrlU);
  await tui.type(String(port));
  await tui.press(KEY.tab);
  await tui.type(ALICE.name);
  await tui.press(KEY.tab);
  await tui.type(ALICE.password);
  await tui.press(KEY.tab);
  if (tls) {
    await tui.press(KEY.space);
    await tui.see('[x] Encrypted (TLS)');
  }
  await tui.press(KEY.enter);
}

const overlayKind = (tui: TuiHarness) => tui.ctx.store.getState().overlay?.kind;

test.serial('an unknown TLS server: the trust dialog over the busy login; "Trust once" logs in, pins nothing, and the pane says TLS', async (t) => {
  const { tui, knownHosts } = await openTui(t);
  await logIn(tui, tlsServer.port, true);
  await tui.see('Unknown server');
  await tui.see(tlsServer.server.tls!.fingerprint);
  t.true(tui.frame().includes(`The identity of 127.0.0.1:${tlsServer.port} is not known`));
  t.true(tui.frame().includes('self-signed'), 'why it is unknown');
  const overlay = tui.ctx.store.getState().overlay;
  t.is(overlay?.kind, 'trust');
  t.like(overlay?.kind === 'trust' ? overlay.under : undefined, { kind: 'login', busy: true }, 'the login waits underneath, busy');
  t.is(tui.ctx.sessions.size, 0, 'nothing logged in before the answer');
  await tui.press('o');
  await tui.see(`TLS alice@127.0.0.1:${tlsServer.port}:/`);
  t.is(overlayKind(tui), undefined);
  t.is(tui.ctx.sessions.size, 1);
  await t.throwsAsync(readFile(knownHosts, 'utf8'), { code: 'ENOENT' }, 'trusted once: not remembered');
});

test.serial('Esc in the trust dialog refuses: back in the login dialog with the refusal as its error line', async (t) => {
  const { tui } = await openTui(t);
  await logIn(tui, tlsServer.port, true);
  await tui.see('Unknown server');
  await tui.press(KEY.escape);
  await tui.see('(EIDENTITY)');
  const overlay = tui.ctx.store.getState().overlay;
  t.is(overlay?.kind, 'login');
  t.regex(overlay?.kind === 'login' ? (overlay.error ?? '') : '', /was not accepted; nothing was sent to it .*\(EIDENTITY\)$/);
  t.is(tui.ctx.sessions.size, 0);
});

test.serial('"Trust and remember" pins the server; the next login asks nothing; a changed certificate raises the alarm, Enter stays, Esc goes back', async (t) => {
  const { tui, knownHosts } = await openTui(t);
  const fingerprint = tlsServer.server.tls!.fingerprint;
  await logIn(tui, tlsServer.port, true);
  await tui.see('Unknown server');
  await tui.press('a');
  await tui.see(`TLS alice@127.0.0.1:${tlsServer.port}:/`);
  const pinned = async () => (await readFile(knownHosts, 'utf8').catch(() => '')).includes(`127.0.0.1:${tlsServer.port} ${fingerprint}`);
  const deadline = Date.now() + 5000;
  while (!(await pinned()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
  t.true(await pinned(), 'known_hosts has the line');

  // Again, in a new TUI with the same known_hosts: no question.
  const again = await openTui(t);
  await writeFile(again.knownHosts, await readFile(knownHosts, 'utf8'));
  await logIn(again.tui, tlsServer.port, true);
  await again.tui.see(`TLS alice@127.0.0.1:${tlsServer.port}:/`);
  t.false(again.tui.frame().includes('Unknown server'));

  // A pin that no longer matches: the alarm, with both fingerprints and the line to remove.
  const other = 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA';
  const changed = await openTui(t);
  await writeFile(changed.knownHosts, `# a comment\n127.0.0.1:${tlsServer.port} ${other}\n`);
  await logIn(changed.tui, tlsServer.port, true);
  await changed.tui.see('SERVER IDENTITY HAS CHANGED');
  const frame = changed.tui.frame();
  t.true(frame.includes(other), 'the known fingerprint');
  t.true(frame.includes(fingerprint), 'the presented one');
  t.true(frame.includes('remove line 2 of'));
  t.true(frame.includes(`${changed.knownHosts} and connect again`));
  t.is(changed.tui.ctx.sessions.size, 0);
  await changed.tui.press(KEY.enter, KEY.enter);
  await new Promise((resolve) => setTimeout(resolve, 100));
  t.is(overlayKind(changed.tui), 'identity-changed', 'Enter does not go on');
  await changed.tui.press(KEY.escape);
  await changed.tui.see('(EIDENTITY)');
  const back = changed.tui.ctx.store.getState().overlay;
  t.is(back?.kind, 'login');
  t.regex(back?.kind === 'login' ? (back.error ?? '') : '', /HAS CHANGED.*\(EIDENTITY\)$/);
  t.false(changed.tui.frame().includes('SERVER IDENTITY HAS CHANGED'));
});

test.serial('a plain login says so in the pane title', async (t) => {
  const { tui } = await openTui(t);
  await logIn(tui, plainServer.port, false);
  await tui.see(`plain alice@127.0.0.1:${plainServer.port}:/`);
  t.false(tui.frame().includes('Unknown server'));
});

import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { Session } from '../src/client/session.js';
import { ferryArgv, runCli, type CliResult } from './helpers/cli.js';
import { answerOnTerminal } from './helpers/pty.js';
import { startTestServer, type TestServer } from './helpers/server.js';

/*
 * The client's check of a TLS server's identity, with real TLS and the real `ferry` command:
 * an unknown self-signed server is refused with its fingerprint, a fingerprint given is checked
 * and pinned in known_hosts, a pin that no longer matches is refused loudly, and a certificate
 * from a CA this machine trusts needs no pin (a throwaway CA made here with openssl).
 */

const ALICE = { name: 'alice', password: 'alice-secret-1' };
const EXIT_NETWORK = 6;

async function tempDir(t: ExecutionContext, prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function tlsServer(t: ExecutionContext, options: Record<string, unknown> = { tls: 'on' }): Promise<TestServer> {
  const ts = await startTestServer({ users: [ALICE], options });
  t.teardown(() => ts.close());
  return ts;
}

/** `ferry ls` of the server's home over ferrys://, with its own config dir (known_hosts). */
function ls(ts: TestServer, config: string, env: Record<string, string> = {}): Promise<CliResult> {
  return runCli(['ls', `ferrys://alice@127.0.0.1:${ts.port}/`], { env: { XDG_CONFIG_HOME: config, FERRY_PASSWORD: ALICE.password, ...env } });
}

test('an unknown self-signed server is refused with its fingerprint; a given one is checked, pinned, and enough next time', async (t) => {
  const ts = await tlsServer(t);
  const config = await tempDir(t, 'ferry-tls-client-');
  const fingerprint = ts.server.tls!.fingerprint;

  const unknown = await ls(ts, config);
  t.is(unknown.code, EXIT_NETWORK, unknown.stderr);
  t.regex(unknown.stderr, /is not known \(a self-signed certificate\)/);
  t.true(unknown.stderr.includes(fingerprint), 'the fingerprint is in the message');
  t.regex(unknown.stderr, /--fingerprint SHA256:/);

  const wrong = await ls(ts, config, { FERRY_FINGERPRINT: 'SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA' });
  t.is(wrong.code, EXIT_NETWORK);
  t.regex(wrong.stderr, /not the fingerprint given/);

  const pinned = await ls(ts, config, { FERRY_FINGERPRINT: fingerprint });
  t.is(pinned.code, 0, pinned.stderr);
  const knownHosts = await readFile(join(config, 'ferry', 'known_hosts'), 'utf8');
  t.true(knownHosts.startsWith(`127.0.0.1:${ts.port} ${fingerprint} `), knownHosts);

  const again = await ls(ts, config);
  t.is(again.code, 0, again.stderr);

  // The flag does what the variable does, for get/put too.
  const other = await tempDir(t, 'ferry-tls-flag-');
  const local = join(other, 'got');
  const put = await runCli(['put', '--fingerprint', fingerprint, join(config, 'ferry', 'known_hosts'), `ferrys://alice@127.0.0.1:${ts.port}/kh.txt`], {
    env: { XDG_CONFIG_HOME: other, FERRY_PASSWORD: ALICE.password },
  });
  t.is(put.code, 0, put.stderr);
  const get = await runCli(['get', `ferrys://alice@127.0.0.1:${ts.port}/kh.txt`, local], { env: { XDG_CONFIG_HOME: other, FERRY_PASSWORD: ALICE.password } });
  t.is(get.code, 0, get.stderr);
  t.is(await readFile(local, 'utf8'), knownHosts, 'the file went up and came back over wss://');
});

test('a pin that no longer matches is refused loudly, with both fingerprints and the line to remove', async (t) => {
  const ts = await tlsServer(t);
  const config = await tempDir(t, 'ferry-tls-changed-');
  const old = 'SHA256:oldoldoldoldoldoldoldoldoldoldoldoldoldoldo';
  await writeFile(join(await mkdirp(join(config, 'ferry')), 'known_hosts'), `# pinned by hand\n127.0.0.1:${ts.port} ${old}\n`);
  const changed = await ls(ts, config);
  t.is(changed.code, EXIT_NETWORK);
  t.regex(changed.stderr, /HAS CHANGED/);
  t.true(changed.stderr.includes(old) && changed.stderr.includes(ts.server.tls!.fingerprint));
  t.regex(changed.stderr, /remove line 2 of .*known_hosts/);
});

test('a certificate from a trusted CA for the host needs no pin; one for another host name is refused', async (t) => {
  const dir = await tempDir(t, 'ferry-tls-ca-');
  const ca = { cert: join(dir, 'ca.crt'), key: join(dir, 'ca.key') };
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', ca.key, '-out', ca.cert, '-days', '2', '-subj', '/CN=ferry test CA'], { stdio: 'ignore' });
  const issue = (name: string, altName: string) => {
    const key = join(dir, `${name}.key`);
    const csr = join(dir, `${name}.csr`);
    const cert = join(dir, `${name}.crt`);
    const ext = join(dir, `${name}.ext`);
    execFileSync('openssl', ['req', '-new', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', key, '-out', csr, '-subj', `/CN=${name}`], { stdio: 'ignore' });
    execFileSync('sh', ['-c', `printf 'subjectAltName=${altName}\\n' > '${ext}'`]);
    execFileSync('openssl', ['x509', '-req', '-in', csr, '-CA', ca.cert, '-CAkey', ca.key, '-CAcreateserial', '-out', cert, '-days', '2', '-extfile', ext], { stdio: 'ignore' });
    return { tlsCert: cert, tlsKey: key };
  };
  const config = await tempDir(t, 'ferry-tls-ca-config-');
  const trusted = { NODE_EXTRA_CA_CERTS: ca.cert };

  const right = await tlsServer(t, issue('right', 'IP:127.0.0.1'));
  const ok = await ls(right, config, trusted);
  t.is(ok.code, 0, ok.stderr);
  await t.throwsAsync(readFile(join(config, 'ferry', 'known_hosts')), { code: 'ENOENT' }, 'a CA-verified server is not pinned');

  const other = await tlsServer(t, issue('other', 'DNS:files.example'));
  const refused = await ls(other, config, trusted);
  t.is(refused.code, EXIT_NETWORK);
  t.regex(refused.stderr, /its certificate is for another host name: files\.example/);
});

test('a session keeps the identity it was given: a server back with another certificate is refused, not retried', async (t) => {
  const root = await tempDir(t, 'ferry-tls-session-');
  const first = await startTestServer({ users: [ALICE], options: { root, tls: 'on' } });
  const port = first.port;
  const session = await Session.connect({
    url: first.url,
    user: ALICE.name,
    password: ALICE.password,
    identity: { expected: first.server.tls!.fingerprint },
    reconnect: { initialDelayMs: 20, maxDelayMs: 50 },
  });
  t.teardown(() => session.close());
  t.true((await session.request('ping', {})) !== undefined);
  await first.close();
  // The same address, another certificate (a new data root makes a new self-signed identity).
  const root2 = await tempDir(t, 'ferry-tls-session-2-');
  const second = await startTestServer({ users: [ALICE], options: { root: root2, tls: 'on', port } });
  t.teardown(() => second.close());
  const closed = await new Promise<unknown>((resolve) => session.once('closed', resolve));
  t.is((closed as { code?: string } | undefined)?.code, 'EIDENTITY');
});

async function mkdirp(dir: string): Promise<string> {
  const { mkdir } = await import('node:fs/promises');
  await mkdir(dir, { recursive: true });
  return dir;
}

/** `ferry ls` on a real terminal, answering the trust question with `answer`. */
function lsOnTerminal(ts: TestServer, config: string, answer: string): Promise<{ code: number | null; out: string }> {
  const env = { XDG_CONFIG_HOME: config, FERRY_PASSWORD: ALICE.password, FERRY_FINGERPRINT: undefined };
  return answerOnTerminal([...ferryArgv(), 'ls', `ferrys://alice@127.0.0.1:${ts.port}/`], env, 'Trust it?', answer);
}

test('on a terminal, first contact shows the fingerprint and asks once; yes keeps it in known_hosts, no stops with EIDENTITY', async (t) => {
  const ts = await tlsServer(t);
  const fingerprint = ts.server.tls!.fingerprint;
  const refusing = await tempDir(t, 'ferry-tls-tty-no-');
  const no = await lsOnTerminal(ts, refusing, 'no');
  t.is(no.code, EXIT_NETWORK, no.out);
  t.true(no.out.includes(fingerprint), 'the fingerprint is shown before the question');
  t.regex(no.out, /was not accepted/);
  await t.throwsAsync(readFile(join(refusing, 'ferry', 'known_hosts')), { code: 'ENOENT' });

  const accepting = await tempDir(t, 'ferry-tls-tty-yes-');
  const yes = await lsOnTerminal(ts, accepting, 'yes');
  t.is(yes.code, 0, yes.out);
  t.true((await readFile(join(accepting, 'ferry', 'known_hosts'), 'utf8')).includes(`127.0.0.1:${ts.port} ${fingerprint}`));
  const later = await ls(ts, accepting);
  t.is(later.code, 0, 'no question the second time');
});

test('ferry connect takes user@host[:port] and every ferry scheme, and says whether the file manager dials TLS', async (t) => {
  const { parseConnectTarget } = await import('../src/cli/tui-command.js');
  const env = { FERRY_USER: 'dora' };
  // A bare target means what ferry:// means: TLS, except to loopback.
  t.deepEqual(parseConnectTarget('alice@files.example', env), { host: 'files.example', port: 7070, user: 'alice', tls: true });
  t.deepEqual(parseConnectTarget('alice@127.0.0.1:9000', env), { host: '127.0.0.1', port: 9000, user: 'alice', tls: false });
  t.deepEqual(parseConnectTarget('files.example:7443', env), { host: 'files.example', port: 7443, user: 'dora', tls: true });
  t.deepEqual(parseConnectTarget('ferry://alice@files.example:7070', env), { host: 'files.example', port: 7070, user: 'alice', tls: true });
  t.deepEqual(parseConnectTarget('ferry://alice@localhost:7070', env), { host: 'localhost', port: 7070, user: 'alice', tls: false });
  // The explicit schemes win over the host.
  t.deepEqual(parseConnectTarget('ferrys://alice@127.0.0.1:7070', env), { host: '127.0.0.1', port: 7070, user: 'alice', tls: true });
  t.deepEqual(parseConnectTarget('FERRY+WSS://alice@[::1]:7070', env), { host: '::1', port: 7070, user: 'alice', tls: true });
  t.deepEqual(parseConnectTarget('ferry+ws://alice@files.example:7070', env), { host: 'files.example', port: 7070, user: 'alice', tls: false });
  // A path, another scheme or a password in the URL is a usage error, not a guess.
  t.throws(() => parseConnectTarget('ferrys://alice@files.example:7070/photos', env), { message: /without a path/ });
  t.throws(() => parseConnectTarget('https://alice@files.example', env), { message: /not a ferry URL/ });
  t.throws(() => parseConnectTarget('ferrys://alice:pw@files.example', env), { message: /must not carry a password/ });
});

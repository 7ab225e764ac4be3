import { execFileSync } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import tls from 'node:tls';
import test, { type ExecutionContext } from 'ava';
import WebSocket from 'ws';
import { SUBPROTOCOL } from '../src/protocol/limits.js';
import { createServer } from '../server/index.js';
import { createLogger } from '../server/log.js';
import { certificateFingerprints, generatedTlsFiles } from '../server/tls/server-identity.js';
import { createSelfSigned } from '../server/tls/self-signed.js';
import { runCli } from './helpers/cli.js';
import { startTestServer, type TestServer } from './helpers/server.js';

/*
 * The server side of TLS, with real sockets: the self-signed identity it makes and keeps, an
 * administrator's certificate (made here by the openssl CLI, never committed), rotation without
 * dropping a connection, and what a TLS client sees.
 */

async function tempDir(t: ExecutionContext, prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A certificate for 127.0.0.1 from the openssl CLI, as an administrator would make one. */
function opensslCertificate(dir: string, name: string): { certFile: string; keyFile: string } {
  const certFile = join(dir, `${name}.crt`);
  const keyFile = join(dir, `${name}.key`);
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '2', '-subj', `/CN=${name}`, '-addext', 'subjectAltName=IP:127.0.0.1'], { stdio: 'ignore' });
  return { certFile, keyFile };
}

/** What a TLS client sees of the server: the certificate's fingerprint and the protocol. */
function peek(port: number, options: tls.ConnectionOptions = {}): Promise<{ fingerprint: string; protocol: string | null }> {
  return new Promise((resolve, reject) => {
    const socket = tls.connect({ host: '127.0.0.1', port, rejectUnauthorized: false, ...options }, () => {
      const cert = socket.getPeerCertificate(true);
      const digest = createHash('sha256').update(cert.raw).digest('base64').replace(/=+$/, '');
      resolve({ fingerprint: `SHA256:${digest}`, protocol: socket.getProtocol() });
      socket.end();
    });
    socket.on('error', reject);
  });
}

/** A WebSocket over TLS that trusts exactly `ca`, answering one ping. */
async function wssPing(ts: TestServer, ca: string): Promise<WebSocket> {
  const ws = new WebSocket(ts.url, SUBPROTOCOL, { ca });
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  await ping(ws);
  return ws;
}

let nextId = 1;
function ping(ws: WebSocket): Promise<void> {
  const id = nextId++;
  return new Promise((resolve, reject) => {
    const onMessage = (data: WebSocket.RawData) => {
      const reply = JSON.parse(data.toString()) as { id?: number; ok?: boolean };
      if (reply.id !== id) return;
      ws.off('message', onMessage);
      if (reply.ok) resolve();
      else reject(new Error(data.toString()));
    };
    ws.on('message', onMessage);
    ws.send(JSON.stringify({ id, op: 'ping' }));
  });
}

test('self-signed: made once under ROOT/tls (key 0600), presented over TLS 1.3, the same after a restart', async (t) => {
  const root = await tempDir(t, 'ferry-tls-root-');
  const first = await startTestServer({ options: { root, tls: 'on' } });
  const identity = first.server.tls!;
  t.is(identity.source, 'generated');
  t.true(first.url.startsWith('wss://'));
  const files = generatedTlsFiles(root);
  t.is((await stat(files.keyFile)).mode & 0o777, 0o600);
  t.is((await stat(join(root, 'tls'))).mode & 0o777, 0o700);
  const cert = await readFile(files.certFile, 'utf8');
  const x509 = new X509Certificate(cert);
  t.true(x509.checkIP('127.0.0.1') !== undefined, x509.subjectAltName);
  t.true(x509.checkIP('::1') !== undefined && x509.checkHost('localhost') !== undefined, x509.subjectAltName);
  t.true(x509.verify(x509.publicKey), 'signed by its own key');
  t.false(x509.ca, 'not a CA');
  t.true(new Date(x509.validTo).getTime() > Date.now() + 10 * 365 * 86_400_000, 'long-lived');
  t.is(certificateFingerprints(cert).fingerprint, identity.fingerprint);
  const seen = await peek(first.port);
  t.is(seen.fingerprint, identity.fingerprint, 'the client sees the fingerprint the server states');
  t.is(seen.protocol, 'TLSv1.3');
  const ws = await wssPing(first, cert);
  ws.close();
  await first.close();

  const again = await startTestServer({ options: { root, tls: 'on' } });
  t.teardown(() => again.close());
  t.is(again.server.tls!.fingerprint, identity.fingerprint, 'pinned clients stay right across restarts');
});

test('an administrator\'s certificate is presented as it is, and TLS 1.1 is refused', async (t) => {
  const dir = await tempDir(t, 'ferry-tls-files-');
  const files = opensslCertificate(dir, 'admin');
  const ts = await startTestServer({ options: { tlsCert: files.certFile, tlsKey: files.keyFile } });
  t.teardown(() => ts.close());
  const cert = await readFile(files.certFile, 'utf8');
  t.is(ts.server.tls!.source, 'files');
  t.is((await peek(ts.port)).fingerprint, certificateFingerprints(cert).fingerprint);
  (await wssPing(ts, cert)).close();
  await t.throwsAsync(peek(ts.port, { maxVersion: 'TLSv1.1', minVersion: 'TLSv1' }));
  // Over loopback the same port also speaks plain ws:// (the bytes never leave the machine);
  // off loopback it is refused, which test/tls-off-loopback.test.ts shows in a network namespace.
  const plain = new WebSocket(`ws://127.0.0.1:${ts.port}`, SUBPROTOCOL);
  await new Promise<void>((resolve, reject) => {
    plain.once('open', () => resolve());
    plain.once('error', reject);
  });
  await ping(plain);
  plain.close();
});

test('reloadTls: new handshakes get the new certificate; a connection already open goes on', async (t) => {
  const dir = await tempDir(t, 'ferry-tls-reload-');
  const files = opensslCertificate(dir, 'before');
  const ts = await startTestServer({ options: { tlsCert: files.certFile, tlsKey: files.keyFile } });
  t.teardown(() => ts.close());
  const before = await readFile(files.certFile, 'utf8');
  const open = await wssPing(ts, before);
  t.teardown(() => open.close());
  // Rotate: the files are replaced where the options name them, as certbot does.
  const next = opensslCertificate(dir, 'after');
  await writeFile(files.certFile, await readFile(next.certFile));
  await writeFile(files.keyFile, await readFile(next.keyFile));
  const reloaded = await ts.server.reloadTls();
  const after = await readFile(files.certFile, 'utf8');
  t.is(reloaded.fingerprint, certificateFingerprints(after).fingerprint);
  t.not(reloaded.fingerprint, certificateFingerprints(before).fingerprint);
  t.is((await peek(ts.port)).fingerprint, reloaded.fingerprint);
  await ping(open);
  t.pass('the connection made before the reload still answers');
  // Unusable files are refused and the identity stays.
  await writeFile(files.keyFile, createSelfSigned({ commonName: 'other', names: ['127.0.0.1'] }).key);
  await t.throwsAsync(ts.server.reloadTls(), { code: 'EINVAL', message: /is not the key of the certificate/ });
  t.is((await peek(ts.port)).fingerprint, reloaded.fingerprint);
});

test('bad TLS options are refused with EINVAL before anything listens', async (t) => {
  const dir = await tempDir(t, 'ferry-tls-bad-');
  const files = opensslCertificate(dir, 'x');
  const logger = createLogger({ level: 'silent' });
  const root = await tempDir(t, 'ferry-tls-bad-root-');
  t.throws(() => createServer({ root, logger, tls: 'off', tlsCert: files.certFile, tlsKey: files.keyFile }), { code: 'EINVAL' });
  const onlyCert = createServer({ root, logger, port: 0, tlsCert: files.certFile });
  await t.throwsAsync(onlyCert.listen(), { code: 'EINVAL', message: /give both/ });
  await onlyCert.close();
  await writeFile(join(dir, 'garbage.crt'), 'not a certificate');
  const garbage = createServer({ root, logger, port: 0, tlsCert: join(dir, 'garbage.crt'), tlsKey: files.keyFile });
  await t.throwsAsync(garbage.listen(), { code: 'EINVAL', message: /holds no PEM certificate/ });
  await garbage.close();
});

test('ferry serve --fingerprint prints what the server will present; plain ws:// off loopback needs --insecure', async (t) => {
  const root = await tempDir(t, 'ferry-tls-cli-');
  const printed = await runCli(['serve', '--root', root, '--fingerprint']);
  t.is(printed.code, 0, printed.stderr);
  const cert = await readFile(generatedTlsFiles(root).certFile, 'utf8');
  const { fingerprint, fingerprintHex } = certificateFingerprints(cert);
  t.deepEqual(printed.stdout.trim().split('\n'), [fingerprint, fingerprintHex]);
  const config = join(root, 'plain.json');
  await writeFile(config, JSON.stringify({ tls: 'off' }));
  const refused = await runCli(['serve', '--root', root, '--config', config, '--host', '0.0.0.0', '--port', '0']);
  t.not(refused.code, 0);
  t.regex(refused.stderr, /refusing to listen on 0\.0\.0\.0 without TLS.*--insecure/s);
  const contradiction = await runCli(['serve', '--root', root, '--insecure', '--tls', '--port', '0']);
  t.not(contradiction.code, 0);
  t.regex(contradiction.stderr, /--insecure \(plain ws:\/\/\) contradicts --tls/);
});

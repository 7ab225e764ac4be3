import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { downloadFile } from '../src/client/download.js';
import { Session, type SessionOptions } from '../src/client/session.js';
import { uploadFile } from '../src/client/upload.js';
import { FerryError } from '../src/protocol/errors.js';
import { createSelfSigned } from '../server/tls/self-signed.js';
import { runCli } from './helpers/cli.js';
import { startCutProxy } from './helpers/cut-proxy.js';
import { randomFile, sha256File } from './helpers/files.js';
import { startTestServer, type TestServer } from './helpers/server.js';

/*
 * Transfers over wss:// with real TLS: resume through cuts (the cutting proxy forwards TCP, so
 * each reconnect is a new TLS handshake checked against the pinned identity), a certificate
 * rotated while an upload runs, a server that comes back with another certificate, and a
 * certificate past its end date.
 */

const ALICE = { name: 'alice', password: 'alice-password-1' };
const MiB = 1024 * 1024;
const SIZE = 24 * MiB;

async function tempDir(t: ExecutionContext, prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** Certificate files for 127.0.0.1 made with the server's own generator. */
async function certificateFiles(dir: string, name: string, options: { notBefore?: Date; days?: number } = {}): Promise<{ tlsCert: string; tlsKey: string }> {
  const { cert, key } = createSelfSigned({ commonName: name, names: ['127.0.0.1'], ...options });
  const tlsCert = join(dir, `${name}.crt`);
  const tlsKey = join(dir, `${name}.key`);
  await writeFile(tlsCert, cert);
  await writeFile(tlsKey, key, { mode: 0o600 });
  return { tlsCert, tlsKey };
}

async function tlsServer(t: ExecutionContext, options: Record<string, unknown> = { tls: 'on' }): Promise<TestServer> {
  const ts = await startTestServer({ users: [ALICE], options: { syncEveryBytes: MiB, ...options } });
  t.teardown(() => ts.close());
  return ts;
}

function sessionOptions(url: string, fingerprint: string): SessionOptions {
  return {
    url,
    user: ALICE.name,
    password: ALICE.password,
    identity: { expected: fingerprint },
    reconnect: { initialDelayMs: 10, maxDelayMs: 200, giveUpAfterMs: 30_000 },
  };
}

/** An onProgress that cuts every live connection each time `done` passes the next of `points`. */
function cutAt(points: number[], session: () => Session | undefined, cut: () => number): { onProgress: (p: { done: number }) => void; cuts: () => number } {
  let next = 0;
  return {
    onProgress: ({ done }) => {
      if (next < points.length && done >= points[next]! && session()?.state === 'ready' && cut() > 0) next++;
    },
    cuts: () => next,
  };
}

const CUT_POINTS = [3, 6, 9, 12, 15, 18].map((m) => m * MiB);

test('over wss://, an upload and a download survive cuts and end identical', async (t) => {
  const ts = await tlsServer(t);
  const work = await tempDir(t, 'ferry-tls-cuts-');
  const source = join(work, 'source.bin');
  const sha = await randomFile(source, SIZE);
  const proxy = await startCutProxy(ts.port);
  t.teardown(() => proxy.close());
  const session = await Session.connect(sessionOptions(`wss://127.0.0.1:${proxy.port}`, ts.server.tls!.fingerprint));
  t.teardown(() => session.close());

  const up = cutAt(CUT_POINTS, () => session, () => proxy.cutAll());
  const uploaded = await uploadFile(session, source, '/up.bin', { onProgress: up.onProgress });
  t.is(up.cuts(), CUT_POINTS.length);
  t.is(uploaded.sha256, sha);
  t.is(await sha256File(join(ts.root, 'homes', 'alice', 'up.bin')), sha);

  const down = cutAt(CUT_POINTS, () => session, () => proxy.cutAll());
  const target = join(work, 'down.bin');
  const downloaded = await downloadFile(session, '/up.bin', target, { onProgress: down.onProgress });
  t.is(down.cuts(), CUT_POINTS.length);
  t.true(downloaded.resumedFrom > 0, 'the last pass resumed from kept bytes');
  t.is(await sha256File(target), sha);
  t.true(session.generation > 2 * CUT_POINTS.length, 'every cut was a new TLS connection');
});

test('a certificate rotated while an upload runs: the upload finishes; new handshakes get the new one', async (t) => {
  const dir = await tempDir(t, 'ferry-tls-rotate-');
  const files = await certificateFiles(dir, 'before');
  const ts = await tlsServer(t, files);
  const before = ts.server.tls!.fingerprint;
  const source = join(dir, 'source.bin');
  const sha = await randomFile(source, SIZE);
  const session = await Session.connect(sessionOptions(ts.url, before));
  t.teardown(() => session.close());
  let rotated: Promise<unknown> | undefined;
  const result = await uploadFile(session, source, '/rotated.bin', {
    onProgress: ({ done }) => {
      if (rotated === undefined && done >= 4 * MiB) {
        rotated = (async () => {
          const next = await certificateFiles(dir, 'after');
          // Written where the options name them, as certbot does.
          await writeFile(files.tlsCert, await readFile(next.tlsCert));
          await writeFile(files.tlsKey, await readFile(next.tlsKey));
          return ts.server.reloadTls();
        })();
      }
    },
  });
  await rotated;
  t.is(result.sha256, sha);
  t.is(session.generation, 1, 'the upload never lost its connection');
  t.not(ts.server.tls!.fingerprint, before);
  const fresh = await Session.connect(sessionOptions(ts.url, ts.server.tls!.fingerprint));
  await fresh.close();
});

test('a server that comes back with another certificate is refused mid-upload; the partial is kept', async (t) => {
  const dir = await tempDir(t, 'ferry-tls-swap-');
  const files = await certificateFiles(dir, 'first');
  const ts = await tlsServer(t, files);
  const source = join(dir, 'source.bin');
  await randomFile(source, SIZE);
  const proxy = await startCutProxy(ts.port);
  t.teardown(() => proxy.close());
  const session = await Session.connect(sessionOptions(`wss://127.0.0.1:${proxy.port}`, ts.server.tls!.fingerprint));
  t.teardown(() => session.close());
  let swapped = false;
  const upload = uploadFile(session, source, '/swapped.bin', {
    onProgress: ({ done }) => {
      if (swapped || done < 6 * MiB) return;
      swapped = true;
      void (async () => {
        const other = await certificateFiles(dir, 'intruder');
        await writeFile(files.tlsCert, await readFile(other.tlsCert));
        await writeFile(files.tlsKey, await readFile(other.tlsKey));
        await ts.server.reloadTls();
        proxy.cutAll();
      })();
    },
  });
  const error = (await t.throwsAsync(upload)) as FerryError;
  t.is(error.code, 'EIDENTITY');
  t.regex(error.message, /presented SHA256:/);
  const partials = await readdir(join(ts.root, 'partials', 'alice')).catch(() => [] as string[]);
  t.true(partials.length > 0, 'the partial upload is kept for a resume');
});

test('a certificate past its end date is refused with the date, pinned or not', async (t) => {
  const dir = await tempDir(t, 'ferry-tls-expired-');
  const files = await certificateFiles(dir, 'old', { notBefore: new Date(Date.now() - 400 * 86_400_000), days: 365 });
  const ts = await tlsServer(t, files);
  const url = `ferrys://alice@127.0.0.1:${ts.port}/`;
  const env = { XDG_CONFIG_HOME: dir, FERRY_PASSWORD: ALICE.password };
  const unpinned = await runCli(['ls', url], { env });
  t.is(unpinned.code, 6, unpinned.stderr);
  t.regex(unpinned.stderr, /its certificate expired on \d{4}-\d\d-\d\d/);
  const pinned = await runCli(['ls', '--fingerprint', ts.server.tls!.fingerprint, url], { env });
  t.is(pinned.code, 6, pinned.stderr);
  t.regex(pinned.stderr, /its certificate expired on .*renew/);
});

test('without a pin and without a CA, a Session refuses a self-signed server before logging in', async (t) => {
  const ts = await tlsServer(t);
  const error = (await t.throwsAsync(Session.connect({ url: ts.url, user: ALICE.name, password: ALICE.password }))) as FerryError;
  t.true(error instanceof FerryError);
  t.is(error.code, 'EIDENTITY');
});

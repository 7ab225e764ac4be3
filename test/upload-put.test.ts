import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { Session, type SessionOptions } from '../src/client/session.js';
import { uploadFile } from '../src/client/upload.js';
import { LocalFileSystem } from '../src/fs/local-file-system.js';
import { RemoteFileSystem } from '../src/fs/remote-file-system.js';
import { FerryError } from '../src/protocol/errors.js';
import { CLIENT_STREAM_BASE, LIMITS } from '../src/protocol/limits.js';
import { TransferQueue } from '../src/transfer/transfer-queue.js';
import { startCutProxy } from './helpers/cut-proxy.js';
import { RawClient, sha256 } from './helpers/raw-client.js';
import { startTestServer, type TestServer } from './helpers/server.js';
import { hashTree } from './helpers/tree.js';

const ALICE = { name: 'alice', password: 'alice-password-1' };
const MTIME = 1_700_000_000_000;

let work: string;
test.before(async () => {
  work = await mkdtemp(join(tmpdir(), 'ferry-put-'));
});
test.after.always(async () => {
  if (work) await rm(work, { recursive: true, force: true });
});

async function withServer(run: (server: TestServer) => Promise<void>, users = [ALICE as { name: string; password: string; quota?: number }]): Promise<void> {
  const server = await startTestServer({ users });
  try {
    await mkdir(home(server), { recursive: true });
    await run(server);
  } finally {
    await server.close();
  }
}

function home(server: TestServer, ...parts: string[]): string {
  return join(server.root, 'homes', 'alice', ...parts);
}

/** Whatever is left in alice's partials directory: a put must never leave anything there. */
async function leftovers(server: TestServer): Promise<string[]> {
  return readdir(join(server.root, 'partials', 'alice')).catch(() => []);
}

let nextStream = CLIENT_STREAM_BASE;

/** A put by hand: the request, then (unless told otherwise) its frame right behind it. */
function put(client: RawClient, path: string, data: Buffer, extra: { sha256?: string; overwrite?: boolean; frame?: Buffer | null; stream?: number } = {}) {
  const stream = extra.stream ?? nextStream++;
  const reply = client.request('upload.put', {
    path,
    size: data.length,
    mtime: MTIME,
    sha256: extra.sha256 ?? sha256(data),
    stream,
    ...(extra.overwrite ? { overwrite: true } : {}),
  });
  const frame = extra.frame === undefined ? data : extra.frame;
  if (frame !== null && (data.length > 0 || extra.frame !== undefined)) client.sendData(stream, 0, frame);
  return reply;
}

test('put: 0 bytes, 1 byte, 64 KiB and the largest put land intact with their mtime, mode 644, nothing left beside the partials', async (t) => {
  await withServer(async (server) => {
    const client = await RawClient.login(server.url, 'alice', ALICE.password);
    for (const size of [0, 1, 64 * 1024, LIMITS.maxPutBytes]) {
      const data = randomBytes(size);
      const reply = await put(client, `p-${size}.bin`, data);
      t.like(reply, { ok: true, size, sha256: sha256(data), mtime: MTIME }, JSON.stringify(reply));
      t.deepEqual(await readFile(home(server, `p-${size}.bin`)), data);
      const st = await stat(home(server, `p-${size}.bin`));
      t.is(st.mtimeMs, MTIME);
      t.is(st.mode & 0o777, 0o644);
    }
    t.deepEqual(await leftovers(server), []);
    await client.close();
  });
});

test('put: many pipelined without waiting all land, each answered on its own id', async (t) => {
  await withServer(async (server) => {
    const client = await RawClient.login(server.url, 'alice', ALICE.password);
    await client.request('mkdir', { path: '/many' });
    const files = Array.from({ length: 300 }, (_, i) => ({ name: `/many/f${i}.bin`, data: randomBytes(1 + ((i * 7919) % 20_000)) }));
    const replies = await Promise.all(files.map((file) => put(client, file.name, file.data)));
    t.true(replies.every((reply) => reply.ok === true), JSON.stringify(replies.find((reply) => !reply.ok)));
    for (const file of files) t.is(sha256(await readFile(home(server, file.name))), sha256(file.data));
    t.deepEqual(await leftovers(server), []);
    await client.close();
  });
});

test('put: a wrong SHA-256, a frame of another size or at another offset store nothing and leave nothing', async (t) => {
  await withServer(async (server) => {
    const client = await RawClient.login(server.url, 'alice', ALICE.password);
    const data = randomBytes(5000);
    t.like(await put(client, 'a.bin', data, { sha256: sha256(randomBytes(10)) }), { ok: false, error: { code: 'EINTEGRITY' } });
    t.like(await put(client, 'b.bin', data, { frame: data.subarray(0, 4999) }), { ok: false, error: { code: 'EINVAL' } });
    const stream = nextStream++;
    const reply = client.request('upload.put', { path: 'c.bin', size: data.length, mtime: MTIME, sha256: sha256(data), stream });
    client.sendData(stream, 1, data);
    t.like(await reply, { ok: false, error: { code: 'EOFFSET' } });
    for (const name of ['a.bin', 'b.bin', 'c.bin']) await t.throwsAsync(stat(home(server, name)), { code: 'ENOENT' });
    t.deepEqual(await leftovers(server), []);
    t.like(await client.request('ping'), { ok: true }, 'the session goes on');
    await client.close();
  });
});

test('put: EEXIST without overwrite (the old file untouched), replaced with it; EISDIR, ENOENT and EACCES for bad targets', async (t) => {
  await withServer(async (server) => {
    const client = await RawClient.login(server.url, 'alice', ALICE.password);
    const first = randomBytes(100);
    const second = randomBytes(200);
    t.like(await put(client, 'f.bin', first), { ok: true });
    t.like(await put(client, 'f.bin', second), { ok: false, error: { code: 'EEXIST' } });
    t.deepEqual(await readFile(home(server, 'f.bin')), first);
    t.like(await put(client, 'f.bin', second, { overwrite: true }), { ok: true, size: 200 });
    t.deepEqual(await readFile(home(server, 'f.bin')), second);
    await mkdir(home(server, 'dir'));
    t.like(await put(client, 'dir', first, { overwrite: true }), { ok: false, error: { code: 'EISDIR' } });
    t.like(await put(client, 'missing/f.bin', first), { ok: false, error: { code: 'ENOENT' } });
    for (const bad of ['../escape.bin', '/../../etc/passwd', 'a\0b']) {
      const reply = await put(client, bad, first, { overwrite: true });
      t.false(reply.ok, bad);
      t.true(['EACCES', 'EINVAL'].includes(reply.error.code), `${bad}: ${reply.error.code}`);
    }
    t.deepEqual(await leftovers(server), []);
    await client.close();
  });
});

test('put: a stream id already waiting is EINVAL; a frame for a stream nobody waits for is dropped and the session goes on', async (t) => {
  await withServer(async (server) => {
    const client = await RawClient.login(server.url, 'alice', ALICE.password);
    const data = randomBytes(1000);
    const stream = nextStream++;
    const waiting = put(client, 'w.bin', data, { stream, frame: null });
    t.like(await put(client, 'x.bin', data, { stream, frame: null }), { ok: false, error: { code: 'EINVAL' } });
    client.sendData(stream, 0, data);
    t.like(await waiting, { ok: true });
    client.sendData(nextStream++, 0, data);
    t.like(await client.request('ping'), { ok: true });
    t.deepEqual(await readFile(home(server, 'w.bin')), data);
    await client.close();
  });
});

test('put: refused with EQUOTA when it cannot fit; replacing a file counts its bytes as freed', async (t) => {
  await withServer(
    async (server) => {
      const client = await RawClient.login(server.url, 'alice', ALICE.password);
      t.like(await put(client, 'big.bin', randomBytes(70_000)), { ok: true });
      t.like(await put(client, 'more.bin', randomBytes(40_000)), { ok: false, error: { code: 'EQUOTA' } });
      await t.throwsAsync(stat(home(server, 'more.bin')), { code: 'ENOENT' });
      const replacement = randomBytes(90_000);
      t.like(await put(client, 'big.bin', replacement, { overwrite: true }), { ok: true });
      t.deepEqual(await readFile(home(server, 'big.bin')), replacement);
      t.like(await client.request('quota'), { ok: true, used: 90_000, total: 100_000 });
      t.deepEqual(await leftovers(server), []);
      await client.close();
    },
    [{ ...ALICE, quota: 100_000 }],
  );
});

test('a put file left by a crash is swept with the expired partials', async (t) => {
  const first = await startTestServer({ users: [ALICE] });
  const root = first.root;
  try {
    const client = await RawClient.login(first.url, 'alice', ALICE.password);
    t.like(await put(client, 'x.bin', randomBytes(10)), { ok: true });
    await client.close();
    await first.server.close();
    const stray = join(root, 'partials', 'alice', '0b9f3c1e-6a5d-4c2b-9e8f-7a6b5c4d3e2f.put');
    await writeFile(stray, randomBytes(1234));
    const second = await startTestServer({ options: { root, partialTtlMs: 1 } });
    try {
      for (let i = 0; i < 500 && (await leftovers(second)).length > 0; i++) await new Promise((r) => setTimeout(r, 10));
      t.deepEqual(await leftovers(second), []);
    } finally {
      await second.close();
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

function sessionOptions(url: string, extra: Partial<SessionOptions> = {}): SessionOptions {
  return { url, user: ALICE.name, password: ALICE.password, reconnect: { initialDelayMs: 10, maxDelayMs: 200, giveUpAfterMs: 60_000 }, ...extra };
}

test('uploadFile sends a small file with one put; a file one byte over goes through a stream', async (t) => {
  await withServer(async (server) => {
    const session = await Session.connect(sessionOptions(server.url));
    try {
      for (const size of [LIMITS.maxPutBytes, LIMITS.maxPutBytes + 1]) {
        const local = join(work, `edge-${size}.bin`);
        const data = randomBytes(size);
        await writeFile(local, data);
        await utimes(local, new Date(MTIME), new Date(MTIME));
        const result = await uploadFile(session, local, `/edge-${size}.bin`);
        t.is(result.sha256, sha256(data));
        t.deepEqual(await readFile(home(server, `edge-${size}.bin`)), data);
        t.is((await stat(home(server, `edge-${size}.bin`))).mtimeMs, MTIME);
      }
      await t.throwsAsync(uploadFile(session, join(work, `edge-${LIMITS.maxPutBytes}.bin`), `/edge-${LIMITS.maxPutBytes}.bin`), { code: 'EEXIST' });
    } finally {
      await session.close();
    }
  });
});

test('a put whose reply is lost is sent again; finding the very same bytes there (EEXIST) counts as done, other bytes do not', async (t) => {
  await withServer(async (server) => {
    const proxy = await startCutProxy(server.port);
    // The dead link is noticed after a missed pong (~1 s): long after the put went out on it.
    const session = await Session.connect(sessionOptions(proxy.url, { heartbeatIntervalMs: 500 }));
    try {
      const data = randomBytes(30_000);
      const local = join(work, 'landed.bin');
      await writeFile(local, data);
      // The put reaches the server and lands; its reply never comes back.
      proxy.stallReplies();
      const result = await uploadFile(session, local, '/landed.bin');
      t.is(result.sha256, sha256(data));
      t.deepEqual(await readFile(home(server, 'landed.bin')), data);
      t.true(session.generation > 1, 'the deaf connection was replaced');

      const other = randomBytes(30_000);
      await writeFile(home(server, 'other.bin'), other);
      proxy.stallReplies();
      const error = await t.throwsAsync(uploadFile(session, local, '/other.bin'));
      t.true(error instanceof FerryError && error.code === 'EEXIST', String(error));
      t.deepEqual(await readFile(home(server, 'other.bin')), other, 'the other file is untouched');
    } finally {
      await session.close();
      await proxy.close();
    }
  });
});

test('a tree of small files goes up through the queue while the connection is cut again and again, and arrives identical', async (t) => {
  await withServer(async (server) => {
    const tree = join(work, 'tree');
    for (let d = 0; d < 5; d++) await mkdir(join(tree, `d${d}`), { recursive: true });
    for (let i = 0; i < 300; i++) await writeFile(join(tree, `d${i % 5}`, `f${i}.bin`), randomBytes(1 + ((i * 104_729) % 50_000)));
    const proxy = await startCutProxy(server.port);
    const session = await Session.connect(sessionOptions(proxy.url));
    // The walk's own requests (stat, mkdir) fail on a cut like any request; the queue retries those.
    const queue = new TransferQueue({ concurrency: 8 });
    let cuts = 0;
    const cutter = setInterval(() => {
      if (session.state === 'ready' && proxy.cutAll() > 0) cuts++;
    }, 60);
    try {
      await queue.add({ source: { fs: new LocalFileSystem(), path: tree }, target: { fs: new RemoteFileSystem(session), path: '/' } });
      const state = await queue.whenIdle();
      clearInterval(cutter);
      t.is(state.totals.failed, 0, JSON.stringify([...state.jobs.values()].find((job) => job.state === 'failed')));
      t.deepEqual(await hashTree(home(server, 'tree')), await hashTree(tree));
      t.deepEqual(await leftovers(server), []);
      t.true(cuts >= 3, `only ${cuts} cuts`);
      t.log(`${cuts} cuts during the copy`);
    } finally {
      clearInterval(cutter);
      await queue.close();
      await session.close();
      await proxy.close();
    }
  });
});

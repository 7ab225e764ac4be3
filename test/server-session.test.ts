import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import test from 'ava';
import WebSocket from 'ws';
import { CLOSE } from '../src/protocol/errors.js';
import { FRAME_HEADER_BYTES } from '../src/protocol/frame.js';
import { LIMITS, SUBPROTOCOL } from '../src/protocol/limits.js';
import { createLogger } from '../server/log.js';
import { RawClient, sha256, type Message } from './helpers/raw-client.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const ALICE = { name: 'alice', password: 'correct horse battery staple' };
const MTIME = 1_700_000_000_000;
/** For tests that log in several times on one connection: scrypt on a busy machine may take seconds each. */
const SLOW_LOGINS = { options: { handshakeTimeoutMs: 120_000 } };

async function withServer(
  run: (server: TestServer) => Promise<void>,
  config: Parameters<typeof startTestServer>[0] = {},
): Promise<void> {
  const server = await startTestServer({ users: [ALICE], ...config });
  try {
    await run(server);
  } finally {
    await server.close();
  }
}

/** Polls until `condition` holds: for server-side state that settles just after the client sees a close. */
async function until(condition: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 500 && !(await condition()); i++) await new Promise((r) => setTimeout(r, 10));
}

function home(server: TestServer, ...parts: string[]): string {
  return join(server.root, 'homes', 'alice', ...parts);
}

/** The .part data files the server keeps for a user (their sidecars left out). */
async function partFiles(server: TestServer, user = 'alice'): Promise<string[]> {
  const dir = join(server.root, 'partials', user);
  const names = await readdir(dir).catch(() => [] as string[]);
  return names.filter((n) => n.endsWith('.part')).map((n) => join(dir, n));
}

function fileSha(path: string): Promise<string> {
  return readFile(path).then((data) => createHash('sha256').update(data).digest('hex'));
}

// ---- handshake and login --------------------------------------------------------------------

test('a new connection is greeted with hello', async (t) => {
  await withServer(async (server) => {
    const client = await RawClient.connect(server.url);
    const hello = client.events('hello')[0]!;
    t.is(hello.server, 'ferry');
    t.is(hello.protocol, 1);
    t.is(hello.maxFramePayload, LIMITS.maxFramePayload);
    t.is(client.ws.protocol, SUBPROTOCOL);
    await client.close();
  });
});

test('login answers with the user, the quota and a session id', async (t) => {
  await withServer(async (server) => {
    const client = await RawClient.connect(server.url);
    const reply = await client.request('login', { user: 'alice', password: ALICE.password });
    t.true(reply.ok);
    t.is(reply.user, 'alice');
    t.deepEqual(reply.quota, { used: 0, total: 0 });
    t.regex(reply.session, /^[0-9a-f]{16}$/);
    t.is(server.server.sessions, 1);
    await client.close();
  });
});

test('an unknown user and a wrong password get the identical reply', async (t) => {
  await withServer(async (server) => {
    const client = await RawClient.connect(server.url);
    const unknown = await client.request('login', { user: 'mallory', password: ALICE.password });
    const wrong = await client.request('login', { user: 'alice', password: 'wrong' });
    t.false(unknown.ok);
    t.is(unknown.error.code, 'EAUTH');
    t.deepEqual(unknown.error, wrong.error);
    // The connection stays usable: the right password still gets in.
    t.true((await client.request('login', { user: 'alice', password: ALICE.password })).ok);
    await client.close();
  }, SLOW_LOGINS);
});

test('repeated failed logins are throttled, even with the right password afterwards', async (t) => {
  await withServer(
    async (server) => {
      const client = await RawClient.connect(server.url);
      const codes: string[] = [];
      for (let i = 0; i < 4; i++) codes.push((await client.request('login', { user: 'alice', password: `guess ${i}` })).error.code);
      t.is(codes[0], 'EAUTH');
      t.true(codes.includes('ETHROTTLE'), codes.join(','));
      const right = await client.request('login', { user: 'alice', password: ALICE.password });
      t.false(right.ok);
      t.is(right.error.code, 'ETHROTTLE');
      t.true(right.error.retryAfterMs > 0);
      await client.close();
    },
    { options: { maxFailedLogins: 3, ...SLOW_LOGINS.options } },
  );
});

test('every op but login and ping is refused with ENOTAUTH before login', async (t) => {
  await withServer(async (server) => {
    const client = await RawClient.connect(server.url);
    t.true((await client.request('ping')).ok);
    for (const [op, params] of [
      ['list', { path: '/' }],
      ['quota', {}],
      ['upload.open', { path: 'x', size: 1, mtime: MTIME }],
      ['download.open', { path: 'x', offset: 0 }],
      ['logout', {}],
    ] as const) {
      const reply = await client.request(op, params);
      t.is(reply.error?.code, 'ENOTAUTH', op);
    }
    await client.close();
  });
});

test('the login clock closes a connection that never logs in', async (t) => {
  await withServer(
    async (server) => {
      const client = await RawClient.connect(server.url);
      const closing = await client.waitFor((m) => m.event === 'closing');
      t.is(closing.error.code, 'ETIMEDOUT');
      t.is((await client.closed).code, CLOSE.HANDSHAKE_TIMEOUT);
    },
    { options: { handshakeTimeoutMs: 150 } },
  );
});

test('an idle session is closed with ETIMEDOUT', async (t) => {
  await withServer(
    async (server) => {
      const client = await RawClient.login(server.url, 'alice', ALICE.password);
      const closing = await client.waitFor((m) => m.event === 'closing');
      t.is(closing.error.code, 'ETIMEDOUT');
      t.is((await client.closed).code, CLOSE.IDLE_TIMEOUT);
      await until(() => server.server.sessions === 0);
      t.is(server.server.sessions, 0);
    },
    { options: { idleTimeoutMs: 200 } },
  );
});

test('a peer that stops answering pings is cut off', async (t) => {
  await withServer(
    async (server) => {
      const silent = new WebSocket(server.url, [SUBPROTOCOL], { autoPong: false });
      silent.on('message', () => {});
      const code = await new Promise<number>((resolve) => silent.once('close', resolve));
      t.is(code, 1006, 'terminated without a close handshake');
      await until(() => server.server.connections === 0);
      t.is(server.server.connections, 0);
    },
    { parts: { heartbeatMs: 100 } },
  );
});

test('logout answers, closes normally and frees the slot', async (t) => {
  await withServer(async (server) => {
    const client = await RawClient.login(server.url, 'alice', ALICE.password);
    t.true((await client.request('logout')).ok);
    t.is((await client.closed).code, CLOSE.NORMAL);
    await until(() => server.server.sessions === 0);
    t.is(server.server.sessions, 0);
  });
});

// ---- malformed input ------------------------------------------------------------------------

test('an unknown op, a bad field or an extra field get error replies with their ids; the server stays up', async (t) => {
  await withServer(async (server) => {
    const client = await RawClient.login(server.url, 'alice', ALICE.password);
    client.sendJson({ id: 101, op: 'format-disk' });
    client.sendJson({ id: 102, op: 'list', path: 5 });
    client.sendJson({ id: 103, op: 'list', path: '/', recursive: true });
    client.sendJson({ id: 104, op: 'upload.open', path: 'a', size: -1, mtime: 0 });
    const replies = await Promise.all([101, 102, 103, 104].map((id) => client.waitFor((m) => m.id === id)));
    t.deepEqual(
      replies.map((r) => [r.ok, r.error.code]),
      [
        [false, 'ENOTSUP'],
        [false, 'EINVAL'],
        [false, 'EINVAL'],
        [false, 'EINVAL'],
      ],
    );
    t.true((await client.request('list', { path: '/' })).ok);
    await client.close();
  });
});

test('unanswerable messages (bad JSON, no id) are tolerated a little, then closing + 1002', async (t) => {
  await withServer(async (server) => {
    const client = await RawClient.login(server.url, 'alice', ALICE.password);
    client.sendText('{not json');
    t.true((await client.request('ping')).ok, 'one bad message does not end the session');
    client.sendText('[]');
    client.sendJson({ op: 'list', path: '/' });
    const closing = await client.waitFor((m) => m.event === 'closing');
    t.is(closing.error.code, 'EPROTO');
    t.is((await client.closed).code, CLOSE.PROTOCOL);
    // The server itself is fine.
    const other = await RawClient.login(server.url, 'alice', ALICE.password);
    t.true((await other.request('ping')).ok);
    await other.close();
  });
});

test('a malformed binary frame gets closing + 1002', async (t) => {
  await withServer(async (server) => {
    for (const bad of [Buffer.from([1, 1, 0]), Buffer.alloc(FRAME_HEADER_BYTES + 4)]) {
      const client = await RawClient.login(server.url, 'alice', ALICE.password);
      client.sendBinary(bad);
      const closing = await client.waitFor((m) => m.event === 'closing');
      t.is(closing.error.code, 'EPROTO');
      t.is((await client.closed).code, CLOSE.PROTOCOL);
    }
  });
});

test('a data frame before login or for a stream never opened is a protocol error', async (t) => {
  await withServer(async (server) => {
    const early = await RawClient.connect(server.url);
    early.sendData(1, 0, Buffer.from('x'));
    t.is((await early.closed).code, CLOSE.PROTOCOL);
    const client = await RawClient.login(server.url, 'alice', ALICE.password);
    client.sendData(7, 0, Buffer.from('x'));
    t.regex((await client.waitFor((m) => m.event === 'closing')).error.message, /never opened/);
    t.is((await client.closed).code, CLOSE.PROTOCOL);
  });
});

test('a client offering another protocol version, or none, is refused at the handshake with a clear message', async (t) => {
  await withServer(async (server) => {
    for (const protocols of [['ferry.2'], []]) {
      const ws = new WebSocket(server.url, protocols);
      const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        ws.on('unexpected-response', (_req, res) => {
          let body = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => (body += chunk));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
        });
        ws.on('open', () => reject(new Error('the handshake succeeded')));
        ws.on('error', () => {});
      });
      t.is(status, 426);
      t.regex(body, /this server speaks ferry\.1/);
      t.regex(body, protocols.length ? /offered ferry\.2/ : /offered no protocol version/);
    }
  });
});

test('a plain HTTP GET says this is a ferry server', async (t) => {
  await withServer(async (server) => {
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      httpRequest(`http://127.0.0.1:${server.port}/`, (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      })
        .on('error', reject)
        .end();
    });
    t.is(status, 200);
    t.regex(body, /ferry server/);
  });
});

test('connections not logged in are capped per IP', async (t) => {
  await withServer(
    async (server) => {
      const a = await RawClient.connect(server.url);
      const b = await RawClient.connect(server.url);
      // The third is destroyed at accept, before the upgrade: nothing is read from it, nothing answered.
      await t.throwsAsync(RawClient.connect(server.url), { code: 'ECONNRESET' });
      // Logging in frees the place: a logged-in connection no longer counts.
      t.true((await a.request('login', { user: 'alice', password: ALICE.password })).ok);
      const d = await RawClient.connect(server.url);
      t.true((await d.request('ping')).ok);
      await Promise.all([a.close(), b.close(), d.close()]);
    },
    { options: { maxConnectionsPerIp: 2 } },
  );
});

// ---- file operations ------------------------------------------------------------------------

test('list, mkdir, stat, rename and remove over the wire', async (t) => {
  await withServer(async (server) => {
    const client = await RawClient.login(server.url, 'alice', ALICE.password);
    t.deepEqual((await client.request('list', { path: '/' })).entries, []);
    t.true((await client.request('mkdir', { path: 'a/b/c', parents: true })).ok);
    t.is((await client.request('mkdir', { path: 'x/y' })).error.code, 'ENOENT');
    await writeFile(home(server, 'a', 'note.txt'), 'hello');
    const list = await client.request('list', { path: '/a' });
    t.deepEqual(list.entries.map((e: Message) => [e.name, e.type]).sort(), [
      ['b', 'dir'],
      ['note.txt', 'file'],
    ]);
    const entry = (await client.request('stat', { path: 'a/note.txt' })).entry;
    t.is(entry.size, 5);
    t.is(entry.type, 'file');
    t.true((await client.request('rename', { from: 'a/note.txt', to: 'a/b/moved.txt' })).ok);
    t.is((await client.request('stat', { path: 'a/note.txt' })).error.code, 'ENOENT');
    t.is(await readFile(home(server, 'a', 'b', 'moved.txt'), 'utf8'), 'hello');
    t.is((await client.request('remove', { path: 'a' })).error.code, 'ENOTEMPTY');
    t.true((await client.request('remove', { path: 'a', recursive: true })).ok);
    t.deepEqual((await client.request('list', { path: '/' })).entries, []);
    t.is((await client.request('list', { path: '../..' })).error.code, 'EACCES');
    const hashed = await client.request('hash', { path: 'nope' });
    t.is(hashed.error.code, 'ENOENT');
    t.true((await client.request('quota')).ok);
    await client.close();
  });
});

// ---- uploads --------------------------------------------------------------------------------

test('uploads of 0 bytes, 1 byte, one frame and one frame + 1 land intact', async (t) => {
  await withServer(async (server) => {
    const client = await RawClient.login(server.url, 'alice', ALICE.password);
    for (const size of [0, 1, LIMITS.chunkSize, LIMITS.chunkSize + 1]) {
      const data = randomBytes(size);
      const name = `file-${size}.bin`;
      const { open, finish } = await client.upload(name, data, { mtime: MTIME });
      t.true(open.ok, JSON.stringify(open));
      t.is(open.offset, 0);
      t.true(finish.ok, JSON.stringify(finish));
      t.is(finish.size, size);
      t.is(finish.sha256, sha256(data));
      t.is(await fileSha(home(server, name)), sha256(data));
      t.is((await stat(home(server, name))).mtimeMs, MTIME);
    }
    t.deepEqual(await partFiles(server), []);
    await client.close();
  });
});

test('a session over its memory budget pauses reading and resumes, without losing or reordering a byte', async (t) => {
  await withServer(
    async (server) => {
      const client = await RawClient.login(server.url, 'alice', ALICE.password);
      const data = randomBytes(3 * 1024 * 1024 + 17);
      // Every frame is over the 1-byte budget: the socket is paused and resumed around each one.
      const { finish } = await client.upload('paused.bin', data, { chunk: 64 * 1024 });
      t.true(finish.ok, JSON.stringify(finish));
      t.is(await fileSha(home(server, 'paused.bin')), sha256(data));
      t.true((await client.request('ping')).ok);
      await client.close();
    },
    { options: { sessionBufferBytes: 1 } },
  );
});

test('sessions over the server-wide upload budget pause and resume together; every upload and put lands intact', async (t) => {
  await withServer(
    async (server) => {
      const clients = await Promise.all(Array.from({ length: 4 }, () => RawClient.login(server.url, 'alice', ALICE.password)));
      const files = clients.map(() => randomBytes(2 * 1024 * 1024 + 5));
      const small = clients.map(() => randomBytes(200_000));
      // Every frame is over the 1-byte budget: each session is paused and resumed around each one.
      const results = await Promise.all(
        clients.map(async (client, i) => {
          const put = client.request('upload.put', { path: `small-${i}.bin`, size: small[i]!.length, mtime: MTIME, sha256: sha256(small[i]!), stream: 0x8000_0000 + i });
          client.sendData(0x8000_0000 + i, 0, small[i]!);
          const { finish } = await client.upload(`budget-${i}.bin`, files[i]!, { chunk: 256 * 1024 });
          return { finish, put: await put };
        }),
      );
      for (const [i, { finish, put }] of results.entries()) {
        t.true(finish.ok, JSON.stringify(finish));
        t.true(put.ok, JSON.stringify(put));
        t.is(await fileSha(home(server, `budget-${i}.bin`)), sha256(files[i]!));
        t.is(await fileSha(home(server, `small-${i}.bin`)), sha256(small[i]!));
      }
      for (const client of clients) t.true((await client.request('ping')).ok);
      await Promise.all(clients.map((client) => client.close()));
    },
    { options: { serverBufferBytes: 1, maxSessionsPerUser: 8 } },
  );
});

test('a frame at the wrong offset is answered EOFFSET with the expected offset and changes nothing', async (t) => {
  await withServer(async (server) => {
    const client = await RawClient.login(server.url, 'alice', ALICE.password);
    const data = randomBytes(100);
    const open = await client.request('upload.open', { path: 'f.bin', size: 100, mtime: MTIME });
    client.sendData(open.stream, 0, data.subarray(0, 10));
    await client.waitFor((m) => m.event === 'ack' && m.stream === open.stream && m.offset === 10);
    for (const wrong of [50, 0, 5]) {
      client.sendData(open.stream, wrong, data.subarray(wrong, wrong + 20));
    }
    const error = await client.waitFor((m) => m.event === 'upload.error');
    t.is(error.stream, open.stream);
    t.is(error.error.code, 'EOFFSET');
    t.is(error.error.expected, 10);
    t.true((await client.request('ping')).ok);
    const parts = await partFiles(server);
    t.is(parts.length, 1);
    t.deepEqual(await readFile(parts[0]!), data.subarray(0, 10), 'the partial holds only the good frame');
    client.sendData(open.stream, 10, data.subarray(10));
    const finish = await client.request('upload.finish', { stream: open.stream, sha256: sha256(data) });
    t.true(finish.ok, JSON.stringify(finish));
    // finish drained the stream's queue, so every stale frame has been looked at by now.
    t.is(client.events('upload.error').length, 1, 'stale frames in a row get one EOFFSET, not one each');
    t.deepEqual(await readFile(home(server, 'f.bin')), data);
    await client.close();
  });
});

test('acks only cover bytes on disk and the last ack equals the size', async (t) => {
  await withServer(
    async (server) => {
      const client = await RawClient.login(server.url, 'alice', ALICE.password);
      const size = LIMITS.chunkSize + 1;
      const data = randomBytes(size);
      const open = await client.request('upload.open', { path: 'acked.bin', size, mtime: MTIME });
      const chunk = 16 * 1024;
      for (let offset = 0; offset < size; offset += chunk) client.sendData(open.stream, offset, data.subarray(offset, offset + chunk));
      await client.waitFor((m) => m.event === 'ack' && m.offset === size);
      const [part] = await partFiles(server);
      t.is((await stat(part!)).size, size);
      const acks = client.events('ack').map((m) => m.offset as number);
      t.true(acks.length >= 2, `acks every syncEveryBytes: ${acks.join(',')}`);
      t.deepEqual([...acks].sort((a, b) => a - b), acks, 'acks never go back');
      t.true(acks.every((offset) => offset <= size));
      const finish = await client.request('upload.finish', { stream: open.stream, sha256: sha256(data) });
      t.true(finish.ok);
      t.is(client.events('ack').at(-1)!.offset, size);
      await client.close();
    },
    { options: { syncEveryBytes: 256 * 1024 } },
  );
});

test('a wrong SHA-256 at finish is EINTEGRITY and leaves no file at the destination', async (t) => {
  await withServer(async (server) => {
    const client = await RawClient.login(server.url, 'alice', ALICE.password);
    const data = randomBytes(1000);
    const open = await client.request('upload.open', { path: 'bad.bin', size: data.length, mtime: MTIME });
    client.sendData(open.stream, 0, data);
    const finish = await client.request('upload.finish', { stream: open.stream, sha256: sha256(Buffer.from('other')) });
    t.is(finish.error.code, 'EINTEGRITY');
    await t.throwsAsync(stat(home(server, 'bad.bin')), { code: 'ENOENT' });
    // The stream is gone: finishing it again is an error, not a hang.
    t.is((await client.request('upload.finish', { stream: open.stream, sha256: sha256(data) })).error.code, 'EINVAL');
    await client.close();
  });
});

test('finishing an upload that lacks bytes is ELIMIT and the upload can still be completed', async (t) => {
  await withServer(async (server) => {
    const client = await RawClient.login(server.url, 'alice', ALICE.password);
    const data = randomBytes(2000);
    const open = await client.request('upload.open', { path: 'short.bin', size: data.length, mtime: MTIME });
    client.sendData(open.stream, 0, data.subarray(0, 1000));
    const early = await client.request('upload.finish', { stream: open.stream, sha256: sha256(data) });
    t.is(early.error.code, 'ELIMIT');
    client.sendData(open.stream, 1000, data.subarray(1000));
    t.true((await client.request('upload.finish', { stream: open.stream, sha256: sha256(data) })).ok);
    t.deepEqual(await readFile(home(server, 'short.bin')), data);
    await client.close();
  });
});

test('a finish refused for a cause the client can fix (EEXIST) leaves the stream open to finish again', async (t) => {
  await withServer(async (server) => {
    const client = await RawClient.login(server.url, 'alice', ALICE.password);
    const data = randomBytes(3000);
    const open = await client.request('upload.open', { path: 'late.bin', size: data.length, mtime: MTIME });
    client.sendData(open.stream, 0, data);
    await client.waitFor((m) => m.event === 'ack' && m.offset === data.length);
    await writeFile(home(server, 'late.bin'), 'someone else was faster');
    const refused = await client.request('upload.finish', { stream: open.stream, sha256: sha256(data) });
    t.is(refused.error.code, 'EEXIST');
    t.is(await readFile(home(server, 'late.bin'), 'utf8'), 'someone else was faster');
    t.true((await client.request('remove', { path: 'late.bin' })).ok);
    t.true((await client.request('upload.finish', { stream: open.stream, sha256: sha256(data) })).ok);
    t.deepEqual(await readFile(home(server, 'late.bin')), data);
    await client.close();
  });
});

test('the log records logins, sessions and transfers as JSON, and never a password', async (t) => {
  const lines: string[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(...chunk.toString('utf8').split('\n').filter(Boolean));
      done();
    },
  });
  await withServer(
    async (server) => {
      const client = await RawClient.connect(server.url);
      await client.request('login', { user: 'alice', password: 'not the password' });
      await client.request('login', { user: 'alice', password: ALICE.password });
      await client.upload('logged.bin', randomBytes(5000));
      await writeFile(home(server, 'src.bin'), randomBytes(7000));
      await client.download('src.bin');
      await client.close();
      await until(() => server.server.connections === 0);
    },
    { options: { logger: createLogger({ level: 'info', destination: sink }) } },
  );
  const records = lines.map((line) => JSON.parse(line) as Message);
  const find = (msg: string, extra: (r: Message) => boolean = () => true): Message | undefined => records.find((r) => r.msg === msg && extra(r));
  t.like(find('login failed'), { user: 'alice', code: 'EAUTH', ip: '127.0.0.1' });
  t.like(find('login ok'), { user: 'alice', ip: '127.0.0.1' });
  t.like(find('transfer', (r) => r.direction === 'upload'), { user: 'alice', path: '/logged.bin', bytes: 5000, code: 'OK' });
  t.like(find('transfer', (r) => r.direction === 'download'), { user: 'alice', path: '/src.bin', bytes: 7000, code: 'OK' });
  t.is(typeof find('transfer')?.durationMs, 'number');
  t.truthy(find('connection closed', (r) => r.user === 'alice'));
  t.false(lines.some((line) => line.includes(ALICE.password) || line.includes('not the password')));
});

test('an upload that cannot fit the quota is refused up front with EQUOTA', async (t) => {
  await withServer(
    async (server) => {
      const client = await RawClient.login(server.url, 'bob', 'bob password');
      const reply = await client.request('upload.open', { path: 'big.bin', size: 5000, mtime: MTIME });
      t.false(reply.ok);
      t.is(reply.error.code, 'EQUOTA');
      t.deepEqual(await partFiles(server, 'bob'), []);
      const fits = await client.upload('small.bin', randomBytes(4000));
      t.true(fits.finish.ok);
      await client.close();
    },
    { users: [ALICE, { name: 'bob', password: 'bob password', quota: 4096 }] },
  );
});

test('a write refused while uploading (quota lowered, bytes past the size) is upload.error, and the stream drops later frames', async (t) => {
  await withServer(
    async (server) => {
      const client = await RawClient.login(server.url, 'bob', 'bob password');
      const open = await client.request('upload.open', { path: 'q.bin', size: 8000, mtime: MTIME });
      t.true(open.ok);
      client.sendData(open.stream, 0, randomBytes(1000));
      await client.waitFor((m) => m.event === 'ack' && m.offset === 1000);
      server.server.users.setQuota('bob', 1500);
      client.sendData(open.stream, 1000, randomBytes(1000));
      client.sendData(open.stream, 2000, randomBytes(1000));
      const error = await client.waitFor((m) => m.event === 'upload.error');
      t.is(error.error.code, 'EQUOTA');
      t.true((await client.request('ping')).ok);
      t.is(client.events('upload.error').length, 1, 'the frame after the failed one is dropped silently');
      const [part] = await partFiles(server, 'bob');
      t.is((await stat(part!)).size, 1000, 'nothing over the quota was stored');
      const finish = await client.request('upload.finish', { stream: open.stream, sha256: sha256(Buffer.alloc(0)) });
      t.is(finish.error.code, 'EQUOTA', 'finishing a failed stream reports why it failed');

      server.server.users.setQuota('bob', 0);
      const small = await client.request('upload.open', { path: 'small.bin', size: 10, mtime: MTIME });
      client.sendData(small.stream, 0, randomBytes(20));
      const tooLong = await client.waitFor((m) => m.event === 'upload.error' && m.stream === small.stream);
      t.is(tooLong.error.code, 'ELIMIT');
      await client.close();
    },
    { users: [ALICE, { name: 'bob', password: 'bob password', quota: 10_000 }] },
  );
});

test('at most maxOpenStreams transfers are open on one session', async (t) => {
  await withServer(async (server) => {
    const client = await RawClient.login(server.url, 'alice', ALICE.password);
    const replies = await Promise.all(
      Array.from({ length: LIMITS.maxOpenStreams }, (_, i) => client.request('upload.open', { path: `s${i}`, size: 10, mtime: MTIME })),
    );
    t.true(replies.every((r) => r.ok));
    t.is((await client.request('upload.open', { path: 'one-more', size: 10, mtime: MTIME })).error.code, 'ELIMIT');
    t.true((await client.request('upload.cancel', { stream: replies[0]!.stream })).ok);
    t.true((await client.request('upload.open', { path: 'one-more', size: 10, mtime: MTIME })).ok);
    await client.close();
  });
});

test('a message over the frame size limit closes the connection with 1009', async (t) => {
  await withServer(async (server) => {
    const client = await RawClient.login(server.url, 'alice', ALICE.password);
    client.sendText(' '.repeat(FRAME_HEADER_BYTES + LIMITS.maxFramePayload + 1));
    t.is((await client.closed).code, CLOSE.TOO_BIG);
    const other = await RawClient.login(server.url, 'alice', ALICE.password);
    t.true((await other.request('ping')).ok);
    await other.close();
  });
});

test('closing the session keeps the partial; a new session resumes from its offset with the prefix hash', async (t) => {
  await withServer(async (server) => {
    const data = randomBytes(300 * 1024);
    const first = await RawClient.login(server.url, 'alice', ALICE.password);
    const open = await first.request('upload.open', { path: 'resume.bin', size: data.length, mtime: MTIME });
    first.sendData(open.stream, 0, data.subarray(0, 100 * 1024));
    await first.waitFor((m) => m.event === 'ack' && m.offset === 100 * 1024);
    await first.close();

    const second = await RawClient.login(server.url, 'alice', ALICE.password);
    let reopen = await second.request('upload.open', { path: 'resume.bin', size: data.length, mtime: MTIME });
    // The first session's release may still be running when the second one asks.
    for (let i = 0; i < 50 && !reopen.ok && reopen.error.code === 'EBUSY'; i++) {
      await new Promise((r) => setTimeout(r, 20));
      reopen = await second.request('upload.open', { path: 'resume.bin', size: data.length, mtime: MTIME });
    }
    t.true(reopen.ok, JSON.stringify(reopen));
    t.is(reopen.offset, 100 * 1024);
    t.is(reopen.prefixSha256, sha256(data.subarray(0, reopen.offset)));
    second.sendData(reopen.stream, reopen.offset, data.subarray(reopen.offset));
    t.true((await second.request('upload.finish', { stream: reopen.stream, sha256: sha256(data) })).ok);
    t.deepEqual(await readFile(home(server, 'resume.bin')), data);
    await second.close();
  });
});

test('upload.cancel keeps the partial for later, or discards it', async (t) => {
  await withServer(async (server) => {
    const client = await RawClient.login(server.url, 'alice', ALICE.password);
    const data = randomBytes(50_000);
    const open = await client.request('upload.open', { path: 'c.bin', size: data.length, mtime: MTIME });
    client.sendData(open.stream, 0, data.subarray(0, 20_000));
    t.true((await client.request('upload.cancel', { stream: open.stream })).ok);
    const again = await client.request('upload.open', { path: 'c.bin', size: data.length, mtime: MTIME });
    t.is(again.offset, 20_000);
    t.true((await client.request('upload.cancel', { stream: again.stream, discard: true })).ok);
    t.deepEqual(await partFiles(server), []);
    const fresh = await client.request('upload.open', { path: 'c.bin', size: data.length, mtime: MTIME });
    t.is(fresh.offset, 0);
    await client.close();
  });
});

test('partials older than partialTtlMs are swept when the server starts', async (t) => {
  const first = await startTestServer({ users: [ALICE] });
  const root = first.root;
  try {
    const client = await RawClient.login(first.url, 'alice', ALICE.password);
    const open = await client.request('upload.open', { path: 'old.bin', size: 1000, mtime: MTIME });
    client.sendData(open.stream, 0, randomBytes(500));
    await client.waitFor((m) => m.event === 'ack' && m.offset === 500);
    await client.close();
    await first.server.close();
    t.is((await partFiles(first)).length, 1);

    const second = await startTestServer({ options: { root, partialTtlMs: 1 } });
    try {
      await until(async () => (await partFiles(second)).length === 0);
      t.deepEqual(await partFiles(second), []);
    } finally {
      await second.close();
    }
  } finally {
    await rm(root, { recursive: true, force: true });
  }
});

// ---- downloads ------------------------------------------------------------------------------

test('downloads: whole, from an offset with a prefix check, wrong prefix, changed file, past the end, empty', async (t) => {
  await withServer(async (server) => {
    const client = await RawClient.login(server.url, 'alice', ALICE.password);
    const data = randomBytes(LIMITS.chunkSize * 2 + 12345);
    await mkdir(home(server, 'd'), { recursive: true });
    await writeFile(home(server, 'd', 'big.bin'), data);
    await utimes(home(server, 'd', 'big.bin'), MTIME / 1000, MTIME / 1000);
    await writeFile(home(server, 'd', 'empty'), '');

    const whole = await client.download('d/big.bin');
    t.true(whole.open.ok);
    t.is(whole.open.size, data.length);
    t.is(whole.open.mtime, MTIME);
    t.is(whole.end!.event, 'download.end');
    t.is(whole.end!.sha256, sha256(data));
    t.true(whole.data.equals(data));

    const offset = LIMITS.chunkSize + 7;
    const resumed = await client.download('d/big.bin', offset, { prefixSha256: sha256(data.subarray(0, offset)), expectSize: data.length, expectMtime: MTIME });
    t.true(resumed.open.ok, JSON.stringify(resumed.open));
    t.is(resumed.open.offset, offset);
    t.true(resumed.data.equals(data.subarray(offset)));
    t.is(resumed.end!.sha256, sha256(data), 'the final digest covers the whole file');

    const noPrefix = await client.download('d/big.bin', offset);
    t.is(noPrefix.end!.sha256, sha256(data));

    const wrongPrefix = await client.download('d/big.bin', 100, { prefixSha256: sha256(Buffer.from('not the prefix')) });
    t.is(wrongPrefix.open.error.code, 'EINTEGRITY');

    const changedSize = await client.download('d/big.bin', 0, { expectSize: data.length - 1 });
    t.is(changedSize.open.error.code, 'ECHANGED');
    const changedMtime = await client.download('d/big.bin', 0, { expectSize: data.length, expectMtime: MTIME + 1000 });
    t.is(changedMtime.open.error.code, 'ECHANGED');

    t.is((await client.download('d/big.bin', data.length + 1)).open.error.code, 'EINVAL');
    t.is((await client.download('d/missing')).open.error.code, 'ENOENT');
    t.is((await client.download('d')).open.error.code, 'EISDIR');

    const empty = await client.download('d/empty');
    t.true(empty.open.ok);
    t.is(empty.open.size, 0);
    t.is(empty.end!.sha256, sha256(Buffer.alloc(0)));
    t.is(empty.data.length, 0);

    const atEnd = await client.download('d/big.bin', data.length, { prefixSha256: sha256(data) });
    t.is(atEnd.end!.sha256, sha256(data));
    t.is(atEnd.data.length, 0);
    await client.close();
  });
});

test('several downloads run at once on one session', async (t) => {
  await withServer(async (server) => {
    const client = await RawClient.login(server.url, 'alice', ALICE.password);
    await mkdir(home(server), { recursive: true });
    const files = await Promise.all(
      [0, 1, 2, 3].map(async (i) => {
        const data = randomBytes(LIMITS.chunkSize + i * 1000);
        await writeFile(home(server, `p${i}`), data);
        return data;
      }),
    );
    const results = await Promise.all(files.map((_, i) => client.download(`p${i}`)));
    results.forEach((result, i) => {
      t.true(result.data.equals(files[i]!), `file ${i}`);
      t.is(result.end!.sha256, sha256(files[i]!));
    });
    await client.close();
  });
});

test('download.cancel stops the stream', async (t) => {
  await withServer(async (server) => {
    const client = await RawClient.login(server.url, 'alice', ALICE.password);
    await mkdir(home(server), { recursive: true });
    await writeFile(home(server, 'big'), randomBytes(LIMITS.chunkSize * 8));
    const open = await client.request('download.open', { path: 'big', offset: 0 });
    t.true((await client.request('download.cancel', { stream: open.stream })).ok);
    t.is((await client.request('download.cancel', { stream: open.stream })).error.code, 'EINVAL');
    t.true((await client.request('ping')).ok);
    t.is(client.events('download.end').length, 0);
    await client.close();
  });
});

test('server close tells every client why and keeps their partials', async (t) => {
  const server = await startTestServer({ users: [ALICE] });
  try {
    const client = await RawClient.login(server.url, 'alice', ALICE.password);
    const open = await client.request('upload.open', { path: 'during-shutdown.bin', size: 10_000, mtime: MTIME });
    client.sendData(open.stream, 0, randomBytes(4000));
    await client.waitFor((m) => m.event === 'ack' && m.offset === 4000);
    await server.server.close();
    const closing = await client.waitFor((m) => m.event === 'closing');
    t.is(closing.error.code, 'EBUSY');
    t.is((await client.closed).code, CLOSE.SHUTDOWN);
    const parts = await partFiles(server);
    t.is(parts.length, 1);
    t.is((await stat(parts[0]!)).size, 4000);
  } finally {
    await server.close();
  }
});

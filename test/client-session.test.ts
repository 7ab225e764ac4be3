import { once } from 'node:events';
import { mkdir, writeFile } from 'node:fs/promises';
import { createServer as createNetServer } from 'node:net';
import { join } from 'node:path';
import test from 'ava';
import { Session, type SessionOptions, type SessionState } from '../src/client/session.js';
import { FerryError, type ErrorCode } from '../src/protocol/errors.js';
import { startCutProxy } from './helpers/cut-proxy.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const ALICE = { name: 'alice', password: 'alice-password-1' };
const BOB = { name: 'bob', password: 'bob-password-1' };
/** Fast reconnects: the tests cut connections on purpose and need not wait out real backoff. */
const QUICK = { initialDelayMs: 10, maxDelayMs: 100, giveUpAfterMs: 30_000 };

async function withServer(run: (server: TestServer) => Promise<void>, options: Parameters<typeof startTestServer>[0] = {}): Promise<void> {
  const server = await startTestServer({ users: [ALICE, BOB], ...options });
  try {
    await run(server);
  } finally {
    await server.close();
  }
}

function connect(url: string, extra: Partial<SessionOptions> = {}): Promise<Session> {
  return Session.connect({ url, user: ALICE.name, password: ALICE.password, reconnect: QUICK, ...extra });
}

/** A port nothing listens on: bind one, then free it. */
async function closedPort(): Promise<number> {
  const server = createNetServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

test('connect logs in and reports the login', async (t) => {
  await withServer(async (server) => {
    const session = await connect(server.url);
    t.is(session.state, 'ready');
    t.is(session.generation, 1);
    t.is(session.user, 'alice');
    t.is(session.login?.user, 'alice');
    t.deepEqual(session.login?.quota, { used: 0, total: 0 });
    t.deepEqual(await session.request('list', { path: '/' }), { entries: [] });
    await session.close();
  });
});

test('a wrong password and an unknown user both reject with EAUTH', async (t) => {
  await withServer(async (server) => {
    const wrong = await t.throwsAsync(connect(server.url, { password: 'not-it' }));
    t.true(wrong instanceof FerryError);
    t.is((wrong as FerryError).code, 'EAUTH');
    const unknown = await t.throwsAsync(connect(server.url, { user: 'mallory' }));
    t.is((unknown as FerryError).code, 'EAUTH');
  });
});

test('repeated failures are throttled with ETHROTTLE', async (t) => {
  await withServer(
    async (server) => {
      const codes: string[] = [];
      for (let i = 0; i < 4; i++) {
        const error = await t.throwsAsync(connect(server.url, { password: `bad-${i}` }));
        codes.push((error as FerryError).code);
      }
      t.is(codes[0], 'EAUTH');
      t.is(codes.at(-1), 'ETHROTTLE');
    },
    { options: { maxFailedLogins: 2 } },
  );
});

test('a closed port rejects with ENETWORK naming host:port and the cause', async (t) => {
  const port = await closedPort();
  const error = await t.throwsAsync(connect(`ws://127.0.0.1:${port}`));
  t.true(error instanceof FerryError);
  t.is((error as FerryError).code, 'ENETWORK');
  t.regex(error!.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
  t.regex(error!.message, /refused/);
});

test('a peer that is not a ferry server is refused (EPROTO or ENETWORK, never a hang)', async (t) => {
  // A plain TCP server that answers the upgrade with nonsense.
  const server = createNetServer((socket) => {
    socket.on('error', () => {});
    socket.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi');
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const port = (server.address() as { port: number }).port;
  try {
    const error = await t.throwsAsync(connect(`ws://127.0.0.1:${port}`, { connectTimeoutMs: 5_000 }));
    t.true(['EPROTO', 'ENETWORK'].includes((error as FerryError).code), (error as FerryError).code);
  } finally {
    server.close();
  }
});

test('request errors arrive as FerryErrors with the server codes', async (t) => {
  await withServer(async (server) => {
    const home = join(server.root, 'homes', 'alice');
    await mkdir(join(home, 'dir', 'inner'), { recursive: true });
    await writeFile(join(home, 'file.txt'), 'hello');
    const session = await connect(server.url);
    const cases: Array<[Promise<unknown>, ErrorCode]> = [
      [session.request('stat', { path: '/missing' }), 'ENOENT'],
      [session.request('mkdir', { path: '/dir' }), 'EEXIST'],
      [session.request('list', { path: '/file.txt' }), 'ENOTDIR'],
      [session.request('list', { path: '/../../etc' }), 'EACCES'],
      [session.request('remove', { path: '/dir' }), 'ENOTEMPTY'],
      [session.request('download.open', { path: '/dir', offset: 0 }), 'EISDIR'],
      [session.request('upload.open', { path: '/file.txt', size: 1, mtime: 0 }), 'EEXIST'],
    ];
    for (const [promise, code] of cases) {
      const error = await t.throwsAsync(promise);
      t.true(error instanceof FerryError);
      t.is((error as FerryError).code, code, error?.message);
    }
    const stat = await session.request('stat', { path: '/file.txt' });
    t.is(stat.entry.size, 5);
    await session.close();
  });
});

test('an aborted request rejects with ECANCELED and the session goes on', async (t) => {
  await withServer(async (server) => {
    const session = await connect(server.url);
    const controller = new AbortController();
    const pending = session.request('list', { path: '/' }, { signal: controller.signal });
    controller.abort();
    t.is(((await t.throwsAsync(pending)) as FerryError).code, 'ECANCELED');
    t.deepEqual(await session.request('list', { path: '/' }), { entries: [] });
    await session.close();
  });
});

test('after a cut the session reconnects, says so, and requests go on', async (t) => {
  await withServer(async (server) => {
    const proxy = await startCutProxy(server.port);
    try {
      const session = await connect(proxy.url);
      const states: SessionState[] = [];
      session.on('state', (state) => states.push(state));

      // A request in flight when the line is cut fails with ENETWORK …
      const inFlight = session.request('list', { path: '/' });
      const reconnected = once(session, 'reconnected');
      t.is(proxy.cutAll(), 1);
      t.is(((await t.throwsAsync(inFlight)) as FerryError).code, 'ENETWORK');
      const [generation] = (await reconnected) as [number];
      t.is(generation, 2);
      t.is(session.generation, 2);
      t.deepEqual(states, ['reconnecting', 'ready']);

      // … while one made during the reconnect waits for it and succeeds.
      proxy.setRefusing(true);
      proxy.cutAll();
      await once(session, 'state');
      t.is(session.state, 'reconnecting');
      const waiting = session.request('mkdir', { path: '/made-while-away' });
      await new Promise((resolve) => setTimeout(resolve, 200));
      proxy.setRefusing(false);
      await waiting;
      t.is(session.generation, 3);
      t.is((await session.request('stat', { path: '/made-while-away' })).entry.type, 'dir');
      await session.close();
    } finally {
      await proxy.close();
    }
  });
});

test('a request bound to a generation never reaches a later connection', async (t) => {
  await withServer(async (server) => {
    const proxy = await startCutProxy(server.port);
    t.teardown(() => proxy.close());
    const session = await connect(proxy.url);
    t.teardown(() => session.close());
    const first = session.generation;
    t.deepEqual(await session.request('ping', {}, { generation: first }), {});

    const reconnected = once(session, 'reconnected');
    proxy.setRefusing(true);
    proxy.cutAll();
    await once(session, 'state');
    // While reconnecting it does not wait for the next connection: it fails at once.
    t.is(((await t.throwsAsync(session.request('ping', {}, { generation: first }))) as FerryError).code, 'ENETWORK');
    proxy.setRefusing(false);
    await reconnected;
    t.is(((await t.throwsAsync(session.request('ping', {}, { generation: first }))) as FerryError).code, 'ENETWORK');
    t.deepEqual(await session.request('ping', {}, { generation: session.generation }), {});
  });
});

test('a connection that goes silent is noticed by the heartbeat and replaced', async (t) => {
  await withServer(async (server) => {
    const proxy = await startCutProxy(server.port);
    try {
      const session = await connect(proxy.url, { heartbeatIntervalMs: 100 });
      const reconnected = once(session, 'reconnected');
      proxy.stallAll();
      await reconnected;
      t.is(session.generation, 2);
      t.deepEqual(await session.request('list', { path: '/' }), { entries: [] });
      await session.close();
    } finally {
      await proxy.close();
    }
  });
});

test('without reconnect a cut closes the session with ENETWORK', async (t) => {
  await withServer(async (server) => {
    const proxy = await startCutProxy(server.port);
    try {
      const session = await connect(proxy.url, { reconnect: false });
      const closed = once(session, 'closed');
      proxy.cutAll();
      const [error] = (await closed) as [FerryError];
      t.is(error.code, 'ENETWORK');
      t.is(session.state, 'closed');
      t.is(((await t.throwsAsync(session.request('list', { path: '/' }))) as FerryError).code, 'ENETWORK');
    } finally {
      await proxy.close();
    }
  });
});

test('EAUTH on re-login closes the session for good', async (t) => {
  await withServer(async (server) => {
    const proxy = await startCutProxy(server.port);
    try {
      const session = await connect(proxy.url);
      await server.server.users.setPassword('alice', 'changed-meanwhile');
      const closed = once(session, 'closed');
      proxy.cutAll();
      const [error] = (await closed) as [FerryError];
      t.is(error.code, 'EAUTH');
      t.is(session.state, 'closed');
      t.is(((await t.throwsAsync(session.waitReady())) as FerryError).code, 'EAUTH');
    } finally {
      await proxy.close();
    }
  });
});

test('a reconnect that keeps failing gives up after giveUpAfterMs', async (t) => {
  await withServer(async (server) => {
    const proxy = await startCutProxy(server.port);
    try {
      const session = await connect(proxy.url, { reconnect: { initialDelayMs: 10, maxDelayMs: 50, giveUpAfterMs: 300 } });
      proxy.setRefusing(true);
      const closed = once(session, 'closed');
      proxy.cutAll();
      const [error] = (await closed) as [FerryError];
      t.is(error.code, 'ENETWORK');
      t.regex(error.message, /gave up/);
    } finally {
      await proxy.close();
    }
  });
});

test('queue positions surface while the server is full, and the login completes when a slot frees', async (t) => {
  await withServer(
    async (server) => {
      const first = await connect(server.url);
      const positions: number[] = [];
      const second = connect(server.url, { user: BOB.name, password: BOB.password, onQueue: (position) => positions.push(position) });
      while (positions.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
      t.deepEqual(positions, [1]);
      await first.close();
      const session = await second;
      t.is(session.state, 'ready');
      t.is(session.user, 'bob');
      await session.close();
    },
    { options: { maxSessions: 1 } },
  );
});

test('a client that waits in the queue too long gets EBUSY', async (t) => {
  await withServer(
    async (server) => {
      const first = await connect(server.url);
      const positions: number[] = [];
      const error = await t.throwsAsync(connect(server.url, { user: BOB.name, password: BOB.password, onQueue: (p) => positions.push(p) }));
      t.is((error as FerryError).code, 'EBUSY');
      t.deepEqual(positions, [1]);
      t.is(first.state, 'ready');
      await first.close();
    },
    { options: { maxSessions: 1, queueTimeoutMs: 300 } },
  );
});

test('close() ends the session: state closed, event without error, later requests fail', async (t) => {
  await withServer(async (server) => {
    const session = await connect(server.url);
    const events: Array<FerryError | undefined> = [];
    session.on('closed', (error) => events.push(error));
    await session.close();
    t.is(session.state, 'closed');
    t.deepEqual(events, [undefined]);
    t.is(((await t.throwsAsync(session.request('list', { path: '/' }))) as FerryError).code, 'ECANCELED');
    await session.close();
    t.is(events.length, 1);
    // The server sees the session gone.
    for (let i = 0; i < 100 && server.server.sessions > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    t.is(server.server.sessions, 0);
  });
});

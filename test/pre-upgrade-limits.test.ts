/**
 * Limits on connections before they log in, down at the TCP level: raw sockets (net.connect)
 * against a real server, from addresses in 127.0.0.0/8 only. Every wait is on an event (a
 * socket's 'close', a reply); the timers below are safety nets that fail a test, never a way to
 * let time pass.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import test, { type ExecutionContext } from 'ava';
import { WebSocket } from 'ws';
import { FerryError } from '../src/protocol/errors.js';
import { SUBPROTOCOL } from '../src/protocol/limits.js';
import { loadServerConfig } from '../server/config.js';
import { createServer } from '../server/index.js';
import { createLogger } from '../server/log.js';
import { DEFAULT_SERVER_OPTIONS, type ServerOptions } from '../server/options.js';
import { RawClient } from './helpers/raw-client.js';
import { startTestServer, type TestServer } from './helpers/server.js';

const ALICE = { name: 'alice', password: 'alice-password' };
/** The longest any one wait may take before the test fails. */
const SAFETY_MS = 10_000;

/** Whether this machine routes 127.0.0.2 and 127.0.0.3 to loopback (Linux does: all of 127/8). */
async function canBind(address: string): Promise<boolean> {
  const probe = net.createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      probe.once('error', reject);
      probe.listen(0, address, () => resolve());
    });
    return true;
  } catch {
    return false;
  } finally {
    await new Promise<void>((resolve) => (probe.listening ? probe.close(() => resolve()) : resolve()));
  }
}
const aliases = (await canBind('127.0.0.2')) && (await canBind('127.0.0.3'));
const withAliases = aliases ? test : test.skip;

function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** A raw TCP connection to the server, from `from`. */
interface Probe {
  socket: net.Socket;
  openedAt: number;
  /** performance.now() at 'close'. */
  closedAt: number | undefined;
  closed: Promise<void>;
  received: Buffer[];
}

function connectFrom(port: number, from = '127.0.0.1'): Probe {
  const socket = net.connect({ host: '127.0.0.1', port, localAddress: from });
  // A reset is one of the outcomes tests expect; 'close' follows it.
  socket.on('error', () => {});
  const probe: Probe = { socket, openedAt: performance.now(), closedAt: undefined, closed: undefined as never, received: [] };
  socket.on('data', (chunk: Buffer) => probe.received.push(chunk));
  probe.closed = new Promise((resolve) =>
    socket.once('close', () => {
      probe.closedAt = performance.now();
      resolve();
    }),
  );
  return probe;
}

/** Opens `count` probes at once; they are destroyed at teardown. */
function flood(t: ExecutionContext, port: number, count: number, from = '127.0.0.1'): Probe[] {
  const probes = Array.from({ length: count }, () => connectFrom(port, from));
  t.teardown(() => probes.forEach((p) => p.socket.destroy()));
  return probes;
}

/** Resolves once `count` of `probes` have closed (whichever they are). */
function closedCount(probes: Probe[], count: number): Promise<void> {
  if (count === 0) return Promise.resolve();
  let seen = 0;
  return new Promise((resolve) => {
    for (const probe of probes) {
      void probe.closed.then(() => {
        seen++;
        if (seen === count) resolve();
      });
    }
  });
}

/** Sends a plain GET on a probe the server kept and resolves with the whole answer. */
async function get(probe: Probe): Promise<string> {
  probe.socket.write('GET / HTTP/1.1\r\nHost: ferry\r\nConnection: close\r\n\r\n');
  await within(probe.closed, SAFETY_MS, 'the answer to a GET');
  return Buffer.concat(probe.received).toString('latin1');
}

/** Connects over WebSocket from `from` and logs in; resolves with the login reply. */
function loginFrom(port: number, from: string, user: string, password: string): Promise<{ ws: WebSocket; reply: Record<string, any> }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}`, [SUBPROTOCOL], { localAddress: from, perMessageDeflate: false });
  const answered = new Promise<{ ws: WebSocket; reply: Record<string, any> }>((resolve, reject) => {
    ws.on('message', (data, isBinary) => {
      if (isBinary) return;
      const message = JSON.parse(data.toString()) as Record<string, any>;
      if (message.event === 'hello') ws.send(JSON.stringify({ id: 1, op: 'login', user, password }));
      else if (message.id === 1) resolve({ ws, reply: message });
    });
    ws.on('error', reject);
    ws.on('close', (code) => reject(new Error(`closed (${code}) before the login reply`)));
  });
  return within(answered, SAFETY_MS, `a login from ${from}`);
}

function closeWs(ws: WebSocket): Promise<void> {
  if (ws.readyState === WebSocket.CLOSED) return Promise.resolve();
  return new Promise((resolve) => {
    ws.once('close', () => resolve());
    ws.close();
  });
}

/** A server whose log lines are kept (parsed) in `lines`. */
async function serverWithLog(t: ExecutionContext, options: Partial<ServerOptions>): Promise<{ server: TestServer; lines: Array<Record<string, any>> }> {
  const lines: Array<Record<string, any>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n')) if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, any>);
      done();
    },
  });
  const logger = createLogger({ level: 'info', destination });
  const server = await startTestServer({ users: [ALICE], options: { ...options, logger } });
  t.teardown(() => server.close());
  return { server, lines };
}

test('raw sockets past maxConnectionsPerIp are destroyed at accept, and a flood logs two lines, not one per socket', async (t) => {
  const limit = 4;
  const count = 40;
  const { server, lines } = await serverWithLog(t, { maxConnectionsPerIp: limit, upgradeTimeoutMs: 60_000 });
  const probes = flood(t, server.port, count);
  await within(closedCount(probes, count - limit), SAFETY_MS, `${count - limit} refused sockets`);
  const refused = probes.filter((p) => p.closedAt !== undefined);
  const kept = probes.filter((p) => p.closedAt === undefined);
  t.is(refused.length, count - limit);
  t.is(kept.length, limit);
  t.is(server.server.unauthenticated, limit);
  for (const probe of refused) t.is(probe.received.length, 0, 'refused without an answer: nothing was parsed');
  // The ones within the limit are real connections that the server serves.
  for (const probe of kept) t.regex(await get(probe), /^HTTP\/1\.1 200 /);

  await server.close();
  const logged = lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith('too many connections from one address'));
  t.true(logged.length >= 1 && logged.length <= 3, `${logged.length} lines`);
  t.is(logged[0]!.ip, '127.0.0.1');
  t.is(logged[0]!.limit, limit);
  // The first at once, the rest summed up (in one line unless the test outlived the 10 s window).
  t.is(1 + logged.slice(1).reduce((sum, l) => sum + (l.more as number), 0), count - limit);
});

withAliases('a flood from one address denies nobody else: 127.0.0.2 logs in while 127.0.0.1 is at its limit', async (t) => {
  const limit = 3;
  const { server } = await serverWithLog(t, { maxConnectionsPerIp: limit, upgradeTimeoutMs: 60_000 });
  const probes = flood(t, server.port, 30);
  await within(closedCount(probes, 30 - limit), SAFETY_MS, 'the refused sockets');
  const { ws, reply } = await loginFrom(server.port, '127.0.0.2', ALICE.name, ALICE.password);
  t.true(reply.ok, JSON.stringify(reply));
  t.is(server.server.sessions, 1);
  // 127.0.0.1 itself is still at its limit: one more from it is refused.
  const extra = connectFrom(server.port);
  t.teardown(() => extra.socket.destroy());
  await within(extra.closed, SAFETY_MS, 'the refusal of one more socket from 127.0.0.1');
  t.is(extra.received.length, 0);
  await closeWs(ws);
});

test('one count: upgraded connections not logged in and raw sockets share maxConnectionsPerIp; a login frees a place', async (t) => {
  const { server } = await serverWithLog(t, { maxConnectionsPerIp: 3, upgradeTimeoutMs: 60_000 });
  const a = await RawClient.connect(server.url);
  const b = await RawClient.connect(server.url);
  t.teardown(async () => {
    await Promise.all([a.close(), b.close()]);
  });
  t.is(server.server.unauthenticated, 2);
  const raw = flood(t, server.port, 3);
  await within(closedCount(raw, 2), SAFETY_MS, 'two refused sockets');
  t.is(raw.filter((p) => p.closedAt === undefined).length, 1, 'one place was left for a raw socket');
  t.is(server.server.unauthenticated, 3);

  // Once logged in (holding a slot), a connection no longer counts.
  t.true((await a.request('login', { user: ALICE.name, password: ALICE.password })).ok);
  t.is(server.server.unauthenticated, 2);
  const more = flood(t, server.port, 2);
  await within(closedCount(more, 1), SAFETY_MS, 'one refused socket');
  const accepted = more.find((p) => p.closedAt === undefined)!;
  t.regex(await get(accepted), /^HTTP\/1\.1 200 /);
  t.true((await a.request('ping')).ok, 'the logged-in session is untouched');
});

test('a socket that sends nothing, or only part of a request, is cut at upgradeTimeoutMs; then the address can log in', async (t) => {
  const timeoutMs = 300;
  const { server, lines } = await serverWithLog(t, { maxConnectionsPerIp: 2, upgradeTimeoutMs: timeoutMs });
  const [silent, slow] = flood(t, server.port, 2) as [Probe, Probe];
  slow.socket.write('GET / HTTP/1.1\r\nHost: ferry\r\n');
  await within(Promise.all([silent.closed, slow.closed]), SAFETY_MS, 'the deadline');
  for (const probe of [silent, slow]) {
    const lived = probe.closedAt! - probe.openedAt;
    t.true(lived >= timeoutMs - 50, `closed after ${lived} ms`);
  }
  t.is(server.server.unauthenticated, 0);
  t.true(lines.some((l) => typeof l.msg === 'string' && l.msg.startsWith('cut a connection that did not complete the WebSocket upgrade')));
  // Both places (the limit is 2) are free again.
  const client = await RawClient.login(server.url, ALICE.name, ALICE.password);
  t.true((await client.request('ping')).ok);
  await client.close();
});

test('after the upgrade the deadline is the login timeout instead (handshakeTimeoutMs, close 4005)', async (t) => {
  const { server } = await serverWithLog(t, { upgradeTimeoutMs: 200, handshakeTimeoutMs: 1000 });
  const client = await RawClient.connect(server.url);
  const openedAt = performance.now();
  const closed = await within(client.closed, SAFETY_MS, 'the login timeout');
  t.is(closed.code, 4005);
  t.true(performance.now() - openedAt >= 900, 'not cut by the 200 ms upgrade deadline');
  t.is((await client.waitFor((m) => m.event === 'closing')).error.code, 'ETIMEDOUT');
});

withAliases('maxUnauthenticated caps all addresses together; once the holders are cut, a client logs in', async (t) => {
  const { server, lines } = await serverWithLog(t, { maxConnectionsPerIp: 4, maxUnauthenticated: 6, upgradeTimeoutMs: 1000 });
  const probes = [...flood(t, server.port, 4, '127.0.0.1'), ...flood(t, server.port, 4, '127.0.0.2')];
  await within(closedCount(probes, 2), SAFETY_MS, 'the two sockets past the global cap');
  t.is(server.server.unauthenticated, 6);
  // No address is over its own limit of 4, yet a third one is refused: the server is full.
  const third = connectFrom(server.port, '127.0.0.3');
  t.teardown(() => third.socket.destroy());
  await within(third.closed, SAFETY_MS, 'the refusal from 127.0.0.3');
  t.true(third.closedAt! - third.openedAt < 1000, 'refused at accept, not cut at the deadline');
  t.true(lines.some((l) => typeof l.msg === 'string' && l.msg.startsWith('too many connections not logged in yet') && l.limit === 6));

  await within(Promise.all(probes.map((p) => p.closed)), SAFETY_MS, 'the holders cut at the deadline');
  t.is(server.server.unauthenticated, 0);
  const { ws, reply } = await loginFrom(server.port, '127.0.0.3', ALICE.name, ALICE.password);
  t.true(reply.ok, JSON.stringify(reply));
  await closeWs(ws);
});

test('bytes that are not HTTP are cut at once, unanswered; a TLS hello at a plain server gets one line why', async (t) => {
  const { server } = await serverWithLog(t, { upgradeTimeoutMs: 60_000 });
  const probes = flood(t, server.port, 2);
  // A TLS ClientHello's first bytes, and a line of noise.
  probes[0]!.socket.write(Buffer.from('1603010200010001fc0303', 'hex'));
  probes[1]!.socket.write('\x00\x01 hello there\r\n\r\n');
  await within(Promise.all(probes.map((p) => p.closed)), SAFETY_MS, 'the cut');
  for (const probe of probes) t.true(probe.closedAt! - probe.openedAt < 5000);
  // Not a TLS record, so the client's TLS stack fails at once ("wrong version number").
  t.regex(Buffer.concat(probes[0]!.received).toString(), /^HTTP\/1\.1 400 .*speaks plain ws:\/\/ only/s);
  t.is(probes[1]!.received.length, 0);
  t.is(server.server.unauthenticated, 0);
});

test('maxUnauthenticated and upgradeTimeoutMs: defaults, config keys, and zero refused', async (t) => {
  t.is(DEFAULT_SERVER_OPTIONS.maxUnauthenticated, 512);
  t.is(DEFAULT_SERVER_OPTIONS.upgradeTimeoutMs, 10_000);
  const options = loadServerConfig(undefined, { root: 'somewhere', maxUnauthenticated: 100, upgradeTimeoutMs: '5s' as unknown as number });
  t.is(options.maxUnauthenticated, 100);
  t.is(options.upgradeTimeoutMs, 5000);
  for (const key of ['maxUnauthenticated', 'upgradeTimeoutMs'] as const) {
    t.throws(() => loadServerConfig(undefined, { root: 'somewhere', [key]: 0 }), { instanceOf: FerryError, message: /at least 1/ });
  }
  const root = await mkdtemp(join(tmpdir(), 'ferry-pre-upgrade-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  for (const key of ['maxConnectionsPerIp', 'maxUnauthenticated', 'upgradeTimeoutMs'] as const) {
    const error = t.throws(() => createServer({ root, [key]: 0, logger: createLogger({ level: 'silent' }) }), { instanceOf: FerryError });
    t.is(error?.code, 'EINVAL');
  }
});

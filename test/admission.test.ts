import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import test from 'ava';
import { CLOSE, FerryError } from '../src/protocol/errors.js';
import { Admission, type Slot } from '../server/session/admission.js';
import { RawClient, sha256 } from './helpers/raw-client.js';
import { startTestServer } from './helpers/server.js';

const LONG = 60_000;

function positions(): { seen: number[]; onPosition: (p: number) => void } {
  const seen: number[] = [];
  return { seen, onPosition: (p) => seen.push(p) };
}

test('slots are granted at once while free', async (t) => {
  const admission = new Admission({ maxSessions: 2, maxSessionsPerUser: 2 });
  const a = await admission.request('alice', { timeoutMs: LONG }).granted;
  const b = await admission.request('bob', { timeoutMs: LONG }).granted;
  t.is(admission.active, 2);
  t.is(admission.waiting, 0);
  t.is(admission.activeFor('alice'), 1);
  a.release();
  b.release();
  t.is(admission.active, 0);
  t.is(admission.peak, 2);
});

test('the queue is FIFO and positions are told on entry and on every change', async (t) => {
  const admission = new Admission({ maxSessions: 1, maxSessionsPerUser: 5 });
  const first = await admission.request('u1', { timeoutMs: LONG }).granted;
  const p2 = positions();
  const p3 = positions();
  const p4 = positions();
  const order: string[] = [];
  const t2 = admission.request('u2', { timeoutMs: LONG, onPosition: p2.onPosition });
  const t3 = admission.request('u3', { timeoutMs: LONG, onPosition: p3.onPosition });
  const t4 = admission.request('u4', { timeoutMs: LONG, onPosition: p4.onPosition });
  t.is(admission.waiting, 3);
  t.deepEqual([p2.seen, p3.seen, p4.seen], [[1], [2], [3]]);
  const slots: Slot[] = [];
  for (const [name, ticket] of [['u2', t2], ['u3', t3], ['u4', t4]] as const) {
    void ticket.granted.then((slot) => {
      order.push(name);
      slots.push(slot);
    });
  }
  first.release();
  await t2.granted;
  t.is(admission.active, 1);
  t.deepEqual([p3.seen, p4.seen], [[2, 1], [3, 2]]);
  slots[0]!.release();
  await t3.granted;
  slots[1]!.release();
  await t4.granted;
  t.deepEqual(order, ['u2', 'u3', 'u4']);
  t.deepEqual(p4.seen, [3, 2, 1]);
  t.is(admission.peak, 1);
});

test('a waiter that leaves the queue moves the others up and never gets a slot', async (t) => {
  const admission = new Admission({ maxSessions: 1, maxSessionsPerUser: 5 });
  const held = await admission.request('a', { timeoutMs: LONG }).granted;
  const leaving = admission.request('b', { timeoutMs: LONG });
  const p = positions();
  const staying = admission.request('c', { timeoutMs: LONG, onPosition: p.onPosition });
  leaving.cancel();
  const error = await t.throwsAsync(leaving.granted, { instanceOf: FerryError });
  t.is(error?.code, 'ECANCELED');
  t.deepEqual(p.seen, [2, 1]);
  t.is(admission.waiting, 1);
  held.release();
  const slot = await staying.granted;
  t.is(slot.user, 'c');
  t.is(admission.active, 1);
});

test('a queue timeout rejects with EBUSY and retryAfterMs, and frees the place', async (t) => {
  const admission = new Admission({ maxSessions: 1, maxSessionsPerUser: 1 });
  await admission.request('a', { timeoutMs: LONG }).granted;
  const ticket = admission.request('b', { timeoutMs: 30, retryAfterMs: 1234 });
  const error = await t.throwsAsync(ticket.granted, { instanceOf: FerryError });
  t.is(error?.code, 'EBUSY');
  t.is(error?.details.retryAfterMs, 1234);
  t.is(admission.waiting, 0);
});

test('the per-user limit queues that user without holding up other users behind it', async (t) => {
  const admission = new Admission({ maxSessions: 3, maxSessionsPerUser: 1 });
  const alice1 = await admission.request('alice', { timeoutMs: LONG }).granted;
  const alice2 = admission.request('alice', { timeoutMs: LONG });
  t.is(admission.waiting, 1, 'alice waits although global slots are free');
  const bob = await admission.request('bob', { timeoutMs: LONG }).granted;
  t.is(bob.user, 'bob', 'bob passes alice, who is blocked only by her own limit');
  t.is(admission.waiting, 1);
  alice1.release();
  const slot = await alice2.granted;
  t.is(slot.user, 'alice');
  t.is(admission.activeFor('alice'), 1);
  t.is(admission.active, 2);
});

test('release is idempotent', async (t) => {
  const admission = new Admission({ maxSessions: 2, maxSessionsPerUser: 2 });
  const slot = await admission.request('a', { timeoutMs: LONG }).granted;
  slot.release();
  slot.release();
  t.is(admission.active, 0);
  t.is(admission.activeFor('a'), 0);
});

test('close() refuses the waiting and later requests with the given error', async (t) => {
  const admission = new Admission({ maxSessions: 1, maxSessionsPerUser: 1 });
  await admission.request('a', { timeoutMs: LONG }).granted;
  const waiting = admission.request('b', { timeoutMs: LONG });
  admission.close(new FerryError('EBUSY', 'shutting down'));
  t.is((await t.throwsAsync(waiting.granted))?.message, 'shutting down');
  t.is((await t.throwsAsync(admission.request('c', { timeoutMs: LONG }).granted))?.message, 'shutting down');
});

test('limits below 1 are refused', (t) => {
  t.throws(() => new Admission({ maxSessions: 0, maxSessionsPerUser: 1 }), { instanceOf: FerryError });
  t.throws(() => new Admission({ maxSessions: 1, maxSessionsPerUser: 0 }), { instanceOf: FerryError });
});

// ---- real clients against a real server -------------------------------------------------------

const USERS = [
  { name: 'alice', password: 'alice password' },
  { name: 'bob', password: 'bob password' },
];

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !condition(); i++) await new Promise((r) => setTimeout(r, 10));
}

test('maxSessions 2 with 5 clients: all get in, never more than 2 at once, the waiting saw their positions', async (t) => {
  const server = await startTestServer({ users: USERS, options: { maxSessions: 2 } });
  try {
    const observed: number[] = [];
    const runClient = async (i: number): Promise<{ queue: number[]; data: Buffer }> => {
      const client = await RawClient.connect(server.url);
      const reply = await client.request('login', { user: i % 2 ? 'bob' : 'alice', password: i % 2 ? 'bob password' : 'alice password' });
      if (!reply.ok) throw new Error(JSON.stringify(reply));
      observed.push(server.server.sessions);
      const queue = client.events('queue').map((m) => m.position as number);
      // The first two hold their slots until the other three are waiting, so the queue is exercised.
      if (queue.length === 0) await until(() => server.server.queued === 3);
      const data = randomBytes(64 * 1024 + i);
      const { finish } = await client.upload(`c${i}.bin`, data);
      if (!finish.ok) throw new Error(JSON.stringify(finish));
      observed.push(server.server.sessions);
      await client.request('logout');
      await client.closed;
      return { queue, data };
    };
    const results = await Promise.all([0, 1, 2, 3, 4].map(async (i) => {
      // Stagger the connects so that the queue order is the order of i.
      await until(() => server.server.sessions + server.server.queued >= i);
      return runClient(i);
    }));
    t.is(results.length, 5);
    t.true(server.server.peakSessions <= 2, `peak ${server.server.peakSessions}`);
    t.true(observed.every((n) => n <= 2), observed.join(','));
    const waited = results.filter((r) => r.queue.length > 0);
    t.is(waited.length, 3);
    for (const { queue } of waited) {
      t.true(queue.every((p, k) => k === 0 || p < queue[k - 1]!), `positions only go down: ${queue.join(',')}`);
      t.is(queue.at(-1), 1, 'everyone gets to the front before getting in');
    }
    t.deepEqual(waited.map((r) => r.queue[0]).sort(), [1, 2, 3]);
    for (const [i, { data }] of results.entries()) {
      const home = join(server.root, 'homes', i % 2 ? 'bob' : 'alice', `c${i}.bin`);
      t.is(sha256(await readFile(home)), sha256(data));
    }
  } finally {
    await server.close();
  }
});

test('waiting longer than queueTimeoutMs gives EBUSY with retryAfterMs, a closing event and CLOSE.BUSY', async (t) => {
  const server = await startTestServer({ users: USERS, options: { maxSessions: 1, queueTimeoutMs: 200 } });
  try {
    const holder = await RawClient.login(server.url, 'alice', 'alice password');
    const waiter = await RawClient.connect(server.url);
    const reply = await waiter.request('login', { user: 'bob', password: 'bob password' });
    t.deepEqual(waiter.events('queue').map((m) => m.position), [1]);
    t.false(reply.ok);
    t.is(reply.error.code, 'EBUSY');
    t.true(reply.error.retryAfterMs > 0);
    t.is((await waiter.waitFor((m) => m.event === 'closing')).error.code, 'EBUSY');
    t.is((await waiter.closed).code, CLOSE.BUSY);
    t.true((await holder.request('ping')).ok);
    await holder.close();
  } finally {
    await server.close();
  }
});

test('a waiter that disconnects leaves the queue and the one behind moves up', async (t) => {
  const server = await startTestServer({ users: USERS, options: { maxSessions: 1 } });
  try {
    const holder = await RawClient.login(server.url, 'alice', 'alice password');
    const b = await RawClient.connect(server.url);
    const bLogin = b.request('login', { user: 'bob', password: 'bob password' });
    await b.waitFor((m) => m.event === 'queue');
    const c = await RawClient.connect(server.url);
    const cLogin = c.request('login', { user: 'bob', password: 'bob password' });
    await c.waitFor((m) => m.event === 'queue' && m.position === 2);
    await b.close();
    await bLogin.catch(() => undefined);
    await c.waitFor((m) => m.event === 'queue' && m.position === 1);
    t.is(server.server.queued, 1);
    await holder.close();
    t.true((await cLogin).ok);
    t.deepEqual(c.events('queue').map((m) => m.position), [2, 1]);
    await c.close();
  } finally {
    await server.close();
  }
});

test('over the per-user limit a login waits while other users still get in', async (t) => {
  const server = await startTestServer({ users: USERS, options: { maxSessions: 4, maxSessionsPerUser: 1 } });
  try {
    const first = await RawClient.login(server.url, 'alice', 'alice password');
    const second = await RawClient.connect(server.url);
    const secondLogin = second.request('login', { user: 'alice', password: 'alice password' });
    await second.waitFor((m) => m.event === 'queue');
    const bob = await RawClient.login(server.url, 'bob', 'bob password');
    t.is(server.server.sessions, 2);
    await first.close();
    t.true((await secondLogin).ok);
    t.true((await second.request('list', { path: '/' })).ok);
    await Promise.all([second.close(), bob.close()]);
  } finally {
    await server.close();
  }
});

import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { lstat, mkdir, readdir, readFile, readlink, symlink, utimes, writeFile } from 'node:fs/promises';
import path from 'node:path';
import test, { type ExecutionContext } from 'ava';
import WebSocket from 'ws';
import { decodeFrame, encodeFrame, FrameKind } from '../src/protocol/frame.js';
import { LIMITS, SUBPROTOCOL } from '../src/protocol/limits.js';
import { sha256, type Message } from './helpers/raw-client.js';
import { startTestServer, type TestServer } from './helpers/server.js';

/*
 * The jail race (check, then use). Alice owns a link that points inside her home,
 * `sub/up -> ..`; moved to the top of the home, `up -> ..` names <root>/homes. A directory `d`
 * is then swapped, over and over, for that link, while other requests name
 * `d/bob/secret.txt`: when `d` is the link, that is bob's secret. The server must never be
 * caught between its check and its use: no read may return anything from outside alice's home,
 * no write may land there.
 *
 * Inside and outside answers differ in every detail a request can show, so each successful reply
 * is classified without doubt:
 *   alice: d/bob/secret.txt (DECOY, DECOY_MTIME), d/bob/decoy-marker.txt; `d` holds only `bob`
 *   bob:   secret.txt (a unique marker, another size and mtime), bob-marker.txt; <root>/homes
 *          holds `alice` and `bob`
 *
 * (a) the flipper is a local process renaming on disk (truly concurrent with the server);
 * (b) the flipper is a second connection of alice's, renaming through the protocol only.
 */

const ALICE = { name: 'alice', password: 'alice password, long enough' };
const BOB = { name: 'bob', password: 'bob password, long enough too' };

/** How long each variant flips and asks; the request loops are bounded by count as well. */
const RACE_MS = 3000;
const MAX_ROUNDS_PER_LOOP = 20_000;
/** Connections of alice's sending the reads and writes. */
const REQUESTERS = 3;
/** upload.put loops per connection (a put waits for fsyncs, so it is the slow one). */
const PUT_LOOPS = 2;
/** Each kind of read must have succeeded inside at least this often: the race really ran. */
const MIN_INSIDE_PER_KIND = 20;
/** As many puts at least must have landed in alice's home. */
const MIN_INSIDE_PUTS = 5;
/** And the flipper must have swapped `d` at least this often. */
const MIN_FLIP_CYCLES = 10;

const DECOY = Buffer.from('harmless decoy, inside alice\'s home\n');
const DECOY_MTIME = 1_700_000_000_000;
const BOB_MTIME = 1_600_000_000_000;
const PUT_MTIME = 1_650_000_000_000;

type Kind = 'hash' | 'stat' | 'download' | 'list d/bob' | 'list d' | 'upload.put';
/** The reads; upload.put's outcome is read from the disk afterwards. */
const READS: Kind[] = ['hash', 'stat', 'download', 'list d/bob', 'list d'];

interface Tally {
  /** Successful reads that describe alice's own files. */
  inside: Record<string, number>;
  /** Successful reads that describe anything else: what leaked from outside the home. */
  outside: Record<string, number>;
  /** upload.put answered ok (where the file went is read from the disk). */
  putsOk: number;
  /** Error counts by kind and code (EACCES: the outside link was met and refused). */
  errors: Record<string, number>;
  /** A few outside replies, for the failure message. */
  samples: string[];
  /** A few errors other than ENOENT, ENOTDIR, EACCES: worth a look, not a failure. */
  odd: string[];
}

function newTally(): Tally {
  const zero = () => Object.fromEntries(READS.map((kind) => [kind, 0]));
  return { inside: zero(), outside: zero(), putsOk: 0, errors: {}, samples: [], odd: [] };
}

function bump(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

function sum(counts: Record<string, number>): number {
  return Object.values(counts).reduce((total, n) => total + n, 0);
}

interface Fixture {
  server: TestServer;
  aliceHome: string;
  bobHome: string;
  secret: Buffer;
}

async function makeFixture(t: ExecutionContext): Promise<Fixture> {
  const server = await startTestServer({ users: [ALICE, BOB] });
  t.teardown(() => server.close());
  const aliceHome = path.join(server.root, 'homes', 'alice');
  const bobHome = path.join(server.root, 'homes', 'bob');
  const secret = Buffer.from(`BOB-SECRET-${randomUUID()} (bob's eyes only)\n`);
  if (secret.length === DECOY.length) throw new Error('the secret and the decoy must differ in size');

  await mkdir(bobHome, { recursive: true });
  await writeFile(path.join(bobHome, 'secret.txt'), secret);
  await utimes(path.join(bobHome, 'secret.txt'), BOB_MTIME / 1000, BOB_MTIME / 1000);
  await writeFile(path.join(bobHome, 'bob-marker.txt'), 'only in bob\'s home\n');

  await mkdir(path.join(aliceHome, 'sub'), { recursive: true });
  await mkdir(path.join(aliceHome, 'd', 'bob'), { recursive: true });
  await writeFile(path.join(aliceHome, 'd', 'bob', 'secret.txt'), DECOY);
  await utimes(path.join(aliceHome, 'd', 'bob', 'secret.txt'), DECOY_MTIME / 1000, DECOY_MTIME / 1000);
  await writeFile(path.join(aliceHome, 'd', 'bob', 'decoy-marker.txt'), 'only in alice\'s decoy\n');
  // Points at alice's home itself: allowed.
  await symlink('..', path.join(aliceHome, 'sub', 'up'));
  return { server, aliceHome, bobHome, secret };
}

/**
 * A lean protocol client for the race: replies found by id in a map and download frames
 * gathered by stream, so thousands of requests cost no more than a few (RawClient keeps every
 * message and scans them all on each arrival). Many requests may be in flight at once.
 */
class RaceClient {
  readonly #ws: WebSocket;
  #nextId = 1;
  readonly #replies = new Map<number, (reply: Message) => void>();
  /** Per download stream: frames so far, and the end (download.end / download.error) once seen. */
  readonly #streams = new Map<number, { chunks: Buffer[]; end?: Message; wake?: () => void }>();

  private constructor(ws: WebSocket) {
    this.#ws = ws;
    ws.on('message', (data: Buffer, isBinary) => {
      if (isBinary) {
        const decoded = decodeFrame(data);
        if (!decoded.ok) throw decoded.error;
        this.#stream(decoded.frame.stream).chunks.push(Buffer.from(decoded.frame.payload));
        return;
      }
      const message = JSON.parse(data.toString('utf8')) as Message;
      if (typeof message.id === 'number' && 'ok' in message) {
        this.#replies.get(message.id)?.(message);
        this.#replies.delete(message.id);
      } else if ((message.event === 'download.end' || message.event === 'download.error') && typeof message.stream === 'number') {
        const stream = this.#stream(message.stream);
        stream.end = message;
        stream.wake?.();
      }
    });
    ws.on('close', () => {
      for (const resolve of this.#replies.values()) resolve({ ok: false, error: { code: 'CLOSED' } });
      this.#replies.clear();
      for (const stream of this.#streams.values()) stream.wake?.();
    });
  }

  #stream(id: number): { chunks: Buffer[]; end?: Message; wake?: () => void } {
    let stream = this.#streams.get(id);
    if (stream === undefined) this.#streams.set(id, (stream = { chunks: [] }));
    return stream;
  }

  static async login(t: ExecutionContext, url: string, user: { name: string; password: string }): Promise<RaceClient> {
    const ws = new WebSocket(url, [SUBPROTOCOL], { perMessageDeflate: false, maxPayload: LIMITS.maxServerMessageBytes });
    t.teardown(() => ws.terminate());
    const client = new RaceClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    const reply = await client.request('login', { user: user.name, password: user.password });
    if (!reply.ok) throw new Error(`login of ${user.name} failed: ${JSON.stringify(reply.error)}`);
    return client;
  }

  request(op: string, params: Record<string, unknown> = {}): Promise<Message> {
    const id = this.#nextId++;
    const reply = new Promise<Message>((resolve) => this.#replies.set(id, resolve));
    this.#ws.send(JSON.stringify({ id, op, ...params }));
    return reply;
  }

  /** upload.put: the request and its one DATA frame right behind it. */
  put(stream: number, wire: string, data: Buffer, mtime: number): Promise<Message> {
    const reply = this.request('upload.put', { path: wire, size: data.length, mtime, sha256: sha256(data), stream });
    this.#ws.send(encodeFrame({ kind: FrameKind.DATA, stream, offset: 0 }, data), { binary: true });
    return reply;
  }

  /** A whole download from 0: the open reply and, when it opened, every byte sent and the end event. */
  async download(wire: string): Promise<{ open: Message; data: Buffer; end?: Message }> {
    const open = await this.request('download.open', { path: wire, offset: 0 });
    if (!open.ok) return { open, data: Buffer.alloc(0) };
    const stream = this.#stream(open.stream as number);
    if (stream.end === undefined && this.#ws.readyState === WebSocket.OPEN) await new Promise<void>((resolve) => (stream.wake = resolve));
    this.#streams.delete(open.stream as number);
    return { open, data: Buffer.concat(stream.chunks), end: stream.end };
  }

  close(): void {
    this.#ws.close();
  }
}

function recordError(tally: Tally, kind: Kind, reply: Message): void {
  const code = reply.error?.code ?? '?';
  bump(tally.errors, `${kind} ${code}`);
  if (!['ENOENT', 'EACCES', 'ENOTDIR', 'torn'].includes(code) && tally.odd.length < 8) tally.odd.push(`${kind}: ${code} ${reply.error?.message}`);
}

function leak(tally: Tally, kind: Kind, what: string): void {
  bump(tally.outside, kind);
  if (tally.samples.length < 8) tally.samples.push(`${kind}: ${what}`);
}

/** Repeats `once` until `deadline`, at most MAX_ROUNDS_PER_LOOP times. */
async function repeat(deadline: number, once: (round: number) => Promise<void>): Promise<void> {
  for (let round = 0; round < MAX_ROUNDS_PER_LOOP && Date.now() < deadline; round++) await once(round);
}

/**
 * Sends the reads and writes that the race aims at until `deadline`: one loop per kind of
 * request, all at once on the connection, and classifies every answer.
 */
async function request(client: RaceClient, tally: Tally, deadline: number, tag: string, secret: Buffer): Promise<void> {
  const decoySha = sha256(DECOY);
  const secretSha = sha256(secret);
  await Promise.all([
    repeat(deadline, async () => {
      const reply = await client.request('hash', { path: 'd/bob/secret.txt' });
      if (!reply.ok) return recordError(tally, 'hash', reply);
      if (reply.sha256 === decoySha) bump(tally.inside, 'hash');
      else leak(tally, 'hash', reply.sha256 === secretSha ? "bob's secret" : reply.sha256);
    }),
    repeat(deadline, async () => {
      const reply = await client.request('stat', { path: 'd/bob/secret.txt' });
      if (!reply.ok) return recordError(tally, 'stat', reply);
      const entry = reply.entry;
      if (entry.type === 'file' && entry.size === DECOY.length && entry.mtime === DECOY_MTIME) bump(tally.inside, 'stat');
      else leak(tally, 'stat', JSON.stringify(entry));
    }),
    repeat(deadline, async () => {
      const { open, data, end } = await client.download('d/bob/secret.txt');
      if (!open.ok) return recordError(tally, 'download', open);
      if (open.size === DECOY.length && data.equals(DECOY)) bump(tally.inside, 'download');
      else if (open.size !== DECOY.length || data.length > 0) leak(tally, 'download', `size ${open.size}: ${JSON.stringify(data.toString('utf8').slice(0, 80))}`);
      else recordError(tally, 'download', { error: end?.error ?? { code: 'no data' } });
    }),
    // A listing is outside when it shows a name (or a secret.txt) that alice's d/bob lacks; one
    // without the decoy's marker but nothing foreign either is torn (entries gone while listed).
    repeat(deadline, async () => {
      const reply = await client.request('list', { path: 'd/bob' });
      if (!reply.ok) return recordError(tally, 'list d/bob', reply);
      const entries = reply.entries as Message[];
      const foreign = entries.filter((entry) =>
        entry.name === 'secret.txt'
          ? entry.type !== 'file' || entry.size !== DECOY.length || entry.mtime !== DECOY_MTIME
          : entry.name !== 'decoy-marker.txt' && !(entry.name as string).startsWith('planted-'),
      );
      if (foreign.length > 0) leak(tally, 'list d/bob', JSON.stringify(entries.filter((entry) => !(entry.name as string).startsWith('planted-')).map((entry) => `${entry.name} ${entry.size}`)));
      else if (entries.some((entry) => entry.name === 'decoy-marker.txt')) bump(tally.inside, 'list d/bob');
      else recordError(tally, 'list d/bob', { error: { code: 'torn' } });
    }),
    repeat(deadline, async () => {
      const reply = await client.request('list', { path: 'd' });
      if (!reply.ok) return recordError(tally, 'list d', reply);
      const names = (reply.entries as Message[]).map((entry) => entry.name as string);
      if (names.some((name) => name !== 'bob')) leak(tally, 'list d', JSON.stringify(names));
      else if (names.length === 1) bump(tally.inside, 'list d');
      else recordError(tally, 'list d', { error: { code: 'torn' } });
    }),
    // Where a put landed is read from the disk afterwards (findPlanted).
    ...Array.from({ length: PUT_LOOPS }, (_, loop) =>
      repeat(deadline, async (round) => {
        const data = Buffer.from(`planted by alice ${tag}-${loop}-${round}\n`);
        const reply = await client.put(0x8000_0000 + loop * MAX_ROUNDS_PER_LOOP + round, `d/bob/planted-${tag}-${loop}-${round}.txt`, data, PUT_MTIME);
        if (reply.ok) tally.putsOk++;
        else recordError(tally, 'upload.put', reply);
      }),
    ),
  ]);
}

/** Every file or directory whose name starts with `planted`, under `dir` (links not followed). */
async function findPlanted(dir: string, skip: string | null = null): Promise<string[]> {
  const found: string[] = [];
  const walk = async (current: string): Promise<void> => {
    if (current === skip) return;
    for (const name of await readdir(current)) {
      const full = path.join(current, name);
      if (name.startsWith('planted')) found.push(full);
      const st = await lstat(full);
      if (st.isDirectory()) await walk(full);
    }
  };
  await walk(dir);
  return found;
}

/** Bob's home as names, sizes and contents: must be exactly as it was. */
async function snapshot(dir: string): Promise<string> {
  const lines: string[] = [];
  for (const name of (await readdir(dir)).sort()) {
    const full = path.join(dir, name);
    const st = await lstat(full);
    lines.push(st.isFile() ? `${name} ${st.size} ${Math.round(st.mtimeMs)} ${sha256(await readFile(full))}` : `${name} ${st.isSymbolicLink() ? `-> ${await readlink(full)}` : st.mode}`);
  }
  return lines.join('\n');
}

/** Runs the requesters while `flip` runs, then checks the disk and asserts 0 escapes. */
async function race(t: ExecutionContext, fixture: Fixture, flip: (deadline: number) => Promise<number>): Promise<void> {
  const requesters = await Promise.all(Array.from({ length: REQUESTERS }, () => RaceClient.login(t, fixture.server.url, ALICE)));
  const bobBefore = await snapshot(fixture.bobHome);
  const tally = newTally();
  const deadline = Date.now() + RACE_MS;
  const [cycles] = await Promise.all([flip(deadline), ...requesters.map((client, i) => request(client, tally, deadline, `c${i}`, fixture.secret))]);

  const outsideWrites = await findPlanted(fixture.server.root, fixture.aliceHome);
  const insideWrites = await findPlanted(fixture.aliceHome);
  const bobAfter = await snapshot(fixture.bobHome);
  // Bob himself must still get his own, untouched secret.
  const bob = await RaceClient.login(t, fixture.server.url, BOB);
  const own = await bob.download('secret.txt');
  bob.close();
  for (const client of requesters) client.close();

  const reads = sum(tally.outside);
  const refused = Object.entries(tally.errors).filter(([key]) => key.endsWith(' EACCES')).reduce((total, [, n]) => total + n, 0);
  t.log(`flip cycles: ${cycles}`);
  t.log(`inside  (ok): ${JSON.stringify(tally.inside)}, puts ok ${tally.putsOk}, of them in alice's home: ${insideWrites.length}`);
  t.log(`outside (escapes): reads ${reads} ${JSON.stringify(tally.outside)}, writes ${outsideWrites.length}`);
  t.log(`errors: ${JSON.stringify(tally.errors)}`);
  for (const odd of tally.odd) t.log(`  odd error ${odd}`);
  for (const sample of tally.samples) t.log(`  leaked ${sample}`);
  for (const file of outsideWrites.slice(0, 5)) t.log(`  written outside: ${path.relative(fixture.server.root, file)}`);

  // Nothing escaped.
  t.is(reads, 0, `reads from outside the home: ${JSON.stringify(tally.outside)}; e.g. ${tally.samples.join(' | ')}`);
  t.deepEqual(outsideWrites.map((file) => path.relative(fixture.server.root, file)), [], 'files written outside the home');
  t.is(bobAfter, bobBefore, "bob's home changed");
  // The race ran: the flipper flipped, the outside link was met, and every request kind worked inside.
  t.true(cycles >= MIN_FLIP_CYCLES, `only ${cycles} flip cycles`);
  t.true(refused + reads + outsideWrites.length > 0, 'no request ever met the link to outside');
  for (const kind of READS) {
    t.true((tally.inside[kind] ?? 0) >= MIN_INSIDE_PER_KIND, `${kind}: only ${tally.inside[kind] ?? 0} inside answers`);
  }
  t.true(insideWrites.length >= MIN_INSIDE_PUTS, `only ${insideWrites.length} puts landed in alice's home`);

  t.true(own.open.ok && own.data.equals(fixture.secret), "bob's secret is intact");
}

/**
 * A node process that renames on disk in alice's home until `deadline`: first `sub/up` to `up`
 * (now `..` from the top of the home: outside), then the four-step swap of `d` and `up`.
 * It ends with `d` the real directory again and prints its cycle count.
 */
const FLIPPER = `
const fs = require('node:fs');
const path = require('node:path');
const [home, deadlineText] = process.argv.slice(1);
const deadline = Number(deadlineText);
const at = (name) => path.join(home, name);
fs.renameSync(at('sub/up'), at('up'));
process.stdout.write('ready\\n');
let cycles = 0;
while (Date.now() < deadline) {
  fs.renameSync(at('d'), at('d.dir'));
  fs.renameSync(at('up'), at('d'));
  fs.renameSync(at('d'), at('up'));
  fs.renameSync(at('d.dir'), at('d'));
  cycles++;
}
process.stdout.write(JSON.stringify({ cycles }) + '\\n');
`;

function runLocalFlipper(t: ExecutionContext, home: string, deadline: number): { ready: Promise<void>; done: Promise<number> } {
  const child: ChildProcess = spawn(process.execPath, ['-e', FLIPPER, home, String(deadline)], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) process.kill(child.pid, 'SIGKILL');
  });
  let out = '';
  let err = '';
  let markReady: () => void = () => {};
  const ready = new Promise<void>((resolve) => (markReady = resolve));
  child.stdout!.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    if (out.includes('ready\n')) markReady();
  });
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const done = new Promise<number>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      const last = out.trim().split('\n').pop() ?? '';
      if (code !== 0) reject(new Error(`flipper exited with ${code ?? signal}: ${err.trim()}`));
      else resolve((JSON.parse(last) as { cycles: number }).cycles);
    });
  });
  done.catch(() => markReady());
  return { ready, done };
}

test.serial('jail race with a local flipper: 0 reads and 0 writes outside the home', async (t) => {
  const fixture = await makeFixture(t);
  await race(t, fixture, async (deadline) => {
    // The flipper runs a little past the requesters' deadline, so they race it the whole time.
    const flipper = runLocalFlipper(t, fixture.aliceHome, deadline + 200);
    await flipper.ready;
    return flipper.done;
  });
});

test.serial('jail race through the protocol alone: 0 reads and 0 writes outside the home', async (t) => {
  const fixture = await makeFixture(t);
  const flipper = await RaceClient.login(t, fixture.server.url, ALICE);
  await race(t, fixture, async (deadline) => {
    // The reviewer's move: the inside link `sub/up -> ..` taken to the top of the home.
    const moved = await flipper.request('rename', { from: 'sub/up', to: 'up' });
    if (moved.ok) {
      t.log('rename sub/up -> up was accepted: `up -> ..` now points outside');
    } else {
      // Refusing that move closes this way in; the swap below must be safe anyway, so the link
      // is planted as a local user (or an older server) could have left it.
      t.log(`rename sub/up -> up was refused (${moved.error?.code}); planting up -> .. on disk`);
      await symlink('..', path.join(fixture.aliceHome, 'up'));
    }
    let cycles = 0;
    const rename = async (from: string, to: string) => {
      const reply = await flipper.request('rename', { from, to });
      if (!reply.ok) throw new Error(`flipper: rename ${from} -> ${to}: ${reply.error?.code} ${reply.error?.message}`);
    };
    while (Date.now() < deadline + 100) {
      await rename('d', 'd.dir');
      await rename('up', 'd');
      await rename('d', 'up');
      await rename('d.dir', 'd');
      cycles++;
    }
    return cycles;
  });
});

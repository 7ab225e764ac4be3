import test from 'ava';
import { open as openFile, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { connectWithCredentials, PasswordNeededError } from '../src/credentials/connect.js';
import { HostBook } from '../src/credentials/host-book.js';
import { createSecretServiceKeychain } from '../src/credentials/keychain.js';
import { FerryError } from '../src/protocol/index.js';
import { startTestServer } from './helpers/server.js';
import { mountTinyTmpfs, tmpfsSkipNote } from './helpers/tmpfs.js';

async function tempDir(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'ferry-credentials-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A clock that ticks one minute per call, so lastUsed values are distinct and predictable. */
function minuteClock(): () => Date {
  let minute = 0;
  return () => new Date(Date.UTC(2026, 0, 1, 12, minute++));
}

const login = (user: string, host = 'files.example', port = 7070) => ({ user, host, port });

// ---- host book ----

test('a missing hosts.json is two empty lists; the first change creates it privately, with no temp file left', async (t) => {
  const dir = path.join(await tempDir(t), 'config', 'ferry');
  const book = new HostBook({ dir, now: minuteClock() });
  t.deepEqual(await book.load(), { recent: [], bookmarks: [] });
  await book.addRecent(login('alice'));
  t.deepEqual(await readdir(dir), ['hosts.json']);
  t.is((await stat(dir)).mode & 0o777, 0o700);
  t.is((await stat(book.file)).mode & 0o777, 0o600);
  t.deepEqual(JSON.parse(await readFile(book.file, 'utf8')), {
    version: 1,
    recent: [{ host: 'files.example', port: 7070, user: 'alice', lastUsed: '2026-01-01T12:00:00.000Z' }],
    bookmarks: [],
  });
});

test('recent hosts: most recent first, a repeated login moves up instead of doubling, capped', async (t) => {
  const book = new HostBook({ dir: await tempDir(t), maxRecent: 3, now: minuteClock() });
  await book.addRecent(login('a'));
  await book.addRecent(login('b'));
  await book.addRecent(login('c'));
  t.deepEqual((await book.load()).recent.map((entry) => entry.user), ['c', 'b', 'a']);
  const again = await book.addRecent(login('a'));
  t.deepEqual(again.recent.map((entry) => `${entry.user} ${entry.lastUsed}`), ['a 2026-01-01T12:03:00.000Z', 'c 2026-01-01T12:02:00.000Z', 'b 2026-01-01T12:01:00.000Z']);
  // Same user on another port is another login.
  await book.addRecent(login('a', 'files.example', 7071));
  await book.addRecent(login('d'));
  t.deepEqual(
    (await book.load()).recent.map((entry) => `${entry.user}:${entry.port}`),
    ['d:7070', 'a:7071', 'a:7070'],
  );
  await book.removeRecent(login('a', 'files.example', 7071));
  t.deepEqual((await book.load()).recent.map((entry) => `${entry.user}:${entry.port}`), ['d:7070', 'a:7070']);
});

test('changes made at once through one book are all kept', async (t) => {
  const book = new HostBook({ dir: await tempDir(t) });
  await Promise.all(['a', 'b', 'c', 'd', 'e', 'f'].map((user) => book.addRecent(login(user))));
  t.deepEqual((await book.load()).recent.map((entry) => entry.user).sort(), ['a', 'b', 'c', 'd', 'e', 'f']);
});

test('bookmarks: added, renamed for the same login, removed; a bookmark needs a name', async (t) => {
  const book = new HostBook({ dir: await tempDir(t) });
  await book.addBookmark({ ...login('alice'), name: 'work' });
  await book.addBookmark({ ...login('bob', '10.0.0.2', 9000), name: 'lab' });
  await book.addBookmark({ ...login('alice'), name: ' office ' });
  t.deepEqual((await book.load()).bookmarks, [
    { ...login('alice'), name: 'office' },
    { ...login('bob', '10.0.0.2', 9000), name: 'lab' },
  ]);
  await book.removeBookmark(login('alice'));
  t.deepEqual((await book.load()).bookmarks.map((entry) => entry.name), ['lab']);
  const error = await t.throwsAsync(book.addBookmark({ ...login('carol'), name: '  ' }));
  t.true(error instanceof FerryError);
  t.is((error as FerryError).code, 'EINVAL');
  await t.throwsAsync(book.addBookmark({ ...login('carol', 'h', 70_000), name: 'x' }), { instanceOf: FerryError });
});

test('a corrupt hosts.json is kept as hosts.json.bak, with a clear warning, and the lists start empty', async (t) => {
  const dir = await tempDir(t);
  const book = new HostBook({ dir });
  await writeFile(book.file, '{"version": 1, "recent": [');
  const loaded = await book.load();
  t.deepEqual(loaded.recent, []);
  t.deepEqual(loaded.bookmarks, []);
  t.is(loaded.warning, `${book.file} could not be read (it is not valid JSON); it was kept as ${book.file}.bak and the host list starts empty`);
  t.is(await readFile(`${book.file}.bak`, 'utf8'), '{"version": 1, "recent": [');
  // The next change starts a fresh file; the backup stays as it was.
  const after = await book.addRecent(login('alice'));
  t.is(after.warning, undefined);
  t.deepEqual(after.recent.map((entry) => entry.user), ['alice']);
  t.is(await readFile(`${book.file}.bak`, 'utf8'), '{"version": 1, "recent": [');

  // Valid JSON in another shape (a port that is no port) is just as unreadable.
  await writeFile(book.file, JSON.stringify({ version: 1, recent: [{ host: 'h', port: 'seventy', user: 'u' }] }));
  t.regex((await book.load()).warning ?? '', /it is not in the expected shape/);
  t.regex(await readFile(`${book.file}.bak`, 'utf8'), /seventy/);
});

test('a password written into hosts.json by hand is never written back', async (t) => {
  const book = new HostBook({ dir: await tempDir(t) });
  await writeFile(book.file, JSON.stringify({ version: 1, recent: [{ ...login('alice'), password: 'do-not-keep' }], bookmarks: [] }));
  t.deepEqual((await book.load()).recent, [login('alice')]);
  await book.addRecent(login('bob'));
  t.false((await readFile(book.file, 'utf8')).includes('do-not-keep'));
});

(tmpfsSkipNote === '' ? test : test.skip)(`a write that fails (disk full) leaves the previous hosts.json whole and no temp file${tmpfsSkipNote}`, async (t) => {
  const dir = await mountTinyTmpfs(t, '64k');
  const book = new HostBook({ dir });
  await book.addRecent(login('alice'));
  const before = await readFile(book.file, 'utf8');
  // Fill the rest of the tmpfs.
  const filler = await openFile(path.join(dir, 'filler'), 'w');
  try {
    for (;;) await filler.write(Buffer.alloc(4096));
  } catch (error) {
    t.is((error as NodeJS.ErrnoException).code, 'ENOSPC');
  } finally {
    await filler.close();
  }
  const error = await t.throwsAsync(book.addRecent(login('bob')));
  t.is((error as FerryError).code, 'ENOSPC');
  t.is(await readFile(book.file, 'utf8'), before);
  t.deepEqual((await readdir(dir)).sort(), ['filler', 'hosts.json']);
});

// ---- connectWithCredentials against a real server ----

// The real keychain code, judging an environment with no D-Bus session: what a TTY on a server
// or a container sees. (The Secret Service itself is exercised in keychain.test.ts.)
const noSessionBusKeychain = () => createSecretServiceKeychain({ env: {}, platform: 'linux' });

test('a typed password logs in, the host goes on top of the recent list, and with no keychain the notice says it was not saved', async (t) => {
  const server = await startTestServer({ users: [{ name: 'alice', password: 'correct horse' }] });
  t.teardown(() => server.close());
  const hosts = new HostBook({ dir: await tempDir(t) });
  const notices: string[] = [];
  const session = await connectWithCredentials({
    host: ' 127.0.0.1 ',
    port: server.port,
    user: 'alice',
    password: 'correct horse',
    save: true,
    keychain: noSessionBusKeychain(),
    hosts,
    onNotice: (message) => notices.push(message),
    session: { reconnect: false },
  });
  t.teardown(() => session.close());
  t.is(session.state, 'ready');
  t.is(session.user, 'alice');
  t.deepEqual((await session.request('list', { path: '/' })).entries, []);
  t.deepEqual(notices, ['the password was not saved: cannot use the keychain: there is no D-Bus session to reach a keychain through']);
  const recent = (await hosts.load()).recent;
  t.like(recent[0], { host: '127.0.0.1', port: server.port, user: 'alice' });
  t.false((await readFile(hosts.file, 'utf8')).includes('correct horse'));
});

test('a wrong typed password is the server EAUTH and records nothing', async (t) => {
  const server = await startTestServer({ users: [{ name: 'alice', password: 'correct horse' }] });
  t.teardown(() => server.close());
  const hosts = new HostBook({ dir: await tempDir(t) });
  const error = await t.throwsAsync(
    connectWithCredentials({ host: '127.0.0.1', port: server.port, user: 'alice', password: 'wrong', keychain: noSessionBusKeychain(), hosts, session: { reconnect: false } }),
  );
  t.true(error instanceof FerryError);
  t.false(error instanceof PasswordNeededError);
  t.is((error as FerryError).code, 'EAUTH');
  t.is(error.message, 'invalid user name or password');
  t.deepEqual(await hosts.load(), { recent: [], bookmarks: [] });
});

test('no password and no keychain: PasswordNeededError says why, and nothing is recorded', async (t) => {
  const server = await startTestServer({ users: [{ name: 'alice', password: 'correct horse' }] });
  t.teardown(() => server.close());
  const hosts = new HostBook({ dir: await tempDir(t) });
  const error = await t.throwsAsync(connectWithCredentials({ host: '127.0.0.1', port: server.port, user: 'alice', keychain: noSessionBusKeychain(), hosts }));
  t.true(error instanceof PasswordNeededError);
  t.is((error as PasswordNeededError).why, 'keychain-failed');
  t.is((error as PasswordNeededError).code, 'ENOTSUP');
  t.is(error.message, `a password is needed for alice@127.0.0.1:${server.port}: cannot use the keychain: there is no D-Bus session to reach a keychain through`);
  t.deepEqual(await hosts.load(), { recent: [], bookmarks: [] });
});

test('a host list that cannot be written does not fail the login: it is a notice', async (t) => {
  const server = await startTestServer({ users: [{ name: 'alice', password: 'correct horse' }] });
  t.teardown(() => server.close());
  const dir = await tempDir(t);
  await writeFile(path.join(dir, 'not-a-dir'), '');
  const notices: string[] = [];
  const session = await connectWithCredentials({
    host: '127.0.0.1',
    port: server.port,
    user: 'alice',
    password: 'correct horse',
    keychain: noSessionBusKeychain(),
    hosts: new HostBook({ dir: path.join(dir, 'not-a-dir', 'ferry') }),
    onNotice: (message) => notices.push(message),
    session: { reconnect: false },
  });
  t.teardown(() => session.close());
  t.is(session.state, 'ready');
  t.is(notices.length, 1);
  t.regex(notices[0]!, /^the host list was not updated: .*not-a-dir\/ferry\/hosts\.json: not a directory$/);
});

test('bad fields are EINVAL before anything is dialled', async (t) => {
  const keychain = noSessionBusKeychain();
  const cases = [
    [{ host: '', port: 7070, user: 'a' }, 'bad host name ""'],
    [{ host: 'a b', port: 7070, user: 'a' }, 'bad host name "a b"'],
    [{ host: 'h', port: 0, user: 'a' }, 'bad port 0 (1–65535)'],
    [{ host: 'h', port: 70_000, user: 'a' }, 'bad port 70000 (1–65535)'],
    [{ host: 'h', port: 7070, user: ' ' }, 'a user name is needed'],
  ] as const;
  for (const [fields, message] of cases) {
    await t.throwsAsync(connectWithCredentials({ ...fields, password: 'x', keychain }), { instanceOf: FerryError, message });
  }
});

test('an unreachable server is ENETWORK naming host and port', async (t) => {
  // A port that was just free: nothing listens there.
  const server = await startTestServer();
  const { port } = server;
  await server.close();
  const hosts = new HostBook({ dir: await tempDir(t) });
  const error = await t.throwsAsync(connectWithCredentials({ host: '127.0.0.1', port, user: 'a', password: 'x', keychain: noSessionBusKeychain(), hosts }));
  t.is((error as FerryError).code, 'ENETWORK');
  t.regex(error.message, new RegExp(`127\\.0\\.0\\.1:${port}`));
  t.deepEqual(await hosts.load(), { recent: [], bookmarks: [] });
});

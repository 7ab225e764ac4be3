import { mkdir, mkdtemp, readdir, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { Session } from '../src/client/session.js';
import { FerryError } from '../src/protocol/index.js';
import { collect, runCli, spawnCli, type CliResult } from './helpers/cli.js';
import { startTestServer } from './helpers/server.js';
import { randomFile } from './helpers/tree.js';

async function tempRoot(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const root = await mkdtemp(join(tmpdir(), 'ferry-admin-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  return root;
}

function admin(root: string, args: string[], input?: string): Promise<CliResult> {
  return runCli(['user', ...args, '--root', root], input === undefined ? {} : { input });
}

interface ListedUser {
  name: string;
  status: string;
  used: number;
  quota: number;
}

async function listed(root: string): Promise<ListedUser[]> {
  const result = await admin(root, ['list', '--json']);
  if (result.code !== 0) throw new Error(result.stderr);
  return JSON.parse(result.stdout) as ListedUser[];
}

test('add with --password-stdin and a quota, then list; duplicates and bad names are refused', async (t) => {
  const root = await tempRoot(t);
  const added = await admin(root, ['add', 'alice', '--quota', '10MiB', '--password-stdin'], 'alice-secret-1\n');
  t.is(added.code, 0, added.stderr);
  t.regex(added.stdout, /user alice added \(quota 10\.0 MiB\)/);
  t.is((await admin(root, ['add', 'bob', '--password-stdin'], 'bob-secret-1')).code, 0, 'no trailing newline is fine too');
  t.deepEqual(
    (await listed(root)).map((u) => [u.name, u.status, u.quota, u.used]),
    [
      ['alice', 'active', 10 * 1024 * 1024, 0],
      ['bob', 'active', 0, 0],
    ],
  );

  const duplicate = await admin(root, ['add', 'alice', '--password-stdin'], 'x');
  t.is(duplicate.code, 8);
  t.regex(duplicate.stderr, /^ferry: .*alice.* \(EEXIST\)$/m);

  for (const bad of ['Alice', 'a', '../etc', 'root', 'x'.repeat(40), '-rf', 'has space']) {
    const result = await admin(root, ['add', bad, '--password-stdin'], 'pw-123456');
    t.is(result.code, 2, `${bad}: ${result.stderr}`);
    t.regex(result.stderr, /^ferry: /);
    t.notRegex(result.stderr, /^\s+at /m);
  }
  t.is((await listed(root)).length, 2, 'nothing was created for the bad names');
  await t.throwsAsync(stat(join(root, 'homes', '..', 'etc')), { code: 'ENOENT' });
});

test('without a terminal and without --password-stdin, add and passwd are usage errors, not a hang', async (t) => {
  const root = await tempRoot(t);
  const add = await admin(root, ['add', 'carol']);
  t.is(add.code, 2);
  t.regex(add.stderr, /--password-stdin/);
  t.is((await admin(root, ['add', 'carol', '--password-stdin'], '')).code, 2, 'an empty password is refused');
  t.deepEqual(await listed(root), []);
});

test('sizes: units, unlimited and 0; a bad size is a usage error', async (t) => {
  const root = await tempRoot(t);
  t.is((await admin(root, ['add', 'dave', '--quota', '1.5GiB', '--password-stdin'], 'pw-dave-1')).code, 0);
  t.is((await listed(root))[0]!.quota, 1.5 * 1024 ** 3);
  const cases: [string, number][] = [
    ['10MB', 10_000_000],
    ['64k', 65_536],
    ['512', 512],
    ['unlimited', 0],
    ['2GiB', 2 * 1024 ** 3],
    ['0', 0],
  ];
  for (const [size, bytes] of cases) {
    const result = await admin(root, ['quota', 'dave', size]);
    t.is(result.code, 0, `${size}: ${result.stderr}`);
    t.is((await listed(root))[0]!.quota, bytes, size);
  }
  for (const bad of ['ten', '-5', '1.5XB', '']) {
    const result = await admin(root, ['quota', 'dave', bad]);
    t.is(result.code, 2, `${JSON.stringify(bad)}: ${result.stderr}`);
  }
  t.is((await admin(root, ['add', 'erin', '--quota', 'lots', '--password-stdin'], 'pw')).code, 2);
  t.is((await admin(root, ['quota', 'nobody-here', '1GiB'])).code, 4);
});

test('while a server runs on the same root: add, passwd, quota, list and del apply at once', async (t) => {
  const root = await tempRoot(t);
  const server = await startTestServer({ options: { root } });
  t.teardown(() => server.close());
  const url = server.url;

  t.is((await admin(root, ['add', 'frank', '--quota', '1MiB', '--password-stdin'], 'frank-pw-1')).code, 0);
  const session = await Session.connect({ url, user: 'frank', password: 'frank-pw-1' });
  t.teardown(() => session.close());
  t.deepEqual(session.login?.quota, { used: 0, total: 1024 * 1024 });
  await session.close();

  // Files in the home (and a partial upload) show in the usage.
  await randomFile(join(root, 'homes', 'frank', 'photo.bin'), 300 * 1024);
  const [frank] = await listed(root);
  t.is(frank!.used, 300 * 1024);
  const table = await admin(root, ['list']);
  t.regex(table.stdout, /^NAME\s+STATUS\s+USED\s+QUOTA$/m);
  t.regex(table.stdout, /^frank\s+active\s+300\.0 KiB\s+1\.0 MiB$/m);

  t.is((await admin(root, ['passwd', 'frank', '--password-stdin'], 'frank-pw-2')).code, 0);
  const old = await t.throwsAsync(Session.connect({ url, user: 'frank', password: 'frank-pw-1', reconnect: false }));
  t.is((old as FerryError).code, 'EAUTH');
  const renewed = await Session.connect({ url, user: 'frank', password: 'frank-pw-2' });
  t.teardown(() => renewed.close());
  t.is((await admin(root, ['quota', 'frank', '2MiB'])).code, 0);
  t.is((await renewed.request('quota', {})).total, 2 * 1024 * 1024, 'the new quota applies to a logged-in session');
  await renewed.close();
  t.is((await admin(root, ['passwd', 'ghost', '--password-stdin'], 'x-pw-1')).code, 4);

  // del keeps the files (in the archive, outside homes) unless --purge.
  t.is((await admin(root, ['add', 'gina', '--password-stdin'], 'gina-pw-1')).code, 0);
  await mkdir(join(root, 'homes', 'gina'), { recursive: true });
  await writeFile(join(root, 'homes', 'gina', 'keep.txt'), 'x');
  const del = await admin(root, ['del', 'gina']);
  t.is(del.code, 0, del.stderr);
  const [ginaArchive] = await readdir(join(root, 'archive'));
  t.truthy(await stat(join(root, 'archive', ginaArchive!, 'home', 'keep.txt')));
  const gone = await t.throwsAsync(Session.connect({ url, user: 'gina', password: 'gina-pw-1', reconnect: false }));
  t.is((gone as FerryError).code, 'EAUTH');
  await mkdir(join(root, 'partials', 'frank'), { recursive: true });
  await writeFile(join(root, 'partials', 'frank', 'x.part'), 'partial');
  const purge = await admin(root, ['del', 'frank', '--purge']);
  t.is(purge.code, 0, purge.stderr);
  await t.throwsAsync(stat(join(root, 'homes', 'frank')), { code: 'ENOENT' });
  await t.throwsAsync(stat(join(root, 'partials', 'frank')), { code: 'ENOENT' });
  t.is((await admin(root, ['del', 'frank'])).code, 4);
  t.deepEqual(await readdir(join(root, 'homes')), []);
});

test('serve: refuses plain ws:// on a public address without --insecure, serves on loopback, stops cleanly on SIGTERM', async (t) => {
  const root = await tempRoot(t);
  const config = join(root, 'plain.json');
  await writeFile(config, JSON.stringify({ tls: 'off' }));
  const refused = await runCli(['serve', '--root', root, '--config', config, '--host', '0.0.0.0', '--port', '0']);
  t.is(refused.code, 2);
  t.regex(refused.stderr, /refusing to listen on 0\.0\.0\.0 without TLS.*--insecure/s);
  t.is((await runCli(['serve', '--root', root, '--port', 'x'])).code, 2);

  t.is((await admin(root, ['add', 'hana', '--password-stdin'], 'hana-pw-1')).code, 0);
  const child = spawnCli(['serve', '--root', root, '--port', '0', '--max-sessions', '3', '--log-level', 'info']);
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const output = collect(child);
  let stdout = '';
  child.stdout!.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  while (!/"msg":"listening"/.test(stdout) && child.exitCode === null) {
    await new Promise((resolve) => child.stdout!.once('data', resolve));
  }
  const line = stdout.split('\n').find((l) => l.includes('"listening"'))!;
  const listening = JSON.parse(line) as { port: number; root: string; maxSessions: number };
  t.is(listening.root, root);
  t.is(listening.maxSessions, 3);
  const ls = await runCli(['ls', `ferry://hana@127.0.0.1:${listening.port}/`], { env: { FERRY_PASSWORD: 'hana-pw-1' } });
  t.is(ls.code, 0, ls.stderr);
  child.kill('SIGTERM');
  const done = await output;
  t.is(done.code, 0, done.stderr);
  t.regex(done.stdout, /"msg":"login ok"/);
  t.regex(done.stdout, /"msg":"server closed"/);
  for (const l of done.stdout.trim().split('\n')) t.notThrows(() => JSON.parse(l), 'every stdout line is JSON');
});

test('del without --purge: the files go to an archive, and a new account of the same name never sees them', async (t) => {
  const root = await tempRoot(t);
  const server = await startTestServer({ options: { root } });
  t.teardown(() => server.close());
  t.is((await admin(root, ['add', 'dave', '--password-stdin'], 'dave-pw-1')).code, 0);
  const old = await Session.connect({ url: server.url, user: 'dave', password: 'dave-pw-1' });
  t.teardown(() => old.close());
  await old.request('mkdir', { path: '/docs' });
  await writeFile(join(root, 'homes', 'dave', 'secret.txt'), 'dave only');
  await mkdir(join(root, 'partials', 'dave'), { recursive: true });
  await writeFile(join(root, 'partials', 'dave', 'k.part'), 'half');

  const del = await admin(root, ['del', 'dave']);
  t.is(del.code, 0, del.stderr);
  // A session that was logged in meanwhile cannot reach the archived files.
  await t.throwsAsync(old.request('stat', { path: '/secret.txt' }), { code: 'ENOENT' });
  await old.close();
  const archives = await readdir(join(root, 'archive'));
  t.is(archives.length, 1);
  const archive = join(root, 'archive', archives[0]!);
  t.regex(archives[0]!, /^dave-\d{8}T\d{6}Z$/);
  t.regex(del.stdout, new RegExp(`user dave deleted; their files are archived in ${archive.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  t.is((await stat(join(root, 'archive'))).mode & 0o777, 0o700);
  t.is((await stat(archive)).mode & 0o777, 0o700);
  t.truthy(await stat(join(archive, 'home', 'secret.txt')));
  t.truthy(await stat(join(archive, 'partials', 'k.part')));
  await t.throwsAsync(stat(join(root, 'homes', 'dave')), { code: 'ENOENT' });
  await t.throwsAsync(stat(join(root, 'partials', 'dave')), { code: 'ENOENT' });

  // The name is held while the archive exists: a plain add is refused and says why.
  const refused = await admin(root, ['add', 'dave', '--password-stdin'], 'mallory-pw-1');
  t.is(refused.code, 8, refused.stderr);
  t.regex(refused.stderr, /dave .*deleted.*archive.*--reuse-name.*\(EEXIST\)$/m);
  t.deepEqual(await listed(root), []);

  // --reuse-name makes a new, empty account; the archive stays where it is.
  const reused = await admin(root, ['add', 'dave', '--reuse-name', '--password-stdin'], 'mallory-pw-1');
  t.is(reused.code, 0, reused.stderr);
  // A fresh server process: see the known failure below for the one that served the old dave.
  await server.close();
  const fresh = await startTestServer({ options: { root } });
  t.teardown(() => fresh.close());
  const session = await Session.connect({ url: fresh.url, user: 'dave', password: 'mallory-pw-1' });
  t.teardown(() => session.close());
  t.deepEqual((await session.request('list', { path: '/' })).entries, [], 'the new dave starts with an empty home');
  t.is(session.login?.quota.used, 0);
  await t.throwsAsync(session.request('stat', { path: '/secret.txt' }), { code: 'ENOENT' });
  t.truthy(await stat(join(archive, 'home', 'secret.txt')), 'the archive is untouched');
  t.is((await listed(root))[0]!.used, 0);
});

test('del --purge removes the home and the partials and frees the name; a name with no files is free at once', async (t) => {
  const root = await tempRoot(t);
  t.is((await admin(root, ['add', 'erik', '--password-stdin'], 'erik-pw-1')).code, 0);
  await mkdir(join(root, 'homes', 'erik', 'sub'), { recursive: true });
  await writeFile(join(root, 'homes', 'erik', 'sub', 'a.txt'), 'a');
  await mkdir(join(root, 'partials', 'erik'), { recursive: true });
  await writeFile(join(root, 'partials', 'erik', 'x.part'), 'p');
  const purge = await admin(root, ['del', 'erik', '--purge']);
  t.is(purge.code, 0, purge.stderr);
  t.regex(purge.stdout, /user erik deleted with their files/);
  await t.throwsAsync(stat(join(root, 'homes', 'erik')), { code: 'ENOENT' });
  await t.throwsAsync(stat(join(root, 'partials', 'erik')), { code: 'ENOENT' });
  t.deepEqual(await readdir(join(root, 'archive')).catch(() => []), [], 'nothing went to the archive');
  t.deepEqual(await readdir(join(root, 'homes')), [], 'nothing is left aside in homes/');
  t.deepEqual(await readdir(join(root, 'partials')), [], 'nor in partials/');
  t.is((await admin(root, ['add', 'erik', '--password-stdin'], 'erik-pw-2')).code, 0, 'the name is free again');

  // An account that never stored anything leaves no archive and holds no name.
  t.is((await admin(root, ['add', 'fay', '--password-stdin'], 'fay-pw-1')).code, 0);
  await mkdir(join(root, 'homes', 'fay'), { recursive: true });
  const del = await admin(root, ['del', 'fay']);
  t.is(del.code, 0, del.stderr);
  t.regex(del.stdout, /user fay deleted \(no files\)/);
  await t.throwsAsync(stat(join(root, 'homes', 'fay')), { code: 'ENOENT' });
  t.deepEqual(await readdir(join(root, 'archive')), [], 'the empty home was not kept');
  t.is((await admin(root, ['add', 'fay', '--password-stdin'], 'fay-pw-2')).code, 0);
});

test('files left in homes/NAME without an account (an older ferry kept them there) are not handed to a new account', async (t) => {
  const root = await tempRoot(t);
  await mkdir(join(root, 'homes', 'gus'), { recursive: true });
  await writeFile(join(root, 'homes', 'gus', 'old.txt'), 'old');
  const refused = await admin(root, ['add', 'gus', '--password-stdin'], 'gus-pw-1');
  t.is(refused.code, 8, refused.stderr);
  t.regex(refused.stderr, /homes\/gus.*no account.*--reuse-name.*\(EEXIST\)$/m);
  const reused = await admin(root, ['add', 'gus', '--reuse-name', '--password-stdin'], 'gus-pw-1');
  t.is(reused.code, 0, reused.stderr);
  t.regex(reused.stdout, /files found in .*homes\/gus.* were archived in .*archive\/gus-/);
  t.deepEqual(await readdir(join(root, 'homes', 'gus')).catch(() => []), []);
  const [archived] = await readdir(join(root, 'archive'));
  t.truthy(await stat(join(root, 'archive', archived!, 'home', 'old.txt')));
});

test('reject of a (suspended) account with files archives them like del', async (t) => {
  const root = await tempRoot(t);
  const server = await startTestServer({ options: { root } });
  t.teardown(() => server.close());
  await server.server.users.add('hal', 'hal-pw-1', { status: 'pending' });
  await mkdir(join(root, 'homes', 'hal'), { recursive: true });
  await writeFile(join(root, 'homes', 'hal', 'f.txt'), 'f');
  const rejected = await admin(root, ['reject', 'hal']);
  t.is(rejected.code, 0, rejected.stderr);
  t.regex(rejected.stdout, /hal rejected: the account is deleted; its files are archived in /);
  await t.throwsAsync(stat(join(root, 'homes', 'hal')), { code: 'ENOENT' });
  t.is((await admin(root, ['add', 'hal', '--password-stdin'], 'hal-pw-2')).code, 8);
});

test('the administrator may create reserved role names such as admin; system names stay refused', async (t) => {
  const root = await tempRoot(t);
  t.is((await admin(root, ['add', 'admin', '--password-stdin'], 'admin-pw-1')).code, 0);
  t.is((await admin(root, ['add', 'support', '--password-stdin'], 'support-pw-1')).code, 0);
  for (const name of ['root', 'ferry', 'system']) t.is((await admin(root, ['add', name, '--password-stdin'], 'pw-123456')).code, 2, name);
  t.deepEqual((await listed(root)).map((u) => u.name), ['admin', 'support']);
});

// Known server bug, outside server/users and the CLI: LocalStorage.jailFor (server/storage/local-storage.ts)
// caches each user's jail by name and creates the home only the first time, so on a server that
// served the old account, a new account of the same name gets ENOENT for '/' until the server
// restarts. Today's `del --purge` shows it as well as the archive. Flip to test() once fixed.
test('on the running server, a new account of a deleted name can use its (empty) home at once, and a session of the deleted one reaches nothing', async (t) => {
  const root = await tempRoot(t);
  const server = await startTestServer({ options: { root } });
  t.teardown(() => server.close());
  t.is((await admin(root, ['add', 'ida', '--password-stdin'], 'ida-pw-1')).code, 0);
  const old = await Session.connect({ url: server.url, user: 'ida', password: 'ida-pw-1' });
  t.teardown(() => old.close());
  await old.request('mkdir', { path: '/docs' });
  t.is((await admin(root, ['del', 'ida', '--purge'])).code, 0);
  t.is((await admin(root, ['add', 'ida', '--password-stdin'], 'ida-pw-2')).code, 0);
  const session = await Session.connect({ url: server.url, user: 'ida', password: 'ida-pw-2' });
  t.teardown(() => session.close());
  t.deepEqual((await session.request('list', { path: '/' })).entries, []);
  await session.request('mkdir', { path: '/new-owner' });
  // The deleted account's session, still open, must not see or touch the new account's home.
  const error = await t.throwsAsync(old.request('list', { path: '/' }));
  t.is((error as FerryError).code, 'ENOENT');
  await t.throwsAsync(old.request('mkdir', { path: '/planted' }));
  t.deepEqual((await session.request('list', { path: '/' })).entries.map((entry: { name: string }) => entry.name), ['new-owner']);
});

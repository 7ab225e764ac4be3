import { chmod, lstat, mkdir, mkdtemp, readFile, realpath, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { runRemote } from '../src/client/exec.js';
import { Session } from '../src/client/session.js';
import { FerryError } from '../src/protocol/index.js';
import { pathCandidates } from '../server/exec/argument-paths.js';
import type { ServerOptions } from '../server/options.js';
import type { SqliteUserStore } from '../server/users/sqlite-user-store.js';
import { capturedLogger } from './helpers/log-lines.js';
import { startTestServer, type TestServer } from './helpers/server.js';

/*
 * What a remote command can reach: its arguments are checked as paths through the jail (the
 * `du --files0-from=/srv/ferry/users.db` leak), and on a root server it runs as the user's own
 * uid, which owns the home and nothing else.
 */

const ALICE = { name: 'alice', password: 'alice-secret-1' };
const BOB = { name: 'bob', password: 'bob-secret-12' };

interface Fixture {
  ts: TestServer;
  session: Session;
  home: string;
  scripts: Record<string, string>;
  logs: string[];
}

const SCRIPTS: Record<string, string> = {
  // Prints its uid and whether it can write here, in the root and into bob's home.
  'whoami-write': 'id -u\ntouch mine && echo home-ok\ntouch "$1/users.db" 2>/dev/null && echo root-WRITTEN\ntouch "$1/homes/bob/planted" 2>/dev/null && echo bob-WRITTEN\ncat "$1/users.db" >/dev/null 2>&1 && echo db-READ\nls "$1/homes" >/dev/null 2>&1 && echo homes-LISTED\nexit 0\n',
};

async function setup(t: ExecutionContext, allow: (scripts: Record<string, string>) => string[]): Promise<Fixture> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-confine-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await chmod(dir, 0o755);
  const scripts: Record<string, string> = {};
  for (const [name, body] of Object.entries(SCRIPTS)) {
    scripts[name] = join(dir, name);
    await writeFile(scripts[name]!, `#!/bin/sh\n${body}`);
    await chmod(scripts[name]!, 0o755);
  }
  const { logger, lines: logs } = capturedLogger();

  const ts = await startTestServer({
    users: [ALICE, BOB],
    options: { logger, exec: { allow: allow(scripts) } } as Partial<ServerOptions>,
  });
  t.teardown(() => ts.close());
  (ts.server.users as SqliteUserStore).setExec(ALICE.name, true);
  const session = await Session.connect({ url: ts.url, user: ALICE.name, password: ALICE.password, reconnect: false });
  t.teardown(() => session.close());
  await session.request('mkdir', { path: '/docs', parents: true });
  const home = await realpath(join(ts.root, 'homes', ALICE.name));
  await writeFile(join(home, 'docs', 'a.txt'), 'inside\n');
  await mkdir(join(ts.root, 'homes', BOB.name), { recursive: true });
  await writeFile(join(ts.root, 'homes', BOB.name, 'secret.txt'), 'bob secret\n');
  return { ts, session, home, scripts, logs };
}

async function run(session: Session, argv: string[], cwd = '/'): Promise<{ code: number | null; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const result = await runRemote(session, { argv, cwd, onStdout: (d) => (stdout += d.toString()), onStderr: (d) => (stderr += d.toString()) });
  return { code: result.code, stdout, stderr };
}

test('pathCandidates: the whole argument, after = : , and after an option letters', (t) => {
  t.deepEqual(pathCandidates('docs/a.txt'), ['docs/a.txt']);
  t.true(pathCandidates('--files0-from=/srv/ferry/users.db').includes('/srv/ferry/users.db'));
  t.true(pathCandidates('if=/etc/passwd').includes('/etc/passwd'));
  t.true(pathCandidates('-f/etc/passwd').includes('/etc/passwd'));
  t.true(pathCandidates('-xzf../../x').includes('../../x'));
  t.true(pathCandidates('a,/etc/shadow').includes('/etc/shadow'));
  t.true(pathCandidates('host:/etc').includes('/etc'));
});

test('arguments that name paths outside the home are refused, before anything runs', async (t) => {
  const { ts, session, home, logs } = await setup(t, () => ['du', 'cat', 'dd', 'ls']);
  await symlink('..', join(home, 'up'));
  const db = join(ts.root, 'users.db');
  const refused: string[][] = [
    ['du', `--files0-from=${db}`],
    ['du', '--files0-from', db],
    ['cat', db],
    ['cat', '/etc/passwd'],
    ['cat', '--', '/etc/passwd'],
    ['cat', '../bob/secret.txt'],
    ['cat', 'docs/../../bob/secret.txt'],
    ['cat', 'up/bob/secret.txt'],
    ['dd', `if=${db}`],
    ['ls', '-d/etc'],
    ['ls', '..'],
    ['ls', `${home}/../bob`],
  ];
  for (const argv of refused) {
    const error = await t.throwsAsync(run(session, argv), { instanceOf: FerryError }, argv.join(' '));
    t.is(error?.code, 'EACCES', argv.join(' '));
    t.false(error?.message.includes(ts.root.slice(0, 8) + 'x'), 'no server path but the argument itself');
  }
  t.is((await run(session, ['cat', 'docs/a.txt'])).stdout, 'inside\n');
  t.is((await run(session, ['cat', `${home}/docs/a.txt`])).stdout, 'inside\n', 'an absolute path inside the home is fine');
  t.is((await run(session, ['cat', 'a.txt'], '/docs')).stdout, 'inside\n');
  t.is((await run(session, ['cat', '../docs/a.txt'], '/docs')).stdout, 'inside\n');
  const du = await run(session, ['du', '-s', '--apparent-size', '.']);
  t.is(du.code, 0);
  // Refusals are logged, with the argv cut down and at a bounded rate.
  t.true(logs.some((line) => line.includes('exec refused') && line.includes('files0-from')));
});

test('refusal logs are bounded: a long argv is cut, and a flood is counted, not written', async (t) => {
  const { session, logs } = await setup(t, () => ['cat']);
  const huge = ['cat', ...Array.from({ length: 40 }, (_, i) => `/etc/${'x'.repeat(1000)}${i}`)];
  for (let i = 0; i < 30; i++) await t.throwsAsync(run(session, huge));
  const lines = logs.filter((line) => line.includes('exec refused'));
  t.true(lines.length <= 10, `${lines.length} lines logged`);
  t.true(lines.every((line) => line.length < 8000), 'each line is short');
});

test('on a root server a command runs as the user\'s own uid: its home is writable, the server\'s files and other homes are not', async (t) => {
  const { ts, session, home, scripts } = await setup(t, (s) => Object.values(s));
  if (process.getuid?.() !== 0) {
    // Not root: no switch is possible, and the documented behaviour is the server's own uid.
    const own = await run(session, [scripts['whoami-write']!]);
    t.is(own.stdout.split('\n')[0], String(process.getuid?.()));
    return;
  }
  // The data root is written into the script: as an argument it would be refused, rightly.
  const script = scripts['whoami-write']!;
  await writeFile(script, `#!/bin/sh\nset -- ${JSON.stringify(ts.root)}\n${SCRIPTS['whoami-write']}`);
  const result = await run(session, [script]);
  t.is(result.code, 0, result.stderr);
  const [uid, ...rest] = result.stdout.trim().split('\n');
  t.true(Number(uid) >= 2_000_000_000, `uid ${uid}`);
  t.deepEqual(rest, ['home-ok']);
  t.is((await lstat(join(home, 'mine'))).uid, Number(uid));
  await t.throwsAsync(lstat(join(ts.root, 'homes', BOB.name, 'planted')), { code: 'ENOENT' });
  // What the server creates afterwards belongs to the same uid, so the command can write there too.
  t.true((await session.request('mkdir', { path: '/made-later' })) !== undefined);
  t.is((await lstat(join(home, 'made-later'))).uid, Number(uid));
  t.is((await lstat(join(home, 'docs', 'a.txt'))).uid, Number(uid), 'what was there before is given over too');
  // A second user gets another uid.
  t.is(await readFile(join(ts.root, 'homes', BOB.name, 'secret.txt'), 'utf8'), 'bob secret\n');
});

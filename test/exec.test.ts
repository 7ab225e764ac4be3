import { readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, realpath, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { runRemote, type RemoteResult } from '../src/client/exec.js';
import { Session } from '../src/client/session.js';
import { FerryError, FrameKind, type ErrorCode } from '../src/protocol/index.js';
import { loadServerConfig } from '../server/config.js';
import { createServer } from '../server/index.js';
import type { ServerOptions } from '../server/options.js';
import type { SqliteUserStore } from '../server/users/sqlite-user-store.js';
import { collect, runCli, spawnCli } from './helpers/cli.js';
import { RawClient } from './helpers/raw-client.js';
import { capturedLogger } from './helpers/log-lines.js';
import { startTestServer, type TestServer } from './helpers/server.js';

/*
 * Remote commands against a real server: real processes, spawned from small shell scripts the
 * tests write (allowlisted by absolute path; `sh` itself never is).
 */

const ALICE = { name: 'alice', password: 'alice-secret-1' };

/** Scripts the tests run, by name. Each is `#!/bin/sh` plus the body. */
const SCRIPTS: Record<string, string> = {
  // Prints, then waits for a file the test creates once it saw the first line, then prints again.
  'print-wait-print': 'echo first\necho to-stderr >&2\nwhile [ ! -e "$1" ]; do sleep 0.02; done\necho second\n',
  'args': 'for a in "$@"; do printf "[%s]\\n" "$a"; done\n',
  'exit-with': 'echo "bye $1"\nexit "$1"\n',
  'kill-self': 'kill -TERM $$\nsleep 5\n',
  'sleeper': 'echo "$$"\nsleep 30 &\necho "$!"\nwait\n',
  'flood': 'exec yes flood-flood-flood\n',
  'where': 'pwd\n',
};

interface ExecFixture {
  ts: TestServer;
  scripts: Record<string, string>;
  session: Session;
  home: string;
  logs: string[];
}

async function setup(t: ExecutionContext, options: { allow?: (scripts: Record<string, string>) => string[]; exec?: Partial<ServerOptions['exec']>; permit?: boolean } = {}): Promise<ExecFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-exec-scripts-'));
  // Programs an administrator allows are installed for everyone to run: commands run as the user's own uid.
  await chmod(dir, 0o755);
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const scripts: Record<string, string> = {};
  for (const [name, body] of Object.entries(SCRIPTS)) {
    const file = join(dir, name);
    await writeFile(file, `#!/bin/sh\n${body}`);
    await chmod(file, 0o755);
    scripts[name] = file;
  }
  const { logger, lines: logs } = capturedLogger();

  const ts = await startTestServer({
    users: [ALICE],
    options: {
      logger,
      exec: { allow: options.allow ? options.allow(scripts) : Object.values(scripts), ...options.exec },
    } as Partial<ServerOptions>,
  });
  t.teardown(() => ts.close());
  if (options.permit !== false) (ts.server.users as SqliteUserStore).setExec(ALICE.name, true);
  const session = await Session.connect({ url: ts.url, user: ALICE.name, password: ALICE.password, reconnect: false });
  t.teardown(() => session.close());
  // The server makes the home at the first use; the tests want to write into it before that.
  await mkdir(join(ts.root, 'homes', ALICE.name), { recursive: true, mode: 0o700 });
  const home = await realpath(join(ts.root, 'homes', ALICE.name));
  return { ts, scripts, session, home, logs };
}

interface Collected extends RemoteResult {
  stdout: string;
  stderr: string;
}

async function run(session: Session, argv: string[], cwd = '/'): Promise<Collected> {
  let stdout = '';
  let stderr = '';
  const result = await runRemote(session, {
    argv,
    cwd,
    onStdout: (data) => (stdout += data.toString()),
    onStderr: (data) => (stderr += data.toString()),
  });
  return { ...result, stdout, stderr };
}

async function refusal(t: ExecutionContext, promise: Promise<unknown>, code: ErrorCode, message?: RegExp): Promise<void> {
  const error = await t.throwsAsync(promise);
  t.true(error instanceof FerryError, String(error));
  t.is((error as FerryError).code, code, (error as Error).message);
  if (message) t.regex((error as Error).message, message);
}

/** True while `pid` runs; a zombie (dead, not yet reaped by whoever is its parent now) counts as gone. */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
  try {
    // /proc/PID/stat: "pid (comm) STATE ..."; comm may hold spaces, so read after the last ')'.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Polls until `check` holds (a safety net of 20 s, not a measurement). */
async function eventually(check: () => boolean | Promise<boolean>, what: string): Promise<void> {
  const until = Date.now() + 20_000;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`still not true after 20 s: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

test('output streams as it is produced: the first line arrives while the program still runs, then the rest and exit 0', async (t) => {
  const { session, scripts, home } = await setup(t);
  const chunks: Array<[string, string]> = [];
  let exited = false;
  let sawFirst!: () => void;
  const first = new Promise<void>((resolve) => (sawFirst = resolve));
  const running = runRemote(session, {
    argv: [scripts['print-wait-print']!, 'go-on'],
    onStdout: (data) => {
      chunks.push(['out', data.toString()]);
      if (data.toString().includes('first')) sawFirst();
    },
    onStderr: (data) => chunks.push(['err', data.toString()]),
  }).then((result) => {
    exited = true;
    return result;
  });
  await first;
  t.false(exited, 'the first line came before the program ended: it waits for the go-on file');
  await writeFile(join(home, 'go-on'), '');
  const result = await running;
  t.deepEqual(result, { code: 0, signal: null });
  const out = chunks.filter(([k]) => k === 'out').map(([, s]) => s).join('');
  t.is(out, 'first\nsecond\n', 'stdout in order');
  t.is(chunks.filter(([k]) => k === 'err').map(([, s]) => s).join(''), 'to-stderr\n');
});

test('raw protocol: reply first, then EXEC_STDOUT/EXEC_STDERR frames with per-stream offsets, then exec.exit', async (t) => {
  const { ts, scripts, home } = await setup(t);
  await writeFile(join(home, 'go-on'), '');
  const client = await RawClient.login(ts.url, ALICE.name, ALICE.password);
  t.teardown(() => client.close());
  const reply = await client.request('exec.start', { argv: [scripts['print-wait-print']!, 'go-on'], cwd: '/' });
  t.true(reply.ok, JSON.stringify(reply));
  const stream = reply.stream as number;
  const exit = await client.waitFor((m) => m.event === 'exec.exit' && m.stream === stream);
  t.deepEqual(exit, { event: 'exec.exit', stream, code: 0, signal: null });
  const frames = client.frames.filter((f) => f.stream === stream);
  const out = frames.filter((f) => f.kind === FrameKind.EXEC_STDOUT);
  const err = frames.filter((f) => f.kind === FrameKind.EXEC_STDERR);
  let offset = 0;
  for (const frame of out) {
    t.is(frame.offset, offset);
    offset += frame.payload.length;
  }
  t.is(Buffer.concat(out.map((f) => f.payload)).toString(), 'first\nsecond\n');
  t.is(Buffer.concat(err.map((f) => f.payload)).toString(), 'to-stderr\n');
  t.is(err[0]!.offset, 0, 'stderr counts its own offsets');
  const cancel = await client.request('exec.cancel', { stream });
  t.like(cancel, { ok: false, error: { code: 'EINVAL' } }, 'a finished command cannot be canceled');
});

test('exit codes and signals come through', async (t) => {
  const { session, scripts } = await setup(t);
  for (const code of [0, 1, 3, 255]) {
    const result = await run(session, [scripts['exit-with']!, String(code)]);
    t.is(result.code, code);
    t.is(result.signal, null);
    t.is(result.stdout, `bye ${code}\n`);
  }
  const killed = await run(session, [scripts['kill-self']!]);
  t.deepEqual({ code: killed.code, signal: killed.signal, reason: killed.reason }, { code: null, signal: 'SIGTERM', reason: undefined });
});

test('shell metacharacters reach the program as literal text, and nothing is run by them', async (t) => {
  const { session, scripts, home } = await setup(t);
  const args = ['; touch pwned', '$(touch pwned2)', '`touch pwned3`', 'a | b', '> out', '*', '$HOME', "it's \"quoted\"", '&& echo no', 'line\nbreak', ''];
  const result = await run(session, [scripts.args!, ...args]);
  t.is(result.code, 0, result.stderr);
  t.is(result.stdout, args.map((a) => `[${a}]\n`).join(''));
  t.deepEqual(await readdir(home), [], 'no file was created by any of them');
});

test('the working directory is the one asked for, inside the home; outside or missing ones are refused', async (t) => {
  const { session, scripts, home } = await setup(t);
  await mkdir(join(home, 'docs', 'deep'), { recursive: true });
  await writeFile(join(home, 'file.txt'), 'x');
  t.is((await run(session, [scripts.where!], '/')).stdout, `${home}\n`);
  t.is((await run(session, [scripts.where!], '/docs/deep')).stdout, `${join(home, 'docs', 'deep')}\n`);
  await refusal(t, run(session, [scripts.where!], '/..'), 'EACCES');
  await refusal(t, run(session, [scripts.where!], '/nope'), 'ENOENT');
  await refusal(t, run(session, [scripts.where!], '/file.txt'), 'ENOTDIR');
});

test('the environment is scrubbed: PATH fixed, HOME the user home, LANG, nothing else', async (t) => {
  const { session, home } = await setup(t, { allow: () => ['/usr/bin/env'] });
  process.env.FERRY_TEST_SECRET = 'leak';
  t.teardown(() => delete process.env.FERRY_TEST_SECRET);
  const result = await run(session, ['/usr/bin/env']);
  t.is(result.code, 0);
  t.deepEqual(result.stdout.trim().split('\n').sort(), [`HOME=${home}`, 'LANG=C.UTF-8', 'PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin']);
});

test('only allowlisted programs run: names, exact paths; no other path, no path with a slash, no PATH lookup of other names', async (t) => {
  const { session, scripts, logs } = await setup(t, { allow: (s) => ['uname', s.args!] });
  const uname = await run(session, ['uname', '-s']);
  t.is(uname.code, 0);
  t.is(uname.stdout, 'Linux\n');
  t.is((await run(session, ['args', 'by-name'])).stdout, '[by-name]\n', 'a bare name may pick an absolute entry by its last component');
  t.is((await run(session, [scripts.args!, 'by-path'])).stdout, '[by-path]\n');
  await refusal(t, run(session, ['sh', '-c', 'id']), 'EACCES', /not on this server's list/);
  await refusal(t, run(session, ['/bin/sh', '-c', 'id']), 'EACCES', /not on this server's list/);
  await refusal(t, run(session, ['/usr/bin/uname']), 'EACCES', /path must be listed exactly/);
  await refusal(t, run(session, ['./uname']), 'EACCES');
  await refusal(t, run(session, ['../../../bin/uname']), 'EACCES');
  await refusal(t, run(session, [scripts.where!]), 'EACCES', /not on this server's list/);
  await refusal(t, run(session, [`${scripts.args!}/`]), 'EACCES');
  const refused = logs.filter((line) => line.includes('exec refused'));
  t.true(refused.length >= 7, 'every refusal is logged');
  t.true(refused.some((line) => line.includes('"/bin/sh"') && line.includes('"user":"alice"')), 'with the argv and the user');
});

test('remote commands are off by default, and need the per-user permission', async (t) => {
  const ts = await startTestServer({ users: [ALICE] });
  t.teardown(() => ts.close());
  t.deepEqual(ts.server.options.exec.allow, []);
  (ts.server.users as SqliteUserStore).setExec(ALICE.name, true);
  const session = await Session.connect({ url: ts.url, user: ALICE.name, password: ALICE.password, reconnect: false });
  t.teardown(() => session.close());
  await refusal(t, run(session, ['uname']), 'EACCES', /not enabled/);

  const { session: denied, ts: server2 } = await setup(t, { allow: () => ['uname'], permit: false });
  await refusal(t, run(denied, ['uname']), 'EACCES', /may not run remote commands/);
  (server2.server.users as SqliteUserStore).setExec(ALICE.name, true);
  t.is((await run(denied, ['uname'])).code, 0, 'the permission applies to a running session at once');
  (server2.server.users as SqliteUserStore).setExec(ALICE.name, false);
  await refusal(t, run(denied, ['uname']), 'EACCES');
});

test('a command running past the timeout is killed and the client told so', async (t) => {
  const { session, scripts } = await setup(t, { exec: { timeoutMs: 300 } });
  const result = await run(session, [scripts.sleeper!]);
  t.is(result.reason, 'timeout');
  t.is(result.signal, 'SIGKILL');
  t.is(result.code, null);
  const [pid, sleepPid] = result.stdout.trim().split('\n').map(Number);
  await eventually(() => !alive(pid!) && !alive(sleepPid!), 'the script and its sleep are gone');
  t.pass();
});

test('output past the cap is cut at exactly the cap and the program killed', async (t) => {
  const cap = 64 * 1024 + 7;
  const { session, scripts } = await setup(t, { exec: { maxOutputBytes: cap } });
  const result = await run(session, [scripts.flood!]);
  t.is(result.reason, 'output-limit');
  t.is(result.signal, 'SIGKILL');
  t.is(result.stdout.length, cap);
  t.true(result.stdout.startsWith('flood-flood-flood\nflood'));
});

test('cancel kills the command; at most maxPerSession run at once (ELIMIT)', async (t) => {
  const { session, scripts } = await setup(t, { exec: { maxPerSession: 2 } });
  const controllers = [new AbortController(), new AbortController()];
  const pids: number[][] = [[], []];
  let started = 0;
  let bothStarted!: () => void;
  const ready = new Promise<void>((resolve) => (bothStarted = resolve));
  const runs = controllers.map((controller, i) => {
    let out = '';
    return runRemote(session, {
      argv: [scripts.sleeper!],
      signal: controller.signal,
      onStdout: (data) => {
        out += data.toString();
        const lines = out.split('\n').filter(Boolean);
        if (lines.length === 2 && pids[i]!.length === 0) {
          pids[i] = lines.map(Number);
          if (++started === 2) bothStarted();
        }
      },
    });
  });
  await ready;
  await refusal(t, run(session, [scripts.args!]), 'ELIMIT', /at most 2/);
  for (const controller of controllers) controller.abort();
  for (const result of await Promise.all(runs)) t.like(result, { reason: 'canceled', signal: 'SIGKILL', code: null });
  await eventually(() => pids.flat().every((pid) => !alive(pid)), 'canceled processes are gone');
  t.is((await run(session, [scripts.args!, 'again'])).stdout, '[again]\n', 'slots are free again');
});

test('a session closed mid-run kills its commands: the processes are gone afterwards', async (t) => {
  const { ts, scripts } = await setup(t);
  const client = await RawClient.login(ts.url, ALICE.name, ALICE.password);
  const reply = await client.request('exec.start', { argv: [scripts.sleeper!], cwd: '/' });
  t.true(reply.ok);
  await client.waitFor(() => Buffer.concat(client.frames.map((f) => f.payload)).toString().trim().split('\n').length === 2);
  const pids = Buffer.concat(client.frames.map((f) => f.payload)).toString().trim().split('\n').map(Number);
  t.true(pids.every(alive), 'both run before the close');
  client.ws.terminate();
  await eventually(() => ts.server.connections === 1, 'the server noticed the close (the fixture session stays)');
  t.true(pids.every((pid) => !alive(pid)), 'the script and its background sleep were killed with the session');
});

test('a start the client gives up on before its reply is canceled on the server', async (t) => {
  const { session, scripts, logs } = await setup(t);
  const controller = new AbortController();
  const running = runRemote(session, { argv: [scripts.sleeper!], signal: controller.signal });
  // After the request went out (the session sends it a few microtasks in), before the server answered.
  setImmediate(() => controller.abort());
  const outcome = await running.then(
    (result) => result.reason,
    (error: unknown) => (error as FerryError).code,
  );
  t.true(outcome === 'ECANCELED' || outcome === 'canceled', String(outcome));
  let line: { pid: number; reason?: string } | undefined;
  await eventually(() => {
    const found = logs.find((l) => l.includes('"msg":"exec"'));
    line = found === undefined ? undefined : (JSON.parse(found) as { pid: number; reason?: string });
    return line !== undefined;
  }, 'the run is logged as ended');
  t.is(line!.reason, 'canceled');
  t.false(alive(line!.pid));
});

test('a server shutting down kills the commands of its sessions', async (t) => {
  const { ts, session, scripts } = await setup(t);
  let out = '';
  let gotPids!: () => void;
  const started = new Promise<void>((resolve) => (gotPids = resolve));
  const running = runRemote(session, {
    argv: [scripts.sleeper!],
    onStdout: (data) => {
      out += data.toString();
      if (out.trim().split('\n').length === 2) gotPids();
    },
  });
  running.catch(() => {});
  await started;
  const pids = out.trim().split('\n').map(Number);
  t.true(pids.every(alive));
  await ts.server.close();
  t.true(pids.every((pid) => !alive(pid)), 'gone by the time close() resolves');
  await t.throwsAsync(running, { instanceOf: FerryError });
});

test('config: exec and registration from a file, flags merged field by field, bad entries refused with EINVAL', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-exec-config-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'ferry.json');
  await writeFile(
    file,
    JSON.stringify({ root: 'data', exec: { allow: ['uname', '/usr/bin/df'], timeoutMs: '10s', maxOutputBytes: '64KiB' }, registration: 'approval', maxRegistrationsPerIp: 2 }),
  );
  const options = loadServerConfig(file);
  t.deepEqual(options.exec, { allow: ['uname', '/usr/bin/df'], timeoutMs: 10_000, maxOutputBytes: 64 * 1024, maxPerSession: 3, isolation: 'user', uidBase: 2_000_000_000 });
  t.is(options.registration, 'approval');
  t.is(options.maxRegistrationsPerIp, 2);
  t.deepEqual(loadServerConfig(file, { exec: { allow: ['ls'] } }).exec, { allow: ['ls'], timeoutMs: 10_000, maxOutputBytes: 64 * 1024, maxPerSession: 3, isolation: 'user', uidBase: 2_000_000_000 }, 'a flag replaces only the list');
  const defaults = loadServerConfig(undefined, { root: dir });
  t.deepEqual(defaults.exec.allow, [], 'off by default');
  t.is(defaults.registration, 'off');

  const bad: unknown[] = [
    { exec: { allow: ['bin/ls'] } },
    { exec: { allow: ['/usr/bin/../bin/sh'] } },
    { exec: { allow: ['-rf'] } },
    { exec: { allow: 'uname' } },
    { exec: { allow: [''] } },
    { exec: { maxPerSession: 0 } },
    { exec: { timeout: '1s' } },
    { exec: ['uname'] },
    { registration: 'maybe' },
  ];
  for (const content of bad) {
    await writeFile(file, JSON.stringify({ root: 'data', ...(content as object) }));
    const error = t.throws(() => loadServerConfig(file), { instanceOf: FerryError }, JSON.stringify(content));
    t.is(error?.code, 'EINVAL', JSON.stringify(content));
  }
  t.throws(() => createServer({ root: dir, exec: { allow: ['./x'] } }), { instanceOf: FerryError, message: /absolute, normalised path/ });
});

test('ferry serve --exec-allow and --registration reach the server', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'ferry-exec-serve-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const child = spawnCli(['serve', '--root', root, '--port', '0', '--exec-allow', 'uname,df', '--exec-allow', '/usr/bin/env', '--registration', 'open']);
  const done = collect(child);
  let out = '';
  const listening = await new Promise<Record<string, unknown>>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const line = out.split('\n').find((l) => l.includes('"listening"'));
      if (line) resolve(JSON.parse(line) as Record<string, unknown>);
    });
    child.once('exit', () => reject(new Error(`serve ended: ${out}`)));
  });
  child.kill('SIGTERM');
  t.is((await done).code, 0);
  t.deepEqual(listening.execAllow, ['uname', 'df', '/usr/bin/env']);
  t.is(listening.registration, 'open');
  const bad = await runCli(['serve', '--root', root, '--port', '0', '--exec-allow', 'bin/sh']);
  t.is(bad.code, 2, bad.stderr);
  t.regex(bad.stderr, /absolute, normalised path/);
});

test('ferry user add --exec and user mod --exec/--no-exec set the permission', async (t) => {
  const root = await mkdtemp(join(tmpdir(), 'ferry-exec-admin-'));
  t.teardown(() => rm(root, { recursive: true, force: true }));
  const user = (args: string[], input?: string) => runCli(['user', ...args, '--root', root], input === undefined ? {} : { input });
  const execOf = async (name: string) => {
    const listed = JSON.parse((await user(['list', '--json'])).stdout) as Array<{ name: string; exec: boolean }>;
    return listed.find((u) => u.name === name)?.exec;
  };
  const added = await user(['add', 'bob', '--exec', '--password-stdin'], 'bob-secret-1\n');
  t.is(added.code, 0, added.stderr);
  t.regex(added.stdout, /may run remote commands/);
  t.true(await execOf('bob'));
  t.is((await user(['add', 'carl', '--password-stdin'], 'carl-secret-1\n')).code, 0);
  t.false(await execOf('carl'), 'off unless asked for');
  t.is((await user(['mod', 'carl', '--exec'])).code, 0);
  t.true(await execOf('carl'));
  const off = await user(['mod', 'bob', '--no-exec']);
  t.is(off.code, 0);
  t.regex(off.stdout, /bob may not run remote commands/);
  t.false(await execOf('bob'));
  t.is((await user(['mod', 'bob'])).code, 2, 'nothing to change is a usage error');
  t.is((await user(['mod', 'nobody-here', '--exec'])).code, 4);
});

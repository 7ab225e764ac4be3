import { readFileSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { endReasonText, remoteExitStatus } from '../src/cli/exec-command.js';
import type { ServerOptions } from '../server/options.js';
import type { SqliteUserStore } from '../server/users/sqlite-user-store.js';
import { collect, runCli, spawnCli, type CliResult } from './helpers/cli.js';
import { startTestServer, type TestServer } from './helpers/server.js';

/* `ferry exec` as a user runs it: the real bin in a child process against a real server. */

const PASSWORD = 'alice-secret-1';

async function setup(t: ExecutionContext, exec: Partial<ServerOptions['exec']> = {}): Promise<{ ts: TestServer; scripts: Record<string, string> }> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-cli-exec-'));
  // Programs an administrator allows are installed for everyone to run: commands run as the user's own uid.
  await chmod(dir, 0o755);
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const bodies: Record<string, string> = {
    'exit-with': 'echo "out $1"\necho "err $1" >&2\nexit "$1"\n',
    'kill-self': 'kill -TERM $$\nsleep 5\n',
    'sleeper': 'echo "$$"\nsleep 30 &\necho "$!"\nwait\n',
    'args': 'for a in "$@"; do printf "[%s]\\n" "$a"; done\npwd\n',
  };
  const scripts: Record<string, string> = {};
  for (const [name, body] of Object.entries(bodies)) {
    scripts[name] = join(dir, name);
    await writeFile(scripts[name]!, `#!/bin/sh\n${body}`);
    await chmod(scripts[name]!, 0o755);
  }
  const ts = await startTestServer({
    users: [{ name: 'alice', password: PASSWORD }],
    options: { exec: { allow: ['uname', ...Object.values(scripts)], ...exec } } as Partial<ServerOptions>,
  });
  t.teardown(() => ts.close());
  (ts.server.users as SqliteUserStore).setExec('alice', true);
  return { ts, scripts };
}

function ferryExec(ts: TestServer, path: string, argv: string[]): Promise<CliResult> {
  return runCli(['exec', `ferry://alice@127.0.0.1:${ts.port}${path}`, '--', ...argv], { env: { FERRY_PASSWORD: PASSWORD } });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    return (error as NodeJS.ErrnoException).code !== 'ESRCH';
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

test('ferry exec prints the output and exits with the remote status', async (t) => {
  const { ts, scripts } = await setup(t);
  const uname = await ferryExec(ts, '/', ['uname', '-s']);
  t.is(uname.code, 0, uname.stderr);
  t.is(uname.stdout, 'Linux\n');
  const three = await ferryExec(ts, '/', [scripts['exit-with']!, '3']);
  t.is(three.code, 3);
  t.is(three.stdout, 'out 3\n');
  t.is(three.stderr, 'err 3\n', 'remote stderr goes to our stderr, with nothing added');
  const signaled = await ferryExec(ts, '/', [scripts['kill-self']!]);
  t.is(signaled.code, 128 + 15, 'a signal reads as 128 + its number, as in a shell');
});

test('arguments starting with - and shell metacharacters pass through; the URL path is the working directory', async (t) => {
  const { ts, scripts } = await setup(t);
  const made = await runCli(['mkdir', `ferry://alice@127.0.0.1:${ts.port}/work dir`], { env: { FERRY_PASSWORD: PASSWORD } });
  t.is(made.code, 0, made.stderr);
  const result = await ferryExec(ts, '/work%20dir', [scripts.args!, '-la', '--password-stdin', '$(id)', '; ls']);
  t.is(result.code, 0, result.stderr);
  const lines = result.stdout.trim().split('\n');
  t.deepEqual(lines.slice(0, 4), ['[-la]', '[--password-stdin]', '[$(id)]', '[; ls]']);
  t.regex(lines[4]!, /\/homes\/alice\/work dir$/);
});

test('a refused program exits with the access status and says why', async (t) => {
  const { ts } = await setup(t);
  const result = await ferryExec(ts, '/', ['sh', '-c', 'id']);
  t.is(result.code, 9, result.stderr);
  t.regex(result.stderr, /^ferry: "sh" is not on this server's list of allowed programs \(EACCES\)$/m);
  t.is(result.stdout, '');
});

test('a timeout is reported on stderr, with the killing signal as status', async (t) => {
  const { ts, scripts } = await setup(t, { timeoutMs: 300 });
  const result = await ferryExec(ts, '/', [scripts.sleeper!]);
  t.is(result.code, 128 + 9);
  t.regex(result.stderr, /ran longer than the server allows/);
});

test('SIGINT cancels the command on the server: status 130 and the processes are gone', async (t) => {
  const { ts, scripts } = await setup(t);
  const child = spawnCli(['exec', `ferry://alice@127.0.0.1:${ts.port}/`, '--', scripts.sleeper!], { env: { FERRY_PASSWORD: PASSWORD } });
  const done = collect(child);
  let out = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      if (out.trim().split('\n').length === 2) resolve();
    });
    child.once('exit', () => reject(new Error(`ferry exec ended early: ${out}`)));
  });
  const pids = out.trim().split('\n').map(Number);
  t.true(pids.every(alive));
  child.kill('SIGINT');
  const result = await done;
  t.is(result.code, 130, result.stderr);
  t.true(pids.every((pid) => !alive(pid)), 'the server killed the script and its child before answering');
});

test('exit status and reason texts', (t) => {
  t.is(remoteExitStatus({ code: 0, signal: null }, false), 0);
  t.is(remoteExitStatus({ code: 42, signal: null }, false), 42);
  t.is(remoteExitStatus({ code: null, signal: 'SIGKILL', reason: 'timeout' }, false), 137);
  t.is(remoteExitStatus({ code: null, signal: 'SIGKILL', reason: 'canceled' }, true), 130);
  t.is(remoteExitStatus({ code: null, signal: 'SIGNOPE' }, false), 1, 'an unknown signal name is a plain failure');
  t.is(endReasonText({ code: 0, signal: null }), undefined);
  t.regex(endReasonText({ code: null, signal: 'SIGKILL', reason: 'output-limit' })!, /more output/);
});

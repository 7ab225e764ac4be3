import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import test, { type ExecutionContext } from 'ava';
import { ferryArgv, runCli } from './helpers/cli.js';
import { answerOnTerminal } from './helpers/pty.js';

/*
 * The "done when", as a new user would do it: `ferry serve --host 0.0.0.0` with nothing
 * else, and a client on "another machine" that sees the fingerprint once and copies files over
 * TLS. The other machine is an address that is not loopback: 192.0.2.1 (TEST-NET-1) on the
 * loopback device of a network namespace this test makes, so nothing can leave the namespace.
 * Every ferry process runs inside it through nsenter; the namespace is held by a `sleep` that is
 * stopped by PID.
 */

const ADDRESS = '192.0.2.1';
const ALICE = { name: 'alice', password: 'alice-secret-1' };
const repo = fileURLToPath(new URL('..', import.meta.url));

/** Whether this machine lets us make a network namespace (root with CAP_SYS_ADMIN, unshare, ip). */
const netnsProbe = ((): { ok: true } | { ok: false; why: string } => {
  const probe = spawnSync('unshare', ['-n', 'ip', 'addr', 'add', `${ADDRESS}/32`, 'dev', 'lo'], { encoding: 'utf8' });
  if (probe.status === 0) return { ok: true };
  return { ok: false, why: (probe.stderr || String(probe.error)).trim().split('\n')[0]! };
})();
const skipNote = netnsProbe.ok ? '' : ` (skipped: cannot make a network namespace: ${netnsProbe.why})`;

async function tempDir(t: ExecutionContext, prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

/** A network namespace with lo up and ADDRESS on it; stopped with the test. Returns the nsenter prefix. */
async function namespace(t: ExecutionContext): Promise<string[]> {
  const holder = spawn('unshare', ['-n', 'sleep', '600'], { stdio: 'ignore' });
  t.teardown(() => holder.kill('SIGKILL'));
  await new Promise<void>((resolve, reject) => {
    holder.once('spawn', resolve);
    holder.once('error', reject);
  });
  const enter = ['nsenter', '-t', String(holder.pid), '-n'];
  // unshare has made the namespace once `ip` inside it sees only lo (and no address of ours).
  for (let tries = 0; ; tries++) {
    const up = spawnSync(enter[0]!, [...enter.slice(1), 'sh', '-c', `ip link set lo up && ip addr add ${ADDRESS}/32 dev lo`], { encoding: 'utf8' });
    if (up.status === 0) break;
    if (tries > 200) throw new Error(`could not set up the namespace: ${up.stderr}`);
    await new Promise((resolve) => setImmediate(resolve));
  }
  return enter;
}

/** `ferry serve --host 0.0.0.0` inside the namespace; resolves with its port and fingerprint once it listens. */
async function serve(t: ExecutionContext, enter: string[], root: string): Promise<{ port: number; fingerprint: string; child: ChildProcess }> {
  const [program, ...args] = [...enter, ...ferryArgv(), 'serve', '--root', root, '--host', '0.0.0.0', '--port', '0'];
  const child = spawn(program!, args, { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => child.kill('SIGTERM'));
  let stdout = '';
  let stderr = '';
  return new Promise((resolve, reject) => {
    child.stderr!.setEncoding('utf8').on('data', (text: string) => (stderr += text));
    child.stdout!.setEncoding('utf8').on('data', (text: string) => {
      stdout += text;
      const listening = stdout.split('\n').find((line) => line.includes('"msg":"listening"'));
      const identity = stdout.split('\n').find((line) => line.includes('"msg":"tls identity"'));
      if (listening && identity) resolve({ port: JSON.parse(listening).port, fingerprint: JSON.parse(identity).fingerprint, child });
    });
    child.once('close', (code) => reject(new Error(`ferry serve ended (${code}): ${stderr}`)));
  });
}

(netnsProbe.ok ? test : test.skip)(`ferry serve --host 0.0.0.0, then from another address: the fingerprint once, files copied over TLS${skipNote}`, async (t) => {
  const enter = await namespace(t);
  const root = await tempDir(t, 'ferry-netns-root-');
  const added = await runCli(['user', 'add', ALICE.name, '--root', root, '--password-stdin'], { input: `${ALICE.password}\n` });
  t.is(added.code, 0, added.stderr);
  const server = await serve(t, enter, root);
  const config = await tempDir(t, 'ferry-netns-client-');
  const env = { XDG_CONFIG_HOME: config, FERRY_PASSWORD: ALICE.password };
  const remote = `ferry://alice@${ADDRESS}:${server.port}`;

  const local = join(config, 'report.txt');
  await writeFile(local, 'quarterly numbers\n'.repeat(1000));
  const put = await answerOnTerminal([...enter, ...ferryArgv(), 'put', local, `${remote}/report.txt`], env, 'Trust it?', 'yes');
  t.is(put.code, 0, put.out);
  t.true(put.out.includes(server.fingerprint), 'the fingerprint the server printed is the one shown');
  t.regex(put.out, /is not known \(a self-signed certificate\)/);
  const knownHosts = await readFile(join(config, 'ferry', 'known_hosts'), 'utf8');
  t.true(knownHosts.startsWith(`${ADDRESS}:${server.port} ${server.fingerprint} `), knownHosts);

  // No terminal and no question the second time: the pin is enough.
  const back = join(config, 'back.txt');
  const get = await runCli(['get', `${remote}/report.txt`, back], { env, wrapper: enter });
  t.is(get.code, 0, get.stderr);
  t.is(await readFile(back, 'utf8'), await readFile(local, 'utf8'));

  // Plain ws:// from off loopback is refused by the server, with the reason.
  const plain = await runCli(['ls', `ferry+ws://alice@${ADDRESS}:${server.port}/`], { env, wrapper: enter });
  t.not(plain.code, 0);
  t.regex(plain.stderr, /speaks TLS only/);

  // From the server's own machine, over loopback, the same port speaks plain ws:// (no pin, no question).
  const fresh = await tempDir(t, 'ferry-netns-loopback-');
  const loopback = await runCli(['ls', `ferry://alice@127.0.0.1:${server.port}/`], { env: { ...env, XDG_CONFIG_HOME: fresh }, wrapper: enter });
  t.is(loopback.code, 0, loopback.stderr);
  t.regex(loopback.stdout, /report\.txt/);
});

(netnsProbe.ok ? test : test.skip)(`ferrys:// to a plain server says it does not speak TLS${skipNote}`, async (t) => {
  const enter = await namespace(t);
  const root = await tempDir(t, 'ferry-netns-plain-');
  const [program, ...args] = [...enter, ...ferryArgv(), 'serve', '--root', root, '--host', '0.0.0.0', '--port', '0', '--insecure'];
  const child = spawn(program!, args, { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => child.kill('SIGTERM'));
  const port = await new Promise<number>((resolve, reject) => {
    let stdout = '';
    child.stdout!.setEncoding('utf8').on('data', (text: string) => {
      stdout += text;
      const line = stdout.split('\n').find((l) => l.includes('"msg":"listening"'));
      if (line) resolve(JSON.parse(line).port);
    });
    child.once('close', (code) => reject(new Error(`ferry serve ended (${code})`)));
  });
  const tls = await runCli(['ls', `ferry://alice@${ADDRESS}:${port}/`], { env: { FERRY_PASSWORD: 'x', XDG_CONFIG_HOME: root }, wrapper: enter });
  t.not(tls.code, 0);
  t.regex(tls.stderr, /does not speak TLS.*ferry\+ws:\/\//s);
});

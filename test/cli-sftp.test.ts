import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { collect, runCli, spawnCli } from './helpers/cli.js';
import { startThrottleProxy } from './helpers/throttle-proxy.js';
import { sshdForThisFile, sshdSkipNote, sshdTest } from './helpers/sshd.js';

const run = promisify(execFile);
const sshd = sshdForThisFile('ferry-cli-sftp-');

/** An ssh config naming our sshd `testbox`, and the environment that makes ferry read it. */
async function setup(port = sshd.server()!.port): Promise<{ env: Record<string, string>; dir: string; fingerprint: string }> {
  const server = sshd.server()!;
  const dir = await mkdtemp(join(sshd.work(), 'cli-'));
  const config = join(dir, 'ssh_config');
  await writeFile(
    config,
    [
      'Host testbox',
      '  HostName 127.0.0.1',
      `  Port ${port}`,
      `  User ${server.user}`,
      `  IdentityFile ${server.clientKey}`,
      '  IdentitiesOnly yes',
      `  UserKnownHostsFile ${join(dir, 'known_hosts')}`,
      '',
    ].join('\n'),
  );
  const printed = (await run('ssh-keygen', ['-lf', join(sshd.work(), 'sshd', 'host_ed25519.pub')])).stdout;
  const fingerprint = /SHA256:\S+/.exec(printed)![0];
  return { env: { FERRY_SSH_CONFIG: config, XDG_CONFIG_HOME: join(dir, 'config'), XDG_STATE_HOME: join(dir, 'state'), SSH_AUTH_SOCK: '' }, dir, fingerprint };
}

sshdTest(`ferry ls on an ssh alias: an unknown host key stops with its fingerprint; --fingerprint accepts it${sshdSkipNote}`, async (t) => {
  const { env, dir, fingerprint } = await setup();
  await mkdir(join(dir, 'tree', 'sub'), { recursive: true });
  await writeFile(join(dir, 'tree', 'a.txt'), 'alpha');
  const refused = await runCli(['ls', `sftp://testbox${dir}/tree`], { env });
  t.not(refused.code, 0);
  t.true(refused.stderr.includes(fingerprint), refused.stderr);
  t.regex(refused.stderr, /--fingerprint SHA256:/);
  const listed = await runCli(['ls', '--fingerprint', fingerprint, `sftp://testbox${dir}/tree`], { env });
  t.is(listed.code, 0, listed.stderr);
  t.is(listed.stdout, 'a.txt\nsub/\n');
  const json = await runCli(['ls', '--json', '--fingerprint', fingerprint, `sftp://testbox${dir}/tree/a.txt`], { env });
  t.like(JSON.parse(json.stdout)[0], { name: 'a.txt', type: 'file', size: 5 });
  const missing = await runCli(['ls', '--fingerprint', fingerprint, `sftp://testbox${dir}/nothing`], { env });
  t.is(missing.code, 4, 'not found has its own exit status');
});

sshdTest(`ferry put, get, mkdir, mv and rm against an SSH server${sshdSkipNote}`, async (t) => {
  const { env, dir, fingerprint } = await setup();
  const withKey = { env: { ...env, FERRY_FINGERPRINT: fingerprint } };
  const remote = (path: string) => `sftp://testbox${dir}/remote${path}`;
  t.is((await runCli(['mkdir', '-p', remote('/in/deep')], withKey)).code, 0);
  t.true((await stat(join(dir, 'remote', 'in', 'deep'))).isDirectory());

  const data = randomBytes(3 * 1024 * 1024 + 11);
  await mkdir(join(dir, 'local', 'tree', 'nested'), { recursive: true });
  await writeFile(join(dir, 'local', 'tree', 'big.bin'), data);
  await writeFile(join(dir, 'local', 'tree', 'nested', 'small.txt'), 'small');
  const put = await runCli(['put', '-r', '-q', join(dir, 'local', 'tree'), remote('/in')], withKey);
  t.is(put.code, 0, put.stderr);
  t.true((await readFile(join(dir, 'remote', 'in', 'tree', 'big.bin'))).equals(data));
  t.is(await readFile(join(dir, 'remote', 'in', 'tree', 'nested', 'small.txt'), 'utf8'), 'small');

  const get = await runCli(['get', '-r', '-q', remote('/in/tree'), join(dir, 'back')], withKey);
  t.is(get.code, 0, get.stderr);
  t.true((await readFile(join(dir, 'back', 'tree', 'big.bin'))).equals(data));
  t.is(await readFile(join(dir, 'back', 'tree', 'nested', 'small.txt'), 'utf8'), 'small');

  t.is((await runCli(['mv', remote('/in/tree/big.bin'), remote('/in/deep')], withKey)).code, 0, 'into an existing directory');
  t.true((await readFile(join(dir, 'remote', 'in', 'deep', 'big.bin'))).equals(data));
  const notEmpty = await runCli(['rm', remote('/in')], withKey);
  t.is(notEmpty.code === 0, false, 'a directory needs -r');
  t.is((await runCli(['rm', '-r', remote('/in')], withKey)).code, 0);
  await t.throwsAsync(stat(join(dir, 'remote', 'in')));
});

sshdTest(`a put to an SSH server killed with SIGKILL part way finishes when run again, from the partial it left${sshdSkipNote}`, async (t) => {
  // Slow enough that the kill lands in the middle, whatever the machine.
  const proxy = await startThrottleProxy(sshd.server()!.port, 4 * 1024 * 1024, { both: true });
  t.teardown(() => proxy.close());
  const { env, dir, fingerprint } = await setup(proxy.port);
  const data = randomBytes(24 * 1024 * 1024);
  await writeFile(join(dir, 'big.bin'), data);
  await mkdir(join(dir, 'remote'));
  const args = ['put', '-q', join(dir, 'big.bin'), `sftp://testbox${dir}/remote/`];
  const withKey = { env: { ...env, FERRY_FINGERPRINT: fingerprint }, cwd: dir };
  const child = spawnCli(args, withKey);
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  const exited = collect(child);
  // Wait (by polling the server's disk, not by sleeping a guessed time) for a few MiB of partial.
  const part = join(dir, 'remote', '.big.bin.ferry-part');
  for (;;) {
    const size = (await stat(part).catch(() => undefined))?.size ?? 0;
    if (size >= 4 * 1024 * 1024 || child.exitCode !== null) break;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  child.kill('SIGKILL');
  t.is((await exited).signal, 'SIGKILL', 'the first run was still going');
  const kept = (await stat(part)).size;
  t.true(kept > 0 && kept < data.length, `the partial holds ${kept} bytes`);
  proxy.setRate(null);
  const second = await runCli(args, withKey);
  t.is(second.code, 0, second.stderr);
  t.true((await readFile(join(dir, 'remote', 'big.bin'))).equals(data));
  await t.throwsAsync(stat(part), { code: 'ENOENT' });
});

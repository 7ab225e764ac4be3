import test from 'ava';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { runCli } from './helpers/cli.js';
import { sshdForThisFile, sshdSkipNote } from './helpers/sshd.js';

const run = promisify(execFile);
const sshd = sshdForThisFile('ferry-cli-sftp-');

/** An ssh config naming our sshd `testbox`, and the environment that makes ferry read it. */
async function setup(): Promise<{ env: Record<string, string>; dir: string; fingerprint: string }> {
  const server = sshd.server()!;
  const dir = await mkdtemp(join(sshd.work(), 'cli-'));
  const config = join(dir, 'ssh_config');
  await writeFile(
    config,
    [
      'Host testbox',
      '  HostName 127.0.0.1',
      `  Port ${server.port}`,
      `  User ${server.user}`,
      `  IdentityFile ${server.clientKey}`,
      '  IdentitiesOnly yes',
      `  UserKnownHostsFile ${join(dir, 'known_hosts')}`,
      '',
    ].join('\n'),
  );
  const printed = (await run('ssh-keygen', ['-lf', join(sshd.work(), 'sshd', 'host_ed25519.pub')])).stdout;
  const fingerprint = /SHA256:\S+/.exec(printed)![0];
  return { env: { FERRY_SSH_CONFIG: config, XDG_CONFIG_HOME: join(dir, 'config'), SSH_AUTH_SOCK: '' }, dir, fingerprint };
}

test(`ferry ls on an ssh alias: an unknown host key stops with its fingerprint; --fingerprint accepts it${sshdSkipNote}`, async (t) => {
  if (!sshd.server()) return t.pass();
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

test(`ferry put, get, mkdir, mv and rm against an SSH server${sshdSkipNote}`, async (t) => {
  if (!sshd.server()) return t.pass();
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

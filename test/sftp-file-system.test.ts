import test from 'ava';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, symlink, writeFile, mkdir as mkdirLocal } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { findExecutable } from '../bench/peers/processes.js';
import type { SshServer } from '../bench/peers/sshd.js';
import { sshdForThisFile, sshdSkipNote, sshdTest } from './helpers/sshd.js';
import { openSftp, type SftpConnectOptions } from '../src/fs/sftp/sftp-connection.js';
import { SftpFileSystem } from '../src/fs/sftp/sftp-file-system.js';
import { addKnownHost, checkHostKey, knownHostsName } from '../src/fs/sftp/known-hosts.js';
import { resolveSshTarget, type SshTarget } from '../src/fs/sftp/ssh-target.js';
import { FerryError } from '../src/protocol/index.js';

const run = promisify(execFile);
const haveSsh = (await findExecutable('ssh')) !== undefined;
const sshd = sshdForThisFile('ferry-sftp-');
const skip = sshdSkipNote;

function targetFor(sshd: SshServer, knownHosts: string, identity = sshd.clientKey): SshTarget {
  return {
    alias: '127.0.0.1',
    host: '127.0.0.1',
    port: sshd.port,
    user: sshd.user,
    identityFiles: [identity],
    identitiesOnly: true,
    hostKeyName: '127.0.0.1',
    knownHostsFiles: [knownHosts],
  };
}

async function connect(t: { teardown(fn: () => void): void }, options: Partial<SftpConnectOptions> & { target: SshTarget; ferryKnownHosts: string }) {
  const connection = await openSftp({ agent: '', ...options });
  t.teardown(() => connection.client.end());
  return connection;
}

test('known_hosts: plain, [host]:port, hashed, negated and revoked lines, and a changed key', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-known-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const key = { type: 'ssh-ed25519', base64: 'AAAAC3NzaC1lZDI1NTE5AAAAIKnownKeyForTestingPurposesOnly000000000' };
  const other = { type: 'ssh-ed25519', base64: 'AAAAC3NzaC1lZDI1NTE5AAAAIAnotherKeyForTestingPurposesOnly0000000' };
  const file = join(dir, 'known_hosts');
  // `ssh-keygen -H` writes the hashed form; make one for [127.0.0.1]:2222 with the real tool.
  await writeFile(file, `plain.example,alias.example ${key.type} ${key.base64}\n[127.0.0.1]:2222 ${key.type} ${key.base64}\n*.wild.example,!bad.wild.example ${key.type} ${key.base64}\n`);
  t.is((await checkHostKey([file], 'alias.example', 22, key)).status, 'known');
  t.is((await checkHostKey([file], '127.0.0.1', 2222, key)).status, 'known');
  t.is((await checkHostKey([file], '127.0.0.1', 22, key)).status, 'unknown', 'the port is part of the name');
  t.is((await checkHostKey([file], 'a.wild.example', 22, key)).status, 'known');
  t.is((await checkHostKey([file], 'bad.wild.example', 22, key)).status, 'unknown', 'a negation wins');
  const changed = await checkHostKey([file], 'plain.example', 22, other);
  t.is(changed.status, 'changed');
  if (changed.status === 'changed') t.is(changed.line, 1);
  if (await findExecutable('ssh-keygen')) {
    await run('ssh-keygen', ['-H', '-f', file]);
    const hashed = await readFile(file, 'utf8');
    t.false(hashed.includes('plain.example'), 'ssh-keygen -H hashed the names');
    t.is((await checkHostKey([file], 'plain.example', 22, key)).status, 'known', 'hashed entries are checked');
    t.is((await checkHostKey([file], '127.0.0.1', 2222, key)).status, 'known');
  }
  await writeFile(file, `@revoked * ${key.type} ${key.base64}\n`, { flag: 'a' });
  t.is((await checkHostKey([file], 'plain.example', 22, key)).status, 'revoked');
  const saved = join(dir, 'ferry', 'ssh_known_hosts');
  await addKnownHost(saved, '10.0.0.1', 2200, other);
  t.is(await readFile(saved, 'utf8'), `${knownHostsName('10.0.0.1', 2200)} ${other.type} ${other.base64}\n`);
  t.is((await checkHostKey([saved], '10.0.0.1', 2200, other)).status, 'known');
});

sshdTest(`an unknown host key is refused without a question, saved when accepted, then known; a changed one is refused loudly${skip}`, async (t) => {
  const server = sshd.server()!;
  const dir = await mkdtemp(join(sshd.work(), 'trust-'));
  const userKnown = join(dir, 'user_known_hosts');
  const ferryKnown = join(dir, 'ferry_known_hosts');
  const target = targetFor(server, userKnown);
  const refused = await t.throwsAsync(openSftp({ target, ferryKnownHosts: ferryKnown, agent: '' }));
  t.is((refused as FerryError).code, 'EIDENTITY');
  t.regex(refused!.message, /not a known host; its ssh-ed25519 key is SHA256:\S+\. Check it, then connect with --fingerprint SHA256:/);

  let asked = 0;
  const first = await connect(t, { target, ferryKnownHosts: ferryKnown, askHostKey: async () => (asked++, 'save') });
  t.is(asked, 1);
  t.is(first.trust, 'saved');
  t.true((await readFile(ferryKnown, 'utf8')).includes(`[127.0.0.1]:${server.port} ssh-ed25519 `));
  const again = await connect(t, { target, ferryKnownHosts: ferryKnown, askHostKey: async () => (asked++, 'refuse') });
  t.is(again.trust, 'known');
  t.is(asked, 1, 'a saved key is not asked about again');

  const pinned = await connect(t, { target, ferryKnownHosts: join(dir, 'none'), expectedFingerprint: first.fingerprint });
  t.is(pinned.trust, 'pinned');

  // The user's own known_hosts has another key for this host: ssh's "HAS CHANGED".
  await writeFile(userKnown, `[127.0.0.1]:${server.port} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOtherHostKeyForTheChangedCase00000000000\n`);
  const changed = await t.throwsAsync(openSftp({ target, ferryKnownHosts: join(dir, 'none2'), agent: '', askHostKey: async () => 'save' }));
  t.is((changed as FerryError).code, 'EIDENTITY');
  t.regex(changed!.message, /REMOTE HOST IDENTIFICATION HAS CHANGED .*user_known_hosts:1 has SHA256:/);
});

sshdTest(`a key the server does not know is EAUTH${skip}`, async (t) => {
  const server = sshd.server()!;
  const dir = await mkdtemp(join(sshd.work(), 'auth-'));
  const stranger = join(dir, 'stranger');
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', stranger]);
  const error = await t.throwsAsync(openSftp({ target: targetFor(server, join(dir, 'k'), stranger), ferryKnownHosts: join(dir, 'f'), agent: '', askHostKey: async () => 'once' }));
  t.is((error as FerryError).code, 'EAUTH');
});

sshdTest(`browsing over SFTP: list, stat (links say what they point at), mkdir -p, rename, remove, free space${skip}`, async (t) => {
  const server = sshd.server()!;
  const dir = await mkdtemp(join(sshd.work(), 'browse-'));
  await mkdirLocal(join(dir, 'sub'));
  await writeFile(join(dir, 'sub', 'a.txt'), 'hello');
  await symlink('sub', join(dir, 'to-sub'));
  await symlink('sub/a.txt', join(dir, 'to-a'));
  const connection = await connect(t, { target: targetFor(server, join(dir, 'k')), ferryKnownHosts: join(dir, 'f'), askHostKey: async () => 'once' });
  const fs = new SftpFileSystem(connection, `${server.user}@127.0.0.1:${server.port}`);
  t.is(fs.kind, 'sftp');
  t.truthy(fs.home.startsWith('/'));

  const names = (await fs.list(dir)).map((entry) => `${entry.name}:${entry.type}${entry.target ? `->${entry.target}` : ''}`).sort();
  t.deepEqual(names, ['sub:dir', 'to-a:symlink->file', 'to-sub:symlink->dir']);
  const file = await fs.stat(fs.join(dir, 'sub/a.txt'));
  t.like(file, { name: 'a.txt', type: 'file', size: 5 });
  t.is(await fs.stat(fs.join(dir, 'missing')), null);

  await fs.mkdir(fs.join(dir, 'x/y/z'), { parents: true });
  await fs.mkdir(fs.join(dir, 'x/y/z'), { parents: true });
  t.is((await fs.stat(fs.join(dir, 'x/y/z')))?.type, 'dir');
  const exists = await t.throwsAsync(fs.mkdir(fs.join(dir, 'x')));
  t.is((exists as FerryError).code, 'EEXIST');

  await writeFile(join(dir, 'b.txt'), 'bee');
  const clash = await t.throwsAsync(fs.rename(fs.join(dir, 'b.txt'), fs.join(dir, 'sub/a.txt')));
  t.is((clash as FerryError).code, 'EEXIST');
  await fs.rename(fs.join(dir, 'b.txt'), fs.join(dir, 'sub/a.txt'), { overwrite: true });
  t.is(await readFile(join(dir, 'sub', 'a.txt'), 'utf8'), 'bee');

  const notEmpty = await t.throwsAsync(fs.remove(fs.join(dir, 'x')));
  t.is((notEmpty as FerryError).code, 'ENOTEMPTY');
  await fs.remove(fs.join(dir, 'x'), { recursive: true });
  t.is(await fs.stat(fs.join(dir, 'x')), null);
  const gone = await t.throwsAsync(fs.remove(fs.join(dir, 'x')));
  t.is((gone as FerryError).code, 'ENOENT');

  const quota = await fs.quota();
  t.truthy(quota && quota.total > 0 && quota.used >= 0);
});

(haveSsh ? test : test.skip)(`an alias from an ssh config resolves as ssh reads it${haveSsh ? '' : ' (no ssh client)'}`, async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-sshcfg-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const config = join(dir, 'config');
  await writeFile(config, ['Host myhost', '  HostName 127.0.0.1', '  Port 2299', '  User someone', `  IdentityFile ${join(dir, 'key')}`, '  IdentitiesOnly yes', '  HostKeyAlias myhost-key', ''].join('\n'));
  const target = await resolveSshTarget({ host: 'myhost', configFile: config });
  t.like(target, { alias: 'myhost', host: '127.0.0.1', port: 2299, user: 'someone', identitiesOnly: true, hostKeyName: 'myhost-key' });
  t.deepEqual(target.identityFiles, [join(dir, 'key')]);
  const plain = await resolveSshTarget({ host: 'other.example', port: 2022, user: 'u', configFile: config });
  t.like(plain, { host: 'other.example', port: 2022, user: 'u', identitiesOnly: false });
  const bad = await t.throwsAsync(resolveSshTarget({ host: '-oProxyCommand=x', configFile: config }));
  t.is((bad as FerryError).code, 'EINVAL');
});

sshdTest(`auth through a throwaway ssh-agent, and with a key that has a passphrase${skip}`, async (t) => {
  const server = sshd.server()!;
  const dir = await mkdtemp(join(sshd.work(), 'agent-'));
  // The agent holds the server's authorised key; the connection is given no key file at all.
  const socket = join(dir, 'agent.sock');
  // Without -D the agent forks once its socket is bound and prints the child's PID.
  const started = (await run('ssh-agent', ['-s', '-a', socket])).stdout;
  const agentPid = Number(/SSH_AGENT_PID=(\d+)/.exec(started)?.[1]);
  t.true(agentPid > 0, started);
  t.teardown(() => {
    process.kill(agentPid, 'SIGTERM');
  });
  await run('ssh-add', [server.clientKey], { env: { ...process.env, SSH_AUTH_SOCK: socket } });
  const viaAgent = await connect(t, {
    target: { ...targetFor(server, join(dir, 'k')), identityFiles: [], identitiesOnly: false },
    ferryKnownHosts: join(dir, 'f'),
    agent: socket,
    askHostKey: async () => 'once',
  });
  t.truthy(viaAgent.home);

  // A key with a passphrase: asked for once, then used.
  const locked = join(dir, 'locked');
  await run('ssh-keygen', ['-q', '-t', 'ed25519', '-N', 'open sesame', '-f', locked]);
  await writeFile(join(sshd.work(), 'sshd', 'authorized_keys'), `${await readFile(`${locked}.pub`, 'utf8')}`, { flag: 'a' });
  const asked: string[] = [];
  const withPassphrase = await connect(t, {
    target: targetFor(server, join(dir, 'k'), locked),
    ferryKnownHosts: join(dir, 'f'),
    askHostKey: async () => 'once',
    passphrase: async (file) => (asked.push(file), 'open sesame'),
  });
  t.truthy(withPassphrase.home);
  t.deepEqual(asked, [locked]);
  const refused = await t.throwsAsync(
    openSftp({ target: targetFor(server, join(dir, 'k'), locked), ferryKnownHosts: join(dir, 'f'), agent: '', askHostKey: async () => 'once', passphrase: async () => 'wrong' }),
  );
  t.is((refused as FerryError).code, 'EAUTH', 'a wrong passphrase leaves no way in');
});

sshdTest(`a command on an SFTP pane runs in the account's shell, in the pane's directory, with its arguments as typed${skip}`, async (t) => {
  const server = sshd.server()!;
  const dir = await mkdtemp(join(sshd.work(), 'exec-'));
  const connection = await connect(t, { target: targetFor(server, join(dir, 'k')), ferryKnownHosts: join(dir, 'f'), askHostKey: async () => 'once' });
  const fs = new SftpFileSystem(connection, 'ssh');
  let out = '';
  let err = '';
  const result = await fs.runCommand({
    argv: ['sh', '-c', 'pwd; printf "%s|" "$@"; echo oops >&2; exit 3', 'sh', 'a b', '$HOME', ';', "it's"],
    cwd: dir,
    onStdout: (data) => (out += data.toString()),
    onStderr: (data) => (err += data.toString()),
  });
  t.deepEqual(result, { code: 3, signal: null });
  t.is(out, `${dir}\na b|$HOME|;|it's|`);
  t.is(err, 'oops\n');

  // Canceled once it runs (it says its pid first): the program is gone afterwards, not left to sleep.
  const stop = new AbortController();
  let pid = 0;
  const stopped = await fs.runCommand({
    argv: ['sh', '-c', 'echo $$; exec sleep 60'],
    cwd: dir,
    signal: stop.signal,
    onStdout: (data) => {
      pid = Number(data.toString().trim());
      stop.abort();
    },
  });
  t.is(stopped.reason, 'canceled');
  t.true(pid > 0);
  t.throws(() => process.kill(pid, 0), { code: 'ESRCH' }, 'the program was killed');
});

sshdTest(`ProxyJump from an ssh config: the hop is logged in to first, its host key checked too, then the target through it${skip}`, async (t) => {
  const server = sshd.server()!;
  const dir = await mkdtemp(join(sshd.work(), 'jump-'));
  const config = join(dir, 'config');
  const common = [`  Port ${server.port}`, `  User ${server.user}`, `  IdentityFile ${server.clientKey}`, '  IdentitiesOnly yes', `  UserKnownHostsFile ${join(dir, 'known')}`];
  // The target is the same sshd under another name, reached through the hop.
  await writeFile(config, ['Host hop', '  HostName 127.0.0.1', ...common, 'Host inner', '  HostName localhost', '  ProxyJump hop', ...common, ''].join('\n'));
  const target = await resolveSshTarget({ host: 'inner', configFile: config });
  t.is(target.proxyJump, 'hop');
  const asked: string[] = [];
  const connection = await connect(t, { target, ferryKnownHosts: join(dir, 'f'), askHostKey: async (q) => (asked.push(q.host), 'once') });
  t.deepEqual(asked, ['127.0.0.1', 'localhost'], 'the hop first, then the target');
  await writeFile(join(dir, 'seen.txt'), 'through the hop');
  const fs = new SftpFileSystem(connection, 'inner');
  t.true((await fs.list(dir)).some((entry) => entry.name === 'seen.txt'));
});

import { chmod, copyFile, mkdir, writeFile } from 'node:fs/promises';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { findExecutable, freePort, outputOf, runCommand, startDaemon, type Daemon } from './processes.js';

/** Our own sshd on 127.0.0.1, and what a client needs to log in to it as the current user (root). */
export interface SshServer extends Daemon {
  readonly port: number;
  /** The client's private key, authorised by this server only. */
  readonly clientKey: string;
  /** The server's private host key (the public one is beside it, `.pub`). */
  readonly hostKey: string;
  /** `-i KEY` and the options that keep the clients off ~/.ssh and any prompt, for ssh, scp and sftp alike. */
  readonly clientOptions: string[];
  /** The cipher the clients use when none is asked for (the first of `ssh -G`'s list, which our sshd allows too). */
  readonly defaultCipher: string;
  /** The user to log in as: the one running the bench (root here, hence PermitRootLogin). */
  readonly user: string;
}

/**
 * Starts `sshd -D -e -f CONFIG` on a free port of 127.0.0.1 with a host key, a client key, its
 * authorized_keys and its pid file all in `dir` (created), and resolves once the port accepts
 * connections. The system's own sshd (if any) is not touched. `extra` lines end the config (e.g.
 * `ForceCommand internal-sftp` for an SFTP-only account).
 */
export async function startSshd(dir: string, extra: string[] = []): Promise<SshServer> {
  const sshd = await findExecutable('sshd');
  if (!sshd) throw new Error('sshd is not installed (apt-get install openssh-server, or npm run bench -- --peers)');
  await mkdir(dir, { recursive: true });
  const hostKey = join(dir, 'host_ed25519');
  const clientKey = join(dir, 'client_ed25519');
  await runCommand('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'ferry-bench-host', '-f', hostKey]);
  await runCommand('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'ferry-bench-client', '-f', clientKey]);
  const authorizedKeys = join(dir, 'authorized_keys');
  await copyFile(`${clientKey}.pub`, authorizedKeys);
  await chmod(authorizedKeys, 0o600);
  // sshd refuses to start without its privilege separation directory, which only the system
  // service creates (at boot, via tmpfiles); creating an empty one changes nothing for it.
  await mkdir('/run/sshd', { recursive: true, mode: 0o755 });

  const port = await freePort();
  const config = join(dir, 'sshd_config');
  await writeFile(
    config,
    [
      `ListenAddress 127.0.0.1:${port}`,
      `HostKey ${hostKey}`,
      `PidFile ${join(dir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${authorizedKeys}`,
      'PubkeyAuthentication yes',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      // The key files sit in a temp dir whose modes sshd's strict checks would not accept.
      'StrictModes no',
      'PermitRootLogin prohibit-password',
      'UseDNS no',
      'PrintMotd no',
      'X11Forwarding no',
      // In-process SFTP: no exec of sftp-server per session, the same code path as the packaged one.
      'Subsystem sftp internal-sftp',
      'LogLevel ERROR',
      ...extra,
      '',
    ].join('\n'),
  );
  // -D stays in the foreground so the ChildProcess is sshd itself; -e logs to our pipe. sshd must be
  // started by its absolute path to re-exec itself per connection.
  const cipher = await defaultCipher();
  const daemon = await startDaemon('sshd', sshd, ['-D', '-e', '-f', config], port);
  const clientOptions = [
    '-F', '/dev/null',
    '-o', 'StrictHostKeyChecking=no',
    '-o', 'UserKnownHostsFile=/dev/null',
    '-o', 'BatchMode=yes',
    '-o', 'IdentitiesOnly=yes',
    '-o', 'LogLevel=ERROR',
    '-i', clientKey,
  ];
  return { ...daemon, port, clientKey, hostKey, clientOptions, defaultCipher: cipher, user: userInfo().username };
}

/** The first cipher the client offers with no configuration, which is what it negotiates with a default sshd. */
async function defaultCipher(): Promise<string> {
  const config = await outputOf('ssh', ['-G', '-F', '/dev/null', '127.0.0.1']);
  const line = /^ciphers (\S+)/m.exec(config);
  const first = line?.[1]?.split(',')[0];
  if (!first) throw new Error(`ssh -G printed no ciphers line:\n${config}`);
  return first;
}

import { writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { clientCase, slug } from './client-case.js';
import { outputOf } from './processes.js';
import type { ServedSources } from './served.js';
import type { SshServer } from './sshd.js';
import type { PeerCase, PeerInputs, WorkloadKind } from './types.js';

/** bench/peers compiles to dist/bench/peers; bin/ferry is at the project root. */
const FERRY_BIN = fileURLToPath(new URL('../../../bin/ferry', import.meta.url));
export const FERRY_SFTP = 'ferry (sftp://)';

/**
 * ferry's own client against our sshd, as a user runs it: `bin/ferry put`/`get` with an ssh
 * config naming the server (FERRY_SSH_CONFIG) and its host key given (FERRY_FINGERPRINT), big
 * file and tree both ways, so its rows stand beside OpenSSH's sftp and scp in the same run.
 */
export async function ferrySftpCases(server: SshServer, served: ServedSources, inputs: PeerInputs, dir: string): Promise<PeerCase[]> {
  const config = join(dir, 'ferry-ssh-config');
  await writeFile(
    config,
    ['Host bench-sshd', '  HostName 127.0.0.1', `  Port ${server.port}`, `  User ${server.user}`, `  IdentityFile ${server.clientKey}`, '  IdentitiesOnly yes', '  UserKnownHostsFile /dev/null', ''].join('\n'),
  );
  const fingerprint = /SHA256:\S+/.exec(await outputOf('ssh-keygen', ['-lf', `${server.hostKey}.pub`]))?.[0];
  if (!fingerprint) throw new Error('ssh-keygen -lf printed no fingerprint for the bench sshd');
  const env = ['env', `FERRY_SSH_CONFIG=${config}`, `FERRY_FINGERPRINT=${fingerprint}`, 'SSH_AUTH_SOCK=', `XDG_CONFIG_HOME=${join(dir, 'ferry-config')}`, `XDG_STATE_HOME=${join(dir, 'ferry-state')}`];
  const url = (path: string) => `sftp://bench-sshd${path}`;
  const targetDir = (kind: WorkloadKind) => join(kind.endsWith('-up') ? dir : inputs.downloadDir, slug(FERRY_SFTP));
  const args: Record<WorkloadKind, (result: string) => string[]> = {
    'big-up': (result) => [...env, FERRY_BIN, 'put', '-q', inputs.bigPath, url(result)],
    'big-down': (result) => [...env, FERRY_BIN, 'get', '-q', url(served.bigPath), result],
    // A directory `tree` is copied to DEST/tree: DEST is the result's parent on either side.
    'tree-up': (result) => [...env, FERRY_BIN, 'put', '-r', '-q', '-j', '16', inputs.treePath, url(dirname(result))],
    'tree-down': (result) => [...env, FERRY_BIN, 'get', '-r', '-q', '-j', '16', url(served.treePath), dirname(result)],
  };
  return (['big-up', 'big-down', 'tree-up', 'tree-down'] as const).map((kind) =>
    clientCase(
      { tool: FERRY_SFTP, kind, detail: 'bin/ferry put/get (-r -j 16 for the tree) to sftp://, ssh2 with aes128-gcm, SHA-256 compared with the server’s sha256sum, fsync@openssh.com', targetDir: targetDir(kind), command: args[kind]('')[0]!, args: (result) => args[kind](result).slice(1) },
      inputs,
      served,
    ),
  );
}

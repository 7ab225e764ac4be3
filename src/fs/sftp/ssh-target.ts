import { execFile } from 'node:child_process';
import { homedir, userInfo } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { FerryError } from '../../protocol/index.js';

const run = promisify(execFile);

/** Where and how to reach an SSH server, as the user's ssh would. */
export interface SshTarget {
  /** What the user typed (an alias or a host name). */
  alias: string;
  /** The host to dial (HostName). */
  host: string;
  port: number;
  user: string;
  /** Key files to try, in order (IdentityFile, expanded; they need not exist). */
  identityFiles: string[];
  /** Only the identity files, not every key the agent holds. */
  identitiesOnly: boolean;
  /** The name host keys are filed under (HostKeyAlias, else the host). */
  hostKeyName: string;
  /** UserKnownHostsFile, expanded. */
  knownHostsFiles: string[];
  /** ProxyJump, when set ('none' is left out). */
  proxyJump?: string;
  /** The ssh_config it was read from (ssh -F), for the hops of a ProxyJump. */
  configFile?: string;
}

export interface SshTargetRequest {
  host: string;
  port?: number;
  user?: string;
  /** An ssh_config to read instead of ~/.ssh/config (ssh -F). */
  configFile?: string;
}

/**
 * Resolves a host or an alias through OpenSSH's own reading of its configuration (`ssh -G`), so
 * Host and Match blocks, Include, HostName, User, Port, IdentityFile, IdentitiesOnly, ProxyJump
 * and HostKeyAlias mean exactly what they mean to ssh. Without an ssh client on the machine, the
 * request is taken as it is, with ssh's defaults.
 */
export async function resolveSshTarget(request: SshTargetRequest): Promise<SshTarget> {
  if (request.host.startsWith('-')) throw new FerryError('EINVAL', `not a host name: ${request.host}`);
  const args = [
    '-G',
    ...(request.configFile ? ['-F', request.configFile] : []),
    ...(request.port !== undefined ? ['-p', String(request.port)] : []),
    ...(request.user !== undefined ? ['-l', request.user] : []),
    '--',
    request.host,
  ];
  let printed: string;
  try {
    printed = (await run('ssh', args, { timeout: 10_000 })).stdout;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return defaults(request);
    const stderr = String((error as { stderr?: string }).stderr ?? '').trim();
    throw new FerryError('EINVAL', `ssh could not read its configuration for ${request.host}: ${stderr || (error as Error).message}`);
  }
  const values = new Map<string, string[]>();
  for (const line of printed.split('\n')) {
    const space = line.indexOf(' ');
    if (space <= 0) continue;
    const key = line.slice(0, space).toLowerCase();
    values.set(key, [...(values.get(key) ?? []), line.slice(space + 1).trim()]);
  }
  const one = (key: string) => values.get(key)?.[0];
  const host = one('hostname') ?? request.host;
  const proxyJump = one('proxyjump');
  return {
    alias: request.host,
    host,
    port: Number(one('port') ?? request.port ?? 22),
    user: one('user') ?? request.user ?? userInfo().username,
    identityFiles: (values.get('identityfile') ?? []).map(expandHome),
    identitiesOnly: one('identitiesonly') === 'yes',
    hostKeyName: one('hostkeyalias') ?? host,
    knownHostsFiles: (one('userknownhostsfile') ?? '~/.ssh/known_hosts ~/.ssh/known_hosts2').split(/\s+/).map(expandHome),
    ...(proxyJump && proxyJump !== 'none' ? { proxyJump } : {}),
    ...(request.configFile ? { configFile: request.configFile } : {}),
  };
}

function defaults(request: SshTargetRequest): SshTarget {
  const ssh = join(homedir(), '.ssh');
  return {
    alias: request.host,
    host: request.host,
    port: request.port ?? 22,
    user: request.user ?? userInfo().username,
    identityFiles: ['id_rsa', 'id_ecdsa', 'id_ecdsa_sk', 'id_ed25519', 'id_ed25519_sk'].map((name) => join(ssh, name)),
    identitiesOnly: false,
    hostKeyName: request.host,
    knownHostsFiles: [join(ssh, 'known_hosts'), join(ssh, 'known_hosts2')],
  };
}

function expandHome(path: string): string {
  return path === '~' ? homedir() : path.startsWith('~/') ? join(homedir(), path.slice(2)) : path;
}

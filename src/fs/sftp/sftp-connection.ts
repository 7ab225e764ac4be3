import { readFile } from 'node:fs/promises';
import type { Duplex } from 'node:stream';
import ssh2, { type AuthenticationType, type Client as SshClient, type ConnectConfig, type SFTPWrapper } from 'ssh2';
import { FerryError } from '../../protocol/index.js';
import { addKnownHost, checkHostKey, fingerprintOf, hostKeyOf, type HostKey, type HostKeyVerdict } from './known-hosts.js';
import { resolveSshTarget, type SshTarget } from './ssh-target.js';

const { Client, utils } = ssh2;

/** What to do with a host key no known_hosts file has: keep it, take it this once, or refuse. */
export type HostKeyAnswer = 'save' | 'once' | 'refuse';

export interface HostKeyQuestion {
  host: string;
  port: number;
  keyType: string;
  fingerprint: string;
}

export interface SftpConnectOptions {
  target: SshTarget;
  /** ferry's own known_hosts for SSH keys (OpenSSH format); accepted keys are saved here. */
  ferryKnownHosts: string;
  /** The fingerprint the user passed (--fingerprint): accepted without asking. */
  expectedFingerprint?: string;
  /** Asked once for an unknown key; without it an unknown key is refused (EIDENTITY). */
  askHostKey?: (question: HostKeyQuestion) => Promise<HostKeyAnswer>;
  /** The agent's socket (default SSH_AUTH_SOCK); '' for none. */
  agent?: string;
  /** For an encrypted key file; undefined skips the key. */
  passphrase?: (keyFile: string) => Promise<string | undefined>;
  /** For password and keyboard-interactive auth; undefined skips them. */
  password?: () => Promise<string | undefined>;
  timeoutMs?: number;
}

export interface SftpConnection {
  readonly client: SshClient;
  readonly sftp: SFTPWrapper;
  /** The login directory, absolute (realpath of '.'). */
  readonly home: string;
  readonly fingerprint: string;
  /** How the host key was trusted. */
  readonly trust: 'known' | 'saved' | 'once' | 'pinned';
}

/**
 * Dials an SSH server, checks its host key against ~/.ssh/known_hosts (and the target's
 * UserKnownHostsFile) and ferry's own file, authenticates in the order ssh does (agent, key
 * files, password, keyboard-interactive) and opens the SFTP subsystem.
 */
export async function openSftp(options: SftpConnectOptions): Promise<SftpConnection> {
  const { target } = options;
  const jumps: SshClient[] = [];
  let sock: Duplex | undefined;
  try {
    if (target.proxyJump) sock = await throughJumps(options, jumps);
    const { client, fingerprint, trust } = await logIn(options, sock);
    // Ending the connection ends the hops it went through.
    client.once('close', () => jumps.forEach((jump) => jump.end()));
    const where = `${target.user}@${target.host}:${target.port}`;
    const sftp = await new Promise<SFTPWrapper>((resolve, reject) => {
      client.sftp((error, channel) => {
        if (error) reject(new FerryError('ENOTSUP', `${where} does not offer SFTP: ${error.message}`));
        else resolve(channel);
      });
    }).catch((error: unknown) => {
      client.end();
      throw error;
    });
    // A server that will not say where the login directory is gets browsed from the root.
    const home = await new Promise<string>((resolve) => sftp.realpath('.', (error, path) => resolve(error ? '/' : path)));
    return { client, sftp, home, fingerprint, trust };
  } catch (error) {
    jumps.forEach((jump) => jump.end());
    throw error;
  }
}

/**
 * ProxyJump, as ssh does it: each hop (`[user@]host[:port]`, itself read through ssh -G) is logged
 * in to through the one before, its host key checked like any other; resolves with a channel to
 * the target through the last hop.
 */
async function throughJumps(options: SftpConnectOptions, jumps: SshClient[]): Promise<Duplex> {
  const { target } = options;
  const hops: SshTarget[] = [];
  for (const hop of target.proxyJump!.split(',')) {
    const match = /^(?:([^@]+)@)?(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(hop.trim());
    if (!match) throw new FerryError('EINVAL', `ProxyJump ${JSON.stringify(target.proxyJump)}: cannot read ${JSON.stringify(hop)}`);
    const { proxyJump: _own, ...resolved } = await resolveSshTarget({
      host: match[2]!.replace(/^\[|\]$/g, ''),
      ...(match[1] ? { user: match[1] } : {}),
      ...(match[3] ? { port: Number(match[3]) } : {}),
      ...(target.configFile ? { configFile: target.configFile } : {}),
    });
    hops.push(resolved);
  }
  // The fingerprint given on the command line is the target's, not a hop's.
  const { expectedFingerprint: _target, ...hopOptions } = options;
  let sock: Duplex | undefined;
  for (let i = 0; i < hops.length; i++) {
    const { client } = await logIn({ ...hopOptions, target: hops[i]! }, sock);
    jumps.push(client);
    const next = hops[i + 1] ?? target;
    sock = await new Promise<Duplex>((resolve, reject) =>
      client.forwardOut('127.0.0.1', 0, next.host, next.port, (error, channel) =>
        error ? reject(new FerryError('ENETWORK', `${hops[i]!.alias} would not forward to ${next.host}:${next.port}: ${error.message}`)) : resolve(channel),
      ),
    );
  }
  return sock!;
}

/** Dials (or uses `sock`), checks the host key and logs in: a ready SSH connection. */
async function logIn(options: SftpConnectOptions, sock?: Duplex): Promise<{ client: SshClient; fingerprint: string; trust: SftpConnection['trust'] }> {
  const { target } = options;
  const client = new Client();
  let refusal: FerryError | undefined;
  let trust: SftpConnection['trust'] = 'known';
  let fingerprint = '';
  const where = `${target.user}@${target.host}:${target.port}`;

  const verifyHost = (blob: Buffer, verify: (valid: boolean) => void) => {
    const key = hostKeyOf(blob);
    fingerprint = fingerprintOf(key);
    decideHostKey(options, key).then(
      (decision) => {
        if ('refusal' in decision) refusal = decision.refusal;
        else trust = decision.trust;
        verify(!('refusal' in decision));
      },
      (error: unknown) => {
        refusal = error instanceof FerryError ? error : new FerryError('EIDENTITY', `${where}: ${(error as Error).message}`);
        verify(false);
      },
    );
  };

  const config: ConnectConfig = {
    host: target.host,
    port: target.port,
    username: target.user,
    readyTimeout: options.timeoutMs ?? 20_000,
    hostVerifier: verifyHost as never,
    authHandler: authSequence(options) as never,
    keepaliveInterval: 15_000,
    keepaliveCountMax: 3,
    ...(sock ? { sock: sock as never } : {}),
  };
  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error & { level?: string; code?: string }) => {
      client.removeListener('ready', onReady);
      client.end();
      if (refusal) return reject(refusal);
      if (error.level === 'client-authentication') {
        return reject(new FerryError('EAUTH', `${where}: no way to log in was accepted (${error.message})`));
      }
      if (error.level === 'client-timeout') return reject(new FerryError('ETIMEDOUT', `${where}: no answer within ${config.readyTimeout} ms`));
      reject(new FerryError('ENETWORK', `cannot connect to ${target.host}:${target.port}: ${error.code ?? error.message}`));
    };
    const onReady = () => {
      client.removeListener('error', onError);
      resolve();
    };
    client.once('error', onError);
    client.once('ready', onReady);
    client.connect(config);
    // SFTP is requests and replies: with Nagle on, the last request of a burst waits for the
    // server's delayed ACK, 40 ms a round (a 1 MiB read went at 24 MB/s, 400 without).
    client.setNoDelay(true);
  });
  // A late error (the connection dropping) must not crash the process; users see it on their next call.
  client.on('error', () => undefined);
  return { client, fingerprint, trust };
}

type Decision = { trust: SftpConnection['trust'] } | { refusal: FerryError };

async function decideHostKey(options: SftpConnectOptions, key: HostKey): Promise<Decision> {
  const { target } = options;
  const fingerprint = fingerprintOf(key);
  const name = `${target.hostKeyName}:${target.port}`;
  if (options.expectedFingerprint !== undefined) {
    if (options.expectedFingerprint === fingerprint) return { trust: 'pinned' };
    return { refusal: new FerryError('EIDENTITY', `${name} presented ${key.type} ${fingerprint}, not the expected ${options.expectedFingerprint}`) };
  }
  const files = [...target.knownHostsFiles, options.ferryKnownHosts];
  const verdict: HostKeyVerdict = await checkHostKey(files, target.hostKeyName, target.port, key);
  switch (verdict.status) {
    case 'known':
      return { trust: 'known' };
    case 'revoked':
      return { refusal: new FerryError('EIDENTITY', `${name} presented a REVOKED ${key.type} key ${fingerprint} (${verdict.file}:${verdict.line})`) };
    case 'changed':
      return {
        refusal: new FerryError(
          'EIDENTITY',
          `REMOTE HOST IDENTIFICATION HAS CHANGED for ${name}: it presented ${key.type} ${fingerprint}, ` +
            `${verdict.file}:${verdict.line} has ${fingerprintOf(verdict.known)}. If the change is expected, remove that line.`,
        ),
      };
    case 'unknown': {
      const answer = options.askHostKey
        ? await options.askHostKey({ host: target.hostKeyName, port: target.port, keyType: key.type, fingerprint })
        : 'refuse';
      if (answer === 'refuse') {
        return {
          refusal: new FerryError(
            'EIDENTITY',
            `${name} is not a known host; its ${key.type} key is ${fingerprint}. ` +
              `Check it, then connect with --fingerprint ${fingerprint} (or FERRY_FINGERPRINT) to accept it`,
          ),
        };
      }
      if (answer === 'save') await addKnownHost(options.ferryKnownHosts, target.hostKeyName, target.port, key);
      return { trust: answer === 'save' ? 'saved' : 'once' };
    }
  }
}

type AuthStep =
  | { type: 'agent'; username: string; agent: string }
  | { type: 'publickey'; username: string; key: unknown }
  | { type: 'password'; username: string; password: string }
  | { type: 'keyboard-interactive'; username: string; prompt: (name: unknown, instructions: unknown, lang: unknown, prompts: unknown[], finish: (answers: string[]) => void) => void };

/**
 * ssh2's authHandler: each call offers the next method the server still accepts, in ssh's order.
 * Key files that do not exist or cannot be read are skipped; an encrypted one is offered once the
 * passphrase callback gives its passphrase.
 */
function authSequence(options: SftpConnectOptions) {
  const { target } = options;
  const username = target.user;
  const agent = options.agent ?? process.env.SSH_AUTH_SOCK ?? '';
  const steps: Array<() => Promise<AuthStep | undefined>> = [];
  if (agent !== '' && !target.identitiesOnly) steps.push(async () => ({ type: 'agent', username, agent }));
  for (const file of target.identityFiles) steps.push(() => keyStep(file, username, options));
  if (options.password) {
    let password: Promise<string | undefined> | undefined;
    const once = () => (password ??= options.password!());
    steps.push(async () => {
      const value = await once();
      return value === undefined ? undefined : { type: 'password', username, password: value };
    });
    steps.push(async () => {
      const value = await once();
      if (value === undefined) return undefined;
      return {
        type: 'keyboard-interactive',
        username,
        // Every prompt (most servers ask one: "Password:") gets the password.
        prompt: (_name: unknown, _instructions: unknown, _lang: unknown, prompts: unknown[], finish: (answers: string[]) => void) =>
          finish(prompts.map(() => value)),
      };
    });
  }
  let next = 0;
  return (methodsLeft: AuthenticationType[] | null, _partial: boolean | null, callback: (step: AuthStep | false) => void) => {
    void (async () => {
      while (next < steps.length) {
        const step = await steps[next++]!().catch(() => undefined);
        if (step === undefined) continue;
        if (methodsLeft && !methodsLeft.includes(step.type === 'agent' ? 'publickey' : step.type)) continue;
        return callback(step);
      }
      callback(false);
    })();
  };
}

async function keyStep(file: string, username: string, options: SftpConnectOptions): Promise<AuthStep | undefined> {
  let text: Buffer;
  try {
    text = await readFile(file);
  } catch {
    return undefined;
  }
  let parsed = utils.parseKey(text);
  if (parsed instanceof Error && /encrypted|passphrase/i.test(parsed.message) && options.passphrase) {
    const passphrase = await options.passphrase(file);
    if (passphrase === undefined) return undefined;
    parsed = utils.parseKey(text, passphrase);
  }
  if (parsed instanceof Error) return undefined;
  return { type: 'publickey', username, key: Array.isArray(parsed) ? parsed[0] : parsed };
}

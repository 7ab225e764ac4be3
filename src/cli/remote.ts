import os from 'node:os';
import { describeAuthorization, type PeerIdentity } from '../client/server-identity.js';
import { Session, type SessionOptions } from '../client/session.js';
import { hostPortOf, isRemoteUrl, parseRemoteUrl, type RemoteUrl } from '../client/url.js';
import { KnownHosts } from '../credentials/known-hosts.js';
import { decideTrust, type TrustAnswer } from '../credentials/server-trust.js';
import type { FileSystem } from '../fs/file-system.js';
import { RemoteFileSystem } from '../fs/remote-file-system.js';
import { sessionOf } from '../transfer/copy-step.js';
import { UsageError } from './cli-errors.js';
import { promptLine, readPasswordFromStdin, resolvePassword } from './password.js';

/** A `ferry://` argument with the user filled in. */
export interface RemoteArg {
  url: RemoteUrl;
  user: string;
  /** `user@ws://host:port`: arguments with the same key share one session. */
  key: string;
}

/**
 * Parses a remote argument. The user defaults to FERRY_USER, then the login name (as ssh does).
 * A bad URL is a usage error.
 */
export function parseRemoteArg(text: string, env: NodeJS.ProcessEnv = process.env): RemoteArg {
  if (!isRemoteUrl(text)) throw new UsageError(`not a remote URL: ${JSON.stringify(text)} (expected ferry://user@host:port/path)`);
  let url: RemoteUrl;
  try {
    url = parseRemoteUrl(text);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const user = url.user ?? (env.FERRY_USER || os.userInfo().username);
  return { url, user, key: `${user}@${url.wsUrl}` };
}

export interface ConnectionsOptions {
  passwordStdin: boolean;
  /** Print "waiting for a slot" notices on stderr. Default true. */
  notices?: boolean;
  env?: NodeJS.ProcessEnv;
  /** Where accepted TLS identities are pinned. Default known_hosts in the config directory. */
  knownHosts?: KnownHosts;
  /** --fingerprint: the TLS server's expected certificate fingerprint (else FERRY_FINGERPRINT). */
  fingerprint?: string;
}

/**
 * The sessions a command opens, one per user@server, all closed by closeAll(). The password is
 * resolved once from --password-stdin or FERRY_PASSWORD and reused; a terminal prompt asks per
 * server.
 */
export class Connections {
  private readonly sessions = new Map<string, Promise<Session>>();
  /** Sessions made by reopen(), closed with the others. */
  private readonly extra = new Set<Session>();
  private readonly passwords = new Map<string, string>();
  private sharedPassword: Promise<string> | undefined;

  constructor(private readonly options: ConnectionsOptions) {}

  session(arg: RemoteArg): Promise<Session> {
    let session = this.sessions.get(arg.key);
    if (session === undefined) {
      session = this.connect(arg);
      this.sessions.set(arg.key, session);
    }
    return session;
  }

  async fileSystem(arg: RemoteArg): Promise<RemoteFileSystem> {
    return new RemoteFileSystem(await this.session(arg));
  }

  /**
   * A new session like the one behind `fs`, for a transfer queue whose session gave up
   * reconnecting (TransferQueueOptions.reopen).
   */
  reopen = async (fs: FileSystem): Promise<FileSystem> => {
    const old = sessionOf(fs);
    const password = old === undefined ? undefined : this.passwords.get(`${old.user}@${old.url}`);
    if (old === undefined || password === undefined) return fs;
    const identity = old.url.startsWith('wss:') ? await this.identityPolicy(hostPortOf(old.url)) : undefined;
    const session = await Session.connect({
      url: old.url,
      user: old.user,
      password,
      onQueue: (position) => this.notice(old.user, old.where, position),
      ...(identity ? { identity: identity.policy, onIdentity: identity.accepted } : {}),
    });
    this.extra.add(session);
    return new RemoteFileSystem(session);
  };

  async closeAll(): Promise<void> {
    const sessions = [...this.sessions.values()];
    this.sessions.clear();
    const extra = [...this.extra];
    this.extra.clear();
    await Promise.all([
      ...sessions.map((pending) => pending.then((s) => s.close()).catch(() => undefined)),
      ...extra.map((s) => s.close().catch(() => undefined)),
    ]);
  }

  private async connect(arg: RemoteArg): Promise<Session> {
    const where = `${arg.url.host}:${arg.url.port}`;
    const identity = arg.url.tls ? await this.identityPolicy(hostPortOf(arg.url.wsUrl)) : undefined;
    const password = await this.password(`${arg.user}@${where}`);
    const session = await Session.connect({
      url: arg.url.wsUrl,
      user: arg.user,
      password,
      onQueue: (position) => this.notice(arg.user, where, position),
      ...(identity ? { identity: identity.policy, onIdentity: identity.accepted } : {}),
    });
    this.passwords.set(arg.key, password);
    return session;
  }

  private identityPolicy(hostPort: string): Promise<CliTrust> {
    this.options.knownHosts ??= new KnownHosts();
    return cliTrust(hostPort, this.options);
  }

  private notice(user: string, where: string, position: number): void {
    if (this.options.notices !== false) process.stderr.write(`ferry: ${user}@${where} is busy; waiting for a session slot (position ${position})\n`);
  }

  private password(where: string): Promise<string> {
    const env = this.options.env ?? process.env;
    if (this.options.passwordStdin) return (this.sharedPassword ??= readPasswordFromStdin());
    if (env.FERRY_PASSWORD) return (this.sharedPassword ??= Promise.resolve(env.FERRY_PASSWORD));
    return resolvePassword({ stdin: false, env, prompt: `Password for ${where}: ` });
  }
}

/** A TLS server's identity policy for a command, and what to do once the server showed it. */
export interface CliTrust {
  policy: NonNullable<SessionOptions['identity']>;
  accepted: (peer: PeerIdentity) => void;
}

/**
 * What a command trusts of a TLS server (src/credentials/server-trust.ts): --fingerprint or
 * FERRY_FINGERPRINT, else the known_hosts pin, else a CA; else, on a terminal, what the person
 * answers when shown the fingerprint (before any password is asked or sent).
 */
export async function cliTrust(
  hostPort: string,
  options: { passwordStdin?: boolean; env?: NodeJS.ProcessEnv; knownHosts?: KnownHosts; fingerprint?: string; notices?: boolean },
): Promise<CliTrust> {
  const env = options.env ?? process.env;
  const canAsk = options.passwordStdin !== true && process.stdin.isTTY === true;
  const trust = await decideTrust({
    hostPort,
    ...(options.knownHosts ? { knownHosts: options.knownHosts } : {}),
    expected: options.fingerprint || env.FERRY_FINGERPRINT,
    ...(canAsk ? { ask: askOnTerminal } : {}),
  });
  const accepted = (peer: PeerIdentity) => {
    trust.accepted(peer).then(
      (pinned) => pinned && options.notices !== false && process.stderr.write(`ferry: pinned ${hostPort} as ${peer.fingerprint} in ${trust.knownHosts.file}\n`),
      (error: unknown) => process.stderr.write(`ferry: could not write ${trust.knownHosts.file}: ${(error as Error).message}\n`),
    );
  };
  return { policy: trust.policy, accepted };
}

/** Shows an unknown TLS server's fingerprint on the terminal and asks, as ssh does. */
async function askOnTerminal(peer: PeerIdentity, hostPort: string): Promise<TrustAnswer> {
  process.stderr.write(
    `The identity of ${hostPort} is not known${peer.authorizationError ? ` (${describeAuthorization(peer.authorizationError, peer)})` : ''}.\n` +
      `  fingerprint: ${peer.fingerprint}\n` +
      `Compare it with what the server's administrator gave you (ferry serve --fingerprint).\n`,
  );
  const answer = await promptLine('Trust it? yes = and remember it, once = this time only, no = stop [yes/once/no]: ');
  if (answer === 'yes' || answer === 'y') return 'save';
  return answer === 'once' ? 'once' : 'refuse';
}

import os from 'node:os';
import { describeAuthorization, probeIdentity, type PeerIdentity } from '../client/server-identity.js';
import { FerryError } from '../protocol/index.js';
import { Session, type SessionOptions } from '../client/session.js';
import { hostPortOf, isRemoteUrl, parseRemoteUrl, type RemoteUrl } from '../client/url.js';
import { KnownHosts } from '../credentials/known-hosts.js';
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
    const tls = arg.url.wsUrl.startsWith('wss:');
    const identity = tls ? await this.identityPolicy(hostPortOf(arg.url.wsUrl)) : undefined;
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

  /**
   * What this client knows of a TLS server's identity: --fingerprint or FERRY_FINGERPRINT, else
   * the known_hosts pin (else, on a terminal, what the person answers about it). A fingerprint given for a server not pinned yet is pinned once the server shows it (a
   * CA-verified server with no pin is not pinned: its CA vouches for it, and it may rotate).
   */
  private async identityPolicy(hostPort: string): Promise<{ policy: NonNullable<SessionOptions['identity']>; accepted: (peer: PeerIdentity) => void }> {
    const knownHosts = (this.options.knownHosts ??= new KnownHosts());
    const env = this.options.env ?? process.env;
    const pinned = await knownHosts.lookup(hostPort);
    let expected = this.options.fingerprint?.trim() || env.FERRY_FINGERPRINT?.trim() || undefined;
    let saved = pinned !== undefined;
    if (expected === undefined && pinned === undefined && !this.options.passwordStdin && process.stdin.isTTY) {
      // First contact on a terminal: ask, as ssh does, before any password is asked or sent.
      const answer = await this.askAboutUnknown(hostPort, knownHosts);
      if (answer !== undefined) {
        expected = answer.fingerprint;
        saved = !answer.save;
      }
    }
    const policy = expected !== undefined ? { expected } : pinned ? { pinned: { fingerprint: pinned.fingerprint, file: knownHosts.file, line: pinned.line } } : {};
    const accepted = (peer: PeerIdentity) => {
      if (saved || expected === undefined) return;
      saved = true;
      knownHosts.add(hostPort, peer.fingerprint).then(
        () => this.options.notices !== false && process.stderr.write(`ferry: pinned ${hostPort} as ${peer.fingerprint} in ${knownHosts.file}\n`),
        (error: unknown) => process.stderr.write(`ferry: could not write ${knownHosts.file}: ${(error as Error).message}\n`),
      );
    };
    return { policy, accepted };
  }

  /**
   * Shows an unknown TLS server's fingerprint and asks whether to trust it: yes (and keep it in
   * known_hosts), once (this command only), or no (EIDENTITY). Undefined when a trusted CA vouches
   * for the server (nothing to ask).
   */
  private async askAboutUnknown(hostPort: string, knownHosts: KnownHosts): Promise<{ fingerprint: string; save: boolean } | undefined> {
    const colon = hostPort.lastIndexOf(':');
    const host = hostPort.slice(0, colon).replace(/^\[|\]$/g, '');
    const peer = await probeIdentity(host, Number(hostPort.slice(colon + 1)));
    if (peer.authorized) return undefined;
    process.stderr.write(
      `The identity of ${hostPort} is not known${peer.authorizationError ? ` (${describeAuthorization(peer.authorizationError)})` : ''}.\n` +
        `  fingerprint: ${peer.fingerprint}\n` +
        `Compare it with what the server's administrator gave you (ferry serve --fingerprint).\n`,
    );
    const answer = await promptLine('Trust it? yes = and remember it, once = this time only, no = stop [yes/once/no]: ');
    if (answer === 'yes' || answer === 'y') return { fingerprint: peer.fingerprint, save: true };
    if (answer === 'once') return { fingerprint: peer.fingerprint, save: false };
    throw new FerryError('EIDENTITY', `not connecting to ${hostPort}: its identity ${peer.fingerprint} was not accepted; nothing was sent to it (known hosts: ${knownHosts.file})`);
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

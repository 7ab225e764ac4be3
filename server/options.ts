import type { Logger } from 'pino';

/** Remote commands (`exec.start`). With an empty `allow` the feature is off. */
export interface ExecOptions {
  /**
   * Programs users may run: bare names (looked up only in the fixed safe PATH, see
   * server/exec/allowlist.ts) or absolute paths. Empty = remote commands are off.
   */
  allow: string[];
  /** A command still running after this long is killed (reason 'timeout'). */
  timeoutMs: number;
  /** stdout + stderr bytes one command may produce before it is killed (reason 'output-limit'). */
  maxOutputBytes: number;
  /** Commands one session may run at once; the next is refused with ELIMIT. */
  maxPerSession: number;
  /**
   * 'user' (default): on a server running as root, each user's commands run as an OS uid of
   * their own (from `uidBase` up) that owns their home and nothing else (server/exec/exec-identity.ts).
   * 'none': as the server's own user (the only choice for a server that is not root).
   */
  isolation: 'user' | 'none';
  /** The first uid given to a user's commands; uids and gids from here up must be unused on the system. */
  uidBase: number;
}

/** Who may create an account from a client: nobody, anyone pending approval, or anyone. */
export type RegistrationMode = 'off' | 'approval' | 'open';

/** Everything `createServer()` and `ferry serve` accept. Defaults are in DEFAULT_SERVER_OPTIONS. */
export interface ServerOptions {
  /** Data root: users.db, homes/<user>, partials/<user>, logs. */
  root: string;
  host: string;
  /** 0 picks a free port (tests). */
  port: number;
  /** Logged-in sessions at once, server-wide; the next ones wait in a queue. */
  maxSessions: number;
  maxSessionsPerUser: number;
  /**
   * TCP connections from one IP not logged in yet, at once: counted from accept until the
   * connection's session holds a slot (before the WebSocket upgrade, greeting or queued). One
   * more is destroyed at accept, unanswered.
   */
  maxConnectionsPerIp: number;
  /** The same count over all addresses together (a cap on sockets strangers can hold open). */
  maxUnauthenticated: number;
  /**
   * Time from accept to a completed WebSocket upgrade; a connection that has not upgraded by then
   * (sent nothing, a slow or partial request, a plain HTTP keep-alive) is destroyed.
   */
  upgradeTimeoutMs: number;
  /** How long a client may wait in the session queue before EBUSY. */
  queueTimeoutMs: number;
  /** Time to log in after the WebSocket upgrade (the login timeout; close 4005). */
  handshakeTimeoutMs: number;
  /** A logged-in session with no traffic for this long is closed. */
  idleTimeoutMs: number;
  /** Partial uploads untouched for this long are deleted. */
  partialTtlMs: number;
  /** fdatasync + ack after this many bytes of one upload (and at the end / when idle). */
  syncEveryBytes: number;
  /** Quota for users created without one; 0 = unlimited. */
  defaultQuotaBytes: number;
  /** Failed logins (per user and per IP) within throttleWindowMs before ETHROTTLE. */
  maxFailedLogins: number;
  throttleWindowMs: number;
  /** Upper bound on bytes a session holds in memory waiting for the disk before it pauses reading. */
  sessionBufferBytes: number;
  /** The same bound for all sessions together: past it, sessions that add more pause reading. */
  serverBufferBytes: number;
  /**
   * Transport security (see server/tls/transport.ts). 'on': TLS (wss://), with the certificate
   * files or a self-signed identity; 'off': plain ws:// (`ferry serve` allows that off loopback
   * only with --insecure); 'auto' (default): TLS when certificate files are given or the address
   * is not loopback. A TLS server still takes plain ws:// on connections that arrive over
   * loopback (server/tls/front-door.ts).
   */
  tls: 'auto' | 'on' | 'off';
  /**
   * PEM certificate (the chain may follow the leaf) and its unencrypted key. Without them a TLS
   * server makes its own self-signed identity once under `<root>/tls/` and keeps it.
   */
  tlsCert?: string;
  tlsKey?: string;
  /** Remote commands; off unless `exec.allow` names programs. */
  exec: ExecOptions;
  /** Self-registration with the `register` op. Default 'off'. */
  registration: RegistrationMode;
  /** `register` requests one address may make within registrationWindowMs (ETHROTTLE past it). */
  maxRegistrationsPerIp: number;
  registrationWindowMs: number;
  logger?: Logger;
}

export const DEFAULT_SERVER_OPTIONS: Omit<ServerOptions, 'root' | 'logger'> = {
  host: '127.0.0.1',
  port: 7070,
  maxSessions: 64,
  maxSessionsPerUser: 8,
  maxConnectionsPerIp: 32,
  maxUnauthenticated: 512,
  upgradeTimeoutMs: 10_000,
  queueTimeoutMs: 120_000,
  handshakeTimeoutMs: 15_000,
  idleTimeoutMs: 30 * 60_000,
  partialTtlMs: 24 * 3600_000,
  syncEveryBytes: 8 * 1024 * 1024,
  defaultQuotaBytes: 0,
  maxFailedLogins: 5,
  throttleWindowMs: 5 * 60_000,
  sessionBufferBytes: 4 * 1024 * 1024,
  serverBufferBytes: 32 * 1024 * 1024,
  exec: { allow: [], timeoutMs: 30_000, maxOutputBytes: 1024 * 1024, maxPerSession: 3, isolation: 'user', uidBase: 2_000_000_000 },
  tls: 'auto',
  registration: 'off',
  maxRegistrationsPerIp: 5,
  registrationWindowMs: 3600_000,
};

import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { CLOSE, FerryError } from '../src/protocol/errors.js';
import { FRAME_HEADER_BYTES } from '../src/protocol/frame.js';
import { LIMITS, SUBPROTOCOL } from '../src/protocol/limits.js';
import { normalizeExecOptions } from './exec/allowlist.js';
import { createLogger, type Logger } from './log.js';
import { DEFAULT_SERVER_OPTIONS, type ExecOptions, type ServerOptions } from './options.js';
import { RefusalLog } from './refusal-log.js';
import { Admission } from './session/admission.js';
import { Session, SERVER_VERSION } from './session/session.js';
import { UploadBudget } from './session/upload-budget.js';
import { LocalStorage } from './storage/local-storage.js';
import type { Storage } from './storage/storage.js';
import { FrontDoor } from './tls/front-door.js';
import { isLoopback, wantsTls } from './tls/transport.js';
import { loadTlsIdentity, type TlsIdentity } from './tls/server-identity.js';
import { Registration } from './users/registration.js';
import { SqliteUserStore } from './users/sqlite-user-store.js';
import type { UserStore } from './users/types.js';

export type { ExecOptions, RegistrationMode, ServerOptions } from './options.js';
export { DEFAULT_SERVER_OPTIONS } from './options.js';

/** Ping every peer this often; one that has not answered the previous ping is cut off. */
const HEARTBEAT_MS = 30_000;
/** The partial sweeper runs once per partialTtlMs, but at least hourly and at most every second. */
const MAX_SWEEP_INTERVAL_MS = 3600_000;
const MIN_SWEEP_INTERVAL_MS = 1000;
/** Refused sockets of one kind are logged once, then summed up in one line per this window. */
const REFUSAL_LOG_WINDOW_MS = 10_000;

export interface FerryServer {
  /** Starts listening; resolves with the bound address (the real port when options.port is 0). */
  listen(): Promise<{ host: string; port: number }>;
  /**
   * Stops accepting, tells every client `closing` (CLOSE.SHUTDOWN), releases their uploads
   * (partials are kept for resume), closes the user store and storage. Idempotent.
   */
  close(): Promise<void>;
  address(): { host: string; port: number } | null;
  /** Logged-in sessions holding a slot now. */
  readonly sessions: number;
  /** Open WebSocket connections (logged in, queued or still greeting). */
  readonly connections: number;
  /**
   * TCP connections not logged in yet: before the WebSocket upgrade, greeting or queued. What
   * maxConnectionsPerIp (per address) and maxUnauthenticated (in all) count.
   */
  readonly unauthenticated: number;
  /** Requests waiting for a session slot. */
  readonly queued: number;
  /** The certificate the server presents (after listen()), or undefined without TLS. */
  readonly tls: TlsIdentity | undefined;
  /**
   * Reads the certificate and key again (the files the options name, or the generated ones) for
   * the handshakes from now on; sessions already open are not touched. EINVAL without TLS or
   * when the new files are unusable (the old identity stays).
   */
  reloadTls(): Promise<TlsIdentity>;
  /** The most logged-in sessions there ever were at once. */
  readonly peakSessions: number;
  readonly storage: Storage;
  readonly users: UserStore;
  readonly options: Readonly<Omit<ServerOptions, 'logger'>>;
}

/** Parts a caller may supply instead of the defaults (an open user store, another storage). */
export interface ServerParts {
  storage?: Storage;
  users?: UserStore;
  /** How often peers are pinged; one that missed the previous ping is cut off. Default 30 s (tests use less). */
  heartbeatMs?: number;
}

/** What createServer accepts: any option may be left out, and so may any field of `exec`. */
export type CreateServerOptions = Partial<Omit<ServerOptions, 'exec'>> & { root: string; exec?: Partial<ExecOptions> };

/**
 * Creates a ferry server over `options.root` (users.db, homes/, partials/); every other option
 * defaults to DEFAULT_SERVER_OPTIONS (remote commands and registration are off). Nothing listens
 * until `listen()`. Logs go to `options.logger`, or to stdout at level info. EINVAL for a bad
 * exec allowlist or registration mode.
 */
export function createServer(options: CreateServerOptions, parts: ServerParts = {}): FerryServer {
  const { logger, exec, ...rest } = options;
  const settings: Omit<ServerOptions, 'logger'> = {
    ...DEFAULT_SERVER_OPTIONS,
    ...stripUndefined(rest),
    root: rest.root,
    exec: normalizeExecOptions(exec ?? {}, DEFAULT_SERVER_OPTIONS.exec),
  };
  if (!['off', 'approval', 'open'].includes(settings.registration)) {
    throw new FerryError('EINVAL', `registration: expected off, approval or open, got ${JSON.stringify(settings.registration)}`);
  }
  for (const key of ['maxConnectionsPerIp', 'maxUnauthenticated', 'upgradeTimeoutMs'] as const) {
    // Zero would refuse or cut every connection.
    if (!Number.isSafeInteger(settings[key]) || settings[key] < 1) {
      throw new FerryError('EINVAL', `${key}: expected a whole number of at least 1, got ${JSON.stringify(settings[key])}`);
    }
  }
  if (settings.tls === 'off' && (settings.tlsCert !== undefined || settings.tlsKey !== undefined)) {
    throw new FerryError('EINVAL', 'tls is "off" but certificate files are given: drop one of them');
  }
  const log: Logger = logger ?? createLogger();
  const registration = new Registration({
    mode: settings.registration,
    maxPerIp: settings.maxRegistrationsPerIp,
    windowMs: settings.registrationWindowMs,
    quotaBytes: settings.defaultQuotaBytes,
  });
  // First what can refuse the options, so that nothing is left open when it does.
  const admission = new Admission({ maxSessions: settings.maxSessions, maxSessionsPerUser: settings.maxSessionsPerUser });
  const uploadBudget = new UploadBudget(settings.serverBufferBytes);
  const users =
    parts.users ??
    SqliteUserStore.open(join(settings.root, 'users.db'), {
      throttle: { maxFailedLogins: settings.maxFailedLogins, throttleWindowMs: settings.throttleWindowMs },
    });
  const storage = parts.storage ?? new LocalStorage(settings.root);

  const sessions = new Set<Session>();
  /**
   * TCP connections that are not logged in yet, from accept until they close or their session
   * gets a slot (before the upgrade, greeting or queued): one count, per IP and in all, for
   * maxConnectionsPerIp and maxUnauthenticated. The timer is the upgrade deadline.
   */
  const unauthenticated = new Map<Duplex, { ip: string; upgradeTimer: NodeJS.Timeout | undefined }>();
  const unauthenticatedPerIp = new Map<string, number>();
  const refusals = new RefusalLog(log, REFUSAL_LOG_WINDOW_MS);

  const deadlines = {
    // Node's own deadlines, for requests that do send something (its checks run only every
    // connectionsCheckingInterval, and never cut a socket that sends nothing: the per-socket
    // upgrade timer in onSocket does that).
    headersTimeout: settings.upgradeTimeoutMs,
    requestTimeout: settings.upgradeTimeoutMs,
    connectionsCheckingInterval: Math.min(30_000, Math.max(1000, Math.floor(settings.upgradeTimeoutMs / 2))),
  };
  const useTls = wantsTls(settings);
  // The certificate is set at listen() (it may have to be made first) and again by reloadTls().
  const door = new FrontDoor({
    tls: useTls,
    http: deadlines,
    handshakeTimeoutMs: settings.upgradeTimeoutMs,
    onSocket,
    onRequest: onHttpRequest,
    onUpgrade,
    onRefused: (socket) => {
      refusals.note('wrong-transport', 'debug', { ip: normalizeIp(socket.remoteAddress) }, 'answered a connection that spoke the wrong transport (TLS or plain)');
      leaveUnauthenticated(socket);
    },
    // Bytes that are not HTTP (or a request Node gave up on): cut at once, no answer.
    onClientError: (error, socket) => {
      refusals.note('client-error', 'debug', { ip: normalizeIp((socket as Socket).remoteAddress), code: error.code }, 'dropped a connection that sent no valid HTTP');
      cut(socket);
    },
  });
  let identity: TlsIdentity | undefined;

  /** Reads (or, the first time, makes) the server's certificate and gives it to new handshakes. */
  async function loadIdentity(): Promise<TlsIdentity> {
    const loaded = await loadTlsIdentity(settings.root, { certFile: settings.tlsCert, keyFile: settings.tlsKey }, [settings.host]);
    door.setSecureContext({ cert: loaded.cert, key: loaded.key });
    identity = loaded;
    return loaded;
  }
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: FRAME_HEADER_BYTES + LIMITS.maxFramePayload,
    clientTracking: false,
    handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
  });

  let heartbeat: NodeJS.Timeout | undefined;
  let sweeper: NodeJS.Timeout | undefined;
  let closing: Promise<void> | undefined;

  /**
   * Every accepted TCP connection, before any byte of it is read: over the per-IP or the global
   * limit of connections not logged in yet it is destroyed at once (no HTTP parsing, no answer);
   * else it is counted and must complete the WebSocket upgrade within upgradeTimeoutMs.
   */
  function onSocket(socket: Socket): boolean {
    if (closing || socket.destroyed) {
      socket.destroy();
      return false;
    }
    const ip = normalizeIp(socket.remoteAddress);
    const fromIp = unauthenticatedPerIp.get(ip) ?? 0;
    if (fromIp >= settings.maxConnectionsPerIp) {
      socket.destroy();
      refusals.note('per-ip', 'info', { ip, limit: settings.maxConnectionsPerIp }, 'too many connections from one address not logged in yet: refused');
      return false;
    }
    if (unauthenticated.size >= settings.maxUnauthenticated) {
      socket.destroy();
      refusals.note('global', 'info', { ip, limit: settings.maxUnauthenticated }, 'too many connections not logged in yet: refused');
      return false;
    }
    unauthenticatedPerIp.set(ip, fromIp + 1);
    const upgradeTimer = setTimeout(() => {
      refusals.note('upgrade-timeout', 'info', { ip, timeoutMs: settings.upgradeTimeoutMs }, 'cut a connection that did not complete the WebSocket upgrade in time');
      cut(socket);
    }, settings.upgradeTimeoutMs);
    upgradeTimer.unref();
    unauthenticated.set(socket, { ip, upgradeTimer });
    socket.once('close', () => leaveUnauthenticated(socket));
    return true;
  }

  /** Destroys a counted connection, which stops counting now rather than at its 'close'. */
  function cut(socket: Duplex): void {
    leaveUnauthenticated(socket);
    socket.destroy();
  }

  /** The connection closed or logged in (its session holds a slot): it no longer counts. Idempotent. */
  function leaveUnauthenticated(socket: Duplex): void {
    const counted = tcpSocket(socket);
    const entry = unauthenticated.get(counted);
    if (!entry) return;
    unauthenticated.delete(counted);
    clearTimeout(entry.upgradeTimer);
    const left = (unauthenticatedPerIp.get(entry.ip) ?? 1) - 1;
    if (left > 0) unauthenticatedPerIp.set(entry.ip, left);
    else unauthenticatedPerIp.delete(entry.ip);
  }

  function onHttpRequest(req: IncomingMessage, res: ServerResponse): void {
    const body = `ferry server ${SERVER_VERSION}: speaks WebSocket subprotocol ${SUBPROTOCOL}. Connect with the ferry client, e.g. ferry ls ferry://USER@HOST:PORT/\n`;
    res.writeHead(req.method === 'GET' || req.method === 'HEAD' ? 200 : 405, {
      'content-type': 'text/plain; charset=utf-8',
      'content-length': Buffer.byteLength(body),
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  function onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    if (closing) {
      refuseUpgrade(socket, 503, 'Service Unavailable', 'ferry server is shutting down\n');
      return;
    }
    const offered = (req.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((p) => p.trim())
      .filter(Boolean);
    if (!offered.includes(SUBPROTOCOL)) {
      const what = offered.length > 0 ? `offered ${offered.join(', ')}` : 'offered no protocol version';
      log.info({ ip: clientIp(req), offered }, 'refused a client speaking another protocol version');
      refuseUpgrade(
        socket,
        426,
        'Upgrade Required',
        `ferry protocol version mismatch: this server speaks ${SUBPROTOCOL}; the client ${what}. Use a ferry client of the same protocol version.\n`,
      );
      return;
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      // Upgraded: from here the login deadline (handshakeTimeoutMs, in the session) applies.
      const entry = unauthenticated.get(tcpSocket(socket));
      if (entry) {
        clearTimeout(entry.upgradeTimer);
        entry.upgradeTimer = undefined;
      }
      onConnection(ws, req, socket);
    });
  }

  function onConnection(ws: WebSocket, req: IncomingMessage, socket: Duplex): void {
    const ip = clientIp(req);
    const session = new Session(ws, ip, {
      options: settings,
      storage,
      users,
      admission,
      registration,
      log,
      uploadBudget,
      // Counted since accept (onSocket); holding a slot, it no longer is unauthenticated.
      onAdmitted: () => leaveUnauthenticated(socket),
    });
    sessions.add(session);
    void session.closed.then(() => {
      sessions.delete(session);
      leaveUnauthenticated(socket);
    });
    session.start();
    if (closing) {
      // The upgrade was under way when close() began.
      session.close(CLOSE.SHUTDOWN, shuttingDownError());
    }
  }

  let sweeping: Promise<void> | undefined;
  function sweep(): Promise<void> {
    // One sweep at a time: a slow disk must not pile them up.
    sweeping ??= (async () => {
      try {
        const removed = await storage.sweepExpired(settings.partialTtlMs);
        if (removed > 0) log.info({ removed, ttlMs: settings.partialTtlMs }, 'expired partial uploads removed');
      } catch (error) {
        log.error({ err: error }, 'partial sweep failed');
      } finally {
        sweeping = undefined;
      }
    })();
    return sweeping;
  }

  const server: FerryServer = {
    async listen() {
      if (useTls) {
        const loaded = await loadIdentity();
        log.info({ fingerprint: loaded.fingerprint, sha256: loaded.fingerprintHex, source: loaded.source, cert: loaded.certFile }, 'tls identity');
      }
      await door.listen(settings.port, settings.host);
      door.onError((error) => log.error({ err: error }, 'server socket error'));
      heartbeat = setInterval(() => {
        for (const session of sessions) session.heartbeat();
      }, parts.heartbeatMs ?? HEARTBEAT_MS);
      heartbeat.unref();
      const sweepEvery = Math.max(MIN_SWEEP_INTERVAL_MS, Math.min(settings.partialTtlMs, MAX_SWEEP_INTERVAL_MS));
      sweeper = setInterval(() => void sweep(), sweepEvery);
      sweeper.unref();
      void sweep();
      const address = server.address()!;
      log.info(
        { ...address, tls: useTls, root: settings.root, maxSessions: settings.maxSessions, execAllow: settings.exec.allow, registration: settings.registration },
        'listening',
      );
      if (!useTls && !isLoopback(settings.host)) log.warn({ host: settings.host }, 'plain ws:// off loopback: passwords and files cross the network unencrypted');
      return address;
    },

    async reloadTls() {
      if (!useTls) throw new FerryError('EINVAL', 'this server does not use TLS');
      const previous = identity?.fingerprint;
      const loaded = await loadIdentity();
      log.info({ fingerprint: loaded.fingerprint, previous, cert: loaded.certFile }, 'tls identity reloaded');
      return loaded;
    },

    get tls() {
      return identity;
    },

    close() {
      closing ??= (async () => {
        clearInterval(heartbeat);
        clearInterval(sweeper);
        const stopped = door.close();
        const shutdown = shuttingDownError();
        admission.close(shutdown);
        for (const session of sessions) session.close(CLOSE.SHUTDOWN, shutdown);
        while (sessions.size > 0) await Promise.all([...sessions].map((s) => s.closed));
        door.closeAllConnections();
        await stopped;
        wss.close();
        refusals.close();
        await sweeping;
        await storage.close();
        users.close();
        log.info('server closed');
      })();
      return closing;
    },

    address() {
      const address = door.address();
      return address === null ? null : { host: address.address, port: address.port };
    },

    get sessions() {
      return admission.active;
    },
    get connections() {
      return sessions.size;
    },
    get unauthenticated() {
      return unauthenticated.size;
    },
    get queued() {
      return admission.waiting;
    },
    get peakSessions() {
      return admission.peak;
    },
    storage,
    users,
    options: settings,
  };
  return server;
}

/** What clients are told when the server stops: come back later. */
function shuttingDownError(): FerryError {
  return new FerryError('EBUSY', 'the server is shutting down', { retryAfterMs: 5000 });
}

function refuseUpgrade(socket: Duplex, status: number, statusText: string, body: string): void {
  socket.end(
    `HTTP/1.1 ${status} ${statusText}\r\n` +
      'Connection: close\r\n' +
      'Content-Type: text/plain; charset=utf-8\r\n' +
      `Sec-WebSocket-Protocol: ${SUBPROTOCOL}\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n` +
      body,
  );
}

/** The peer's address, with IPv4-mapped IPv6 written as plain IPv4 so limits count one host once. */
function clientIp(req: IncomingMessage): string {
  return normalizeIp(req.socket.remoteAddress);
}

/**
 * The TCP socket under `socket`: connections are counted (onSocket) by the socket of the
 * 'connection' event, and over TLS the 'upgrade' event hands over the TLS socket wrapping it.
 */
function tcpSocket(socket: Duplex): Duplex {
  return (socket as Duplex & { _parent?: Duplex })._parent ?? socket;
}

function normalizeIp(remoteAddress: string | undefined): string {
  const address = remoteAddress ?? 'unknown';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

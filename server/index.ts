import { createServer as createHttpServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { CLOSE, FerryError } from '../src/protocol/errors.js';
import { FRAME_HEADER_BYTES } from '../src/protocol/frame.js';
import { LIMITS, SUBPROTOCOL } from '../src/protocol/limits.js';
import { normalizeExecOptions } from './exec/allowlist.js';
import { createLogger, type Logger } from './log.js';
import { DEFAULT_SERVER_OPTIONS, type ExecOptions, type ServerOptions } from './options.js';
import { Admission } from './session/admission.js';
import { Session, SERVER_VERSION } from './session/session.js';
import { UploadBudget } from './session/upload-budget.js';
import { LocalStorage } from './storage/local-storage.js';
import type { Storage } from './storage/storage.js';
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
  /** Requests waiting for a session slot. */
  readonly queued: number;
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
  /** Connections per IP that do not hold a session slot yet (greeting or queued). */
  const unauthenticated = new Map<string, number>();
  const countedUnauthenticated = new WeakSet<Session>();

  const http = createHttpServer(onHttpRequest);
  const wss = new WebSocketServer({
    noServer: true,
    perMessageDeflate: false,
    maxPayload: FRAME_HEADER_BYTES + LIMITS.maxFramePayload,
    clientTracking: false,
    handleProtocols: (protocols) => (protocols.has(SUBPROTOCOL) ? SUBPROTOCOL : false),
  });
  http.on('upgrade', onUpgrade);
  // Keep-alive HTTP connections must not hold close() up.
  http.keepAliveTimeout = 1000;

  let heartbeat: NodeJS.Timeout | undefined;
  let sweeper: NodeJS.Timeout | undefined;
  let closing: Promise<void> | undefined;

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
    wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, req));
  }

  function onConnection(ws: WebSocket, req: IncomingMessage): void {
    const ip = clientIp(req);
    const session = new Session(ws, ip, {
      options: settings,
      storage,
      users,
      admission,
      registration,
      log,
      uploadBudget,
      onAdmitted: (s) => leaveUnauthenticated(s),
    });
    sessions.add(session);
    void session.closed.then(() => {
      sessions.delete(session);
      leaveUnauthenticated(session);
    });
    session.start();
    if (closing) {
      // The upgrade was under way when close() began.
      session.close(CLOSE.SHUTDOWN, shuttingDownError());
      return;
    }
    const count = (unauthenticated.get(ip) ?? 0) + 1;
    unauthenticated.set(ip, count);
    countedUnauthenticated.add(session);
    if (count > settings.maxConnectionsPerIp) {
      log.info({ ip, count }, 'too many connections from one address');
      session.close(CLOSE.POLICY, new FerryError('ELIMIT', `too many connections from ${ip} not logged in yet (limit ${settings.maxConnectionsPerIp})`));
    }
  }

  function leaveUnauthenticated(session: Session): void {
    if (!countedUnauthenticated.has(session)) return;
    countedUnauthenticated.delete(session);
    const left = (unauthenticated.get(session.ip) ?? 1) - 1;
    if (left > 0) unauthenticated.set(session.ip, left);
    else unauthenticated.delete(session.ip);
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
    listen() {
      return new Promise((resolve, reject) => {
        const onError = (error: Error): void => reject(error);
        http.once('error', onError);
        http.listen(settings.port, settings.host, () => {
          http.off('error', onError);
          http.on('error', (error) => log.error({ err: error }, 'server socket error'));
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
            { ...address, root: settings.root, maxSessions: settings.maxSessions, execAllow: settings.exec.allow, registration: settings.registration },
            'listening',
          );
          resolve(address);
        });
      });
    },

    close() {
      closing ??= (async () => {
        clearInterval(heartbeat);
        clearInterval(sweeper);
        const stopped = new Promise<void>((resolve) => http.close(() => resolve()));
        const shutdown = shuttingDownError();
        admission.close(shutdown);
        for (const session of sessions) session.close(CLOSE.SHUTDOWN, shutdown);
        while (sessions.size > 0) await Promise.all([...sessions].map((s) => s.closed));
        http.closeAllConnections();
        await stopped;
        wss.close();
        await sweeping;
        await storage.close();
        users.close();
        log.info('server closed');
      })();
      return closing;
    },

    address() {
      const address = http.address();
      if (address === null || typeof address === 'string') return null;
      return { host: address.address, port: address.port };
    },

    get sessions() {
      return admission.active;
    },
    get connections() {
      return sessions.size;
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
  const address = req.socket.remoteAddress ?? 'unknown';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

function stripUndefined<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}

import { EventEmitter } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { FerryError, LIMITS, type ErrorCode, type Op, type ParamsOf, type Results } from '../protocol/index.js';
import { Connection, canceled, type ConnectionOptions, type StreamHandlers } from './connection.js';
import { hostPortOf } from './url.js';

export type { StreamEvent, StreamHandlers } from './connection.js';

export type SessionState = 'connecting' | 'ready' | 'reconnecting' | 'closed';

export interface ReconnectOptions {
  /** First wait after a drop; doubles per failed attempt. Default 250 ms. */
  initialDelayMs?: number;
  /** Longest wait between attempts. Default 10 s. */
  maxDelayMs?: number;
  /** Stop trying (and close for good with ENETWORK) after this long without success. Default 5 min. */
  giveUpAfterMs?: number;
}

export interface SessionOptions {
  /** `ws://host:port` (see parseRemoteUrl for the ferry:// form people type). */
  url: string;
  user: string;
  password: string;
  /** Reconnect after a drop. Default on, with the ReconnectOptions defaults. */
  reconnect?: boolean | ReconnectOptions;
  /** Called with the position in the server's queue while waiting for a session slot (1 = next). */
  onQueue?: (position: number) => void;
  /** Limit for the handshake and the server's hello (not for waiting in its queue). Default 15 s. */
  connectTimeoutMs?: number;
  /** Ping period; a connection silent for two periods is dropped and reconnected. Default 7.5 s. */
  heartbeatIntervalMs?: number;
  /** Bytes of frames waiting for the socket before sendFrame makes the caller wait. Default 4 MiB. */
  sendHighWaterBytes?: number;
  /**
   * For wss:// (see ConnectionOptions.identity): the same for every dial, so a server that comes
   * back after a cut with another certificate is refused (EIDENTITY ends the session).
   */
  identity?: ConnectionOptions['identity'];
  /** Told the identity of a wss:// server each time one is accepted. */
  onIdentity?: ConnectionOptions['onIdentity'];
}

export interface SessionEvents {
  state: [state: SessionState];
  queue: [position: number];
  reconnected: [generation: number];
  closed: [error?: FerryError];
}

/** Failures on (re)login that retrying with the same credentials cannot fix. */
const FINAL_CODES = new Set<ErrorCode>(['EAUTH', 'EPENDING', 'EPROTO', 'EINVAL', 'EIDENTITY']);

/**
 * A logged-in connection to a ferry server that outlives network trouble: after a drop it
 * reconnects with exponential backoff and jitter, logs in again with the credentials it keeps in
 * memory, and bumps `generation`. Requests in flight at the drop fail with ENETWORK; requests made
 * while reconnecting wait for the new connection. Stream ids belong to one connection, so
 * transfers re-open theirs after a 'reconnected'.
 */
export class Session extends EventEmitter<SessionEvents> {
  readonly url: string;
  readonly user: string;
  readonly #password: string;
  readonly #options: SessionOptions;
  readonly #reconnect: Required<ReconnectOptions> | undefined;
  #state: SessionState = 'connecting';
  #connection: Connection | undefined;
  #generation = 0;
  #closedError: FerryError | undefined;
  #waiters = new Set<{ resolve(): void; reject(error: FerryError): void }>();
  #stopReconnect = new AbortController();
  #login: Results['login'] | undefined;

  private constructor(options: SessionOptions) {
    super();
    // Every running transfer of a queue watches the state (for "reconnecting…"); dozens of small
    // files in flight are normal, not a leak.
    this.setMaxListeners(LIMITS.maxOpenStreams + LIMITS.maxOpenPuts);
    this.url = options.url;
    this.user = options.user;
    this.#password = options.password;
    this.#options = options;
    const reconnect = options.reconnect ?? true;
    this.#reconnect =
      reconnect === false
        ? undefined
        : {
            initialDelayMs: 250,
            maxDelayMs: 10_000,
            giveUpAfterMs: 300_000,
            ...(reconnect === true ? {} : reconnect),
          };
  }

  /**
   * Connects and logs in; resolves once the session is ready. A refused login rejects with the
   * server's FerryError (EAUTH, ETHROTTLE, EPENDING, EBUSY); an unreachable server with ENETWORK
   * naming host:port and the cause. There is no retry on this first attempt.
   */
  static async connect(options: SessionOptions): Promise<Session> {
    const session = new Session(options);
    try {
      session.#attach(await session.#dial());
    } catch (error) {
      session.#state = 'closed';
      session.#closedError = error as FerryError;
      throw error;
    }
    return session;
  }

  get state(): SessionState {
    return this.#state;
  }

  /** Increments with each successful login: 1 after connect, 2 after the first reconnect, … */
  get generation(): number {
    return this.#generation;
  }

  /** What the last login answered (user, quota, server session id). */
  get login(): Results['login'] | undefined {
    return this.#login;
  }

  /** `host:port` of the server. */
  get where(): string {
    return hostPortOf(this.url);
  }

  /** Resolves when the session is ready (at once if it is); rejects once it is closed for good. */
  waitReady(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(canceled(signal));
    if (this.#state === 'ready') return Promise.resolve();
    if (this.#state === 'closed') return Promise.reject(this.#closedReason());
    return new Promise<void>((resolve, reject) => {
      const onAbort = () => {
        this.#waiters.delete(waiter);
        reject(canceled(signal!));
      };
      const waiter = {
        resolve: () => {
          signal?.removeEventListener('abort', onAbort);
          resolve();
        },
        reject: (error: FerryError) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      };
      this.#waiters.add(waiter);
      signal?.addEventListener('abort', onAbort, { once: true });
    });
  }

  /**
   * Sends one request and resolves with the server's result; an error reply rejects with
   * FerryError.fromWire. While reconnecting the request waits for the new connection; a request
   * in flight when the connection drops rejects with ENETWORK. An aborted `signal` rejects with
   * ECANCELED (the reply, if any, is ignored). With `generation` (for requests about a stream) it
   * goes only on that connection, and rejects with ENETWORK at once when that one is gone.
   */
  async request<O extends Op>(op: O, params: ParamsOf<O>, options: { signal?: AbortSignal; generation?: number } = {}): Promise<Results[O]> {
    if (options.generation !== undefined) {
      // Stream ids belong to one connection: a request about a stream must never reach the next
      // connection, where the same id is unknown or, worse, names another stream.
      const connection = this.#connection;
      if (this.#generation !== options.generation || !connection || connection.closed) {
        throw new FerryError('ENETWORK', `the connection to ${this.where} that opened this stream is gone`);
      }
      return connection.request(op, params, options.signal);
    }
    for (;;) {
      await this.waitReady(options.signal);
      const connection = this.#connection;
      // Between the wake-up and here the connection may have dropped again; wait once more.
      if (connection && !connection.closed) return connection.request(op, params, options.signal);
    }
  }

  /**
   * Routes DATA frames and stream events of `stream` (an id from an open reply of the current
   * generation) to `handlers`; `lost` is called when that connection goes. Call it right after
   * the open reply: frames that came first are kept for it. Returns the unsubscribe function.
   */
  onStream(stream: number, handlers: StreamHandlers): () => void {
    const connection = this.#connection;
    if (!connection) {
      const error = this.#state === 'closed' ? this.#closedReason() : new FerryError('ENETWORK', `not connected to ${this.where}`);
      queueMicrotask(() => handlers.lost?.(error));
      return () => {};
    }
    return connection.onStream(stream, handlers);
  }

  /**
   * Sends one binary frame on the current connection. Resolves when the socket took it, waiting
   * while more than `sendHighWaterBytes` (4 MiB) are queued; rejects with ENETWORK when there is
   * no connection or it drops meanwhile.
   */
  sendFrame(buf: Buffer, onWritten?: () => void): Promise<void> {
    const connection = this.#connection;
    if (!connection) return Promise.reject(new FerryError('ENETWORK', `not connected to ${this.where}`));
    return connection.sendFrame(buf, onWritten);
  }

  /**
   * An upload.put (see Connection.put) on the current connection. ENETWORK when there is none or
   * it drops before the reply; the caller decides whether to send the file again.
   */
  put(params: Omit<ParamsOf<'upload.put'>, 'stream'>, frame: Buffer | undefined, signal?: AbortSignal): Promise<Results['upload.put']> {
    const connection = this.#connection;
    if (!connection || connection.closed) return Promise.reject(new FerryError('ENETWORK', `not connected to ${this.where}`));
    return connection.put(params, frame, signal);
  }

  /** Stops reading from the server (download backpressure). Each call needs one resumeIncoming(). */
  pauseIncoming(): void {
    this.#connection?.pause();
  }

  resumeIncoming(): void {
    this.#connection?.resume();
  }

  /** Closes for good: pending requests fail with ECANCELED, 'closed' is emitted without an error. */
  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    const error = new FerryError('ECANCELED', `session to ${this.where} closed`);
    this.#closedError = error;
    this.#stopReconnect.abort();
    const connection = this.#connection;
    this.#connection = undefined;
    this.#setState('closed');
    for (const waiter of this.#waiters) waiter.reject(error);
    this.#waiters.clear();
    await connection?.close(error);
    this.emit('closed');
  }

  #closedReason(): FerryError {
    return this.#closedError ?? new FerryError('ENETWORK', `session to ${this.where} is closed`);
  }

  #dial(): Promise<Connection> {
    return Connection.open({
      url: this.url,
      user: this.user,
      password: this.#password,
      timeoutMs: this.#options.connectTimeoutMs ?? 15_000,
      heartbeatMs: this.#options.heartbeatIntervalMs ?? 7_500,
      sendHighWaterBytes: this.#options.sendHighWaterBytes ?? 4 * 1024 * 1024,
      onQueue: (position) => {
        this.#options.onQueue?.(position);
        this.emit('queue', position);
      },
      ...(this.#options.identity ? { identity: this.#options.identity } : {}),
      ...(this.#options.onIdentity ? { onIdentity: this.#options.onIdentity } : {}),
    });
  }

  #attach(connection: Connection): void {
    this.#connection = connection;
    this.#login = connection.login;
    this.#generation++;
    connection.onLost = (error) => this.#onLost(connection, error);
    this.#setState('ready');
    for (const waiter of this.#waiters) waiter.resolve();
    this.#waiters.clear();
  }

  #onLost(connection: Connection, error: FerryError): void {
    if (connection !== this.#connection || this.#state === 'closed') return;
    this.#connection = undefined;
    if (!this.#reconnect || FINAL_CODES.has(error.code)) {
      this.#closeForGood(error.code === 'ENETWORK' || FINAL_CODES.has(error.code) ? error : new FerryError('ENETWORK', error.message));
      return;
    }
    this.#setState('reconnecting');
    void this.#reconnectLoop(this.#reconnect, error);
  }

  async #reconnectLoop(policy: Required<ReconnectOptions>, firstCause: FerryError): Promise<void> {
    const started = Date.now();
    const stop = this.#stopReconnect.signal;
    let lastError = firstCause;
    for (let attempt = 0; ; attempt++) {
      const base = Math.min(policy.maxDelayMs, policy.initialDelayMs * 2 ** Math.min(attempt, 30));
      // Equal jitter: clients cut off together do not all come back in the same millisecond.
      let delay = base / 2 + Math.random() * (base / 2);
      if (lastError.details.retryAfterMs !== undefined) delay = Math.max(delay, lastError.details.retryAfterMs);
      delay = Math.min(delay, Math.max(0, started + policy.giveUpAfterMs - Date.now()));
      try {
        await sleep(delay, undefined, { signal: stop });
      } catch {
        return;
      }
      try {
        const connection = await this.#dial();
        if (stop.aborted) {
          await connection.close(new FerryError('ECANCELED'));
          return;
        }
        this.#attach(connection);
        this.emit('reconnected', this.#generation);
        return;
      } catch (error) {
        if (stop.aborted) return;
        lastError = error instanceof FerryError ? error : new FerryError('ENETWORK', String(error));
        if (FINAL_CODES.has(lastError.code)) return this.#closeForGood(lastError);
        if (Date.now() - started >= policy.giveUpAfterMs) {
          return this.#closeForGood(
            new FerryError('ENETWORK', `gave up reconnecting to ${this.where} after ${Math.round((Date.now() - started) / 1000)} s: ${lastError.message}`),
          );
        }
      }
    }
  }

  #closeForGood(error: FerryError): void {
    if (this.#state === 'closed') return;
    this.#closedError = error;
    this.#stopReconnect.abort();
    this.#setState('closed');
    for (const waiter of this.#waiters) waiter.reject(error);
    this.#waiters.clear();
    this.emit('closed', error);
  }

  #setState(state: SessionState): void {
    if (this.#state === state) return;
    this.#state = state;
    this.emit('state', state);
  }
}

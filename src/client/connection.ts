import type { IncomingMessage } from 'node:http';
import WebSocket from 'ws';
import {
  CLIENT_STREAM_BASE,
  CLOSE,
  FerryError,
  FrameKind,
  LIMITS,
  PROTOCOL_VERSION,
  SUBPROTOCOL,
  decodeFrame,
  parseServerMessage,
  type ErrorCode,
  type Frame,
  type Op,
  type ParamsOf,
  type Results,
  type ServerEvent,
  type WireError,
  writeFrameHeader,
} from '../protocol/index.js';
import { checkUpgrade, type IdentityPolicy, type PeerIdentity } from './server-identity.js';
import { hostPortOf } from './url.js';

/*
 * One WebSocket, from the handshake to its end: hello, login (maybe after waiting in the server's
 * queue), request/reply matching, routing of data frames and stream events by stream id, send
 * backpressure and a heartbeat. It never reconnects; Session builds a new Connection for that.
 */

/** Stream events the server sends about one open transfer. */
export type StreamEvent = Extract<ServerEvent, { stream: number }>;

/** Callbacks for one stream on one connection. */
export interface StreamHandlers {
  /** A binary frame of this stream (DATA for downloads, EXEC_* for commands). The payload is a view, not a copy. */
  frame?(frame: Frame): void;
  /** ack / upload.error / download.end / download.error / exec.exit of this stream. */
  event?(event: StreamEvent): void;
  /** The connection carrying this stream is gone; the stream id means nothing any more. */
  lost?(error: FerryError): void;
}

export interface ConnectionOptions {
  url: string;
  user: string;
  password: string;
  /** Limit for the WebSocket handshake plus the server's hello, and for the login reply unless queued. */
  timeoutMs: number;
  heartbeatMs: number;
  sendHighWaterBytes: number;
  onQueue(position: number): void;
  /**
   * For wss:// only: what is known of the server's identity. The handshake accepts any
   * certificate; this decides, before anything is sent over the WebSocket (the password goes
   * only after the server's hello), with checkIdentity. Without it, only a certificate a trusted
   * CA issued for the host is accepted.
   */
  identity?: Omit<IdentityPolicy, 'where'>;
  /** Told the identity of a wss:// server that was accepted (to pin it). */
  onIdentity?(peer: PeerIdentity): void;
}

interface Pending {
  op: Op;
  resolve(result: unknown): void;
  reject(error: FerryError): void;
}

/** Ops whose reply opens a stream that data frames and events will then carry. */
const STREAM_OPENERS = new Set<Op>(['upload.open', 'download.open', 'exec.start']);
const STREAM_EVENTS = new Set<string>(['ack', 'upload.error', 'download.end', 'download.error', 'exec.exit']);
/** How to close a stream whose open request the caller gave up on. */
const STREAM_CLOSERS: Partial<Record<Op, Op>> = { 'upload.open': 'upload.cancel', 'download.open': 'download.cancel', 'exec.start': 'exec.cancel' };

/** How a close code the server chose reads when no `closing` event said more. */
const CLOSE_CODES: Partial<Record<number, ErrorCode>> = {
  [CLOSE.PROTOCOL]: 'EPROTO',
  [CLOSE.POLICY]: 'ELIMIT',
  [CLOSE.TOO_BIG]: 'ELIMIT',
  [CLOSE.AUTH_FAILED]: 'EAUTH',
  [CLOSE.THROTTLED]: 'ETHROTTLE',
  [CLOSE.BUSY]: 'EBUSY',
  [CLOSE.HANDSHAKE_TIMEOUT]: 'ETIMEDOUT',
};

/**
 * The WebSocket masking key of every frame we send: all zeros, which ws takes as "nothing to
 * mask" and sends our buffers as they are. A random key makes ws copy and XOR every byte of every
 * frame (a second pass over each file and a 1 MiB allocation per frame). Masking protects
 * intermediaries from a browser's script choosing bytes on the wire; ferry is not a browser, and
 * every message starts with bytes ferry writes (a JSON request or a frame header), never with
 * file content. See docs/architecture.md.
 */
function zeroMask(mask: Buffer): void {
  mask.fill(0);
}

export class Connection {
  readonly url: string;
  readonly login: Results['login'];
  /** Called once when the socket is gone after a successful login (not after close()). */
  onLost: (error: FerryError) => void = () => {};

  readonly #ws: WebSocket;
  readonly #where: string;
  readonly #pending = new Map<number, Pending>();
  /** Requests given up by the caller (abort) whose reply may still open a stream to cancel. */
  readonly #abandoned = new Map<number, Op>();
  readonly #routes = new Map<number, StreamHandlers>();
  /**
   * Streams announced by an open reply whose owner has not called onStream yet. ws emits every
   * message of one socket read synchronously, so the first frames can arrive before the caller's
   * `await` resumes; they wait here instead of being lost.
   */
  readonly #announced = new Map<number, Array<{ frame: Frame } | { event: StreamEvent }>>();
  readonly #sendHighWater: number;
  #nextId = 1;
  /** The next stream id this side picks for an upload.put. */
  #nextPutStream = CLIENT_STREAM_BASE;
  #unflushed = 0;
  #drainWaiters: Array<{ resolve(): void; reject(error: FerryError): void }> = [];
  #pauses = 0;
  #lastHeard = Date.now();
  #heartbeat: NodeJS.Timeout | undefined;
  #closingError: FerryError | undefined;
  #ended: FerryError | undefined;
  #ownClose: FerryError | undefined;

  private constructor(ws: WebSocket, url: string, login: Results['login'], heartbeatMs: number, sendHighWater: number) {
    this.#ws = ws;
    this.url = url;
    this.#where = hostPortOf(url);
    this.login = login;
    this.#sendHighWater = sendHighWater;
    this.#startHeartbeat(heartbeatMs);
  }

  /**
   * Dials, waits for the server's hello, logs in and resolves once logged in. Rejects with the
   * server's FerryError for a refused login (EAUTH, ETHROTTLE, EPENDING, EBUSY …) and with
   * ENETWORK (naming host:port and the cause) when the connection cannot be made or breaks.
   */
  static open(options: ConnectionOptions): Promise<Connection> {
    const where = hostPortOf(options.url);
    return new Promise<Connection>((resolve, reject) => {
      let ws: WebSocket;
      try {
        ws = new WebSocket(options.url, SUBPROTOCOL, {
          perMessageDeflate: false,
          maxPayload: LIMITS.maxServerMessageBytes,
          handshakeTimeout: options.timeoutMs,
          generateMask: zeroMask,
          // The identity is checked by checkIdentity at 'upgrade', which can tell a pinned
          // self-signed certificate from an unknown one; OpenSSL's verdict is one of its inputs.
          rejectUnauthorized: false,
        });
      } catch (error) {
        reject(new FerryError('EINVAL', `bad server URL ${options.url}: ${(error as Error).message}`));
        return;
      }
      let settled = false;
      let cause: string | undefined;
      let closingError: FerryError | undefined;
      let timer: NodeJS.Timeout | undefined = setTimeout(() => {
        cause = `no answer within ${options.timeoutMs} ms`;
        ws.terminate();
      }, options.timeoutMs);
      const loginId = 0;

      const fail = (error: FerryError) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        ws.removeAllListeners();
        // A failed socket still gets an 'error' listener so a late error cannot crash the process.
        ws.on('error', () => {});
        if (ws.readyState !== WebSocket.CLOSED) ws.terminate();
        reject(error);
      };

      ws.on('error', (error: Error & { code?: string }) => {
        cause = describeSocketError(error);
        if (/subprotocol/i.test(error.message)) {
          fail(new FerryError('EPROTO', `${where} does not speak ${SUBPROTOCOL}: ${error.message}`));
        } else if (/wrong version number|packet length too long|http request/i.test(`${error.message} ${error.code ?? ''}`)) {
          // A TLS ClientHello answered with plain HTTP.
          fail(
            new FerryError(
              'EPROTO',
              `${where} does not speak TLS (a plain ws:// server: an old one, or one started with --insecure); ` +
                `if the network between you is trusted, connect with ferry+ws://${where}/`,
            ),
          );
        }
      });
      // A refusal before the upgrade carries its reason in the body (a protocol version
      // mismatch; TLS required): that is what the user should read, not "unexpected 426".
      ws.on('unexpected-response', (_request, response: IncomingMessage) => {
        let body = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          if (body.length < 2048) body += chunk;
        });
        response.on('error', () => undefined);
        response.on('end', () => {
          const text = body.trim() || `HTTP ${response.statusCode} ${response.statusMessage ?? ''}`.trim();
          fail(new FerryError('EPROTO', `${where} refused the connection: ${text}`));
        });
      });
      ws.on('upgrade', (response: IncomingMessage) => {
        const checked = checkUpgrade(response, { where, ...options.identity });
        if ('refusal' in checked) return fail(checked.refusal);
        if (checked.accepted) options.onIdentity?.(checked.accepted);
      });
      ws.on('close', (code: number, reason: Buffer) => {
        if (closingError) return fail(closingError);
        const mapped = CLOSE_CODES[code];
        const text = reason.toString() || undefined;
        if (mapped) return fail(new FerryError(mapped, text));
        fail(new FerryError('ENETWORK', `cannot connect to ${where}: ${cause ?? text ?? `connection closed (code ${code})`}`));
      });
      ws.on('message', (data: Buffer, isBinary: boolean) => {
        if (isBinary) return fail(new FerryError('EPROTO', `${where} sent data before login`));
        const parsed = parseServerMessage(data.toString());
        if (!parsed.ok) return fail(parsed.error);
        const message = parsed.message;
        if ('event' in message) {
          const event = message as ServerEvent;
          switch (event.event) {
            case 'hello':
              if (event.protocol !== PROTOCOL_VERSION) {
                return fail(new FerryError('EPROTO', `${where} speaks protocol ${event.protocol}, this client speaks ${PROTOCOL_VERSION}`));
              }
              ws.send(JSON.stringify({ id: loginId, op: 'login', user: options.user, password: options.password }));
              return;
            case 'queue':
              // In line for a slot: the server's own queue timeout (EBUSY) bounds the wait now.
              clearTimeout(timer);
              timer = undefined;
              options.onQueue(event.position);
              return;
            case 'closing':
              closingError = FerryError.fromWire(event.error);
              return;
            default:
              return;
          }
        }
        if (message.id !== loginId) return;
        if (!message.ok) return fail(FerryError.fromWire((message as { error: WireError }).error));
        settled = true;
        clearTimeout(timer);
        ws.removeAllListeners();
        const { id: _id, ok: _ok, ...result } = message as { id: number; ok: true } & Results['login'];
        const connection = new Connection(ws, options.url, result, options.heartbeatMs, options.sendHighWaterBytes);
        connection.#nextId = loginId + 1;
        resolve(connection);
      });
    });
  }

  get closed(): boolean {
    return this.#ended !== undefined;
  }

  /** Sends one request and resolves with its result; an error reply rejects with its FerryError. */
  request<O extends Op>(op: O, params: ParamsOf<O>, signal?: AbortSignal): Promise<Results[O]> {
    if (this.#ended) return Promise.reject(this.#ended);
    if (signal?.aborted) return Promise.reject(canceled(signal));
    const id = this.#nextId++;
    const text = JSON.stringify({ ...params, id, op });
    if (Buffer.byteLength(text) > LIMITS.maxControlBytes) {
      return Promise.reject(new FerryError('ELIMIT', `${op} request larger than ${LIMITS.maxControlBytes} bytes`));
    }
    return new Promise<Results[O]>((resolve, reject) => {
      const onAbort = () => {
        if (!this.#pending.delete(id)) return;
        this.#abandoned.set(id, op);
        reject(canceled(signal!));
      };
      this.#pending.set(id, {
        op,
        resolve: (result) => {
          signal?.removeEventListener('abort', onAbort);
          resolve(result as Results[O]);
        },
        reject: (error) => {
          signal?.removeEventListener('abort', onAbort);
          reject(error);
        },
      });
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#ws.send(text);
    });
  }

  /**
   * Sends a whole small file: the upload.put request and, right behind it on the same socket,
   * its frame (`frame` has room for the header, which is written here with the stream id picked
   * for it; undefined for an empty file). Resolves with the server's reply once the file is in
   * place. Waits like sendFrame while the socket holds too much, so many puts in flight cannot
   * pile up memory.
   */
  async put(params: Omit<ParamsOf<'upload.put'>, 'stream'>, frame: Buffer | undefined, signal?: AbortSignal): Promise<Results['upload.put']> {
    const stream = this.#nextPutStream;
    this.#nextPutStream = stream === 0xffff_ffff ? CLIENT_STREAM_BASE : stream + 1;
    const reply = this.request('upload.put', { ...params, stream }, signal);
    if (frame !== undefined) {
      writeFrameHeader(frame, { kind: FrameKind.DATA, flags: 0, stream, offset: 0, length: params.size });
      try {
        await this.sendFrame(frame);
      } catch (error) {
        // The reply fails the same way (the connection is gone); only one rejection is reported.
        reply.catch(() => undefined);
        throw error;
      }
    }
    return reply;
  }

  /**
   * Routes frames and events of `stream` to `handlers`, first delivering any that arrived before
   * this call. Returns the function that stops the routing; later frames of the stream are dropped.
   */
  onStream(stream: number, handlers: StreamHandlers): () => void {
    if (this.#ended) {
      const error = this.#ended;
      queueMicrotask(() => handlers.lost?.(error));
      return () => {};
    }
    this.#routes.set(stream, handlers);
    const early = this.#announced.get(stream);
    this.#announced.delete(stream);
    for (const item of early ?? []) {
      if (this.#routes.get(stream) !== handlers) break;
      if ('frame' in item) handlers.frame?.(item.frame);
      else handlers.event?.(item.event);
    }
    return () => {
      if (this.#routes.get(stream) === handlers) this.#routes.delete(stream);
    };
  }

  /**
   * Queues one binary frame. Resolves at once while less than the high-water mark is waiting for
   * the socket, otherwise when it has drained below half of it, so a fast reader of a fast disk
   * cannot pile up memory behind a slow link. `onWritten` is called once the socket no longer
   * needs `buf` (written, or the connection failed), so the caller may reuse it.
   */
  sendFrame(buf: Buffer, onWritten?: () => void): Promise<void> {
    if (this.#ended) return Promise.reject(this.#ended);
    const length = buf.length;
    this.#unflushed += length;
    this.#ws.send(buf, { binary: true }, () => {
      onWritten?.();
      this.#unflushed -= length;
      if (this.#unflushed <= this.#sendHighWater / 2) this.#releaseDrainWaiters();
    });
    if (this.#unflushed <= this.#sendHighWater) return Promise.resolve();
    return new Promise<void>((resolve, reject) => this.#drainWaiters.push({ resolve, reject }));
  }

  /** Stops reading the socket (download backpressure). Counted: each pause needs one resume. */
  pause(): void {
    if (this.#ended) return;
    if (this.#pauses++ === 0) this.#ws.pause();
  }

  resume(): void {
    if (this.#ended || this.#pauses === 0) return;
    if (--this.#pauses === 0) {
      // Nothing could be heard while paused; that silence is ours, not a dead peer's.
      this.#lastHeard = Date.now();
      this.#ws.resume();
    }
  }

  /** Closes the socket on purpose; pending requests and streams fail with `error`. */
  close(error: FerryError): Promise<void> {
    if (this.#ended) return Promise.resolve();
    this.#ownClose = error;
    return new Promise<void>((resolve) => {
      const timer = setTimeout(() => this.#ws.terminate(), 2_000);
      this.#ws.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      this.#ws.close(CLOSE.NORMAL, 'client closing');
    });
  }

  #startHeartbeat(heartbeatMs: number): void {
    const ws = this.#ws;
    ws.on('message', (data: Buffer, isBinary: boolean) => this.#onMessage(data, isBinary));
    ws.on('pong', () => {
      this.#lastHeard = Date.now();
    });
    ws.on('error', () => {
      // The 'close' that follows carries the consequence.
    });
    ws.on('close', (code: number, reason: Buffer) => this.#onClose(code, reason.toString()));
    this.#heartbeat = setInterval(() => {
      if (this.#pauses === 0 && Date.now() - this.#lastHeard > 2 * heartbeatMs) {
        this.#closingError ??= new FerryError('ENETWORK', `${this.#where} stopped answering`);
        ws.terminate();
        return;
      }
      if (ws.readyState === WebSocket.OPEN) ws.ping();
    }, heartbeatMs);
    this.#heartbeat.unref();
  }

  #onMessage(data: Buffer, isBinary: boolean): void {
    this.#lastHeard = Date.now();
    if (isBinary) {
      const decoded = decodeFrame(data);
      if (!decoded.ok) return this.#protocolError(decoded.error.message);
      this.#deliver(decoded.frame.stream, { frame: decoded.frame });
      return;
    }
    const parsed = parseServerMessage(data.toString());
    if (!parsed.ok) return this.#protocolError(parsed.error.message);
    const message = parsed.message;
    if ('event' in message) {
      const event = message as ServerEvent;
      if (STREAM_EVENTS.has(event.event)) return this.#deliver((event as StreamEvent).stream, { event: event as StreamEvent });
      if (event.event === 'closing') this.#closingError = FerryError.fromWire(event.error);
      return;
    }
    const pending = this.#pending.get(message.id);
    if (!pending) {
      this.#cancelAbandoned(message);
      return;
    }
    this.#pending.delete(message.id);
    if (!message.ok) return pending.reject(FerryError.fromWire((message as { error: WireError }).error));
    const { id: _id, ok: _ok, ...result } = message;
    if (STREAM_OPENERS.has(pending.op) && typeof result.stream === 'number' && !this.#routes.has(result.stream)) {
      this.#announced.set(result.stream, []);
    }
    pending.resolve(result);
  }

  #deliver(stream: number, item: { frame: Frame } | { event: StreamEvent }): void {
    const handlers = this.#routes.get(stream);
    if (handlers) {
      if ('frame' in item) handlers.frame?.(item.frame);
      else handlers.event?.(item.event);
      return;
    }
    // Frames of a stream nobody owns (canceled, finished) are dropped.
    this.#announced.get(stream)?.push(item);
  }

  /** The caller gave up on an open request; if the server opened the stream anyway, close it. */
  #cancelAbandoned(message: { id: number; ok: boolean } & Record<string, unknown>): void {
    const op = this.#abandoned.get(message.id);
    this.#abandoned.delete(message.id);
    if (!op || !message.ok || typeof message.stream !== 'number') return;
    const cancelOp = STREAM_CLOSERS[op] as 'upload.cancel' | 'download.cancel' | 'exec.cancel' | undefined;
    if (cancelOp) this.request(cancelOp, { stream: message.stream }).catch(() => {});
  }

  #protocolError(message: string): void {
    this.#closingError = new FerryError('EPROTO', `${this.#where}: ${message}`);
    this.#ws.close(CLOSE.PROTOCOL, 'protocol error');
  }

  #onClose(code: number, reason: string): void {
    clearInterval(this.#heartbeat);
    const why = this.#closingError ?? (CLOSE_CODES[code] ? new FerryError(CLOSE_CODES[code]!, reason || undefined) : undefined);
    // In-flight work always reads as a network loss (the caller may retry after a reconnect);
    // the precise reason goes to the Session, which decides whether to reconnect.
    const lost =
      this.#ownClose ??
      new FerryError('ENETWORK', `connection to ${this.#where} lost${why ? `: ${why.message}` : reason ? `: ${reason}` : ` (code ${code})`}`);
    this.#ended = lost;
    for (const pending of this.#pending.values()) pending.reject(lost);
    this.#pending.clear();
    this.#abandoned.clear();
    const routes = [...this.#routes.values()];
    this.#routes.clear();
    this.#announced.clear();
    for (const handlers of routes) handlers.lost?.(lost);
    this.#releaseDrainWaiters(lost);
    if (!this.#ownClose) this.onLost(why ?? lost);
  }

  #releaseDrainWaiters(error?: FerryError): void {
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const waiter of waiters) {
      if (error) waiter.reject(error);
      else waiter.resolve();
    }
  }
}

/** The FerryError for an aborted signal: ECANCELED, unless the reason already is a FerryError. */
export function canceled(signal: AbortSignal): FerryError {
  const reason: unknown = signal.reason;
  if (reason instanceof FerryError) return reason;
  return new FerryError('ECANCELED', reason instanceof Error && reason.name !== 'AbortError' ? reason.message : undefined);
}

function describeSocketError(error: Error & { code?: string }): string {
  if (error.code === 'ECONNREFUSED') return 'connection refused';
  if (error.code === 'ENOTFOUND' || error.code === 'EAI_AGAIN') return 'host not found';
  if (error.code === 'ETIMEDOUT') return 'timed out';
  if (error.code === 'ECONNRESET') return 'connection reset';
  return error.code ? `${error.message} (${error.code})` : error.message;
}

import { randomBytes } from 'node:crypto';
import type { Logger } from 'pino';
import { WebSocket, type RawData } from 'ws';
import { CLOSE, FerryError, type WireError } from '../../src/protocol/errors.js';
import { decodeFrame, FrameKind } from '../../src/protocol/frame.js';
import { CLIENT_STREAM_BASE, LIMITS, PROTOCOL_VERSION } from '../../src/protocol/limits.js';
import { parseRequest, type Request, type RequestOf, type Results, type ServerEvent } from '../../src/protocol/messages.js';
import { SessionExecs } from '../exec/session-execs.js';
import type { ServerOptions } from '../options.js';
import type { Storage, UserSpace } from '../storage/storage.js';
import type { Registration } from '../users/registration.js';
import type { UserStore } from '../users/types.js';
import type { Admission, AdmissionTicket, Slot } from './admission.js';
import { DownloadStream } from './download-stream.js';
import { asFerryError } from './errors.js';
import { isFileOp, runFileOp } from './file-ops.js';
import { PendingPuts } from './pending-puts.js';
import type { UploadBudget } from './upload-budget.js';
import { UploadStream } from './upload-stream.js';

/** Reported in the `hello` event. */
export const SERVER_NAME = 'ferry';
export const SERVER_VERSION = '0.1.0';

/** Unanswerable bad messages (no readable id) tolerated before the connection is closed. */
const MAX_UNADDRESSED_ERRORS = 3;
/** Bytes of outgoing frames the socket may hold before downloads wait (per session). */
const SEND_HIGH_WATER = 4 * 1024 * 1024;
/** After a close frame is sent, how long the peer gets to answer before the socket is destroyed. */
const CLOSE_GRACE_MS = 3000;

/** What a session needs from its server. */
export interface SessionContext {
  options: Omit<ServerOptions, 'logger'>;
  storage: Storage;
  users: UserStore;
  admission: Admission;
  /** The `register` op (self-registration before login). */
  registration: Registration;
  log: Logger;
  /** Upload payload in memory across all sessions (serverBufferBytes). */
  uploadBudget: UploadBudget;
  /** The session holds a slot now (it no longer counts as an unauthenticated connection). */
  onAdmitted(session: Session): void;
}

type State = 'greeting' | 'authenticating' | 'queued' | 'active' | 'closed';

/**
 * One WebSocket connection: the login handshake and admission, dispatch of control messages,
 * upload and download streams, timeouts, and flow control. It trusts nothing the peer sends:
 * every message is parsed against the schemas, every stream id is checked, and every failure
 * becomes a reply with a stable code or, when the peer breaks the protocol, a `closing` event
 * and a close code.
 */
export class Session {
  readonly id = randomBytes(8).toString('hex');
  readonly ip: string;
  readonly startedAt = Date.now();
  /** Resolves once the socket is gone and every stream has been released. */
  readonly closed: Promise<void>;
  #ws: WebSocket;
  #ctx: SessionContext;
  #log: Logger;
  #state: State = 'greeting';
  #closing = false;
  #closeError: FerryError | undefined;
  #user: string | undefined;
  #space: UserSpace | undefined;
  #ticket: AdmissionTicket | undefined;
  #slot: Slot | undefined;
  #uploads = new Map<number, UploadStream>();
  #downloads = new Map<number, DownloadStream>();
  /** upload.put requests waiting for their frame. */
  #puts = new PendingPuts();
  /** Remote commands; set up at login. */
  #execs: SessionExecs | undefined;
  /**
   * Requests and download pumps still running. The session counts as closed only once they are
   * done, so that nothing touches the storage after the server has closed it.
   */
  #running = new Set<Promise<void>>();
  /** Streams being opened (counted against the limit before their open finishes). */
  #opening = 0;
  #nextStream = 1;
  #unaddressedErrors = 0;
  #handshakeTimer: NodeJS.Timeout | undefined;
  /** The login deadline passed while a login was being checked; a failed one then ends the connection. */
  #handshakeExpired = false;
  #idleTimer: NodeJS.Timeout | undefined;
  #forceCloseTimer: NodeJS.Timeout | undefined;
  #lastActivity = Date.now();
  #pongSeen = true;
  /** Upload payload in memory waiting for the disk; above sessionBufferBytes the socket is paused. */
  #queuedBytes = 0;
  /** The socket is paused: for one of the two reasons below. */
  #paused = false;
  #overOwnBuffer = false;
  #overBudget = false;
  #drainWaiters: Array<() => void> = [];
  #resolveClosed!: () => void;

  constructor(ws: WebSocket, ip: string, ctx: SessionContext) {
    this.#ws = ws;
    this.ip = ip;
    this.#ctx = ctx;
    this.#log = ctx.log.child({ session: this.id, ip });
    this.closed = new Promise((resolve) => (this.#resolveClosed = resolve));
  }

  get user(): string | undefined {
    return this.#user;
  }

  /** True once logged in and holding a session slot. */
  get active(): boolean {
    return this.#state === 'active';
  }

  /** Greets the client and starts the login clock. */
  start(): void {
    const ws = this.#ws;
    ws.on('message', (data, isBinary) => this.#onMessage(data, isBinary));
    ws.on('pong', () => (this.#pongSeen = true));
    ws.on('error', (error) => this.#log.info({ err: error }, 'socket error'));
    ws.on('close', (code, reason) => void this.#onClose(code, reason.toString()));
    this.#log.info('connection open');
    this.#sendEvent({ event: 'hello', server: SERVER_NAME, version: SERVER_VERSION, protocol: PROTOCOL_VERSION, maxFramePayload: LIMITS.maxFramePayload });
    const { handshakeTimeoutMs } = this.#ctx.options;
    this.#handshakeTimer = setTimeout(() => {
      // A login being checked right now gets its answer first: slow hashing is the server's time.
      if (this.#state === 'authenticating') this.#handshakeExpired = true;
      else this.#closeHandshakeTimeout();
    }, handshakeTimeoutMs);
  }

  #closeHandshakeTimeout(): void {
    this.close(CLOSE.HANDSHAKE_TIMEOUT, new FerryError('ETIMEDOUT', `no login within ${seconds(this.#ctx.options.handshakeTimeoutMs)} s`));
  }

  /**
   * Says why in a `closing` event (when `error` is given), then closes the socket with `code`.
   * A peer that does not answer the close within a few seconds is cut off.
   */
  close(code: number, error?: FerryError): void {
    if (this.#closing || this.#state === 'closed') return;
    this.#closing = true;
    this.#closeError = error;
    if (error) this.#sendEvent({ event: 'closing', error: error.toWire() });
    this.#ws.close(code, closeReason(error?.message ?? ''));
    this.#forceCloseTimer = setTimeout(() => this.#ws.terminate(), CLOSE_GRACE_MS);
    this.#forceCloseTimer.unref();
  }

  /** Called on the server's ping interval: a peer that did not answer the last ping is dead. */
  heartbeat(): void {
    if (this.#state === 'closed') return;
    // A paused socket cannot read the pong; disk backpressure is not the peer's death.
    if (this.#paused) return;
    if (!this.#pongSeen) {
      this.#log.info('no pong: peer gone');
      this.#ws.terminate();
      return;
    }
    this.#pongSeen = false;
    this.#ws.ping();
  }

  // ---- inbound ---------------------------------------------------------------------------------

  #onMessage(data: RawData, isBinary: boolean): void {
    if (this.#state === 'closed' || this.#closing) return;
    this.#lastActivity = Date.now();
    const buffer = Buffer.isBuffer(data) ? data : Array.isArray(data) ? Buffer.concat(data) : Buffer.from(data);
    if (isBinary) this.#onFrame(buffer);
    else this.#onText(buffer.toString('utf8'));
  }

  #onText(text: string): void {
    const parsed = parseRequest(text);
    if (!parsed.ok) {
      if (parsed.id !== undefined) {
        this.#replyError(parsed.id, parsed.error);
        return;
      }
      this.#unaddressedErrors++;
      this.#log.info({ code: parsed.error.code, reason: parsed.error.message }, 'unanswerable message');
      if (this.#unaddressedErrors >= MAX_UNADDRESSED_ERRORS) {
        this.close(CLOSE.PROTOCOL, new FerryError('EPROTO', `too many malformed messages (last: ${parsed.error.message})`));
      }
      return;
    }
    const request = parsed.request;
    const handled = this.#handle(request).then(
      (result) => {
        if (result !== undefined) this.#send({ id: request.id, ok: true, ...result });
      },
      (error: unknown) => this.#replyError(request.id, asFerryError(error, this.#log, { op: request.op, user: this.#user })),
    );
    this.#running.add(handled);
    void handled.finally(() => this.#running.delete(handled));
  }

  #onFrame(buffer: Buffer): void {
    if (this.#state !== 'active') {
      this.close(CLOSE.PROTOCOL, new FerryError('EPROTO', 'data frame before login'));
      return;
    }
    const decoded = decodeFrame(buffer);
    if (!decoded.ok) {
      this.close(CLOSE.PROTOCOL, new FerryError('EPROTO', `malformed data frame: ${decoded.error.message}`));
      return;
    }
    const frame = decoded.frame;
    if (frame.kind !== FrameKind.DATA) {
      this.close(CLOSE.PROTOCOL, new FerryError('EPROTO', `a client may not send frames of kind ${frame.kind}`));
      return;
    }
    if (frame.stream >= CLIENT_STREAM_BASE) {
      // A put's frame; one that finds no put belongs to one that failed already, and is dropped.
      if (this.#puts.deliver(frame) === 'taken') this.#onUploadQueued(frame.payload.length);
      return;
    }
    const upload = this.#uploads.get(frame.stream);
    if (upload) {
      upload.push(frame);
      return;
    }
    if (frame.stream === 0 || frame.stream >= this.#nextStream) {
      this.close(CLOSE.PROTOCOL, new FerryError('EPROTO', `data frame for stream ${frame.stream}, which was never opened`));
    }
    // Otherwise: a frame that was in flight when its stream was finished or canceled. Dropped.
  }

  // ---- dispatch --------------------------------------------------------------------------------

  /** Runs one request; resolves with the reply's fields, or undefined when the reply is already sent. */
  async #handle(request: Request): Promise<object | undefined> {
    switch (request.op) {
      case 'login':
        return this.#login(request);
      case 'ping':
        return {};
      case 'register':
        return this.#register(request);
      case 'logout':
        if (this.#state !== 'active') throw new FerryError('ENOTAUTH');
        this.#send({ id: request.id, ok: true });
        this.#ws.close(CLOSE.NORMAL, 'logout');
        return undefined;
      default:
        break;
    }
    const space = this.#requireSpace();
    if (isFileOp(request)) return runFileOp(space, request);
    switch (request.op) {
      case 'upload.open':
        return this.#openUpload(space, request);
      case 'upload.finish':
        return this.#finishUpload(request);
      case 'upload.put':
        return this.#put(space, request);
      case 'upload.cancel':
        return this.#cancelUpload(request);
      case 'download.open':
        return this.#openDownload(space, request);
      case 'download.cancel':
        return this.#cancelDownload(request);
      case 'exec.start':
        return this.#startExec(space, request);
      case 'exec.cancel':
        this.#requireExecs().cancel(request.stream);
        return {};
    }
  }

  #requireSpace(): UserSpace {
    if (this.#state !== 'active' || !this.#space) throw new FerryError('ENOTAUTH');
    return this.#space;
  }

  // ---- login and admission ---------------------------------------------------------------------

  async #login(request: RequestOf<'login'>): Promise<Results['login'] | undefined> {
    if (this.#state === 'active') throw new FerryError('EINVAL', 'already logged in');
    if (this.#state !== 'greeting') throw new FerryError('EINVAL', 'a login is already in progress');
    this.#state = 'authenticating';
    let record;
    try {
      record = await this.#ctx.users.authenticate(request.user, request.password, this.ip);
    } catch (error) {
      if (this.#state === 'authenticating') this.#state = 'greeting';
      const ferr = asFerryError(error, this.#log, { user: request.user });
      this.#log.info({ user: request.user, code: ferr.code }, 'login failed');
      if (this.#handshakeExpired) {
        this.#replyError(request.id, ferr);
        this.#closeHandshakeTimeout();
        return undefined;
      }
      throw ferr;
    }
    if (this.#isGone()) return undefined;
    const user = record.name;
    this.#user = user;
    this.#log = this.#log.child({ user });
    clearTimeout(this.#handshakeTimer);
    this.#state = 'queued';

    const queuedAt = Date.now();
    let queued = false;
    this.#ticket = this.#ctx.admission.request(user, {
      timeoutMs: this.#ctx.options.queueTimeoutMs,
      onPosition: (position) => {
        if (!queued) this.#log.info({ position }, 'waiting for a session slot');
        queued = true;
        this.#sendEvent({ event: 'queue', position });
      },
    });
    let slot: Slot;
    try {
      slot = await this.#ticket.granted;
    } catch (error) {
      const ferr = asFerryError(error, this.#log);
      if (ferr.code === 'ECANCELED' || this.#isGone()) return undefined;
      this.#log.info({ code: ferr.code, waitedMs: Date.now() - queuedAt }, 'gave up waiting for a session slot');
      this.#replyError(request.id, ferr);
      this.close(CLOSE.BUSY, ferr);
      return undefined;
    } finally {
      this.#ticket = undefined;
    }
    if (this.#isGone()) {
      slot.release();
      return undefined;
    }
    this.#slot = slot;
    this.#ctx.onAdmitted(this);
    if (queued) this.#log.info({ waitedMs: Date.now() - queuedAt }, 'got a session slot');

    let lastQuota = record.quota;
    let space: UserSpace;
    let quota;
    try {
      space = this.#ctx.storage.forUser(user, () => {
        // Read at each use so `ferry user quota` applies to running sessions at once.
        const current = this.#ctx.users.get(user);
        if (current) lastQuota = current.quota;
        return lastQuota;
      });
      quota = await space.quota();
    } catch (error) {
      const ferr = asFerryError(error, this.#log);
      this.#replyError(request.id, ferr);
      this.close(CLOSE.INTERNAL, ferr);
      return undefined;
    }
    if (this.#isGone()) return undefined;
    this.#space = space;
    this.#execs = new SessionExecs({
      options: this.#ctx.options.exec,
      users: this.#ctx.users,
      log: this.#log,
      sendFrame: (frame) => this.#sendFrame(frame, () => {}),
      sendEvent: (event) => this.#sendEvent(event),
    });
    this.#state = 'active';
    this.#log.info('login ok');
    this.#armIdleTimer();
    return { user, quota, session: this.id };
  }

  // ---- registration ----------------------------------------------------------------------------

  async #register(request: RequestOf<'register'>): Promise<Results['register']> {
    if (this.#state !== 'greeting') throw new FerryError('EINVAL', this.#state === 'active' ? 'already logged in' : 'a login is in progress');
    try {
      const record = await this.#ctx.registration.register(this.#ctx.users, request.user, request.password, this.ip);
      this.#log.info({ user: record.name, status: record.status }, 'account registered');
      return { user: record.name, status: record.status };
    } catch (error) {
      const ferr = asFerryError(error, this.#log, { op: 'register' });
      this.#log.info({ user: request.user, code: ferr.code }, 'registration refused');
      throw ferr;
    }
  }

  // ---- remote commands -------------------------------------------------------------------------

  #requireExecs(): SessionExecs {
    if (!this.#execs) throw new FerryError('ENOTAUTH');
    return this.#execs;
  }

  async #startExec(space: UserSpace, request: RequestOf<'exec.start'>): Promise<undefined> {
    const execs = this.#requireExecs();
    const id = this.#nextStream++;
    const run = await execs.start(id, space, request.argv, request.cwd);
    if (this.#isGone()) {
      run.kill('canceled');
      run.start();
      await run.done;
      return undefined;
    }
    // The reply goes out before the first output frame; both ride the same ordered socket.
    this.#send({ id: request.id, ok: true, stream: id });
    run.start();
    return undefined;
  }

  #isGone(): boolean {
    return this.#state === 'closed' || this.#closing;
  }

  // ---- uploads ---------------------------------------------------------------------------------

  #reserveStream(): void {
    if (this.#uploads.size + this.#downloads.size + this.#opening >= LIMITS.maxOpenStreams) {
      throw new FerryError('ELIMIT', `at most ${LIMITS.maxOpenStreams} transfers may be open on one session`);
    }
    this.#opening++;
  }

  async #openUpload(space: UserSpace, request: RequestOf<'upload.open'>): Promise<Results['upload.open'] | undefined> {
    // Opening a path this session already has open means the client lost track of that stream
    // (or it failed): close the old one so the new open resumes from what it wrote.
    const wanted = normalizeWirePath(request.path);
    for (const [id, old] of this.#uploads) {
      if (normalizeWirePath(old.partial.path) !== wanted) continue;
      this.#uploads.delete(id);
      await this.#closeUpload(old, 'release', 'ECANCELED');
    }
    this.#reserveStream();
    let partial;
    try {
      partial = await space.openUpload(request.path, {
        size: request.size,
        mtime: request.mtime,
        overwrite: request.overwrite ?? false,
        restart: request.restart ?? false,
        adopt: request.adopt ?? false,
      });
    } finally {
      this.#opening--;
    }
    if (this.#isGone()) {
      await partial.release();
      return undefined;
    }
    const id = this.#nextStream++;
    const stream = new UploadStream(id, partial, {
      sendEvent: (event) => this.#sendEvent(event),
      onQueued: (bytes) => this.#onUploadQueued(bytes),
      onSettled: (bytes) => this.#onUploadSettled(bytes),
      log: this.#log,
      syncEveryBytes: this.#ctx.options.syncEveryBytes,
    });
    this.#uploads.set(id, stream);
    this.#log.debug({ stream: id, path: partial.path, offset: partial.offset, size: partial.size }, 'upload open');
    return partial.offset > 0 ? { stream: id, offset: partial.offset, prefixSha256: partial.prefixSha256() } : { stream: id, offset: partial.offset };
  }

  /**
   * A whole small file: waits for its frame (registered before the first await, as the frame
   * may be right behind the request), then stores it in one go. The bytes count as queued
   * upload data until they are on disk, so many puts in flight pause the socket like big uploads.
   */
  async #put(space: UserSpace, request: RequestOf<'upload.put'>): Promise<Results['upload.put']> {
    const arriving = this.#puts.expect(request.stream, request.size);
    const startedAt = Date.now();
    let data: Uint8Array | undefined;
    try {
      data = await arriving;
      const result = await space.putFile(request.path, data, { mtime: request.mtime, sha256: request.sha256, overwrite: request.overwrite ?? false });
      this.#logTransfer('upload', request.path, data.length, startedAt, 'OK');
      return result;
    } catch (error) {
      this.#logTransfer('upload', request.path, 0, startedAt, error instanceof FerryError ? error.code : 'EINTERNAL');
      throw error;
    } finally {
      if (data !== undefined && data.length > 0) this.#onUploadSettled(data.length);
    }
  }

  #upload(stream: number): UploadStream {
    const upload = this.#uploads.get(stream);
    if (!upload) throw new FerryError('EINVAL', `no open upload with stream id ${stream}`);
    return upload;
  }

  async #finishUpload(request: RequestOf<'upload.finish'>): Promise<Results['upload.finish']> {
    const upload = this.#upload(request.stream);
    try {
      const result = await upload.finish(request.sha256);
      this.#uploads.delete(request.stream);
      this.#logTransfer('upload', upload.partial.path, upload.bytesWritten, upload.startedAt, 'OK');
      return result;
    } catch (error) {
      // A stream that failed (a write error) or closed (EINTEGRITY) is over; the client opens
      // the upload again. Otherwise (ELIMIT: bytes missing, EEXIST, ...) it may finish again.
      if (upload.closed || upload.failed) {
        this.#uploads.delete(request.stream);
        const code = error instanceof FerryError ? error.code : 'EINTERNAL';
        if (!upload.closed) await this.#closeUpload(upload, 'release', code);
        else this.#logTransfer('upload', upload.partial.path, upload.bytesWritten, upload.startedAt, code);
      }
      throw error;
    }
  }

  async #cancelUpload(request: RequestOf<'upload.cancel'>): Promise<Results['upload.cancel']> {
    const upload = this.#upload(request.stream);
    this.#uploads.delete(request.stream);
    await this.#closeUpload(upload, request.discard ? 'discard' : 'release', 'ECANCELED');
    return {};
  }

  /** Closes an upload stream, logging it as a transfer that ended with `code`. Never throws. */
  async #closeUpload(upload: UploadStream, mode: 'release' | 'discard', code: WireError['code']): Promise<void> {
    try {
      await upload.close(mode);
    } catch (error) {
      asFerryError(error, this.#log, { stream: upload.id, path: upload.partial.path });
    }
    this.#logTransfer('upload', upload.partial.path, upload.bytesWritten, upload.startedAt, upload.failed?.code ?? code);
  }

  #onUploadQueued(bytes: number): void {
    this.#queuedBytes += bytes;
    this.#ctx.uploadBudget.add(this.#budgetMember, bytes);
    if (!this.#overOwnBuffer && this.#queuedBytes > this.#ctx.options.sessionBufferBytes) {
      this.#overOwnBuffer = true;
      this.#updatePause();
    }
  }

  #onUploadSettled(bytes: number): void {
    this.#queuedBytes -= bytes;
    this.#ctx.uploadBudget.release(bytes);
    if (this.#overOwnBuffer && this.#queuedBytes <= this.#ctx.options.sessionBufferBytes / 2) {
      this.#overOwnBuffer = false;
      this.#updatePause();
    }
  }

  /** The session's own part in the server-wide upload budget (see UploadBudget). */
  readonly #budgetMember = {
    pauseForBudget: () => {
      this.#overBudget = true;
      this.#updatePause();
    },
    resumeFromBudget: () => {
      this.#overBudget = false;
      this.#updatePause();
    },
  };

  /** Reads the socket unless this session's buffer or the server's budget is full. */
  #updatePause(): void {
    const pause = (this.#overOwnBuffer || this.#overBudget) && this.#state !== 'closed';
    if (pause === this.#paused) return;
    this.#paused = pause;
    if (pause) this.#ws.pause();
    else this.#ws.resume();
  }

  // ---- downloads -------------------------------------------------------------------------------

  async #openDownload(space: UserSpace, request: RequestOf<'download.open'>): Promise<undefined> {
    this.#reserveStream();
    const id = this.#nextStream++;
    let stream: DownloadStream;
    try {
      stream = await DownloadStream.open(id, space, request, {
        sendFrame: (frame, onFlushed) => this.#sendFrame(frame, onFlushed),
        sendEvent: (event) => this.#sendEvent(event),
        log: this.#log,
      });
    } finally {
      this.#opening--;
    }
    if (this.#isGone()) {
      stream.cancel();
      await stream.run();
      return undefined;
    }
    this.#downloads.set(id, stream);
    // The reply goes out before the first frame; both ride the same ordered socket.
    this.#send({ id: request.id, ok: true, stream: id, size: stream.size, mtime: stream.mtime, offset: stream.offset });
    const running = stream.run().then((result) => {
      this.#downloads.delete(id);
      this.#running.delete(running);
      const code = result === 'OK' ? 'OK' : this.#state === 'closed' && result.code === 'ECANCELED' ? (this.#closeError?.code ?? 'ENETWORK') : result.code;
      this.#logTransfer('download', `/${normalizeWirePath(stream.path)}`, stream.bytesSent, stream.startedAt, code);
    });
    this.#running.add(running);
    return undefined;
  }

  async #cancelDownload(request: RequestOf<'download.cancel'>): Promise<Results['download.cancel']> {
    const stream = this.#downloads.get(request.stream);
    if (!stream) throw new FerryError('EINVAL', `no open download with stream id ${request.stream}`);
    stream.cancel();
    this.#downloads.delete(request.stream);
    return {};
  }

  /** Sends a frame; resolves at once, or when the socket's buffer falls under the high-water mark. */
  #sendFrame(frame: Buffer, onFlushed: () => void): Promise<void> {
    if (this.#ws.readyState !== WebSocket.OPEN || this.#closing) {
      return Promise.reject(new FerryError('ENETWORK', 'the connection closed'));
    }
    this.#ws.send(frame, { binary: true }, () => {
      onFlushed();
      this.#onFrameFlushed();
    });
    if (this.#ws.bufferedAmount <= SEND_HIGH_WATER) return Promise.resolve();
    return new Promise((resolve) => this.#drainWaiters.push(resolve));
  }

  #onFrameFlushed(): void {
    this.#lastActivity = Date.now();
    if (this.#ws.bufferedAmount > SEND_HIGH_WATER && this.#ws.readyState === WebSocket.OPEN) return;
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const resolve of waiters) resolve();
  }

  // ---- outbound --------------------------------------------------------------------------------

  #send(message: object): void {
    if (this.#ws.readyState !== WebSocket.OPEN) return;
    this.#ws.send(JSON.stringify(message));
  }

  #sendEvent(event: ServerEvent): void {
    this.#send(event);
  }

  #replyError(id: number, error: FerryError): void {
    this.#send({ id, ok: false, error: error.toWire() });
  }

  #logTransfer(direction: 'upload' | 'download', path: string, bytes: number, startedAt: number, code: string): void {
    this.#log.info({ direction, path, bytes, durationMs: Date.now() - startedAt, code }, 'transfer');
  }

  // ---- timers and teardown ---------------------------------------------------------------------

  #armIdleTimer(): void {
    const { idleTimeoutMs } = this.#ctx.options;
    const check = (): void => {
      const quietFor = Date.now() - this.#lastActivity;
      if (quietFor < idleTimeoutMs || this.#queuedBytes > 0) {
        this.#idleTimer = setTimeout(check, Math.max(idleTimeoutMs - quietFor, 1000));
        return;
      }
      this.close(CLOSE.IDLE_TIMEOUT, new FerryError('ETIMEDOUT', `idle for ${seconds(idleTimeoutMs)} s`));
    };
    this.#idleTimer = setTimeout(check, idleTimeoutMs);
  }

  async #onClose(code: number, reason: string): Promise<void> {
    if (this.#state === 'closed') return;
    const wasActive = this.#state === 'active';
    this.#state = 'closed';
    clearTimeout(this.#handshakeTimer);
    clearTimeout(this.#idleTimer);
    clearTimeout(this.#forceCloseTimer);
    this.#ticket?.cancel();
    this.#onFrameFlushed();
    for (const stream of this.#downloads.values()) stream.cancel();
    this.#downloads.clear();
    this.#puts.failAll(new FerryError('ENETWORK', 'the connection closed'));
    this.#ctx.uploadBudget.forget(this.#budgetMember);
    // Keep every partial: the client resumes from it after reconnecting.
    const endCode = this.#closeError?.code ?? 'ENETWORK';
    const uploads = [...this.#uploads.values()];
    this.#uploads.clear();
    try {
      await Promise.all([...uploads.map((upload) => this.#closeUpload(upload, 'release', endCode)), this.#execs?.closeAll()]);
      // Requests in flight finish on their own (their replies go nowhere); a late upload.open
      // releases what it opened. Uploads they opened meanwhile are released here too.
      while (this.#running.size > 0) await Promise.all([...this.#running]);
      await Promise.all([...this.#uploads.values()].map((upload) => this.#closeUpload(upload, 'release', endCode)));
      await this.#execs?.closeAll();
    } finally {
      await this.#space?.close().catch(() => undefined);
      this.#slot?.release();
      this.#log.info({ code, reason, durationMs: Date.now() - this.startedAt, wasActive }, 'connection closed');
      this.#resolveClosed();
    }
  }
}

/** Compares wire paths the way a user means them: '/a//b/' and 'a/b' are the same file. */
function normalizeWirePath(path: string): string {
  return path
    .split('/')
    .filter((part) => part !== '' && part !== '.')
    .join('/');
}

/** A close frame's reason may hold at most 123 bytes of UTF-8; messages can hold any path. */
function closeReason(message: string): string {
  let reason = message;
  while (Buffer.byteLength(reason) > 123) reason = reason.slice(0, -1);
  // Slicing may have split a surrogate pair; a lone surrogate would not encode back to itself.
  return reason.replace(/[\uD800-\uDBFF]$/, '');
}

function seconds(ms: number): number {
  return Math.round(ms / 100) / 10;
}

import { createHash } from 'node:crypto';
import WebSocket from 'ws';
import { decodeFrame, encodeFrame, FrameKind, type Frame } from '../../src/protocol/frame.js';
import { LIMITS, SUBPROTOCOL } from '../../src/protocol/limits.js';

/** Any JSON message from the server, loosely typed: tests look at fields by name. */
export type Message = Record<string, any>;

/**
 * A WebSocket client that speaks the ferry protocol by hand, for server tests that must not
 * depend on the real client engine. Every text message and binary frame is kept in arrival
 * order; `waitFor` looks through what already came before waiting for more.
 */
export class RawClient {
  readonly ws: WebSocket;
  readonly messages: Message[] = [];
  readonly frames: Frame[] = [];
  readonly closed: Promise<{ code: number; reason: string }>;
  #nextId = 1;
  #listeners = new Set<() => void>();

  private constructor(ws: WebSocket) {
    this.ws = ws;
    ws.on('message', (data: Buffer, isBinary) => {
      if (isBinary) {
        const decoded = decodeFrame(data);
        if (!decoded.ok) throw decoded.error;
        this.frames.push(decoded.frame);
      } else {
        this.messages.push(JSON.parse(data.toString('utf8')) as Message);
      }
      for (const listener of [...this.#listeners]) listener();
    });
    this.closed = new Promise((resolve) =>
      ws.on('close', (code, reason) => {
        resolve({ code, reason: reason.toString() });
        for (const listener of [...this.#listeners]) listener();
      }),
    );
  }

  /** Connects and waits for the `hello` event. `protocols` defaults to ['ferry.1']. */
  static async connect(url: string, protocols: string[] = [SUBPROTOCOL]): Promise<RawClient> {
    const ws = new WebSocket(url, protocols, { perMessageDeflate: false, maxPayload: LIMITS.maxServerMessageBytes });
    const client = new RawClient(ws);
    await new Promise<void>((resolve, reject) => {
      ws.once('open', () => resolve());
      ws.once('error', reject);
    });
    await client.waitFor((m) => m.event === 'hello');
    return client;
  }

  /** Connects and logs in; throws if the login is refused. */
  static async login(url: string, user: string, password: string): Promise<RawClient> {
    const client = await RawClient.connect(url);
    const reply = await client.request('login', { user, password });
    if (!reply.ok) throw new Error(`login failed: ${JSON.stringify(reply.error)}`);
    return client;
  }

  /**
   * Resolves with the first message (already received or still to come) matching `match`;
   * rejects when the socket closes first or after `timeoutMs` (a safety net, not a measurement).
   */
  waitFor(match: (m: Message) => boolean, timeoutMs = 20_000): Promise<Message> {
    return this.#waitUntil(() => this.messages.find(match), timeoutMs, 'message');
  }

  /** Resolves with the first frame of `stream` at `offset` (or any frame of the stream). */
  waitForFrame(match: (f: Frame) => boolean, timeoutMs = 20_000): Promise<Frame> {
    return this.#waitUntil(() => this.frames.find(match), timeoutMs, 'frame');
  }

  #waitUntil<T>(look: () => T | undefined, timeoutMs: number, what: string): Promise<T> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const found = look();
        if (found !== undefined) {
          done();
          resolve(found);
        } else if (this.ws.readyState === WebSocket.CLOSED) {
          done();
          reject(new Error(`socket closed while waiting for a ${what}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no matching ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = (): void => {
        clearTimeout(timer);
        this.#listeners.delete(check);
      };
      this.#listeners.add(check);
      check();
    });
  }

  /** Sends `{id, op, ...params}` and resolves with the reply (ok or not). */
  async request(op: string, params: Record<string, unknown> = {}): Promise<Message> {
    const id = this.#nextId++;
    this.sendJson({ id, op, ...params });
    return this.waitFor((m) => m.id === id && 'ok' in m);
  }

  sendJson(message: unknown): void {
    this.ws.send(JSON.stringify(message));
  }

  sendText(text: string): void {
    this.ws.send(text);
  }

  sendBinary(data: Buffer): void {
    this.ws.send(data, { binary: true });
  }

  sendData(stream: number, offset: number, payload: Uint8Array): void {
    this.sendBinary(encodeFrame({ kind: FrameKind.DATA, stream, offset }, payload));
  }

  /** Events named `name` received so far. */
  events(name: string): Message[] {
    return this.messages.filter((m) => m.event === name);
  }

  /**
   * A whole upload: open, frames of `chunk` bytes from the offset the server holds, finish.
   * Resolves with the open and finish replies.
   */
  async upload(path: string, data: Buffer, options: { mtime?: number; chunk?: number; overwrite?: boolean } = {}): Promise<{ open: Message; finish: Message }> {
    const open = await this.request('upload.open', { path, size: data.length, mtime: options.mtime ?? 1_700_000_000_000, ...(options.overwrite ? { overwrite: true } : {}) });
    if (!open.ok) return { open, finish: open };
    const chunk = options.chunk ?? LIMITS.chunkSize;
    for (let offset = open.offset as number; offset < data.length; offset += chunk) {
      this.sendData(open.stream, offset, data.subarray(offset, Math.min(offset + chunk, data.length)));
    }
    const finish = await this.request('upload.finish', { stream: open.stream, sha256: sha256(data) });
    return { open, finish };
  }

  /**
   * A whole download from `offset`: the open reply, the payload bytes received (in offset
   * order, checked contiguous), and the `download.end` or `download.error` event.
   */
  async download(path: string, offset = 0, extra: Record<string, unknown> = {}): Promise<{ open: Message; data: Buffer; end: Message | undefined }> {
    const open = await this.request('download.open', { path, offset, ...extra });
    if (!open.ok) return { open, data: Buffer.alloc(0), end: undefined };
    const stream = open.stream as number;
    const end = await this.waitFor((m) => (m.event === 'download.end' || m.event === 'download.error') && m.stream === stream);
    const frames = this.frames.filter((f) => f.stream === stream);
    let expected = offset;
    for (const frame of frames) {
      if (frame.offset !== expected) throw new Error(`download frame at ${frame.offset}, expected ${expected}`);
      expected += frame.payload.length;
    }
    return { open, data: Buffer.concat(frames.map((f) => f.payload)), end };
  }

  close(): Promise<{ code: number; reason: string }> {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) this.ws.close();
    return this.closed;
  }
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

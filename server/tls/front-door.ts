import { createServer as createHttpServer, type IncomingMessage, type RequestListener, type Server as HttpServer, type ServerOptions as HttpOptions } from 'node:http';
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net';
import type { SecureContextOptions } from 'node:tls';
import type { Duplex } from 'node:stream';
import { isLoopback } from '../../src/util/loopback.js';
import { TLS_SETTINGS } from './transport.js';

/*
 * One port, two ways in. A TLS server still answers plain ws:// on a connection that arrived over
 * loopback (its local address is 127.0.0.0/8 or ::1): such bytes never leave the machine, so
 * `ferry serve --host 0.0.0.0` is reachable as ferry://localhost without a fingerprint prompt,
 * exactly like a loopback-only server. Everything else must speak TLS. The first byte decides: a
 * TLS record starts with 0x16 (handshake), an HTTP request with a letter.
 */

/** The first byte of every TLS ClientHello (record type "handshake"). */
const TLS_HANDSHAKE = 0x16;

export interface FrontDoorOptions {
  /** Speak TLS (with the context given later by setSecureContext). */
  tls: boolean;
  /** Node's HTTP deadlines (headers, request, check interval). */
  http: Pick<HttpOptions, 'headersTimeout' | 'requestTimeout' | 'connectionsCheckingInterval'>;
  /** How long a TLS handshake may take. */
  handshakeTimeoutMs: number;
  /** Every accepted TCP connection, before any byte is read. False: it was refused (destroyed). */
  onSocket(socket: Socket): boolean;
  onRequest: RequestListener;
  onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Bytes that are not HTTP (or not TLS where TLS is needed). */
  onClientError(error: NodeJS.ErrnoException, socket: Duplex): void;
  /** A connection answered with "wrong transport" and ended: it is no longer waiting for anything. */
  onRefused(socket: Socket): void;
}

/** Plain HTTP (and, with TLS, HTTPS) behind one listening TCP socket. */
export class FrontDoor {
  readonly #tcp: TcpServer;
  readonly #plain: HttpServer;
  readonly #secure: HttpsServer | undefined;
  readonly #options: FrontDoorOptions;

  constructor(options: FrontDoorOptions) {
    this.#options = options;
    this.#plain = createHttpServer(options.http, options.onRequest);
    this.#secure = options.tls ? createHttpsServer({ ...options.http, ...TLS_SETTINGS, handshakeTimeout: options.handshakeTimeoutMs }, options.onRequest) : undefined;
    for (const server of this.#servers()) {
      server.on('upgrade', options.onUpgrade);
      server.on('clientError', options.onClientError);
      // Keep-alive HTTP connections must not hold close() up.
      server.keepAliveTimeout = 1000;
    }
    this.#tcp = createTcpServer({ noDelay: true }, (socket) => this.#accept(socket));
  }

  /** The certificate and key new TLS handshakes get (sessions already open keep theirs). */
  setSecureContext(context: Pick<SecureContextOptions, 'cert' | 'key'>): void {
    this.#secure?.setSecureContext(context);
  }

  listen(port: number, host: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#tcp.once('error', reject);
      this.#tcp.listen(port, host, () => {
        this.#tcp.off('error', reject);
        resolve();
      });
    });
  }

  /** Called for errors of the listening socket after listen() (e.g. EMFILE on accept). */
  onError(listener: (error: Error) => void): void {
    this.#tcp.on('error', listener);
  }

  address(): AddressInfo | null {
    const address = this.#tcp.address();
    return address === null || typeof address === 'string' ? null : address;
  }

  /** Stops accepting; resolves once every connection is gone (see closeAllConnections). */
  close(): Promise<void> {
    for (const server of this.#servers()) server.close();
    return new Promise((resolve) => this.#tcp.close(() => resolve()));
  }

  /** Cuts every HTTP connection still open (upgraded WebSockets are not the HTTP server's any more). */
  closeAllConnections(): void {
    for (const server of this.#servers()) server.closeAllConnections();
  }

  #servers(): Array<HttpServer | HttpsServer> {
    return this.#secure ? [this.#plain, this.#secure] : [this.#plain];
  }

  #accept(socket: Socket): void {
    if (!this.#options.onSocket(socket)) return;
    const secure = this.#secure;
    socket.once('data', (chunk: Buffer) => {
      if (chunk[0] === TLS_HANDSHAKE && secure !== undefined) {
        // The TLS layer takes over the socket's handle and first reads what is buffered in it.
        socket.pause();
        socket.unshift(chunk);
        secure.emit('connection', socket);
      } else if (chunk[0] === TLS_HANDSHAKE) {
        // A TLS client at a plain server: bytes that are not a TLS record make its TLS stack
        // report "wrong version number", which the ferry client turns into "does not speak TLS".
        this.#options.onRefused(socket);
        refuse(socket, 400, 'Bad Request', 'this ferry server speaks plain ws:// only (started with --insecure): connect with ferry+ws://\n');
      } else if (secure === undefined || isLoopback(socket.localAddress ?? '')) {
        // The HTTP parser reads the handle directly from now on; the first chunk is handed to it.
        this.#plain.emit('connection', socket);
        socket.emit('data', chunk);
      } else {
        this.#options.onRefused(socket);
        refuse(socket, 426, 'Upgrade Required', 'this ferry server speaks TLS only: connect with ferry:// (or ferrys://), not ferry+ws://\n');
      }
    });
  }
}

/** A readable HTTP answer for a connection that speaks the wrong transport, then the end. */
function refuse(socket: Socket, status: number, statusText: string, body: string): void {
  socket.on('error', () => socket.destroy());
  socket.end(
    `HTTP/1.1 ${status} ${statusText}\r\nConnection: close\r\nContent-Type: text/plain; charset=utf-8\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

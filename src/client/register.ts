import WebSocket from 'ws';
import { FerryError, LIMITS, PROTOCOL_VERSION, SUBPROTOCOL, parseServerMessage, type Results, type ServerEvent, type WireError } from '../protocol/index.js';
import { checkUpgrade, type IdentityPolicy, type PeerIdentity } from './server-identity.js';
import { hostPortOf } from './url.js';

export interface RegisterOptions {
  /** `ws://host:port` or `wss://host:port` of the server. */
  url: string;
  user: string;
  password: string;
  /** Limit for the whole exchange. Default 15 s. */
  timeoutMs?: number;
  /** For wss://: what is known of the server's identity, as for a login (ConnectionOptions.identity). */
  identity?: Omit<IdentityPolicy, 'where'>;
  /** Told the identity of a wss:// server that was accepted (to pin it). */
  onIdentity?(peer: PeerIdentity): void;
}

/**
 * Asks the server to create an account (the `register` op, sent before any login) and closes
 * the connection. Resolves with the name and the account's status: 'pending' means an
 * administrator must approve it before it can log in. Rejects with the server's error: ENOTSUP
 * (registration is off), EEXIST (name taken or pending), EINVAL (bad name or too short a
 * password), ETHROTTLE (too many registrations from this address); ENETWORK when the server
 * cannot be reached, EPROTO when it does not speak ferry.1, EIDENTITY for a TLS server not trusted.
 */
export function registerAccount(options: RegisterOptions): Promise<Results['register']> {
  const where = hostPortOf(options.url);
  const timeoutMs = options.timeoutMs ?? 15_000;
  return new Promise((resolve, reject) => {
    let ws: WebSocket;
    try {
      // As for a login, the identity is decided at the upgrade, before the password is sent.
      ws = new WebSocket(options.url, SUBPROTOCOL, { perMessageDeflate: false, maxPayload: LIMITS.maxServerMessageBytes, handshakeTimeout: timeoutMs, rejectUnauthorized: false });
    } catch (error) {
      reject(new FerryError('EINVAL', `bad server URL ${options.url}: ${(error as Error).message}`));
      return;
    }
    let settled = false;
    let cause: string | undefined;
    let closingError: FerryError | undefined;
    const settle = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      outcome();
      if (ws.readyState === WebSocket.OPEN) ws.close(1000, 'registered');
      else if (ws.readyState === WebSocket.CONNECTING) ws.terminate();
    };
    const timer = setTimeout(() => settle(() => reject(new FerryError('ENETWORK', `${where} did not answer within ${timeoutMs} ms`))), timeoutMs);
    ws.on('error', (error: Error & { code?: string }) => {
      cause = error.code === 'ECONNREFUSED' ? 'connection refused' : error.message;
      if (/subprotocol|Unexpected server response: 4\d\d/i.test(error.message)) {
        settle(() => reject(new FerryError('EPROTO', `${where} does not speak ${SUBPROTOCOL}: ${error.message}`)));
      }
    });
    ws.on('upgrade', (response) => {
      const checked = checkUpgrade(response, { where, ...options.identity });
      if ('refusal' in checked) settle(() => reject(checked.refusal));
      else if (checked.accepted) options.onIdentity?.(checked.accepted);
    });
    ws.on('close', () => settle(() => reject(closingError ?? new FerryError('ENETWORK', `cannot register at ${where}: ${cause ?? 'the connection closed'}`))));
    ws.on('message', (data: Buffer, isBinary: boolean) => {
      if (settled) return;
      if (isBinary) return settle(() => reject(new FerryError('EPROTO', `${where} sent data before login`)));
      const parsed = parseServerMessage(data.toString());
      if (!parsed.ok) return settle(() => reject(parsed.error));
      const message = parsed.message;
      if ('event' in message) {
        const event = message as ServerEvent;
        if (event.event === 'hello') {
          if (event.protocol !== PROTOCOL_VERSION) {
            return settle(() => reject(new FerryError('EPROTO', `${where} speaks protocol ${event.protocol}, this client speaks ${PROTOCOL_VERSION}`)));
          }
          ws.send(JSON.stringify({ id: 0, op: 'register', user: options.user, password: options.password }));
        } else if (event.event === 'closing') {
          closingError = FerryError.fromWire(event.error);
        }
        return;
      }
      if (message.id !== 0) return;
      if (!message.ok) return settle(() => reject(FerryError.fromWire((message as { error: WireError }).error)));
      const { user, status } = message as { id: number; ok: true } & Results['register'];
      settle(() => resolve({ user, status }));
    });
  });
}

import type { SecureContextOptions, TlsOptions } from 'node:tls';
import type { ServerOptions } from '../options.js';

/**
 * TLS 1.2 at least (1.3 is what Node prefers when both ends have it); session tickets stay on
 * (Node's default), so a client reconnecting after a cut resumes without a full handshake.
 * OpenSSL 3 has no TLS compression to turn off.
 */
export const TLS_SETTINGS: TlsOptions & SecureContextOptions = { minVersion: 'TLSv1.2' };

import { isLoopback } from '../../src/util/loopback.js';

export { isLoopback };

/**
 * Whether the server speaks TLS: with 'on' or with certificate files; never with 'off' (plain
 * ws://, which off loopback only `--insecure` allows). 'auto' (the default) is TLS whenever the
 * address is not loopback, with the server's own self-signed certificate if no files are given:
 * a server anyone else can reach is encrypted without setup, and clients pin its fingerprint.
 */
export function wantsTls(options: Pick<ServerOptions, 'tls' | 'tlsCert' | 'tlsKey' | 'host'>): boolean {
  if (options.tls === 'off') return false;
  return options.tls === 'on' || options.tlsCert !== undefined || options.tlsKey !== undefined || !isLoopback(options.host);
}

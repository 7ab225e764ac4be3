import type { SecureContextOptions, TlsOptions } from 'node:tls';
import type { ServerOptions } from '../options.js';

/**
 * TLS 1.2 at least (1.3 is what Node prefers when both ends have it); session tickets stay on
 * (Node's default), so a client reconnecting after a cut resumes without a full handshake.
 * OpenSSL 3 has no TLS compression to turn off.
 */
export const TLS_SETTINGS: TlsOptions & SecureContextOptions = { minVersion: 'TLSv1.2' };

/** True for an address that only this machine can reach: 127.0.0.0/8, ::1, localhost. */
export function isLoopback(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '');
  return h === 'localhost' || h === '::1' || /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h) || h === '::ffff:127.0.0.1';
}

/**
 * Whether the server speaks TLS: with 'on' or with certificate files; never with 'off'. 'auto'
 * (the default) is TLS when files are given; it becomes TLS off loopback once the ferry client
 * pins server identities (known_hosts), so that a default server is one its clients can reach.
 */
export function wantsTls(options: Pick<ServerOptions, 'tls' | 'tlsCert' | 'tlsKey'>): boolean {
  if (options.tls === 'off') return false;
  return options.tls === 'on' || options.tlsCert !== undefined || options.tlsKey !== undefined;
}

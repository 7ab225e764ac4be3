import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import type { IncomingMessage } from 'node:http';
import { connect, TLSSocket } from 'node:tls';
import { FerryError } from '../protocol/index.js';

/** What a TLS handshake tells about the server. */
export interface PeerIdentity {
  /** `SHA256:` + unpadded base64 of the SHA-256 of the leaf certificate (DER). */
  fingerprint: string;
  /** The certificate chains to a CA this machine trusts and names the host dialled. */
  authorized: boolean;
  /** Why not, when not (OpenSSL's code, e.g. DEPTH_ZERO_SELF_SIGNED_CERT, CERT_HAS_EXPIRED). */
  authorizationError?: string;
  /** The certificate's validity period (ISO times). */
  validFrom: string;
  validTo: string;
  /** The names the certificate is for (subjectAltName, else the common name), for messages. */
  names: string[];
}

/** Why a server's identity was refused: the dialog and the CLI word each case differently. */
export type IdentityRefusal = 'unknown' | 'changed' | 'mismatch' | 'expired';

/** EIDENTITY with what was presented and, for a changed identity, what is pinned and where. */
export class IdentityError extends FerryError {
  readonly refusal: IdentityRefusal;
  readonly presented: PeerIdentity;
  readonly known: IdentityPolicy['pinned'];

  constructor(refusal: IdentityRefusal, message: string, presented: PeerIdentity, known?: IdentityPolicy['pinned']) {
    super('EIDENTITY', message);
    this.name = 'IdentityError';
    this.refusal = refusal;
    this.presented = presented;
    this.known = known;
  }
}

/** The identity of the server at the other end of `socket` (a handshake that completed). */
export function peerIdentity(socket: TLSSocket): PeerIdentity {
  const cert = socket.getPeerCertificate(true);
  const digest = createHash('sha256').update(cert.raw).digest('base64').replace(/=+$/, '');
  const error = socket.authorizationError;
  const altNames = (cert.subjectaltname ?? '')
    .split(',')
    .map((name) => name.trim().replace(/^(?:DNS|IP Address):/, ''))
    .filter(Boolean);
  const commonName = typeof cert.subject?.CN === 'string' ? [cert.subject.CN] : [];
  return {
    fingerprint: `SHA256:${digest}`,
    authorized: socket.authorized,
    ...(error === undefined || error === null ? {} : { authorizationError: String(error) }),
    validFrom: new Date(cert.valid_from).toISOString(),
    validTo: new Date(cert.valid_to).toISOString(),
    names: altNames.length > 0 ? altNames : commonName,
  };
}

/**
 * Why the certificate is not valid at `now`, or undefined. A pin does not excuse this: a pinned
 * key past its end date is a server whose administrator must renew it, not one to keep trusting.
 */
export function validityProblem(peer: PeerIdentity, now = Date.now()): string | undefined {
  if (Date.parse(peer.validTo) < now) return `its certificate expired on ${peer.validTo.slice(0, 10)}`;
  if (Date.parse(peer.validFrom) > now) return `its certificate is not valid before ${peer.validFrom.slice(0, 10)}`;
  return undefined;
}

/** What the client knows of a server before it connects. */
export interface IdentityPolicy {
  /** `host:port`, for messages. */
  where: string;
  /** A fingerprint the user gave for this connection (--fingerprint, FERRY_FINGERPRINT). */
  expected?: string;
  /** The fingerprint pinned in known_hosts, with where it is written. */
  pinned?: { fingerprint: string; file: string; line: number };
}

/**
 * Decides whether to talk to a server, ssh-style: a pinned or given fingerprint must match
 * exactly (a CA does not override a pin); without one, a certificate that a trusted CA issued
 * for this host name is enough; anything else is EIDENTITY, with the fingerprint in the message
 * so the user can compare it with what the administrator handed out (`ferry serve --fingerprint`).
 * Undefined when the server may be talked to.
 */
export function checkIdentity(peer: PeerIdentity, policy: IdentityPolicy, now = Date.now()): IdentityError | undefined {
  const { where, expected, pinned } = policy;
  const invalid = validityProblem(peer, now);
  if (invalid !== undefined) {
    return new IdentityError(
      'expired',
      `refusing ${where}: ${invalid} (${peer.fingerprint}); nothing was sent to it. Its administrator must renew the certificate ` +
        '(a server with its own certificate: delete ROOT/tls/ and restart it, then hand out the new fingerprint)',
      peer,
    );
  }
  if (expected !== undefined) {
    if (normalize(expected) === peer.fingerprint) return undefined;
    return new IdentityError('mismatch', `${where} presented ${peer.fingerprint}, not the fingerprint given (${expected}); nothing was sent to it`, peer);
  }
  if (pinned !== undefined) {
    if (pinned.fingerprint === peer.fingerprint) return undefined;
    return new IdentityError(
      'changed',
      [
        `THE IDENTITY OF ${where} HAS CHANGED. Someone could be intercepting the connection, or the server's certificate was replaced.`,
        `  known:     ${pinned.fingerprint} (${pinned.file}, line ${pinned.line})`,
        `  presented: ${peer.fingerprint}`,
        `Nothing was sent to it. If the administrator confirms the new fingerprint, remove line ${pinned.line} of ${pinned.file} and connect again.`,
      ].join('\n'),
      peer,
      pinned,
    );
  }
  if (peer.authorized) return undefined;
  const reason = peer.authorizationError === undefined ? '' : ` (${describeAuthorization(peer.authorizationError, peer)})`;
  return new IdentityError(
    'unknown',
    `the identity of ${where} is not known${reason}: it presented ${peer.fingerprint}. If that is what its administrator gave you ` +
      `(ferry serve --fingerprint on the server), connect with --fingerprint ${peer.fingerprint} (or FERRY_FINGERPRINT); it is then kept in known_hosts`,
    peer,
  );
}

/** A fingerprint as people paste it: `SHA256:` may be missing or in another case. */
function normalize(text: string): string {
  const trimmed = text.trim();
  return /^sha256:/i.test(trimmed) ? `SHA256:${trimmed.slice(7)}` : `SHA256:${trimmed}`;
}

const REASONS: Record<string, string> = {
  DEPTH_ZERO_SELF_SIGNED_CERT: 'a self-signed certificate',
  SELF_SIGNED_CERT_IN_CHAIN: 'a certificate from a CA this machine does not trust',
  UNABLE_TO_GET_ISSUER_CERT_LOCALLY: 'a certificate from a CA this machine does not trust',
  UNABLE_TO_VERIFY_LEAF_SIGNATURE: 'a certificate from a CA this machine does not trust',
  CERT_HAS_EXPIRED: 'its certificate has expired',
  CERT_NOT_YET_VALID: 'its certificate is not valid yet',
  ERR_TLS_CERT_ALTNAME_INVALID: 'its certificate is for another host name',
};

/** OpenSSL's verdict on a certificate in words (the code itself when it is a rare one). */
export function describeAuthorization(code: string, peer?: PeerIdentity): string {
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID' && peer !== undefined && peer.names.length > 0) {
    return `its certificate is for another host name: ${peer.names.slice(0, 5).join(', ')}`;
  }
  return REASONS[code] ?? code;
}

/**
 * Looks at a TLS server's certificate without speaking ferry to it: a handshake, then close.
 * For asking a person about an unknown server before anything (a password) is asked or sent.
 * The real connection checks again (IdentityPolicy.expected), so what the person accepted is
 * what it talks to.
 */
export function probeIdentity(host: string, port: number, timeoutMs = 15_000): Promise<PeerIdentity> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, rejectUnauthorized: false, ...(isIP(host) ? {} : { servername: host }), timeout: timeoutMs }, () => {
      const peer = peerIdentity(socket);
      socket.end();
      resolve(peer);
    });
    socket.once('timeout', () => socket.destroy(new Error(`no TLS handshake within ${timeoutMs} ms`)));
    socket.once('error', (error) => reject(new FerryError('ENETWORK', `cannot connect to ${host}:${port}: ${error.message}`)));
  });
}

/**
 * The check a client makes when its WebSocket upgrade comes back (before it sends anything over
 * it): nothing to check for ws://; else the server's identity against `policy`. Returns the
 * refusal, or the accepted peer for wss://.
 */
export function checkUpgrade(response: IncomingMessage, policy: IdentityPolicy): { refusal: IdentityError } | { accepted?: PeerIdentity } {
  const socket = response.socket;
  if (!(socket instanceof TLSSocket)) return {};
  const peer = peerIdentity(socket);
  const refusal = checkIdentity(peer, policy);
  return refusal ? { refusal } : { accepted: peer };
}

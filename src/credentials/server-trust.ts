import { checkIdentity, IdentityError, probeIdentity, type IdentityPolicy, type PeerIdentity } from '../client/server-identity.js';
import { KnownHosts } from './known-hosts.js';

/*
 * What a client trusts about a TLS server before it sends a password, the same for the CLI (a
 * terminal prompt) and the TUI (a dialog): a fingerprint given for this run, else the known_hosts
 * pin, else a CA that vouches for the host name, else what a person answers when shown the
 * fingerprint. The answer is checked again on the real connection (and on every reconnect), so
 * what was accepted is what is talked to.
 */

/** What a person says about an unknown server: trust and remember, trust this time, or stop. */
export type TrustAnswer = 'save' | 'once' | 'refuse';

export interface TrustRequest {
  /** `host:port` as known_hosts writes it (IPv6 in brackets). */
  hostPort: string;
  /** Default: known_hosts in the config directory. */
  knownHosts?: KnownHosts;
  /** A fingerprint given for this run (--fingerprint, FERRY_FINGERPRINT). */
  expected?: string;
  /**
   * Asks about a server that is neither pinned nor CA-verified, after a probe handshake showed
   * its certificate. Absent: nobody to ask, and such a server is refused (EIDENTITY naming the
   * fingerprint and how to pin it).
   */
  ask?(peer: PeerIdentity, hostPort: string): Promise<TrustAnswer>;
}

export interface Trust {
  /** For Session/Connection `identity`. */
  policy: Omit<IdentityPolicy, 'where'>;
  /**
   * For Session/Connection `onIdentity`: pins an identity that was accepted to be remembered.
   * True when it wrote the pin now.
   */
  accepted(peer: PeerIdentity): Promise<boolean>;
  /** known_hosts, for messages. */
  knownHosts: KnownHosts;
}

/**
 * Decides what to expect of `hostPort`. A fingerprint given for a server not pinned yet, or one a
 * person accepted with 'save', is pinned once the real connection shows it (a CA-verified server
 * with no pin is not pinned: its CA vouches for it, and it may rotate keys). 'refuse' and a probe
 * that shows an invalid (expired) certificate end here with an IdentityError: nothing is sent.
 */
export async function decideTrust(request: TrustRequest): Promise<Trust> {
  const knownHosts = request.knownHosts ?? new KnownHosts();
  const { hostPort } = request;
  const pinned = await knownHosts.lookup(hostPort);
  let expected = request.expected?.trim() || undefined;
  let saved = pinned !== undefined;
  if (expected === undefined && pinned === undefined && request.ask !== undefined) {
    const colon = hostPort.lastIndexOf(':');
    const host = hostPort.slice(0, colon).replace(/^\[|\]$/g, '');
    const peer = await probeIdentity(host, Number(hostPort.slice(colon + 1)));
    if (!peer.authorized) {
      // An expired certificate is refused before anyone is asked to trust it.
      const refusal = checkIdentity(peer, { where: hostPort, expected: peer.fingerprint });
      if (refusal) throw refusal;
      const answer = await request.ask(peer, hostPort);
      if (answer === 'refuse') {
        throw new IdentityError(
          'unknown',
          `not connecting to ${hostPort}: its identity ${peer.fingerprint} was not accepted; nothing was sent to it (known hosts: ${knownHosts.file})`,
          peer,
        );
      }
      expected = peer.fingerprint;
      saved = answer === 'once';
    }
  }
  const policy = expected !== undefined ? { expected } : pinned ? { pinned: { fingerprint: pinned.fingerprint, file: knownHosts.file, line: pinned.line } } : {};
  const accepted = async (peer: PeerIdentity) => {
    if (saved || expected === undefined) return false;
    saved = true;
    await knownHosts.add(hostPort, peer.fingerprint);
    return true;
  };
  return { policy, accepted, knownHosts };
}

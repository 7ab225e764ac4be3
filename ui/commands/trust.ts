import { IdentityError, type PeerIdentity } from '../../src/client/server-identity.js';
import type { TrustAnswer } from '../../src/credentials/server-trust.js';
import type { Overlay } from '../model/app-state.js';
import type { CommandContext } from './context.js';

/*
 * A TLS server's identity in the TUI: the question about an unknown server (the trust dialog),
 * and the alarm about a pinned one that changed. connectWithCredentials decides; these only show.
 */

/**
 * The `ask` of connectWithCredentials' trust: opens the trust dialog over whatever is open (the
 * busy login dialog) and resolves with the answer, once; that overlay comes back with it.
 */
export function askTrust(ctx: CommandContext, peer: PeerIdentity, hostPort: string): Promise<TrustAnswer> {
  return new Promise((resolve) => {
    const under = ctx.store.getState().overlay;
    let answered = false;
    const answer = (choice: TrustAnswer) => {
      if (answered) return;
      answered = true;
      ctx.store.dispatch({ type: 'overlay', overlay: under });
      resolve(choice);
    };
    ctx.store.dispatch({ type: 'overlay', overlay: { kind: 'trust', hostPort, peer, under, answer } });
  });
}

/**
 * The identity-changed alarm for a login that failed because a pinned server presented another
 * certificate, over `under` (the login dialog with the error); undefined for any other failure.
 */
export function identityChangedOverlay(error: unknown, hostPort: string, under: Overlay): Overlay | undefined {
  if (!(error instanceof IdentityError) || error.refusal !== 'changed' || error.known === undefined) return undefined;
  return { kind: 'identity-changed', hostPort, known: error.known, presented: error.presented, under };
}

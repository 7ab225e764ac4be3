import type { Session } from '../../src/client/session.js';
import { RemoteFileSystem } from '../../src/fs/remote-file-system.js';
import { otherSide, type Side } from '../model/app-state.js';
import type { CommandContext } from './context.js';
import { loadDir, refreshQuota } from './navigate.js';

/**
 * Shows `session`'s home in a pane (the right one, or the left one if the right is remote
 * already) and follows its state: the pane says "reconnecting…" while the link is down and is
 * read again when it is back. Returns a function that stops following.
 */
export function attachSession(ctx: CommandContext, session: Session, preferred: Side = 'right'): () => void {
  const fs = new RemoteFileSystem(session);
  const { sides } = ctx.store.getState();
  const side = sides[preferred].fs.kind === 'remote' && sides[otherSide(preferred)].fs.kind !== 'remote' ? otherSide(preferred) : preferred;
  ctx.sessions.add(session);
  ctx.store.dispatch({ type: 'set-fs', side, fs, path: fs.home });
  ctx.store.dispatch({ type: 'link', state: session.state });
  const stop = followSession(ctx, session);
  void loadDir(ctx, side, fs.home);
  void refreshQuota(ctx, side);
  return stop;
}

/** Mirrors the session's state into the app state, and rereads its pane after a reconnect. */
export function followSession(ctx: CommandContext, session: Session): () => void {
  const sessionOnState = (state: Session['state']) => {
    ctx.store.dispatch({ type: 'link', state });
    if (state === 'closed') ctx.store.dispatch({ type: 'message', text: `the connection to ${session.where} is closed`, tone: 'error' });
  };
  const sessionOnReconnected = () => {
    const { sides } = ctx.store.getState();
    for (const side of ['left', 'right'] as const) {
      const { fs, pane } = sides[side];
      if (fs instanceof RemoteFileSystem && fs.session === session) void loadDir(ctx, side, pane.path);
    }
  };
  session.on('state', sessionOnState);
  session.on('reconnected', sessionOnReconnected);
  return () => {
    session.off('state', sessionOnState);
    session.off('reconnected', sessionOnReconnected);
  };
}

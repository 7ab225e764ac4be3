import { RemoteFileSystem } from '../../src/fs/remote-file-system.js';
import type { Entry } from '../../src/protocol/index.js';
import type { Side } from '../model/app-state.js';
import { errorText } from '../model/error-text.js';
import { currentEntry, isDirLike, isParentEntry } from '../model/pane-state.js';
import { nextTicket, type CommandContext } from './context.js';

/**
 * Lists `path` into the pane of `side`. The answer goes to whichever pane still waits for this
 * listing (panes may be swapped meanwhile); an answer for a listing that was superseded is
 * dropped. A failure leaves the old listing and shows why in the pane. Resolves true on success.
 */
export async function loadDir(ctx: CommandContext, side: Side, path: string, select?: string): Promise<boolean> {
  const { fs } = ctx.store.getState().sides[side];
  const ticket = nextTicket();
  ctx.store.dispatch({ type: 'pane', side, action: { type: 'list-start', path, ticket } });
  const owner = (): Side | undefined => {
    const { sides } = ctx.store.getState();
    if (sides.left.pane.ticket === ticket) return 'left';
    if (sides.right.pane.ticket === ticket) return 'right';
    return undefined;
  };
  let entries: Entry[];
  let truncated = false;
  try {
    if (fs instanceof RemoteFileSystem) ({ entries, truncated } = await fs.listWithTruncation(path));
    else entries = await fs.list(path);
  } catch (error) {
    const target = owner();
    if (target) ctx.store.dispatch({ type: 'pane', side: target, action: { type: 'list-failed', ticket, message: errorText(error) } });
    return false;
  }
  const target = owner();
  if (target === undefined) return false;
  const atRoot = fs.dirname(path) === path;
  ctx.store.dispatch({ type: 'pane', side: target, action: { type: 'list-done', ticket, path, atRoot, entries, truncated, ...(select === undefined ? {} : { select }) } });
  return true;
}

/** Lists the pane's directory again (cursor and marks stay), and refreshes the side's quota. */
export async function reread(ctx: CommandContext, side: Side): Promise<void> {
  const { pane } = ctx.store.getState().sides[side];
  await Promise.all([loadDir(ctx, side, pane.path), refreshQuota(ctx, side)]);
}

/** Asks the side's file system for its free space or quota (silently none when it cannot say). */
export async function refreshQuota(ctx: CommandContext, side: Side): Promise<void> {
  const { fs } = ctx.store.getState().sides[side];
  const quota = await fs.quota().catch(() => null);
  ctx.store.dispatch({ type: 'quota', side, fs, quota });
}

/** Backspace: the parent directory, with the cursor on the directory we came from. */
export async function goParent(ctx: CommandContext, side: Side): Promise<void> {
  const { fs, pane } = ctx.store.getState().sides[side];
  const parent = fs.dirname(pane.path);
  if (parent === pane.path) return;
  await enter(ctx, side, parent, fs.basename(pane.path));
}

/** loadDir for a move the user asked for: a failure is also said in full on the message line. */
async function enter(ctx: CommandContext, side: Side, path: string, select?: string): Promise<void> {
  if (await loadDir(ctx, side, path, select)) return;
  const error = ctx.store.getState().sides[side].pane.error;
  if (error !== null) ctx.store.dispatch({ type: 'message', text: error.includes(path) ? error : `${path}: ${error}`, tone: 'error' });
}

/**
 * Enter: opens the directory under the cursor (`..` goes up). Returns the entry when it is a file,
 * for the caller to view.
 */
export async function openCurrent(ctx: CommandContext, side: Side): Promise<Entry | undefined> {
  const { fs, pane } = ctx.store.getState().sides[side];
  const entry = currentEntry(pane);
  if (entry === undefined) return undefined;
  if (isParentEntry(entry)) {
    await goParent(ctx, side);
    return undefined;
  }
  if (isDirLike(entry)) {
    await enter(ctx, side, fs.join(pane.path, entry.name));
    return undefined;
  }
  return entry;
}

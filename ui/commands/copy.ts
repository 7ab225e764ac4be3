import { otherSide } from '../model/app-state.js';
import { errorText } from '../model/error-text.js';
import { operands } from '../model/pane-state.js';
import type { CommandContext } from './context.js';

/**
 * F5: copies the marked entries (or the one under the cursor) into the other pane's directory
 * through the transfer queue: files and whole trees, several at once, resuming what an earlier
 * attempt left. Browsing goes on meanwhile; the queue panel shows the progress and the panes are
 * reread when the queue runs dry.
 */
export function copyToOtherPane(ctx: CommandContext): void {
  const { active, sides } = ctx.store.getState();
  const here = sides[active];
  const there = sides[otherSide(active)];
  const entries = operands(here.pane);
  if (entries.length === 0) return;
  if (here.fs === there.fs && here.pane.path === there.pane.path) {
    ctx.store.dispatch({ type: 'message', text: 'both panes show the same directory: there is nowhere to copy to', tone: 'error' });
    return;
  }
  for (const entry of entries) {
    const source = { fs: here.fs, path: here.fs.join(here.pane.path, entry.name) };
    ctx.queue.add({ source, target: { fs: there.fs, path: there.pane.path } }).catch((error: unknown) => {
      ctx.store.dispatch({ type: 'message', text: `${entry.name}: ${errorText(error)}`, tone: 'error' });
    });
  }
  ctx.store.dispatch({ type: 'pane', side: active, action: { type: 'clear-marks' } });
  ctx.store.dispatch({ type: 'queue', visible: true });
  const what = entries.length === 1 ? entries[0]!.name : `${entries.length} entries`;
  ctx.store.dispatch({ type: 'message', text: `copying ${what} to ${there.fs.kind !== 'local' ? `${there.fs.label}:` : ''}${there.pane.path}`, tone: 'progress' });
}

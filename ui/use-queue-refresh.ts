import { useEffect } from 'react';
import { reread } from './commands/navigate.js';
import type { CommandContext } from './commands/context.js';

/** Rereads while files keep arriving at most this often. */
const REFRESH_MS = 1500;

/**
 * Keeps the panes in step with the transfer queue: while it works, both panes are reread now and
 * then so copied files show up; when it runs dry they are reread once more and the progress
 * message gives way to a summary.
 */
export function useQueueRefresh(ctx: CommandContext): void {
  useEffect(() => {
    let timer: NodeJS.Timeout | undefined;
    const refresh = () => {
      void reread(ctx, 'left');
      void reread(ctx, 'right');
    };
    const queueOnEvent = (event: { type: string }) => {
      if (event.type !== 'job-done' || timer !== undefined) return;
      timer = setTimeout(() => {
        timer = undefined;
        refresh();
      }, REFRESH_MS);
    };
    const queueOnIdle = () => {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
      refresh();
      const { totals } = ctx.queue.snapshot();
      if (ctx.store.getState().message?.tone === 'progress' || totals.failed > 0) {
        ctx.store.dispatch(
          totals.failed > 0
            ? { type: 'message', text: `transfers finished: ${totals.failed} failed (the queue panel says why; r retries)`, tone: 'error' }
            : { type: 'message', text: `transfers finished: ${totals.done} done${totals.skipped > 0 ? `, ${totals.skipped} skipped` : ''}` },
        );
      }
    };
    ctx.queue.on('event', queueOnEvent);
    ctx.queue.on('idle', queueOnIdle);
    return () => {
      if (timer !== undefined) clearTimeout(timer);
      ctx.queue.off('event', queueOnEvent);
      ctx.queue.off('idle', queueOnIdle);
    };
  }, [ctx]);
}

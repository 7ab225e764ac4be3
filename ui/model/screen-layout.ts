import { PANE_CHROME_ROWS } from '../components/pane.js';

/** Rows of each part of the screen, top to bottom (the message line and the key bar take one each). */
export interface ScreenLayout {
  /** 0 while the output is full screen. */
  panes: number;
  queue: number;
  dock: number;
}

/** The queue panel when shown: a third of the screen, 6 to 14 rows. */
function queueRows(rows: number): number {
  return Math.max(6, Math.min(14, Math.floor(rows / 3)));
}

/**
 * Splits `rows` between the panes, the queue panel and the output dock (`dock` rows asked, or
 * everything when full screen). The panes keep room for at least one entry: on a small terminal
 * the queue panel and then the dock shrink, never the panes below that.
 */
export function screenLayout(rows: number, parts: { queue: boolean; dock: number; dockFullScreen: boolean }): ScreenLayout {
  const body = Math.max(0, rows - 2);
  if (parts.dockFullScreen) return { panes: 0, queue: 0, dock: body };
  const minPanes = PANE_CHROME_ROWS + 1;
  let queue = parts.queue ? queueRows(rows) : 0;
  let dock = parts.dock;
  const over = queue + dock + minPanes - body;
  if (over > 0) {
    const fromQueue = Math.min(over, Math.max(0, queue - 3));
    queue -= fromQueue;
    dock = Math.max(0, dock - (over - fromQueue));
  }
  return { panes: Math.max(minPanes, body - queue - dock), queue, dock };
}

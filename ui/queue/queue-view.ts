import { firstUnfinished, type JobRows } from './job-rows.js';

/*
 * The queue panel's cursor and scroll position as a plain value with pure functions (no drawing
 * here). Until the user moves the cursor it follows the work: it stays on the first job that is
 * not finished, so an unattended panel shows what is being copied right now.
 */

export interface QueueView {
  /** The row under the cursor. */
  cursor: number;
  /** The first row on screen. */
  offset: number;
  /** The cursor follows the first unfinished job; moving it by hand turns this off. */
  follow: boolean;
  /** Where the search for unfinished work starts (everything before it was finished). */
  frontier: number;
}

export const INITIAL_QUEUE_VIEW: QueueView = { cursor: 0, offset: 0, follow: true, frontier: 0 };

export type QueueMove = 'up' | 'down' | 'page-up' | 'page-down' | 'home' | 'end' | 'follow';

function clamp(n: number, low: number, high: number): number {
  return Math.max(low, Math.min(high, n));
}

/**
 * The view as it should be drawn for `rows` in a window of `height` rows: the cursor moved to the
 * work when following, kept on an existing row, and scrolled into sight. Returns `view` itself
 * when nothing changes, so it can be kept and compared cheaply.
 */
export function settleQueueView(view: QueueView, rows: JobRows, height: number): QueueView {
  const visible = Math.max(1, height);
  let { cursor, frontier } = view;
  if (view.follow) {
    const work = firstUnfinished(rows, Math.min(frontier, rows.count));
    if (work >= 0) {
      cursor = work;
      frontier = work;
    } else {
      // All finished: rest on the last row, and search only new rows next time.
      cursor = rows.count - 1;
      frontier = rows.count;
    }
  }
  cursor = rows.count === 0 ? 0 : clamp(cursor, 0, rows.count - 1);
  let offset = view.offset;
  if (cursor < offset) offset = cursor;
  if (cursor >= offset + visible) offset = cursor - visible + 1;
  offset = clamp(offset, 0, Math.max(0, rows.count - visible));
  if (cursor === view.cursor && offset === view.offset && frontier === view.frontier) return view;
  return { ...view, cursor, offset, frontier };
}

/** The view after a cursor key; any move but 'follow' stops following the work. */
export function moveQueueView(view: QueueView, move: QueueMove, rows: JobRows, height: number): QueueView {
  const page = Math.max(1, height - 1);
  const last = Math.max(0, rows.count - 1);
  const to = (cursor: number): QueueView => settleQueueView({ ...view, cursor: clamp(cursor, 0, last), follow: false }, rows, height);
  switch (move) {
    case 'up':
      return to(view.cursor - 1);
    case 'down':
      return to(view.cursor + 1);
    case 'page-up':
      return to(view.cursor - page);
    case 'page-down':
      return to(view.cursor + page);
    case 'home':
      return to(0);
    case 'end':
      return to(last);
    case 'follow':
      return settleQueueView({ ...view, follow: true, frontier: 0 }, rows, height);
  }
}

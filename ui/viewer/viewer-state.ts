/*
 * The viewer's scroll position as a pure reducer: the first line and column shown, kept inside
 * the content for a given screen size.
 */

export interface ViewerState {
  top: number;
  left: number;
}

export type ViewerMotion = 'up' | 'down' | 'page-up' | 'page-down' | 'home' | 'end' | 'left' | 'right';

export const INITIAL_VIEWER: ViewerState = { top: 0, left: 0 };

/** Columns one left/right step scrolls. */
const SIDE_STEP = 8;

/** Moves the view; `lines` and `width` are the content's, `height` the rows on screen. */
export function moveViewer(state: ViewerState, motion: ViewerMotion, size: { lines: number; longest: number; height: number; width: number }): ViewerState {
  const maxTop = Math.max(0, size.lines - size.height);
  const maxLeft = Math.max(0, size.longest - size.width);
  const page = Math.max(1, size.height - 1);
  let { top, left } = state;
  switch (motion) {
    case 'up':
      top -= 1;
      break;
    case 'down':
      top += 1;
      break;
    case 'page-up':
      top -= page;
      break;
    case 'page-down':
      top += page;
      break;
    case 'home':
      top = 0;
      left = 0;
      break;
    case 'end':
      top = maxTop;
      break;
    case 'left':
      left -= SIDE_STEP;
      break;
    case 'right':
      left += SIDE_STEP;
      break;
  }
  top = Math.min(Math.max(0, top), maxTop);
  left = Math.min(Math.max(0, left), maxLeft);
  return top === state.top && left === state.left ? state : { top, left };
}

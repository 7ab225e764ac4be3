import type { CommandId, KeyPress } from '../keymap.js';
import { isTextInput, matchKey } from '../keymap.js';
import { errorText } from '../model/error-text.js';
import type { Motion } from '../model/pane-state.js';
import type { CommandContext } from './context.js';
import { copyToOtherPane } from './copy.js';
import { editCurrent } from './edit.js';
import { startDelete, startMark, startMkdir, startMove } from './file-ops.js';
import { openLogin } from './login.js';
import { goParent, openCurrent, reread } from './navigate.js';
import { viewCurrent } from './view.js';

const MOTIONS: Partial<Record<CommandId, Motion>> = {
  'pane.up': 'up',
  'pane.down': 'down',
  'pane.page-up': 'page-up',
  'pane.page-down': 'page-down',
  'pane.home': 'home',
  'pane.end': 'end',
};

/**
 * Runs a key's work so that nothing it throws escapes: a failure that no command caught becomes
 * a line on the message line instead of ending the process with the terminal in raw mode.
 */
export function runSafely(ctx: CommandContext, work: () => Promise<void>): void {
  const report = (error: unknown) => ctx.store.dispatch({ type: 'message', text: errorText(error), tone: 'error' });
  try {
    work().catch(report);
  } catch (error) {
    report(error);
  }
}

/** True while transfers are queued or running (quitting then asks first). */
export function transfersRunning(ctx: CommandContext): boolean {
  const { totals } = ctx.queue.snapshot();
  return totals.queued + totals.running > 0;
}

/** F10 / q: quits, asking first while transfers are running. */
export function quit(ctx: CommandContext): void {
  if (!transfersRunning(ctx)) {
    ctx.exit();
    return;
  }
  const { totals } = ctx.queue.snapshot();
  ctx.store.dispatch({
    type: 'overlay',
    overlay: {
      kind: 'confirm',
      title: 'Quit',
      message: `${totals.queued + totals.running} transfers are not finished.\nQuit anyway? Started files continue from where they stopped next time.`,
      yes: 'Quit',
      danger: false,
      purpose: { type: 'quit' },
    },
  });
}

/**
 * Runs one command of the global or pane layer on the active pane. Async commands report their
 * own errors on the message line; the returned promise is for tests that wait for the effect.
 */
export async function runCommand(ctx: CommandContext, id: CommandId): Promise<void> {
  const { store } = ctx;
  const { active } = store.getState();
  const motion = MOTIONS[id];
  if (motion) {
    store.dispatch({ type: 'pane', side: active, action: { type: 'move', motion } });
    return;
  }
  switch (id) {
    case 'app.help':
      store.dispatch({ type: 'overlay', overlay: { kind: 'help' } });
      return;
    case 'app.quit':
      quit(ctx);
      return;
    case 'app.connect':
      openLogin(ctx);
      return;
    case 'queue.toggle': {
      const { queue } = store.getState();
      // Hidden → shown with the input; shown → hidden.
      store.dispatch(queue.visible ? { type: 'queue', visible: false } : { type: 'queue', visible: true, focused: true });
      return;
    }
    case 'pane.open': {
      const file = await openCurrent(ctx, active);
      if (file) await viewCurrent(ctx);
      return;
    }
    case 'pane.parent':
      return goParent(ctx, active);
    case 'pane.switch':
      store.dispatch({ type: 'switch' });
      return;
    case 'pane.mark':
      store.dispatch({ type: 'pane', side: active, action: { type: 'toggle-mark' } });
      return;
    case 'pane.select':
      return startMark(ctx, 'select');
    case 'pane.unselect':
      return startMark(ctx, 'unselect');
    case 'pane.invert':
      return startMark(ctx, 'invert');
    case 'pane.filter':
      store.dispatch({ type: 'pane', side: active, action: { type: 'filter-set', text: '' } });
      return;
    case 'pane.reread':
      return reread(ctx, active);
    case 'pane.swap':
      store.dispatch({ type: 'swap' });
      return;
    case 'pane.toggle-hidden':
      store.dispatch({ type: 'pane', side: active, action: { type: 'toggle-hidden' } });
      return;
    case 'pane.sort':
      store.dispatch({ type: 'pane', side: active, action: { type: 'sort-cycle' } });
      return;
    case 'file.view':
      return viewCurrent(ctx);
    case 'file.edit':
      return editCurrent(ctx);
    case 'file.copy':
      copyToOtherPane(ctx);
      return;
    case 'file.move':
      startMove(ctx);
      return;
    case 'file.mkdir':
      startMkdir(ctx);
      return;
    case 'file.delete':
      startDelete(ctx);
      return;
    default:
      return;
  }
}

/**
 * A key press while the panes have the input: the quick filter takes printable keys while it is
 * on, then the global and pane commands, and a printable key bound to nothing starts a filter.
 * Returns the command's promise (resolved at once when there was nothing to wait for).
 */
export function handlePaneKey(ctx: CommandContext, key: KeyPress): Promise<void> {
  const { store } = ctx;
  const { active, sides, message } = store.getState();
  // A message stays until the next key, unless it tracks work that is still going on.
  if (message !== null && message.tone !== 'progress') store.dispatch({ type: 'clear-message' });
  const filtering = sides[active].pane.filter !== null;
  if (filtering) {
    const command = matchKey('filter', key);
    if (command === 'filter.backspace') {
      store.dispatch({ type: 'pane', side: active, action: { type: 'filter-backspace' } });
      return Promise.resolve();
    }
    if (command === 'filter.clear') {
      store.dispatch({ type: 'pane', side: active, action: { type: 'filter-set', text: null } });
      return Promise.resolve();
    }
    if (isTextInput(key)) {
      store.dispatch({ type: 'pane', side: active, action: { type: 'filter-append', text: key.text } });
      return Promise.resolve();
    }
  }
  const command = matchKey(['global', 'pane'], key);
  if (command !== undefined) {
    return runCommand(ctx, command);
  }
  if (isTextInput(key) && key.text.trim() !== '') {
    store.dispatch({ type: 'pane', side: active, action: { type: 'filter-append', text: key.text } });
  }
  return Promise.resolve();
}

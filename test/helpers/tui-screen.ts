import type { ExecutionContext } from 'ava';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import type { TmuxSession } from './tmux.js';

/** The line of the screen holding `text` (first match), or ''. */
export function lineWith(screen: string, text: string): string {
  return screen.split('\n').find((line) => line.includes(text)) ?? '';
}

/** The left or right half of each screen line (the panes split the 160 columns in two). */
function half(screen: string, side: 'left' | 'right'): string {
  return screen
    .split('\n')
    .map((line) => {
      const chars = [...line];
      return (side === 'left' ? chars.slice(0, 80) : chars.slice(80)).join('');
    })
    .join('\n');
}

/** Tab, and wait until the right pane has the input (mc's double frame moved there). */
export async function toRightPane(tui: TmuxSession): Promise<void> {
  await tui.press('Tab');
  await tui.waitFor(/^┌[^\n]*╔═/);
}

export async function waitForPaneEntry(tui: TmuxSession, side: 'left' | 'right', name: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const screen = await tui.capture();
    if (half(screen, side).includes(name)) return;
    if (Date.now() > deadline) throw new Error(`${name} never showed in the ${side} pane; the screen:\n${screen}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** F10, and the program ends normally. */
export async function quit(tui: TmuxSession): Promise<void> {
  await tui.press('F10');
  await tui.waitFor('[ferry exited');
  const status = await tui.exitStatus();
  if (status !== 0) throw new Error(`ferry exited with ${status}; the screen:\n${await tui.capture()}`);
}

/**
 * F7 on the right pane makes `name`, which must show there and exist in `dir` (its place on
 * disk); F8 then asks, and Enter deletes it from the pane and the disk.
 */
export async function mkdirThenDelete(t: ExecutionContext, tui: TmuxSession, name: string, dir: string): Promise<void> {
  await tui.press('F7');
  await tui.waitFor('Name of the new directory:');
  await tui.type(name);
  await tui.waitFor(name);
  await tui.press('Enter');
  await waitForPaneEntry(tui, 'right', `/${name}`);
  t.true((await stat(join(dir, name))).isDirectory());
  // The new directory is under the cursor.
  await tui.press('F8');
  const asked = await tui.waitFor(/everything in it\?/);
  t.regex(asked, new RegExp(name));
  await tui.press('Enter');
  await tui.waitForGone(`/${name}`);
  await t.throwsAsync(stat(join(dir, name)), { code: 'ENOENT' });
}

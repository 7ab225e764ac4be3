/*
 * Small helpers for ink-testing-library tests: key sequences as a terminal sends them, and a
 * wait for a frame or a callback that observes instead of sleeping a fixed time (React renders
 * asynchronously after a key).
 */

/** Raw sequences a terminal sends (xterm / tmux). */
export const KEYS = {
  up: '\u001B[A',
  down: '\u001B[B',
  enter: '\r',
  escape: '\u001B',
  tab: '\t',
  shiftTab: '\u001B[Z',
  space: ' ',
  pageUp: '\u001B[5~',
  pageDown: '\u001B[6~',
  delete: '\u001B[3~',
  insert: '\u001B[2~',
} as const;

/** Resolves once `check()` is true; rejects after `timeoutMs` (default 3 s) naming `what`. */
export async function until(check: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Lets ink attach its input handlers (they are set up in effects after the first render). */
export async function mounted(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 20));
}

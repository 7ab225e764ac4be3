import { act } from 'react';

/*
 * For ink tests that drive a component key by key: each key inside React's act(), which flushes
 * renders and effects before it returns, so a frame read afterwards shows the effect of exactly
 * the keys sent. The tick inside lets ink deliver a lone Esc, which it holds back for one turn of
 * the event loop in case more follows. act() keeps one global queue: such tests run serially.
 * Importing this module marks the environment as an act() one.
 */

(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

/** Runs `work` (typically stdin.write of a key) inside act(), plus one event-loop turn. */
export async function inAct(work: () => void): Promise<void> {
  await act(async () => {
    work();
    await new Promise((resolve) => setImmediate(resolve));
  });
}

/** A dialog frame's text with the border taken off and wrapped lines joined, for sentences. */
export function flatFrame(frame: unknown): string {
  return String(frame)
    .split('\n')
    .map((line) => line.replace(/^[║╔╚]|[║╗╝]$/g, '').trim())
    .join(' ')
    .replace(/\s+/g, ' ');
}

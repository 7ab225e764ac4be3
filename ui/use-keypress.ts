import { useStdin } from 'ink';
import { useLayoutEffect, useRef } from 'react';
import { parseKeySequence, type KeyPress } from './model/key-press.js';

/**
 * Like ink's useInput, but hands the handler a KeyPress parsed from the raw sequence, so function
 * keys, Insert, Backspace and Delete are told apart (useInput reports F1–F12 and Insert with no
 * name). Only while `isActive` (default true) is raw mode held and the handler called; the App
 * makes exactly one layer active. The handler may change between renders without resubscribing.
 */
export function useKeypress(handler: (key: KeyPress) => void, options: { isActive?: boolean } = {}): void {
  const { setRawMode, internal_eventEmitter: events } = useStdin();
  const active = options.isActive ?? true;
  const latest = useRef(handler);
  latest.current = handler;

  // Layout effects, not effects: they run in the commit that shows the component, so a key typed
  // right after a dialog appears reaches it instead of falling between two layers.
  useLayoutEffect(() => {
    if (!active) return;
    setRawMode(true);
    return () => setRawMode(false);
  }, [active, setRawMode]);

  useLayoutEffect(() => {
    if (!active) return;
    const onInput = (sequence: string) => latest.current(parseKeySequence(sequence));
    events.on('input', onInput);
    return () => {
      events.off('input', onInput);
    };
  }, [active, events]);
}

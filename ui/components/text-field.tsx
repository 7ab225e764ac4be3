import { useEffect, useRef, useState } from 'react';
import { Text, useInput, type Key } from 'ink';

/** The text and where the cursor stands in it (0 = before the first character). */
export interface TextEditState {
  value: string;
  cursor: number;
}

export interface TextEditOptions {
  /** Longest value accepted; further typing is ignored. Default: no limit. */
  maxLength?: number;
  /** Which characters may be typed (a paste keeps only those). Default: every printable one. */
  accept?: (char: string) => boolean;
}

/**
 * The editing keys of a single-line field. They belong to the widget, not to a command layer:
 * they only act on the focused field and never reach the panes. Listed as a table so the help
 * screen and docs/keymap.md can show them next to the keymap's commands.
 */
export const TEXT_FIELD_KEYS: ReadonlyArray<{ keys: string; description: string }> = [
  { keys: 'Left / Right', description: 'move the cursor by one character' },
  { keys: 'Home / Ctrl-A, End / Ctrl-E', description: 'move the cursor to the start / end' },
  { keys: 'Backspace', description: 'delete the character before the cursor' },
  { keys: 'Ctrl-D', description: 'delete the character under the cursor' },
  { keys: 'Ctrl-W', description: 'delete the word before the cursor' },
  { keys: 'Ctrl-U / Ctrl-K', description: 'delete to the start / to the end' },
];

// Control characters (C0, DEL, C1) never become part of a value, even inside a paste.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/gu;

/**
 * Applies one key press (ink's `useInput` arguments) to a field. Returns the new state, or
 * undefined when the key is not an editing key (Enter, Tab, Esc, arrows up/down, other Ctrl
 * combinations), so the caller may give it a meaning of its own.
 */
export function editText(state: TextEditState, input: string, key: Key, options: TextEditOptions = {}): TextEditState | undefined {
  const { value } = state;
  const cursor = Math.min(Math.max(state.cursor, 0), value.length);
  if (key.return || key.tab || key.escape || key.upArrow || key.downArrow || key.pageUp || key.pageDown) return undefined;
  if (key.leftArrow) return { value, cursor: Math.max(0, cursor - 1) };
  if (key.rightArrow) return { value, cursor: Math.min(value.length, cursor + 1) };
  if (key.home) return { value, cursor: 0 };
  if (key.end) return { value, cursor: value.length };
  // Terminals send DEL (0x7f) for the Backspace key and ink reports it as `delete`, the same as
  // the forward-delete key, so both erase to the left; Ctrl-D erases to the right.
  if (key.backspace || key.delete) {
    if (cursor === 0) return { value, cursor };
    return { value: value.slice(0, cursor - 1) + value.slice(cursor), cursor: cursor - 1 };
  }
  if (key.ctrl) {
    switch (input) {
      case 'a':
        return { value, cursor: 0 };
      case 'e':
        return { value, cursor: value.length };
      case 'd':
        return { value: value.slice(0, cursor) + value.slice(cursor + 1), cursor };
      case 'u':
        return { value: value.slice(cursor), cursor: 0 };
      case 'k':
        return { value: value.slice(0, cursor), cursor };
      case 'w': {
        const before = value.slice(0, cursor).replace(/\S+\s*$/u, '');
        return { value: before + value.slice(cursor), cursor: before.length };
      }
      default:
        return undefined;
    }
  }
  if (key.meta || input === '') return undefined;
  let typed = [...input.replace(CONTROL, '')];
  if (options.accept) typed = typed.filter(options.accept);
  if (options.maxLength !== undefined) typed = typed.slice(0, Math.max(0, options.maxLength - [...value].length));
  if (typed.length === 0) return { value, cursor };
  const text = typed.join('');
  return { value: value.slice(0, cursor) + text + value.slice(cursor), cursor: cursor + text.length };
}

export interface TextFieldProps extends TextEditOptions {
  value: string;
  onChange: (value: string) => void;
  /** The field has the focus: it takes editing keys and shows its cursor. */
  isActive: boolean;
  /** Show every character as this one (password fields), e.g. '•'. */
  mask?: string;
  /** Shown dimmed while the value is empty. */
  placeholder?: string;
  /** Columns the field occupies; a longer value scrolls to keep the cursor in view. Default 30. */
  width?: number;
}

/**
 * A single-line text input, controlled by its parent (`value` / `onChange`). Only editing keys are
 * handled here (see TEXT_FIELD_KEYS); Enter, Tab, Esc and the arrows up/down are left to the
 * dialog around it, which asks the keymap what they mean. The rendered text is always exactly
 * `width` columns wide, so a form does not shift while typing.
 */
export function TextField({ value, onChange, isActive, mask, placeholder, width = 30, maxLength, accept }: TextFieldProps) {
  const [cursor, setCursor] = useState(value.length);
  // Key presses can arrive faster than React re-renders (a paste split in chunks, a test writing
  // to stdin twice): each edit starts from the last edit, not from the last rendered props.
  const live = useRef<TextEditState>({ value, cursor: value.length });

  useEffect(() => {
    // A value set from outside (a recent host filling the form) puts the cursor at its end.
    if (value !== live.current.value) {
      live.current = { value, cursor: value.length };
      setCursor(value.length);
    }
  }, [value]);

  useInput(
    (input, key) => {
      const next = editText(live.current, input, key, { maxLength, accept });
      if (!next) return;
      const changed = next.value !== live.current.value;
      live.current = next;
      setCursor(next.cursor);
      if (changed) onChange(next.value);
    },
    { isActive },
  );

  const chars = [...value];
  const at = Math.min(cursor, chars.length);
  if (chars.length === 0 && !isActive && placeholder) {
    return <Text dimColor>{fit(placeholder, width)}</Text>;
  }
  const shown = mask === undefined ? chars : chars.map(() => mask);
  // One column is kept for the cursor after the last character.
  const start = Math.max(0, at - width + 1);
  const visible = shown.slice(start, start + width);
  const cursorAt = at - start;
  if (!isActive) return <Text>{fit(visible.join(''), width)}</Text>;
  const before = visible.slice(0, cursorAt).join('');
  const under = visible[cursorAt] ?? ' ';
  const after = visible.slice(cursorAt + 1).join('');
  const padding = ' '.repeat(Math.max(0, width - visible.length - (cursorAt >= visible.length ? 1 : 0)));
  return (
    <Text>
      {before}
      <Text inverse>{under}</Text>
      {after}
      {padding}
    </Text>
  );
}

function fit(text: string, width: number): string {
  const chars = [...text];
  return chars.length >= width ? chars.slice(0, width).join('') : text + ' '.repeat(width - chars.length);
}

import { useEffect, useRef, useState } from 'react';
import { Text } from 'ink';
import { isTextInput, matchKey, type KeyPress } from '../keymap.js';
import { useKeypress } from '../use-keypress.js';

/** The text and where the cursor stands in it (0 = before the first character). */
export interface TextEditState {
  value: string;
  cursor: number;
}

export interface TextEditOptions {
  /** Longest value accepted (in characters); further typing is ignored. Default: no limit. */
  maxLength?: number;
  /** Which characters may be typed (a paste keeps only those). Default: every printable one. */
  accept?: (char: string) => boolean;
}

// Control characters (C0, DEL, C1) never become part of a value, even inside a paste.
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/gu;

/**
 * Applies one key press to a field: the keymap's text commands (dialog.left, dialog.right,
 * dialog.home, dialog.end, dialog.backspace, dialog.delete, dialog.clear) and typed or pasted
 * text. Returns the new state, or undefined when the key is none of those (Enter, Tab, Esc, the
 * arrows up/down…), so the dialog around the field may give it a meaning.
 */
export function editText(state: TextEditState, key: KeyPress, options: TextEditOptions = {}): TextEditState | undefined {
  // Characters, not UTF-16 units: the cursor never splits a surrogate pair.
  const chars = [...state.value];
  const cursor = Math.min(Math.max(state.cursor, 0), chars.length);
  const join = (parts: string[], at: number): TextEditState => ({ value: parts.join(''), cursor: at });
  switch (matchKey('dialog', key)) {
    case 'dialog.left':
      return join(chars, Math.max(0, cursor - 1));
    case 'dialog.right':
      return join(chars, Math.min(chars.length, cursor + 1));
    case 'dialog.home':
      return join(chars, 0);
    case 'dialog.end':
      return join(chars, chars.length);
    case 'dialog.backspace':
      return cursor === 0 ? join(chars, 0) : join([...chars.slice(0, cursor - 1), ...chars.slice(cursor)], cursor - 1);
    case 'dialog.delete':
      return join([...chars.slice(0, cursor), ...chars.slice(cursor + 1)], cursor);
    case 'dialog.clear':
      return join([], 0);
  }
  if (!isTextInput(key)) return undefined;
  let typed = [...key.text.replace(CONTROL, '')];
  if (options.accept) typed = typed.filter(options.accept);
  if (options.maxLength !== undefined) typed = typed.slice(0, Math.max(0, options.maxLength - chars.length));
  return join([...chars.slice(0, cursor), ...typed, ...chars.slice(cursor)], cursor + typed.length);
}

export interface TextFieldProps extends TextEditOptions {
  value: string;
  onChange: (value: string) => void;
  /** The field has the focus: it takes editing keys and shows its cursor. */
  isActive: boolean;
  /** Show every character as this one (password fields), e.g. '•'. */
  mask?: string;
  /** Shown dimmed while the value is empty and the field has no focus. */
  placeholder?: string;
  /** Columns the field occupies; a longer value scrolls to keep the cursor in view. Default 30. */
  width?: number;
}

/**
 * A single-line text input, controlled by its parent (`value` / `onChange`). It handles only the
 * keymap's text commands and typed text (see editText); Enter, Tab, Esc, Space on a checkbox and
 * the arrows up/down are the dialog's, which asks the keymap for them. The rendered text is always
 * `width` columns wide, so a form does not shift while typing.
 */
export function TextField({ value, onChange, isActive, mask, placeholder, width = 30, maxLength, accept }: TextFieldProps) {
  const [cursor, setCursor] = useState([...value].length);
  // Key presses can arrive faster than React re-renders (a test writing to stdin twice in a row,
  // keys queued while busy): each edit starts from the previous edit, not from the last props.
  const live = useRef<TextEditState>({ value, cursor: [...value].length });

  useEffect(() => {
    // A value set from outside (a recent host filling the form) puts the cursor at its end.
    if (value !== live.current.value) {
      live.current = { value, cursor: [...value].length };
      setCursor(live.current.cursor);
    }
  }, [value]);

  useKeypress(
    (key) => {
      const next = editText(live.current, key, { ...(maxLength === undefined ? {} : { maxLength }), ...(accept ? { accept } : {}) });
      if (!next) return;
      const changed = next.value !== live.current.value;
      live.current = next;
      setCursor(next.cursor);
      if (changed) onChange(next.value);
    },
    { isActive },
  );

  const chars = [...value];
  if (chars.length === 0 && !isActive && placeholder) return <Text dimColor>{fit([...placeholder], width)}</Text>;
  const shown = mask === undefined ? chars : chars.map(() => mask);
  if (!isActive) return <Text>{fit(shown.slice(0, width), width)}</Text>;
  const at = Math.min(cursor, chars.length);
  // One column is kept for the cursor after the last character.
  const start = Math.max(0, at - width + 1);
  const visible = shown.slice(start, start + width);
  const cursorAt = at - start;
  const after = visible.slice(cursorAt + 1);
  const used = cursorAt + 1 + after.length;
  return (
    <Text>
      {visible.slice(0, cursorAt).join('')}
      <Text inverse>{visible[cursorAt] ?? ' '}</Text>
      {after.join('')}
      {' '.repeat(Math.max(0, width - used))}
    </Text>
  );
}

function fit(chars: string[], width: number): string {
  return chars.length >= width ? chars.slice(0, width).join('') : chars.join('') + ' '.repeat(width - chars.length);
}

import { useRef, useState } from 'react';
import { Text } from 'ink';
import { isTextInput, matchKey, type KeyPress } from '../keymap.js';
import { charWidth, fitColumns, takeColumns } from '../model/text-width.js';

/** The text and where the cursor stands in it, in characters (0 = before the first one). */
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
 * arrows up/down…), so the dialog may give it its own meaning.
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

/** The state of one field for a dialog with a single input (see useTextField). */
export interface TextFieldHandle {
  /** What to render: `<TextField {...field.view} isActive … />`. */
  view: TextEditState;
  /** The latest state, including keys handled since the last render. */
  current(): TextEditState;
  /** Feeds a key press; true when the field used it (then the dialog should not). */
  handle(key: KeyPress): boolean;
  /** Replaces the value (the cursor goes to its end). */
  set(value: string): void;
}

/**
 * Field state for a dialog's one key handler. Keys are applied to the latest state held in a ref,
 * not to the last render: several keys can arrive between two renders (a paste, keys typed while
 * busy), and an Enter right after typing must submit what was typed.
 */
export function useTextField(initial = '', options: TextEditOptions = {}): TextFieldHandle {
  const live = useRef<TextEditState>({ value: initial, cursor: [...initial].length });
  const [view, setView] = useState(live.current);
  return {
    view,
    current: () => live.current,
    handle(key) {
      const next = editText(live.current, key, options);
      if (!next) return false;
      live.current = next;
      setView(next);
      return true;
    },
    set(value) {
      live.current = { value, cursor: [...value].length };
      setView(live.current);
    },
  };
}

export interface TextFieldProps {
  value: string;
  /** Where the cursor is, in characters. Default: after the last one. */
  cursor?: number;
  /** The field has the focus: its cursor is shown. */
  isActive: boolean;
  /** Show every character as this one (password fields), e.g. '•'. */
  mask?: string;
  /** Shown dimmed while the value is empty and the field has no focus. */
  placeholder?: string;
  /** Columns the field occupies; a longer value scrolls to keep the cursor in view. Default 30. */
  width?: number;
}

/**
 * A single-line text input as it looks: the value (or its mask), the cursor when focused, and
 * always exactly `width` columns so a form does not shift while typing. It takes no keys itself:
 * the dialog's one handler feeds them through editText (or useTextField), so no key is lost or
 * applied to the wrong field when several arrive before React re-renders.
 */
export function TextField({ value, cursor, isActive, mask, placeholder, width = 30 }: TextFieldProps) {
  const chars = [...value];
  if (chars.length === 0 && !isActive && placeholder) return <Text dimColor>{fitColumns(takeColumns(placeholder, width), width)}</Text>;
  const shown = mask === undefined ? chars : chars.map(() => mask);
  if (!isActive) return <Text>{fitColumns(takeColumns(shown.join(''), width), width)}</Text>;
  const at = Math.min(Math.max(cursor ?? chars.length, 0), chars.length);
  // Scroll so that everything from the first shown character to the cursor fits, the cursor
  // cell included (one column after the last character).
  let start = at;
  let used = at < shown.length ? charWidth(shown[at]!) : 1;
  while (start > 0 && used + charWidth(shown[start - 1]!) <= width) used += charWidth(shown[--start]!);
  const before = shown.slice(start, at).join('');
  const under = shown[at] ?? ' ';
  const after = takeColumns(shown.slice(at + 1).join(''), Math.max(0, width - used));
  return (
    <Text>
      {before}
      <Text inverse>{under}</Text>
      {fitColumns(after, Math.max(0, width - used))}
    </Text>
  );
}

import type { Key } from 'ink';

/**
 * One key press, normalised: what the keymap matches against. `name` is a key name ('f5', 'up',
 * 'return', 'escape', 'tab', 'backspace', 'delete', 'insert', 'space', …) or, for a printable
 * key, the character itself ('q', '+', 'Q'). `text` is what the key types ('' for keys that type
 * nothing); a paste arrives as one press whose `name` is 'paste' and `text` the whole string.
 */
export interface KeyPress {
  name: string;
  ctrl: boolean;
  shift: boolean;
  meta: boolean;
  text: string;
}

/** Final letters of `ESC [ x` / `ESC O x` sequences (xterm, VT100, gnome, tmux). */
const LETTER_KEYS: Record<string, string> = {
  A: 'up',
  B: 'down',
  C: 'right',
  D: 'left',
  H: 'home',
  F: 'end',
  P: 'f1',
  Q: 'f2',
  R: 'f3',
  S: 'f4',
};

/** `ESC [ n ~` numbers (xterm, rxvt, tmux, the Linux console). */
const TILDE_KEYS: Record<string, string> = {
  '1': 'home',
  '2': 'insert',
  '3': 'delete',
  '4': 'end',
  '5': 'pageup',
  '6': 'pagedown',
  '7': 'home',
  '8': 'end',
  '11': 'f1',
  '12': 'f2',
  '13': 'f3',
  '14': 'f4',
  '15': 'f5',
  '17': 'f6',
  '18': 'f7',
  '19': 'f8',
  '20': 'f9',
  '21': 'f10',
  '23': 'f11',
  '24': 'f12',
};

/** The Linux console's `ESC [ [ x` for F1–F5. */
const CONSOLE_KEYS: Record<string, string> = { A: 'f1', B: 'f2', C: 'f3', D: 'f4', E: 'f5' };

// Control sequences are matched on purpose here: this is the terminal input parser.
// eslint-disable-next-line no-control-regex
const CSI = /^\u001B(?:\[\[([A-E])|\[(\d+)(?:;(\d+))?([~^$])|\[(?:1;)?(\d+)?([A-Za-z])|O(\d+)?([A-Za-z]))$/;

function press(name: string, mods: Partial<Omit<KeyPress, 'name'>> = {}): KeyPress {
  return { name, ctrl: false, shift: false, meta: false, text: '', ...mods };
}

/** xterm's modifier parameter: 1 + (shift 1 | alt 2 | ctrl 4). */
function modifiers(param: string | undefined): Pick<KeyPress, 'ctrl' | 'shift' | 'meta'> {
  const bits = param === undefined ? 0 : Math.max(0, Number(param) - 1);
  return { shift: (bits & 1) !== 0, meta: (bits & 2) !== 0, ctrl: (bits & 4) !== 0 };
}

/**
 * Turns one input event as ink splits them (one key, one escape sequence, or a pasted string)
 * into a KeyPress. Unlike ink's useInput it keeps function keys and Insert apart, and it takes
 * the DEL byte (what terminals send for Backspace) as Backspace and `ESC [ 3 ~` as Delete.
 * Ctrl-H arrives as the BS byte and is reported as Ctrl-H.
 */
export function parseKeySequence(sequence: string): KeyPress {
  switch (sequence) {
    case '\r':
    case '\n':
      return press('return');
    case '\t':
      return press('tab');
    case '\u001B[Z':
      return press('tab', { shift: true });
    case '\u007F':
      return press('backspace');
    case '\u001B\u007F':
      return press('backspace', { meta: true });
    case '\u001B':
      return press('escape');
    case '\u001B\u001B':
      return press('escape', { meta: true });
    case ' ':
      return press('space', { text: ' ' });
    case '\u0000':
      return press('space', { ctrl: true });
  }
  const match = CSI.exec(sequence);
  if (match) {
    const [, consoleKey, tildeNumber, tildeMods, tildeEnd, letterMods, letter, ss3Mods, ss3Letter] = match;
    if (consoleKey !== undefined) return press(CONSOLE_KEYS[consoleKey] ?? 'unknown');
    if (tildeNumber !== undefined) {
      const mods = modifiers(tildeMods);
      // rxvt marks Shift with `$` and Ctrl with `^` instead of a parameter.
      if (tildeEnd === '$') mods.shift = true;
      if (tildeEnd === '^') mods.ctrl = true;
      return press(TILDE_KEYS[tildeNumber] ?? 'unknown', mods);
    }
    const final = letter ?? ss3Letter;
    if (final !== undefined) {
      // rxvt reports Shift-arrows as lower-case letters.
      const lower = /[a-d]/.test(final) && letter !== undefined;
      const name = LETTER_KEYS[lower ? final.toUpperCase() : final];
      if (name === undefined) return press('unknown');
      const mods = modifiers(letterMods ?? ss3Mods);
      if (lower) mods.shift = true;
      return press(name, mods);
    }
  }
  const codePoint = sequence.codePointAt(0) ?? 0;
  const single = sequence.length === String.fromCodePoint(codePoint).length;
  if (single && codePoint < 0x20) {
    // Ctrl-A … Ctrl-Z are the bytes 1 … 26.
    return press(String.fromCharCode(codePoint + 0x60), { ctrl: true });
  }
  if (sequence.startsWith('\u001B') && sequence.length > 1) {
    const rest = parseKeySequence(sequence.slice(1));
    if (rest.name !== 'paste' && rest.name !== 'unknown') return { ...rest, meta: true, text: '' };
    return press('unknown');
  }
  if (single) return press(sequence, { text: sequence, shift: sequence !== sequence.toLowerCase() });
  return press('paste', { text: sequence });
}

/**
 * The same KeyPress from what ink's useInput hands a handler. Ink reports function keys and
 * Insert with no name, so they never match here (use the raw-sequence hook `useKeypress` for
 * those), and it reports the Backspace key (DEL byte) as `key.delete`, so `key.delete` is read as
 * Backspace: the forward Delete key is indistinguishable through useInput.
 */
export function keyPressFromInk(input: string, key: Key): KeyPress {
  const mods = { ctrl: key.ctrl, shift: key.shift, meta: key.meta && !key.escape };
  if (key.upArrow) return press('up', mods);
  if (key.downArrow) return press('down', mods);
  if (key.leftArrow) return press('left', mods);
  if (key.rightArrow) return press('right', mods);
  if (key.pageUp) return press('pageup', mods);
  if (key.pageDown) return press('pagedown', mods);
  if (key.home) return press('home', mods);
  if (key.end) return press('end', mods);
  if (key.return) return press('return', mods);
  if (key.escape) return press('escape', { ...mods, meta: false });
  if (key.tab) return press('tab', mods);
  if (key.backspace) return press('h', { ...mods, ctrl: true });
  if (key.delete) return press('backspace', mods);
  if (input === ' ') return press('space', { ...mods, text: ' ' });
  if (key.ctrl && input.length === 1) return press(input, mods);
  if (input === '') return press('unknown', mods);
  if ([...input].length === 1) return press(input, { ...mods, text: key.meta ? '' : input });
  return press('paste', { ...mods, text: input });
}

/** True when the press types text into a field (printable, no Ctrl or Alt). */
export function isTextInput(key: KeyPress): boolean {
  return key.text !== '' && !key.ctrl && !key.meta;
}

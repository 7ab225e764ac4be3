import type { Key } from 'ink';
import { keyPressFromInk, type KeyPress } from './model/key-press.js';

export { isTextInput, keyPressFromInk, parseKeySequence, type KeyPress } from './model/key-press.js';

/**
 * Where a command applies. Exactly one layer takes input at a time (dialogs above the viewer
 * above the queue panel above the panes); 'global' commands also work wherever the panes or the
 * queue panel have the input.
 * - pane: the file panes; filter: the panes while a quick filter is being typed (checked first);
 * - dialog: every dialog (input fields, confirm, login, resume); conflict: the file-exists dialog
 *   and trust: the unknown-server dialog (each checked before 'dialog');
 * - queue: the transfer queue panel when it has the input; viewer: the F3 viewer and the F1 help;
 * - output: the remote command output panel when it has the input; command: the command line.
 */
export type Layer = 'global' | 'pane' | 'filter' | 'dialog' | 'conflict' | 'trust' | 'queue' | 'viewer' | 'output' | 'command';

/**
 * A key as the table declares it: a key name ('f5', 'up', 'return', 'escape', 'tab',
 * 'backspace', 'delete', 'insert', 'space', 'pageup', …) or one printable character, plus
 * modifiers. Modifiers not mentioned must not be held (except Shift on printable characters,
 * which is part of the character).
 */
export interface KeySpec {
  name: string;
  ctrl?: boolean;
  shift?: boolean;
  meta?: boolean;
}

export interface CommandSpec {
  /** Dotted id, `<area>.<action>`. */
  id: string;
  layer: Layer;
  keys: readonly KeySpec[];
  /** One line for the help screen and docs/keymap.md. */
  description: string;
  /** The slot on the F1–F10 key bar, with its short label (mc style). */
  fkey?: { n: number; label: string };
}

const k = (name: string, mods: Omit<KeySpec, 'name'> = {}): KeySpec => ({ name, ...mods });
const ctrl = (name: string): KeySpec => ({ name, ctrl: true });

/**
 * Every command of the TUI, in the order the help screen and docs list them. The one source of
 * truth for key bindings: components ask `matchKey`/`matchCommand`, never compare keys.
 */
export const COMMANDS = [
  // ---- global: wherever the panes or the queue panel have the input ----
  { id: 'app.help', layer: 'global', keys: [k('f1')], description: 'Show this list of keys', fkey: { n: 1, label: 'Help' } },
  { id: 'app.quit', layer: 'global', keys: [k('f10'), k('q')], description: 'Quit (asks first while transfers are running)', fkey: { n: 10, label: 'Quit' } },
  { id: 'app.connect', layer: 'global', keys: [ctrl('n')], description: 'Connect to a server (the login dialog); the remote side opens in the right pane' },
  { id: 'queue.toggle', layer: 'global', keys: [k('f9'), ctrl('t')], description: 'Show / hide the transfer queue and move the input to it', fkey: { n: 9, label: 'Queue' } },

  // ---- pane ----
  { id: 'pane.up', layer: 'pane', keys: [k('up')], description: 'Cursor up' },
  { id: 'pane.down', layer: 'pane', keys: [k('down')], description: 'Cursor down' },
  { id: 'pane.page-up', layer: 'pane', keys: [k('pageup')], description: 'One page up' },
  { id: 'pane.page-down', layer: 'pane', keys: [k('pagedown')], description: 'One page down' },
  { id: 'pane.home', layer: 'pane', keys: [k('home')], description: 'First entry' },
  { id: 'pane.end', layer: 'pane', keys: [k('end')], description: 'Last entry' },
  { id: 'pane.open', layer: 'pane', keys: [k('return')], description: 'Open the directory under the cursor (view a file)' },
  { id: 'pane.parent', layer: 'pane', keys: [k('backspace')], description: 'Go to the parent directory' },
  { id: 'pane.switch', layer: 'pane', keys: [k('tab')], description: 'Switch to the other pane' },
  { id: 'pane.mark', layer: 'pane', keys: [k('insert'), k('space')], description: 'Mark / unmark the entry under the cursor and move down' },
  { id: 'pane.select', layer: 'pane', keys: [k('+')], description: 'Mark the entries matching a pattern (e.g. *.txt)' },
  { id: 'pane.unselect', layer: 'pane', keys: [k('-')], description: 'Unmark the entries matching a pattern' },
  { id: 'pane.invert', layer: 'pane', keys: [k('*')], description: 'Invert the marks of the entries matching a pattern' },
  { id: 'pane.filter', layer: 'pane', keys: [k('/')], description: 'Start a quick filter (typing any unbound character starts one too)' },
  { id: 'pane.reread', layer: 'pane', keys: [ctrl('r')], description: 'Reread the directory' },
  { id: 'pane.swap', layer: 'pane', keys: [ctrl('u')], description: 'Swap the two panes' },
  { id: 'pane.toggle-hidden', layer: 'pane', keys: [k('.'), ctrl('h')], description: 'Show / hide hidden files (names starting with a dot)' },
  { id: 'pane.sort', layer: 'pane', keys: [k('f2'), ctrl('s')], description: 'Cycle the sort order: name, size (largest first), time (newest first)', fkey: { n: 2, label: 'Sort' } },
  { id: 'file.view', layer: 'pane', keys: [k('f3')], description: 'View the file under the cursor (remote files are fetched first)', fkey: { n: 3, label: 'View' } },
  { id: 'file.edit', layer: 'pane', keys: [k('f4')], description: 'Edit in $EDITOR (remote: download, edit, upload back if changed)', fkey: { n: 4, label: 'Edit' } },
  { id: 'file.copy', layer: 'pane', keys: [k('f5')], description: 'Copy the marked entries (or the one under the cursor) to the other pane', fkey: { n: 5, label: 'Copy' } },
  { id: 'file.move', layer: 'pane', keys: [k('f6')], description: 'Move to the other pane, or rename (asks for the destination)', fkey: { n: 6, label: 'RenMov' } },
  { id: 'file.mkdir', layer: 'pane', keys: [k('f7')], description: 'Make a directory', fkey: { n: 7, label: 'Mkdir' } },
  { id: 'file.delete', layer: 'pane', keys: [k('f8')], description: 'Delete the marked entries (or the one under the cursor), directories with their contents', fkey: { n: 8, label: 'Delete' } },

  // ---- filter: the panes while a quick filter is typed (printable keys extend it) ----
  { id: 'filter.backspace', layer: 'filter', keys: [k('backspace')], description: 'Delete the last character of the filter' },
  { id: 'filter.clear', layer: 'filter', keys: [k('escape')], description: 'Clear the filter' },

  // ---- dialogs ----
  { id: 'dialog.confirm', layer: 'dialog', keys: [k('return')], description: 'Confirm (the focused button)' },
  { id: 'dialog.cancel', layer: 'dialog', keys: [k('escape')], description: 'Cancel' },
  { id: 'dialog.next-field', layer: 'dialog', keys: [k('tab'), k('down')], description: 'Next field or button' },
  { id: 'dialog.prev-field', layer: 'dialog', keys: [k('tab', { shift: true }), k('up')], description: 'Previous field or button' },
  { id: 'dialog.toggle', layer: 'dialog', keys: [k('space')], description: 'Toggle the focused checkbox' },
  { id: 'dialog.left', layer: 'dialog', keys: [k('left')], description: 'Text cursor left' },
  { id: 'dialog.right', layer: 'dialog', keys: [k('right')], description: 'Text cursor right' },
  { id: 'dialog.home', layer: 'dialog', keys: [k('home'), ctrl('a')], description: 'Text cursor to the start' },
  { id: 'dialog.end', layer: 'dialog', keys: [k('end'), ctrl('e')], description: 'Text cursor to the end' },
  { id: 'dialog.backspace', layer: 'dialog', keys: [k('backspace'), ctrl('h')], description: 'Delete the character before the cursor' },
  { id: 'dialog.delete', layer: 'dialog', keys: [k('delete'), ctrl('d')], description: 'Delete the character under the cursor' },
  { id: 'dialog.clear', layer: 'dialog', keys: [ctrl('u')], description: 'Clear the field' },

  // ---- the file-exists dialog (checked before 'dialog') ----
  { id: 'conflict.overwrite', layer: 'conflict', keys: [k('o')], description: 'Overwrite the target' },
  { id: 'conflict.resume', layer: 'conflict', keys: [k('r')], description: 'Resume (only when the target is a shorter copy of the source)' },
  { id: 'conflict.skip', layer: 'conflict', keys: [k('s')], description: 'Skip this file' },
  { id: 'conflict.rename', layer: 'conflict', keys: [k('n')], description: 'Keep both: copy under a new name' },
  { id: 'conflict.newer', layer: 'conflict', keys: [k('w')], description: 'Overwrite if the source is newer' },
  { id: 'conflict.size-differs', layer: 'conflict', keys: [k('d')], description: 'Overwrite if the sizes differ' },
  { id: 'conflict.apply-all', layer: 'conflict', keys: [k('a')], description: 'Toggle "apply to all" for the rest of the copy' },

  // ---- the unknown-server dialog (checked before 'dialog'; Esc refuses, Enter presses the focused button) ----
  { id: 'trust.save', layer: 'trust', keys: [k('a'), k('A')], description: "Trust the server's certificate and remember it in known_hosts" },
  { id: 'trust.once', layer: 'trust', keys: [k('o'), k('O')], description: 'Trust it for this session only' },
  { id: 'trust.refuse', layer: 'trust', keys: [k('r'), k('R')], description: 'Refuse: nothing is sent to the server' },

  // ---- queue panel ----
  { id: 'queue.up', layer: 'queue', keys: [k('up')], description: 'Select the previous job' },
  { id: 'queue.down', layer: 'queue', keys: [k('down')], description: 'Select the next job' },
  { id: 'queue.retry', layer: 'queue', keys: [k('r')], description: 'Retry the selected failed job' },
  { id: 'queue.cancel', layer: 'queue', keys: [k('delete'), k('c')], description: 'Cancel the selected job' },
  { id: 'queue.close', layer: 'queue', keys: [k('escape')], description: 'Give the input back to the panes (the panel stays)' },

  // ---- remote commands: the command line and the output panel ----
  { id: 'command.open', layer: 'pane', keys: [k(':')], description: "Open the command line: run a program the server allows, in the remote pane's directory (quotes and backslashes split the arguments, but no shell runs it)" },
  { id: 'output.show', layer: 'pane', keys: [ctrl('p')], description: 'Show the output of the last remote commands and move the input to it' },
  { id: 'output.screen', layer: 'pane', keys: [ctrl('o')], description: "Hide the panes and show the remote commands' output full screen, as mc's Ctrl-O (Ctrl-O again brings the panes back)" },
  { id: 'command.run', layer: 'command', keys: [k('return')], description: 'Run the command line (its words become the argv as typed; nothing is expanded)' },
  { id: 'command.history-prev', layer: 'command', keys: [k('up')], description: 'The previous command from the history' },
  { id: 'command.history-next', layer: 'command', keys: [k('down')], description: 'The next command from the history' },
  { id: 'command.close', layer: 'command', keys: [k('escape')], description: 'Close the command line' },
  { id: 'output.up', layer: 'output', keys: [k('up')], description: 'Scroll the output up a line' },
  { id: 'output.down', layer: 'output', keys: [k('down')], description: 'Scroll the output down a line' },
  { id: 'output.page-up', layer: 'output', keys: [k('pageup')], description: 'Scroll the output up a page' },
  { id: 'output.page-down', layer: 'output', keys: [k('pagedown')], description: 'Scroll the output down a page' },
  { id: 'output.home', layer: 'output', keys: [k('home')], description: 'To the oldest output kept' },
  { id: 'output.end', layer: 'output', keys: [k('end')], description: 'To the newest output (and follow it)' },
  { id: 'output.cancel', layer: 'output', keys: [ctrl('c')], description: 'Cancel the running command (the server kills it)' },
  { id: 'output.full-screen', layer: 'output', keys: [ctrl('o')], description: 'Hide the panes to show the output full screen, and back' },
  { id: 'output.command-line', layer: 'output', keys: [k(':')], description: 'Open the command line for the next command' },
  { id: 'output.close', layer: 'output', keys: [k('escape')], description: 'Hide the output panel (the runs are kept; the command keeps running)' },
  { id: 'login.register', layer: 'dialog', keys: [ctrl('r')], description: 'Login dialog: switch to registering a new account (password typed twice), and back' },

  // ---- viewer and help ----
  { id: 'viewer.up', layer: 'viewer', keys: [k('up')], description: 'Scroll up a line' },
  { id: 'viewer.down', layer: 'viewer', keys: [k('down')], description: 'Scroll down a line' },
  { id: 'viewer.page-up', layer: 'viewer', keys: [k('pageup'), k('b')], description: 'Scroll up a page' },
  { id: 'viewer.page-down', layer: 'viewer', keys: [k('pagedown'), k('space')], description: 'Scroll down a page' },
  { id: 'viewer.home', layer: 'viewer', keys: [k('home'), k('g')], description: 'To the top' },
  { id: 'viewer.end', layer: 'viewer', keys: [k('end'), k('G')], description: 'To the bottom' },
  { id: 'viewer.left', layer: 'viewer', keys: [k('left')], description: 'Scroll left' },
  { id: 'viewer.right', layer: 'viewer', keys: [k('right')], description: 'Scroll right' },
  { id: 'viewer.close', layer: 'viewer', keys: [k('escape'), k('q'), k('f3'), k('f10'), k('f1')], description: 'Close the viewer / help' },
] as const satisfies readonly CommandSpec[];

export type CommandId = (typeof COMMANDS)[number]['id'];

/** Layers in the order the help screen and docs present them. */
export const LAYERS: readonly { layer: Layer; title: string }[] = [
  { layer: 'global', title: 'Everywhere (panes and queue)' },
  { layer: 'pane', title: 'Panes' },
  { layer: 'filter', title: 'Quick filter (while typing a filter)' },
  { layer: 'queue', title: 'Transfer queue' },
  { layer: 'dialog', title: 'Dialogs' },
  { layer: 'conflict', title: 'File exists dialog' },
  { layer: 'trust', title: 'Unknown server dialog (TLS)' },
  { layer: 'viewer', title: 'Viewer and help' },
  { layer: 'command', title: 'Command line' },
  { layer: 'output', title: 'Command output' },
];

const BY_ID = new Map<string, CommandSpec>(COMMANDS.map((command) => [command.id, command]));

/** The table entry of a command. */
export function commandById(id: CommandId): CommandSpec {
  return BY_ID.get(id)!;
}

/** The commands of one layer, in table order. */
export function commandsOf(layer: Layer): CommandSpec[] {
  return COMMANDS.filter((command) => command.layer === layer);
}

function keyMatches(spec: KeySpec, key: KeyPress): boolean {
  if (spec.name !== key.name) return false;
  if ((spec.ctrl ?? false) !== key.ctrl || (spec.meta ?? false) !== key.meta) return false;
  // A printable character carries its own Shift ('G' is Shift-g); only named keys compare it.
  const printable = [...spec.name].length === 1;
  return printable || (spec.shift ?? false) === key.shift;
}

/**
 * The command `key` means in `layers` (searched in the order given), or undefined. Use this with
 * the raw-sequence hook `useKeypress`, which tells function keys and Insert apart.
 */
export function matchKey(layers: Layer | readonly Layer[], key: KeyPress): CommandId | undefined {
  const order = typeof layers === 'string' ? [layers] : layers;
  for (const layer of order) {
    for (const command of COMMANDS) {
      if (command.layer === layer && command.keys.some((spec) => keyMatches(spec, key))) return command.id;
    }
  }
  return undefined;
}

/**
 * `matchKey` for the arguments of ink's useInput handler. Through useInput, function keys and
 * Insert cannot be recognised and Backspace and Delete look the same (see keyPressFromInk).
 */
export function matchCommand(layers: Layer | readonly Layer[], input: string, key: Key): CommandId | undefined {
  return matchKey(layers, keyPressFromInk(input, key));
}

const KEY_LABELS: Record<string, string> = {
  up: 'Up',
  down: 'Down',
  left: 'Left',
  right: 'Right',
  pageup: 'PgUp',
  pagedown: 'PgDn',
  home: 'Home',
  end: 'End',
  return: 'Enter',
  escape: 'Esc',
  tab: 'Tab',
  backspace: 'Backspace',
  delete: 'Delete',
  insert: 'Insert',
  space: 'Space',
};

/** A key as people read it: "F5", "Ctrl-R", "Shift-Tab", "Insert", "+". */
export function formatKey(spec: KeySpec): string {
  let name = KEY_LABELS[spec.name] ?? (/^f\d+$/.test(spec.name) ? spec.name.toUpperCase() : spec.name);
  if (spec.ctrl) name = `Ctrl-${name.toUpperCase()}`;
  if (spec.meta) name = `Alt-${name}`;
  if (spec.shift && [...spec.name].length > 1) name = `Shift-${name}`;
  return name;
}

/** All keys of a command, "F10, q". */
export function formatKeys(command: Pick<CommandSpec, 'keys'>): string {
  return command.keys.map(formatKey).join(', ');
}

/** The F1–F10 slots of the key bar, from the table: index 0 is F1; a slot without a command is ''. */
export function fkeyLabels(): string[] {
  const labels = Array.from({ length: 10 }, () => '');
  for (const command of COMMANDS as readonly CommandSpec[]) {
    if (command.fkey) labels[command.fkey.n - 1] = command.fkey.label;
  }
  return labels;
}

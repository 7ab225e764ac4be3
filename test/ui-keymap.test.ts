import { readFile } from 'node:fs/promises';
import test from 'ava';
import { COMMANDS, LAYERS, fkeyLabels, formatKey, matchCommand, matchKey, parseKeySequence, type CommandId, type CommandSpec, type Layer } from '../ui/keymap.js';
import { KEYMAP_DOC_PATH, renderKeymapMarkdown } from '../ui/keymap-doc.js';
import type { Key } from 'ink';

const table = COMMANDS as readonly CommandSpec[];

test('docs/keymap.md is the text generated from the table (run `npm run docs:keymap` after changing keys)', async (t) => {
  const committed = await readFile(new URL(`../${KEYMAP_DOC_PATH}`, import.meta.url), 'utf8');
  t.is(committed, renderKeymapMarkdown());
});

test('every command has a dotted id, a description, at least one key, and is listed in the docs', (t) => {
  const doc = renderKeymapMarkdown();
  const ids = new Set<string>();
  for (const command of table) {
    t.regex(command.id, /^[a-z]+\.[a-z-]+$/, command.id);
    t.false(ids.has(command.id), `duplicate id ${command.id}`);
    ids.add(command.id);
    t.true(command.description.trim().length > 5, `${command.id} has no description`);
    t.true(command.keys.length > 0, `${command.id} has no key`);
    t.true(doc.includes(`\`${command.id}\``), `${command.id} missing from the docs`);
    t.true(LAYERS.some((l) => l.layer === command.layer));
  }
});

test('the ids reserved for the queue panel, the dialogs and the conflict dialog exist', (t) => {
  const ids = new Set(table.map((c) => c.id));
  for (const id of [
    'queue.toggle', 'queue.up', 'queue.down', 'queue.retry', 'queue.cancel', 'queue.close',
    'dialog.confirm', 'dialog.cancel', 'dialog.next-field', 'dialog.prev-field', 'dialog.toggle',
    'conflict.overwrite', 'conflict.resume', 'conflict.skip', 'conflict.rename', 'conflict.newer', 'conflict.size-differs', 'conflict.apply-all',
  ]) {
    t.true(ids.has(id), id);
  }
});

test('no key means two commands within one layer, nor a global command and a pane or queue command', (t) => {
  const seen = new Map<string, string>();
  const groupOf = (layer: Layer): string[] => (layer === 'global' ? ['pane', 'queue', 'filter'] : [layer]);
  for (const command of table) {
    for (const key of command.keys) {
      for (const group of groupOf(command.layer)) {
        const slot = `${group}:${formatKey(key)}`;
        t.is(seen.get(slot), undefined, `${slot} is bound to ${seen.get(slot)} and ${command.id}`);
        seen.set(slot, command.id);
      }
    }
  }
});

test('the key bar has mc labels in their slots', (t) => {
  const labels = fkeyLabels();
  t.is(labels.length, 10);
  t.is(labels[0], 'Help');
  t.is(labels[4], 'Copy');
  t.is(labels[5], 'RenMov');
  t.is(labels[6], 'Mkdir');
  t.is(labels[7], 'Delete');
  t.is(labels[9], 'Quit');
});

test('raw terminal sequences map to the commands (xterm, tmux, rxvt, Linux console)', (t) => {
  const cases: [string, Layer, CommandId][] = [
    ['\u001B[A', 'pane', 'pane.up'],
    ['\u001BOB', 'pane', 'pane.down'],
    ['\u001B[5~', 'pane', 'pane.page-up'],
    ['\u001B[6~', 'pane', 'pane.page-down'],
    ['\u001B[H', 'pane', 'pane.home'],
    ['\u001B[1~', 'pane', 'pane.home'],
    ['\u001B[4~', 'pane', 'pane.end'],
    ['\r', 'pane', 'pane.open'],
    ['\u007F', 'pane', 'pane.parent'],
    ['\t', 'pane', 'pane.switch'],
    ['\u001B[2~', 'pane', 'pane.mark'],
    [' ', 'pane', 'pane.mark'],
    ['\u0012', 'pane', 'pane.reread'],
    ['\u0015', 'pane', 'pane.swap'],
    ['\u0008', 'pane', 'pane.toggle-hidden'],
    ['.', 'pane', 'pane.toggle-hidden'],
    ['\u001BOP', 'global', 'app.help'],
    ['\u001B[11~', 'global', 'app.help'],
    ['\u001B[[C', 'pane', 'file.view'],
    ['\u001B[13~', 'pane', 'file.view'],
    ['\u001B[15~', 'pane', 'file.copy'],
    ['\u001B[17~', 'pane', 'file.move'],
    ['\u001B[18~', 'pane', 'file.mkdir'],
    ['\u001B[19~', 'pane', 'file.delete'],
    ['\u001B[20~', 'global', 'queue.toggle'],
    ['\u001B[21~', 'global', 'app.quit'],
    ['q', 'global', 'app.quit'],
    ['\u001B[Z', 'dialog', 'dialog.prev-field'],
    ['\u001B[3~', 'queue', 'queue.cancel'],
    ['\u001B', 'queue', 'queue.close'],
    ['G', 'viewer', 'viewer.end'],
  ];
  for (const [sequence, layer, id] of cases) t.is(matchKey(layer, parseKeySequence(sequence)), id, JSON.stringify(sequence));
});

test('modifiers must match: Ctrl-Up is not Up, Shift-F5 is not F5, Shift-Tab is not Tab', (t) => {
  t.is(matchKey('pane', parseKeySequence('\u001B[1;5A')), undefined);
  t.deepEqual(parseKeySequence('\u001B[1;5A'), { name: 'up', ctrl: true, shift: false, meta: false, text: '' });
  t.is(matchKey('pane', parseKeySequence('\u001B[15;2~')), undefined);
  t.is(matchKey('pane', parseKeySequence('\u001B[Z')), undefined);
  t.is(matchKey('pane', parseKeySequence('x')), undefined);
  t.is(parseKeySequence('x').text, 'x');
  t.is(parseKeySequence('Ü').text, 'Ü');
  t.deepEqual(parseKeySequence('abc'), { name: 'paste', ctrl: false, shift: false, meta: false, text: 'abc' });
  t.is(parseKeySequence('\u001Bx').meta, true);
});

test('layers are searched in the order given', (t) => {
  const esc = parseKeySequence('\u001B');
  t.is(matchKey(['conflict', 'dialog'], esc), 'dialog.cancel');
  t.is(matchKey(['conflict', 'dialog'], parseKeySequence('o')), 'conflict.overwrite');
  t.is(matchKey(['filter', 'global', 'pane'], parseKeySequence('\u007F')), 'filter.backspace');
  t.is(matchKey(['global', 'pane'], parseKeySequence('\u007F')), 'pane.parent');
});

test('matchCommand reads ink useInput arguments', (t) => {
  const none: Key = {
    upArrow: false, downArrow: false, leftArrow: false, rightArrow: false, pageDown: false, pageUp: false, home: false, end: false,
    return: false, escape: false, ctrl: false, shift: false, tab: false, backspace: false, delete: false, meta: false,
    super: false, hyper: false, capsLock: false, numLock: false,
  };
  t.is(matchCommand('dialog', '', { ...none, return: true }), 'dialog.confirm');
  t.is(matchCommand('dialog', '', { ...none, escape: true, meta: true }), 'dialog.cancel');
  t.is(matchCommand('dialog', '', { ...none, tab: true, shift: true }), 'dialog.prev-field');
  t.is(matchCommand('dialog', ' ', none), 'dialog.toggle');
  t.is(matchCommand('dialog', '', { ...none, delete: true }), 'dialog.backspace');
  t.is(matchCommand('queue', 'r', none), 'queue.retry');
  t.is(matchCommand(['conflict', 'dialog'], 'a', none), 'conflict.apply-all');
  t.is(matchCommand('global', 't', { ...none, ctrl: true }), 'queue.toggle');
  t.is(matchCommand('dialog', 'x', none), undefined);
});

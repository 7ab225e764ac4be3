import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { LocalFileSystem } from '../src/fs/local-file-system.js';
import { KEY, startTui, type TuiHarness } from './helpers/tui.js';

/*
 * Pane navigation, marking, quick filter, sort and hidden files in the whole TUI, over real
 * directories on disk, asserted on the rendered screen (and on the state where the screen cannot
 * say, such as which row is under the cursor).
 */

let root: string;

test.before(async () => {
  root = await mkdtemp(join(tmpdir(), 'ferry-ui-panes-'));
  await mkdir(join(root, 'left', 'alpha', 'inner'), { recursive: true });
  await mkdir(join(root, 'left', 'beta'));
  await writeFile(join(root, 'left', 'a.txt'), 'a'.repeat(10));
  await writeFile(join(root, 'left', 'b.log'), 'b'.repeat(2000));
  await writeFile(join(root, 'left', 'c.txt'), 'c'.repeat(300));
  await writeFile(join(root, 'left', '.hidden'), 'h');
  await writeFile(join(root, 'left', 'alpha', 'inside.md'), '# inside');
  await mkdir(join(root, 'right'));
  await writeFile(join(root, 'right', 'only-right.txt'), 'r');
  await mkdir(join(root, 'many'));
  for (let i = 0; i < 60; i++) await writeFile(join(root, 'many', `file-${String(i).padStart(2, '0')}.dat`), String(i));
});

test.after.always(async () => {
  if (root) await rm(root, { recursive: true, force: true });
});

async function open(t: { teardown(fn: () => Promise<void>): void }, leftDir = 'left'): Promise<TuiHarness> {
  const tui = await startTui({ left: new LocalFileSystem({ home: join(root, leftDir) }), right: new LocalFileSystem({ home: join(root, 'right') }) });
  t.teardown(() => tui.close());
  await tui.ready();
  return tui;
}

test('two bordered panes with path headers, column titles, entries (directories first, .. on top) and the F-key bar', async (t) => {
  const tui = await open(t);
  const frame = tui.frame();
  t.true(frame.includes(`╔═ ${join(root, 'left')} `), 'the active pane has the double frame and its path');
  t.true(frame.includes(`┌─ ${join(root, 'right')} `), 'the other pane a single frame');
  t.regex(frame, /↑Name\s+│ Size\s+│Modify time/);
  const rows = frame.split('\n');
  const names = rows.map((row) => /^║([/ *@~✓])(\S+)/.exec(row)?.[2]).filter((name): name is string => name !== undefined);
  t.deepEqual(names.slice(0, 6), ['..', 'alpha', 'beta', 'a.txt', 'b.log', 'c.txt']);
  t.false(frame.includes('.hidden'), 'hidden files are hidden at first');
  t.regex(frame, /UP--DIR/);
  t.regex(frame, /1Help\s+2Sort\s+3View\s+4Edit\s+5Copy\s+6RenMov\s+7Mkdir\s+8Delete\s+9Queue\s+10Quit/);
  t.regex(frame, /free of/, 'the bottom border shows the free space');
  t.is(rows.length, 30, 'the screen is exactly the terminal height');
});

test('arrows, Home/End, PgUp/PgDn move the cursor; the list scrolls and shows only what fits', async (t) => {
  const tui = await open(t, 'many');
  t.is(tui.cursorName(), '..');
  await tui.press(KEY.down, KEY.down);
  t.is(tui.cursorName(), 'file-01.dat');
  await tui.see(/file-01\.dat\s+1 B/);
  await tui.press(KEY.end);
  t.is(tui.cursorName(), 'file-59.dat');
  await tui.see('file-59.dat');
  t.false(tui.frame().includes('file-00.dat'), 'rows scrolled off the top are not drawn');
  await tui.press(KEY.pageUp);
  const listRows = tui.ctx.store.getState().sides.left.pane.height;
  t.is(tui.cursorName(), `file-${String(59 - (listRows - 1)).padStart(2, '0')}.dat`);
  await tui.press(KEY.home);
  t.is(tui.cursorName(), '..');
  await tui.see('file-00.dat');
  await tui.press(KEY.pageDown);
  t.is(tui.cursorName(), `file-${String(listRows - 2).padStart(2, '0')}.dat`);
  await tui.press(KEY.up);
  t.is(tui.cursorName(), `file-${String(listRows - 3).padStart(2, '0')}.dat`);
});

test('Enter opens a directory, Backspace goes back up onto it, Enter on .. too', async (t) => {
  const tui = await open(t);
  await tui.press(KEY.down, KEY.enter);
  await tui.see(`═ ${join(root, 'left', 'alpha')} `);
  await tui.see('inside.md');
  t.is(tui.cursorName(), '..');
  await tui.press(KEY.down, KEY.enter);
  await tui.see(`═ ${join(root, 'left', 'alpha', 'inner')} `);
  await tui.press(KEY.backspace);
  await tui.see('inside.md');
  t.is(tui.cursorName(), 'inner', 'back up, the cursor is on the directory we came from');
  await tui.press(KEY.home, KEY.enter);
  await tui.see(`═ ${join(root, 'left')} `);
  t.is(tui.cursorName(), 'alpha');
});

test('Tab switches the pane with the keys; Ctrl-U swaps the panes; Ctrl-R rereads', async (t) => {
  const tui = await open(t);
  await tui.press(KEY.tab);
  await tui.see(`╔═ ${join(root, 'right')} `);
  t.true(tui.frame().includes(`┌─ ${join(root, 'left')} `));
  await tui.press(KEY.down);
  t.is(tui.cursorName('right'), 'only-right.txt');
  t.is(tui.cursorName('left'), '..', 'the other pane did not move');
  await tui.press(KEY.ctrlU);
  await tui.see(new RegExp(`^┌─ ${join(root, 'right').replace(/[/.]/g, '\\$&')} `, 'm'));
  t.is(tui.ctx.store.getState().sides.left.pane.path, join(root, 'right'), 'the right pane moved to the left');
  await writeFile(join(root, 'right', 'new-file.txt'), 'new');
  t.teardown(() => rm(join(root, 'right', 'new-file.txt'), { force: true }));
  t.false(tui.frame().includes('new-file.txt'));
  await tui.press(KEY.tab, KEY.ctrlR);
  await tui.see('new-file.txt');
});

test('Insert and Space mark and move down; the status line counts the marked files and bytes; .. cannot be marked', async (t) => {
  const tui = await open(t);
  await tui.press(KEY.insert);
  t.is(tui.ctx.store.getState().sides.left.pane.marks.size, 0, '.. is not marked');
  await tui.press(KEY.end, KEY.up, KEY.insert, KEY.space);
  const marks = [...tui.ctx.store.getState().sides.left.pane.marks].sort();
  t.deepEqual(marks, ['b.log', 'c.txt']);
  await tui.see('2 marked, 2.2 KiB');
  await tui.see(/✓b\.log/);
  await tui.see(/✓c\.txt/);
  await tui.press(KEY.up, KEY.insert);
  await tui.see('1 marked, 300 B');
});

test('+ - * mark, unmark and invert by a pattern typed in a dialog', async (t) => {
  const tui = await open(t);
  await tui.press('+');
  await tui.see('Names matching');
  await tui.press(KEY.backspace);
  await tui.type('*.txt');
  await tui.press(KEY.enter);
  await tui.see('2 marked, 310 B');
  await tui.press('*');
  await tui.see('Invert selection');
  await tui.press(KEY.enter);
  await tui.see('3 marked, 2.0 KiB');
  t.deepEqual([...tui.ctx.store.getState().sides.left.pane.marks].sort(), ['alpha', 'b.log', 'beta']);
  await tui.press('-');
  await tui.see('Unselect');
  await tui.press(KEY.escape);
  await tui.until(({ store }) => store.getState().overlay === null, 'the dialog to close on Esc');
  t.is(tui.ctx.store.getState().sides.left.pane.marks.size, 3, 'Esc changed nothing');
  await tui.press('-', KEY.enter);
  await tui.until(({ store }) => store.getState().sides.left.pane.marks.size === 0, 'every mark to go');
});

test('typing filters the list incrementally; Backspace widens it, Esc clears it; q goes into an active filter', async (t) => {
  const tui = await open(t);
  await tui.press('t');
  await tui.see('filter: t_');
  await tui.type('x');
  await tui.see('filter: tx_');
  let frame = tui.frame();
  t.true(frame.includes('a.txt') && frame.includes('c.txt'));
  t.false(frame.includes('b.log'), 'non-matching names are hidden');
  t.false(frame.includes('alpha'));
  t.true(frame.includes('UP--DIR'), '.. stays');
  t.is(tui.cursorName(), 'a.txt', 'the cursor goes to the first match');
  await tui.press(KEY.backspace, KEY.backspace);
  await tui.until(({ store }) => store.getState().sides.left.pane.filter === null, 'the filter to go after deleting it all');
  await tui.see('b.log');
  await tui.press('/', 'q');
  await tui.see('filter: q_');
  t.false(tui.exited(), 'q in a filter is text, not quit');
  await tui.press(KEY.escape);
  await tui.until(({ store }) => store.getState().sides.left.pane.filter === null, 'Esc to clear the filter');
  frame = tui.frame();
  t.true(frame.includes('b.log') && frame.includes('alpha'));
});

test('the sort key cycles name, size, time and the column title says which', async (t) => {
  const tui = await open(t);
  await tui.press(KEY.f2);
  await tui.see('↓Size');
  const order = () => tui.ctx.store.getState().sides.left.pane.view.map((e) => e.name).filter((n) => n.includes('.'));
  t.deepEqual(order().slice(1), ['b.log', 'c.txt', 'a.txt']);
  await tui.press(KEY.ctrlS);
  await tui.see('↓Modify time');
  await tui.press(KEY.f2);
  await tui.see('↑Name');
  t.deepEqual(order().slice(1), ['a.txt', 'b.log', 'c.txt']);
});

test('. and Ctrl-H show and hide hidden files', async (t) => {
  const tui = await open(t);
  await tui.press('.');
  await tui.see('.hidden');
  await tui.press(KEY.ctrlH);
  await tui.until(({ store }) => !store.getState().sides.left.pane.showHidden, 'hidden files to hide');
  t.false(tui.frame().includes('.hidden'));
});

test('q quits at once when nothing is being copied; F1 shows the keys from the keymap table and Esc closes it', async (t) => {
  const tui = await open(t);
  await tui.press(KEY.f1);
  await tui.see('ferry — keys');
  await tui.see('Cursor up');
  t.false(tui.frame().includes('Copy the marked entries'), 'further down the list');
  await tui.press(KEY.pageDown);
  await tui.see('Copy the marked entries');
  await tui.press(KEY.escape);
  await tui.see('10Quit');
  await tui.press('q');
  await tui.until(() => tui.exited(), 'the TUI to quit');
  t.pass();
});

test('a directory that cannot be read keeps the old listing and says why in the pane', async (t) => {
  const tui = await open(t);
  await mkdir(join(root, 'left', 'gone'));
  await tui.press(KEY.ctrlR);
  await tui.see('gone');
  await rm(join(root, 'left', 'gone'), { recursive: true });
  await tui.press(KEY.down, KEY.down, KEY.down);
  t.is(tui.cursorName(), 'gone');
  await tui.press(KEY.enter);
  await tui.see(/^\/.*gone: no such file or directory \(ENOENT\)/m);
  t.regex(tui.frame(), /║.*directory \(ENOENT\)║/, 'and in the pane');
  t.is(tui.ctx.store.getState().sides.left.pane.path, join(root, 'left'));
});

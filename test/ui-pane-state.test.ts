import test from 'ava';
import type { Entry } from '../src/protocol/index.js';
import { globToRegExp } from '../ui/model/glob.js';
import {
  PARENT_ENTRY,
  currentEntry,
  initialPane,
  markSummary,
  markedEntries,
  operands,
  reducePane,
  sortEntries,
  type PaneAction,
  type PaneState,
} from '../ui/model/pane-state.js';

const file = (name: string, size = 10, mtime = 1000): Entry => ({ name, type: 'file', size, mtime, mode: 0o644 });
const dir = (name: string, mtime = 1000): Entry => ({ name, type: 'dir', size: 0, mtime, mode: 0o755 });

const LISTING: Entry[] = [
  file('b.txt', 300, 3000),
  file('A.md', 20, 5000),
  dir('zeta'),
  file('.hidden', 5, 100),
  dir('Alpha'),
  file('c.log', 1000, 1000),
  { name: 'link-to-dir', type: 'symlink', size: 0, mtime: 0, mode: 0o777, target: 'dir' },
];

let lastTicket = 0;
const ticket = () => ++lastTicket;

function apply(state: PaneState, ...actions: PaneAction[]): PaneState {
  return actions.reduce(reducePane, state);
}

function loaded(entries: Entry[] = LISTING, options: { atRoot?: boolean; height?: number; path?: string } = {}): PaneState {
  const started = reducePane(initialPane('/home', { height: options.height ?? 5 }), { type: 'list-start', path: options.path ?? '/home', ticket: ticket() });
  return reducePane(started, { type: 'list-done', ticket: started.ticket, path: options.path ?? '/home', atRoot: options.atRoot ?? false, entries });
}

const names = (state: PaneState) => state.view.map((e) => e.name);

test('a listing shows .. on top, directories first, names A–Z ignoring case, hidden files left out', (t) => {
  const state = loaded();
  t.deepEqual(names(state), ['..', 'Alpha', 'link-to-dir', 'zeta', 'A.md', 'b.txt', 'c.log']);
  t.is(state.view[0], PARENT_ENTRY);
  t.is(state.cursor, 0);
  t.false(state.loading);
});

test('at a root there is no ..', (t) => {
  t.deepEqual(names(loaded(LISTING, { atRoot: true })), ['Alpha', 'link-to-dir', 'zeta', 'A.md', 'b.txt', 'c.log']);
});

test('a stale listing (older ticket) is dropped', (t) => {
  let state = initialPane('/a');
  state = reducePane(state, { type: 'list-start', path: '/a', ticket: ticket() });
  const first = state.ticket;
  state = reducePane(state, { type: 'list-start', path: '/b', ticket: ticket() });
  const second = state.ticket;
  state = reducePane(state, { type: 'list-done', ticket: second, path: '/b', atRoot: false, entries: [file('new')] });
  const after = reducePane(state, { type: 'list-done', ticket: first, path: '/a', atRoot: false, entries: [file('old')] });
  t.is(after, state);
  t.is(after.path, '/b');
  t.deepEqual(names(after), ['..', 'new']);
  t.is(reducePane(after, { type: 'list-failed', ticket: first, message: 'boom' }), after);
});

test('a failed listing keeps the old entries and says why', (t) => {
  let state = loaded();
  state = reducePane(state, { type: 'list-start', path: '/nope', ticket: ticket() });
  state = reducePane(state, { type: 'list-failed', ticket: state.ticket, message: 'no such file or directory (ENOENT)' });
  t.is(state.error, 'no such file or directory (ENOENT)');
  t.is(state.path, '/home');
  t.is(state.view.length, 7);
  t.false(state.loading);
});

test('cursor moves stay inside the list and the offset follows the cursor', (t) => {
  let state = loaded(LISTING, { height: 3 });
  state = apply(state, { type: 'move', motion: 'up' });
  t.is(state.cursor, 0);
  state = apply(state, { type: 'move', motion: 'down' }, { type: 'move', motion: 'down' }, { type: 'move', motion: 'down' });
  t.is(state.cursor, 3);
  t.is(state.offset, 1);
  state = apply(state, { type: 'move', motion: 'end' });
  t.is(state.cursor, 6);
  t.is(state.offset, 4);
  state = apply(state, { type: 'move', motion: 'page-up' });
  t.is(state.cursor, 4);
  t.is(state.offset, 4);
  state = apply(state, { type: 'move', motion: 'page-up' }, { type: 'move', motion: 'page-up' }, { type: 'move', motion: 'page-up' });
  t.is(state.cursor, 0);
  t.is(state.offset, 0);
  state = apply(state, { type: 'move', motion: 'page-down' });
  t.is(state.cursor, 2);
  state = apply(state, { type: 'move', motion: 'home' });
  t.is(state.cursor, 0);
  t.is(reducePane(state, { type: 'move', motion: 'up' }), state, 'nothing changed → same object');
});

test('a smaller height pulls the offset so the cursor stays on screen', (t) => {
  let state = apply(loaded(LISTING, { height: 7 }), { type: 'move', motion: 'end' });
  t.is(state.offset, 0);
  state = reducePane(state, { type: 'resize', height: 2 });
  t.is(state.cursor, 6);
  t.is(state.offset, 5);
});

test('Insert marks and moves down; .. cannot be marked; marks count files bytes', (t) => {
  let state = loaded();
  state = reducePane(state, { type: 'toggle-mark' });
  t.is(state.marks.size, 0, '.. is not markable');
  t.is(state.cursor, 1);
  state = apply(state, { type: 'move', motion: 'end' }, { type: 'toggle-mark' });
  t.deepEqual([...state.marks], ['c.log']);
  state = apply(state, { type: 'move', motion: 'up' }, { type: 'toggle-mark' });
  t.deepEqual(markedEntries(state).map((e) => e.name), ['b.txt', 'c.log']);
  t.deepEqual(markSummary(state), { count: 2, bytes: 1300 });
  state = apply(state, { type: 'move', motion: 'up' }, { type: 'toggle-mark' });
  t.false(state.marks.has('b.txt'), 'a second Insert unmarks');
  t.deepEqual(operands(state).map((e) => e.name), ['c.log']);
  state = reducePane(state, { type: 'clear-marks' });
  state = apply(state, { type: 'move', motion: 'home' });
  t.deepEqual(operands(state), [], '.. alone is nothing to act on');
  state = apply(state, { type: 'move', motion: 'down' });
  t.deepEqual(operands(state).map((e) => e.name), ['Alpha'], 'without marks: the entry under the cursor');
});

test('+ - * mark, unmark and invert by glob pattern', (t) => {
  let state = loaded();
  state = reducePane(state, { type: 'mark-pattern', pattern: '*.txt;*.md', mode: 'select' });
  t.deepEqual(markedEntries(state).map((e) => e.name), ['A.md', 'b.txt']);
  state = reducePane(state, { type: 'mark-pattern', pattern: '*.md', mode: 'unselect' });
  t.deepEqual(markedEntries(state).map((e) => e.name), ['b.txt']);
  state = reducePane(state, { type: 'mark-pattern', pattern: '*', mode: 'invert' });
  t.deepEqual(markedEntries(state).map((e) => e.name), ['Alpha', 'link-to-dir', 'zeta', 'A.md', 'c.log']);
  t.false(state.marks.has('..'));
  t.false(state.marks.has('.hidden'), 'hidden entries are not shown, so patterns leave them');
});

test('globs', (t) => {
  t.true(globToRegExp('*.txt').test('a.txt'));
  t.false(globToRegExp('*.txt').test('a.txt.bak'));
  t.true(globToRegExp('IMG_????.jpg').test('IMG_0001.jpg'));
  t.false(globToRegExp('IMG_????.jpg').test('IMG_01.jpg'));
  t.true(globToRegExp('[abc]*').test('bravo'));
  t.false(globToRegExp('[!abc]*').test('bravo'));
  t.true(globToRegExp('[a-c]?').test('c9'));
  t.true(globToRegExp('a+b(1).txt').test('a+b(1).txt'));
  t.false(globToRegExp('').test(''));
  t.true(globToRegExp('a file*').test('a file with spaces.txt'));
});

test('the quick filter narrows the list incrementally, keeps .., and Backspace widens it', (t) => {
  let state = apply(loaded(), { type: 'move', motion: 'end' });
  state = reducePane(state, { type: 'filter-append', text: 'a' });
  t.deepEqual(names(state), ['..', 'Alpha', 'zeta', 'A.md']);
  t.is(currentEntry(state)?.name, 'Alpha', 'the cursor goes to the first match when its entry is filtered out');
  state = reducePane(state, { type: 'filter-append', text: 'L' });
  t.deepEqual(names(state), ['..', 'Alpha'], 'case-insensitive substring');
  state = reducePane(state, { type: 'filter-append', text: 'x' });
  t.deepEqual(names(state), ['..']);
  t.is(state.cursor, 0);
  state = apply(state, { type: 'filter-backspace' }, { type: 'filter-backspace' });
  t.is(state.filter, 'a');
  state = reducePane(state, { type: 'filter-backspace' });
  t.is(state.filter, null, 'an empty filter turns off');
  t.is(state.view.length, 7);
});

test('a filter started on .. puts the cursor on the first match', (t) => {
  const state = reducePane(loaded(), { type: 'filter-append', text: '.t' });
  t.deepEqual(names(state), ['..', 'b.txt']);
  t.is(currentEntry(state)?.name, 'b.txt');
});

test('marks survive the filter; operations act on the marked entries that are shown', (t) => {
  let state = reducePane(loaded(), { type: 'mark-pattern', pattern: '*.*', mode: 'select' });
  t.is(markSummary(state).count, 3);
  state = reducePane(state, { type: 'filter-set', text: 'b.' });
  t.deepEqual(operands(state).map((e) => e.name), ['b.txt']);
  state = reducePane(state, { type: 'filter-set', text: null });
  t.is(markSummary(state).count, 3);
});

test('sort cycles name → size (largest first) → time (newest first), directories staying first, cursor on the same entry', (t) => {
  let state = apply(loaded(), { type: 'move', motion: 'end' });
  t.is(currentEntry(state)?.name, 'c.log');
  state = reducePane(state, { type: 'sort-cycle' });
  t.is(state.sort, 'size');
  t.deepEqual(names(state), ['..', 'Alpha', 'link-to-dir', 'zeta', 'c.log', 'b.txt', 'A.md']);
  t.is(currentEntry(state)?.name, 'c.log');
  state = reducePane(state, { type: 'sort-cycle' });
  t.is(state.sort, 'mtime');
  t.deepEqual(names(state).slice(4), ['A.md', 'b.txt', 'c.log']);
  state = reducePane(state, { type: 'sort-cycle' });
  t.is(state.sort, 'name');
});

test('. shows hidden files and hides them again', (t) => {
  let state = reducePane(loaded(), { type: 'toggle-hidden' });
  t.true(state.showHidden);
  t.deepEqual(names(state), ['..', 'Alpha', 'link-to-dir', 'zeta', '.hidden', 'A.md', 'b.txt', 'c.log']);
  state = apply(state, { type: 'select-name', name: '.hidden' }, { type: 'toggle-hidden' });
  t.false(names(state).includes('.hidden'));
  t.true(state.cursor < state.view.length);
});

test('a reread keeps the cursor on the same name and the marks that still exist; a new directory starts clean', (t) => {
  let state = apply(loaded(), { type: 'select-name', name: 'b.txt' }, { type: 'toggle-mark' }, { type: 'select-name', name: 'c.log' }, { type: 'toggle-mark' });
  t.is(state.marks.size, 2);
  state = apply(state, { type: 'select-name', name: 'b.txt' }, { type: 'filter-set', text: 'b' }, { type: 'list-start', path: '/home', ticket: ticket() });
  state = reducePane(state, { type: 'list-done', ticket: state.ticket, path: '/home', atRoot: false, entries: LISTING.filter((e) => e.name !== 'c.log').concat(file('aa.txt')) });
  t.is(currentEntry(state)?.name, 'b.txt');
  t.deepEqual([...state.marks], ['b.txt']);
  t.is(state.filter, 'b', 'the filter stays on a reread');
  state = reducePane(state, { type: 'list-start', path: '/home/zeta', ticket: ticket() });
  state = reducePane(state, { type: 'list-done', ticket: state.ticket, path: '/home/zeta', atRoot: false, entries: [file('x')] });
  t.is(state.marks.size, 0);
  t.is(state.filter, null);
  t.is(state.cursor, 0);
  state = reducePane(state, { type: 'list-start', path: '/home', ticket: ticket() });
  state = reducePane(state, { type: 'list-done', ticket: state.ticket, path: '/home', atRoot: false, entries: LISTING, select: 'zeta' });
  t.is(currentEntry(state)?.name, 'zeta', 'going up lands on the directory we came from');
});

test('sorting 100 000 entries keeps directories first and every entry', (t) => {
  const entries: Entry[] = [];
  for (let i = 0; i < 100_000; i++) entries.push(i % 10 === 0 ? dir(`d${i}`) : file(`f${(i * 7919) % 100_000}`, i));
  const sorted = sortEntries(entries, 'name');
  t.is(sorted.length, 100_000);
  t.is(sorted.findIndex((e) => e.type === 'file'), 10_000);
  for (let i = 10_001; i < sorted.length; i++) if (sorted[i - 1]!.name.toLowerCase() > sorted[i]!.name.toLowerCase()) t.fail(`out of order at ${i}`);
  t.pass();
});

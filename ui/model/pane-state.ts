import type { Entry } from '../../src/protocol/index.js';
import { globToRegExp } from './glob.js';

/*
 * One pane as plain data and one reducer (yazi's folder model): entries, cursor, scroll offset,
 * marks, quick filter, sort mode, hidden files. No drawing and no I/O: the App lists directories
 * and feeds the results in; a listing carries a ticket so an answer that arrives after the user
 * went elsewhere is dropped. The reducer returns the same object when nothing changed, so React
 * skips the render.
 */

export type SortMode = 'name' | 'size' | 'mtime';

export const SORT_MODES: readonly SortMode[] = ['name', 'size', 'mtime'];

/** The `..` row on top of every directory but a root. */
export const PARENT_ENTRY: Entry = Object.freeze({ name: '..', type: 'dir', size: 0, mtime: 0, mode: 0 });

export interface PaneState {
  /** The directory shown (the file system's own path). */
  path: string;
  /** No `..` row here. */
  atRoot: boolean;
  /** Every entry of the listing, sorted by `sort` (directories first), hidden ones included. */
  sorted: readonly Entry[];
  /** What the list shows: `..` (unless at a root), then `sorted` minus hidden and filtered names. */
  view: readonly Entry[];
  /** Index into `view`. */
  cursor: number;
  /** First row of `view` on screen. */
  offset: number;
  /** Rows the list has on screen (for paging and keeping the cursor visible). */
  height: number;
  /** Marked names (never `..`). */
  marks: ReadonlySet<string>;
  /** The quick filter: null when off, a string (maybe empty) while typing. */
  filter: string | null;
  sort: SortMode;
  showHidden: boolean;
  /** The ticket of the latest listing request; only the answer with this ticket is applied. */
  ticket: number;
  /** A listing is in flight. */
  loading: boolean;
  /** Why the last listing failed (one readable line), cleared by the next success. */
  error: string | null;
  /** The server cut the listing short. */
  truncated: boolean;
}

export type Motion = 'up' | 'down' | 'page-up' | 'page-down' | 'home' | 'end';

export type PaneAction =
  /**
   * A listing of `path` starts under `ticket` (unique across panes, so an answer finds its pane
   * even after the panes were swapped).
   */
  | { type: 'list-start'; path: string; ticket: number }
  /**
   * The listing for `ticket` arrived. `select` puts the cursor on that name (the directory we came
   * from); otherwise, for a reread of the same path, the cursor stays on the same name.
   */
  | { type: 'list-done'; ticket: number; path: string; atRoot: boolean; entries: readonly Entry[]; select?: string; truncated?: boolean }
  | { type: 'list-failed'; ticket: number; message: string }
  | { type: 'move'; motion: Motion }
  | { type: 'resize'; height: number }
  /** Put the cursor on `name` if it is shown. */
  | { type: 'select-name'; name: string }
  /** Mark or unmark the entry under the cursor, then move down (Insert in mc). */
  | { type: 'toggle-mark' }
  /** Mark, unmark or invert the shown entries whose name matches a glob (`*.txt`, `IMG_????.jpg`). */
  | { type: 'mark-pattern'; pattern: string; mode: 'select' | 'unselect' | 'invert' }
  | { type: 'clear-marks' }
  /** null turns the quick filter off. */
  | { type: 'filter-set'; text: string | null }
  | { type: 'filter-append'; text: string }
  /** Deletes the filter's last character; an empty filter turns off. */
  | { type: 'filter-backspace' }
  | { type: 'sort-cycle' }
  | { type: 'toggle-hidden' };

/** A pane before its first listing. `height` defaults to 20 rows. */
export function initialPane(path: string, options: { height?: number; sort?: SortMode; showHidden?: boolean } = {}): PaneState {
  return {
    path,
    atRoot: false,
    sorted: [],
    view: [],
    cursor: 0,
    offset: 0,
    height: Math.max(1, options.height ?? 20),
    marks: new Set(),
    filter: null,
    sort: options.sort ?? 'name',
    showHidden: options.showHidden ?? false,
    ticket: 0,
    loading: false,
    error: null,
    truncated: false,
  };
}

/** True for a directory, or a symlink to one (both open with Enter). */
export function isDirLike(entry: Entry): boolean {
  return entry.type === 'dir' || (entry.type === 'symlink' && entry.target === 'dir');
}

export function isParentEntry(entry: Entry | undefined): boolean {
  return entry === PARENT_ENTRY || entry?.name === '..';
}

/**
 * Sorts a listing: directories (and links to them) first, then by `mode`: name (case-insensitive,
 * A–Z), size (largest first), mtime (newest first); ties by name. Does not modify `entries`.
 */
export function sortEntries(entries: readonly Entry[], mode: SortMode): Entry[] {
  // Keys are computed once per entry: lower-casing inside the comparator would do it n·log n times.
  const rows = entries.map((entry) => ({ entry, dir: isDirLike(entry), key: entry.name.toLowerCase() }));
  rows.sort((a, b) => {
    if (a.dir !== b.dir) return a.dir ? -1 : 1;
    if (mode === 'size' && !a.dir && a.entry.size !== b.entry.size) return b.entry.size - a.entry.size;
    if (mode === 'mtime' && a.entry.mtime !== b.entry.mtime) return b.entry.mtime - a.entry.mtime;
    if (a.key !== b.key) return a.key < b.key ? -1 : 1;
    return a.entry.name < b.entry.name ? -1 : a.entry.name > b.entry.name ? 1 : 0;
  });
  return rows.map((row) => row.entry);
}

function isHidden(name: string): boolean {
  return name.startsWith('.');
}

function buildView(sorted: readonly Entry[], atRoot: boolean, showHidden: boolean, filter: string | null): Entry[] {
  const needle = filter === null || filter === '' ? null : filter.toLowerCase();
  const view: Entry[] = atRoot ? [] : [PARENT_ENTRY];
  for (const entry of sorted) {
    if (!showHidden && isHidden(entry.name)) continue;
    if (needle !== null && !entry.name.toLowerCase().includes(needle)) continue;
    view.push(entry);
  }
  return view;
}

function clamp(n: number, min: number, max: number): number {
  return Math.min(Math.max(n, min), max);
}

/** Keeps the cursor inside the view and on screen, moving the offset as little as possible. */
function settle(state: PaneState, cursor: number): PaneState {
  const last = Math.max(0, state.view.length - 1);
  const at = clamp(cursor, 0, last);
  let offset = state.offset;
  if (at < offset) offset = at;
  if (at >= offset + state.height) offset = at - state.height + 1;
  offset = clamp(offset, 0, Math.max(0, state.view.length - state.height));
  if (at === state.cursor && offset === state.offset) return state;
  return { ...state, cursor: at, offset };
}

function indexOfName(view: readonly Entry[], name: string | undefined): number {
  if (name === undefined) return -1;
  return view.findIndex((entry) => entry.name === name);
}

/** A new view (after a sort, filter or hidden change), the cursor staying on the same entry when it is still shown. */
function withView(state: PaneState, changes: Partial<PaneState>): PaneState {
  const next = { ...state, ...changes };
  const current = state.view[state.cursor]?.name;
  next.view = buildView(next.sorted, next.atRoot, next.showHidden, next.filter);
  const filtering = next.filter !== null && next.filter !== '';
  // While filtering, `..` (always shown) is no match: the cursor goes to the first real one.
  const found = filtering && current === PARENT_ENTRY.name ? -1 : indexOfName(next.view, current);
  const fallback = filtering && !next.atRoot && next.view.length > 1 ? 1 : 0;
  return settle({ ...next, cursor: -1 }, found >= 0 ? found : fallback);
}

/** Applies one action; returns `state` itself when nothing changed. */
export function reducePane(state: PaneState, action: PaneAction): PaneState {
  switch (action.type) {
    case 'list-start':
      return { ...state, ticket: action.ticket, loading: true };
    case 'list-done': {
      if (action.ticket !== state.ticket) return state;
      const samePath = action.path === state.path;
      const sorted = sortEntries(action.entries, state.sort);
      const names = new Set(sorted.map((entry) => entry.name));
      const marks = samePath ? new Set([...state.marks].filter((name) => names.has(name))) : new Set<string>();
      const filter = samePath ? state.filter : null;
      const view = buildView(sorted, action.atRoot, state.showHidden, filter);
      const keep = action.select ?? (samePath ? state.view[state.cursor]?.name : undefined);
      const found = indexOfName(view, keep);
      const base: PaneState = {
        ...state,
        path: action.path,
        atRoot: action.atRoot,
        sorted,
        view,
        marks,
        filter,
        loading: false,
        error: null,
        truncated: action.truncated ?? false,
        cursor: -1,
        offset: samePath ? state.offset : 0,
      };
      return settle(base, found >= 0 ? found : samePath ? state.cursor : 0);
    }
    case 'list-failed':
      if (action.ticket !== state.ticket) return state;
      return { ...state, loading: false, error: action.message };
    case 'move': {
      const page = Math.max(1, state.height - 1);
      const targets: Record<Motion, number> = {
        up: state.cursor - 1,
        down: state.cursor + 1,
        'page-up': state.cursor - page,
        'page-down': state.cursor + page,
        home: 0,
        end: state.view.length - 1,
      };
      return settle(state, targets[action.motion]);
    }
    case 'resize': {
      const height = Math.max(1, Math.floor(action.height));
      if (height === state.height) return state;
      return settle({ ...state, height, cursor: -1 }, state.cursor);
    }
    case 'select-name': {
      const found = indexOfName(state.view, action.name);
      return found < 0 ? state : settle(state, found);
    }
    case 'toggle-mark': {
      const entry = state.view[state.cursor];
      if (entry === undefined) return state;
      if (isParentEntry(entry)) return settle(state, state.cursor + 1);
      const marks = new Set(state.marks);
      if (marks.has(entry.name)) marks.delete(entry.name);
      else marks.add(entry.name);
      return settle({ ...state, marks }, state.cursor + 1);
    }
    case 'mark-pattern': {
      const pattern = globToRegExp(action.pattern);
      const marks = new Set(state.marks);
      for (const entry of state.view) {
        if (isParentEntry(entry) || !pattern.test(entry.name)) continue;
        if (action.mode === 'select') marks.add(entry.name);
        else if (action.mode === 'unselect') marks.delete(entry.name);
        else if (marks.has(entry.name)) marks.delete(entry.name);
        else marks.add(entry.name);
      }
      return { ...state, marks };
    }
    case 'clear-marks':
      return state.marks.size === 0 ? state : { ...state, marks: new Set() };
    case 'filter-set':
      if (action.text === state.filter) return state;
      return withView(state, { filter: action.text });
    case 'filter-append':
      if (action.text === '') return state;
      return withView(state, { filter: (state.filter ?? '') + action.text });
    case 'filter-backspace': {
      if (state.filter === null) return state;
      const chars = [...state.filter];
      chars.pop();
      return withView(state, { filter: chars.length === 0 ? null : chars.join('') });
    }
    case 'sort-cycle': {
      const sort = SORT_MODES[(SORT_MODES.indexOf(state.sort) + 1) % SORT_MODES.length]!;
      return withView(state, { sort, sorted: sortEntries(state.sorted, sort) });
    }
    case 'toggle-hidden':
      return withView(state, { showHidden: !state.showHidden });
  }
}

/** The entry under the cursor (maybe `..`), or undefined in an empty view. */
export function currentEntry(state: PaneState): Entry | undefined {
  return state.view[state.cursor];
}

/** The marked entries that are shown, in view order. */
export function markedEntries(state: PaneState): Entry[] {
  if (state.marks.size === 0) return [];
  return state.view.filter((entry) => state.marks.has(entry.name) && !isParentEntry(entry));
}

/**
 * What a file operation acts on: the marked entries, or else the one under the cursor (never
 * `..`). Empty when there is nothing to act on.
 */
export function operands(state: PaneState): Entry[] {
  const marked = markedEntries(state);
  if (marked.length > 0) return marked;
  const entry = currentEntry(state);
  return entry === undefined || isParentEntry(entry) ? [] : [entry];
}

/** Count and total bytes (files only) of the marked entries that are shown. */
export function markSummary(state: PaneState): { count: number; bytes: number } {
  let bytes = 0;
  const marked = markedEntries(state);
  for (const entry of marked) if (entry.type === 'file') bytes += entry.size;
  return { count: marked.length, bytes };
}

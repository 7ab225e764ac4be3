import type { Entry, Quota } from '../../src/protocol/index.js';
import { formatSize } from '../../src/util/units.js';
import { isParentEntry, type SortMode } from './pane-state.js';
import { fitColumns } from './text-width.js';

/*
 * The text of a pane, pure so it is tested without rendering: column widths for a given pane
 * width, one string per row (mc's "full" listing: type mark and name, size, modify time), and the
 * short texts of the borders. Components only add colour and the frame.
 */

export interface Columns {
  name: number;
  /** 0 when the pane is too narrow for the column. */
  size: number;
  time: number;
}

const SIZE_WIDTH = 7;
const TIME_WIDTH = 12;

/** Column widths inside a pane whose inner width (between the borders) is `inner`. */
export function columnsFor(inner: number): Columns {
  const width = Math.max(1, inner);
  if (width >= 40) return { name: width - SIZE_WIDTH - TIME_WIDTH - 2, size: SIZE_WIDTH, time: TIME_WIDTH };
  if (width >= 20) return { name: width - SIZE_WIDTH - 1, size: SIZE_WIDTH, time: 0 };
  return { name: width, size: 0, time: 0 };
}

/** mc's type mark before a name: `/` directory, `~` link to a directory, `@` link, `*` executable, `|` special. */
export function typeMark(entry: Entry): string {
  if (isParentEntry(entry)) return '/';
  switch (entry.type) {
    case 'dir':
      return '/';
    case 'symlink':
      return entry.target === 'dir' ? '~' : '@';
    case 'other':
      return '|';
    case 'file':
      return (entry.mode & 0o111) !== 0 ? '*' : ' ';
  }
}

/** Size column: UP--DIR for `..`, <DIR> for directories, else bytes (compact above 7 digits). */
export function sizeText(entry: Entry): string {
  if (isParentEntry(entry)) return 'UP--DIR';
  if (entry.type === 'dir' || (entry.type === 'symlink' && entry.target === 'dir')) return '<DIR>';
  if (entry.size < 10_000_000) return String(entry.size);
  return compactSize(entry.size);
}

/** "97.7K", "1.2M", "3.4G": a size in at most 7 columns. */
export function compactSize(bytes: number): string {
  const units = ['K', 'M', 'G', 'T', 'P'];
  let value = bytes / 1024;
  let i = 0;
  while (value >= 1000 && i < units.length - 1) {
    value /= 1024;
    i++;
  }
  return `${value < 10 ? value.toFixed(1) : Math.round(value)}${units[i]}`;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const HALF_YEAR_MS = 182 * 24 * 3600 * 1000;

/** `ls -l` time: "Jan 12 14:03" within half a year of `now`, else "Jan 12  2023"; '' when unknown. */
export function timeText(mtime: number, now: number): string {
  if (mtime <= 0) return '';
  const d = new Date(mtime);
  const day = String(d.getDate()).padStart(2, ' ');
  const recent = Math.abs(now - mtime) < HALF_YEAR_MS;
  const tail = recent ? `${String(d.getHours()).padStart(2, '0')}:${String(d.getMinutes()).padStart(2, '0')}` : ` ${d.getFullYear()}`;
  return `${MONTHS[d.getMonth()]} ${day} ${tail}`;
}

/** Replaces the type mark of a marked entry, so marks show without colour too. */
export const MARKED = '✓';

/** One row of the list, exactly `columns` wide in total (separators included). */
export function rowText(entry: Entry, columns: Columns, now: number, marked = false): string {
  let line = fitColumns((marked ? MARKED : typeMark(entry)) + entry.name, columns.name, { cut: 'middle' });
  if (columns.size > 0) line += `│${fitColumns(sizeText(entry), columns.size, { align: 'right' })}`;
  if (columns.time > 0) line += `│${fitColumns(isParentEntry(entry) ? '' : timeText(entry.mtime, now), columns.time, { align: 'right' })}`;
  return line;
}

/** The row of empty columns below the last entry. */
export function emptyRowText(columns: Columns): string {
  let line = ' '.repeat(columns.name);
  if (columns.size > 0) line += `│${' '.repeat(columns.size)}`;
  if (columns.time > 0) line += `│${' '.repeat(columns.time)}`;
  return line;
}

const SORT_LABELS: Record<SortMode, string> = { name: 'Name', size: 'Size', mtime: 'Modify time' };

/** The column titles; the sort column is marked with an arrow (↑ A–Z, ↓ largest / newest first). */
export function headerText(columns: Columns, sort: SortMode): string {
  const title = (mode: SortMode) => (sort === mode ? `${mode === 'name' ? '↑' : '↓'}${SORT_LABELS[mode]}` : SORT_LABELS[mode]);
  const center = (text: string, width: number) => {
    const cut = fitColumns(text, width).trimEnd();
    const left = Math.floor((width - cut.length) / 2);
    return fitColumns(' '.repeat(Math.max(0, left)) + cut, width);
  };
  let line = center(title('name'), columns.name);
  if (columns.size > 0) line += `│${center(sort === 'size' ? '↓Size' : 'Size', columns.size)}`;
  if (columns.time > 0) line += `│${center(sort === 'mtime' ? '↓Modify time' : 'Modify time', columns.time)}`;
  return line;
}

/** The bottom border's text: free space or quota of the side. */
export function quotaText(quota: Quota | null, kind: 'local' | 'remote' | 'sftp'): string {
  if (quota === null) return '';
  if (quota.total <= 0) return `${formatSize(quota.used)} used, no quota`;
  const free = Math.max(0, quota.total - quota.used);
  const percent = Math.round((free / quota.total) * 100);
  return kind === 'remote' ? `quota: ${formatSize(free)} free of ${formatSize(quota.total)} (${percent}%)` : `${formatSize(free)} free of ${formatSize(quota.total)} (${percent}%)`;
}

/** One line about the entry under the cursor: its name and what it is. */
export function entryInfo(entry: Entry | undefined, now: number): { name: string; detail: string } {
  if (entry === undefined) return { name: '', detail: '' };
  if (isParentEntry(entry)) return { name: '..', detail: 'UP--DIR' };
  const what = entry.type === 'file' ? formatSize(entry.size) : entry.type === 'dir' ? 'directory' : entry.type === 'symlink' ? `link${entry.target ? ` to a ${entry.target === 'dir' ? 'directory' : 'file'}` : ''}` : 'special file';
  const time = timeText(entry.mtime, now);
  return { name: entry.name, detail: time === '' ? what : `${what}, ${time}` };
}

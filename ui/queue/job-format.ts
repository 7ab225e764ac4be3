import { formatEta, formatSize, formatSpeed } from '../../src/cli/format.js';
import { fitColumns, textWidth } from '../model/text-width.js';
import type { JobError, TransferDirection } from '../../src/transfer/types.js';
import type { JobProgress, QueueTotals } from '../../src/transfer/progress.js';

/*
 * The text of the queue panel, pure so it is tested without rendering: one line per job laid out
 * in columns that drop out as the panel narrows (bar first, then speed and ETA, then bytes), and
 * the totals line. The component only adds colour.
 */

/** How a line is coloured. */
export type Tone = 'normal' | 'active' | 'warn' | 'ok' | 'error' | 'dim';

const ARROWS: Record<TransferDirection, string> = { upload: '↑', download: '↓', local: '→', remote: '⇄' };

/** `text` if it fits in `width` columns, else cut in the middle with an ellipsis (never padded). */
function cut(text: string, width: number): string {
  return textWidth(text) <= width ? text : fitColumns(text, width, { cut: 'middle' });
}

/** ↑ upload, ↓ download, → local copy, ⇄ remote to remote; '·' when the queue did not say. */
export function directionArrow(direction: TransferDirection | undefined): string {
  return direction === undefined ? '·' : ARROWS[direction];
}

/** "  0%" … "100%"; a total of 0 counts as complete. Never shows 100 % before the end. */
export function percentText(done: number, total: number): string {
  const p = total > 0 ? Math.floor((done / total) * 100) : 100;
  return `${String(Math.max(0, Math.min(100, p)))}%`.padStart(4);
}

/** The fraction a bar shows, 0…1. */
export function fractionOf(done: number, total: number): number {
  if (total <= 0) return 1;
  return Math.max(0, Math.min(1, done / total));
}

/** `message (CODE)`, the one-line form every remote error takes on screen. */
export function errorText(error: JobError): string {
  return `${error.message} (${error.code})`;
}

/** The state column of a job: what it is doing, or how it ended and why. */
export function jobStatus(job: JobProgress): { text: string; tone: Tone } {
  switch (job.state) {
    case 'queued':
      // A retry waiting for its turn keeps the error that caused it.
      // A retry waiting for its turn: the detail line has the error that caused it.
      return job.error ? { text: 'retrying', tone: 'warn' } : { text: 'queued', tone: 'normal' };
    case 'running':
      if (job.kind === 'dir') return { text: 'creating', tone: 'active' };
      return { text: 'running', tone: 'active' };
    case 'reconnecting':
      return { text: 'reconnecting…', tone: 'warn' };
    case 'done':
      switch (job.outcome) {
        case 'up-to-date':
          return { text: 'up to date', tone: 'ok' };
        case 'journal':
          return { text: 'done earlier', tone: 'ok' };
        case 'created':
          return { text: 'created', tone: 'ok' };
        default:
          return { text: 'done', tone: 'ok' };
      }
    case 'failed':
      if (job.error?.code === 'ECANCELED') return { text: 'canceled', tone: 'error' };
      return { text: `failed: ${job.error ? errorText(job.error) : 'unknown error'}`, tone: 'error' };
    case 'skipped':
      return { text: `skipped: ${job.reason ?? 'target exists'}`, tone: 'dim' };
  }
}

/** Which optional columns fit in a line. */
export interface JobColumns {
  /** Cells of the bar (0: no bar). */
  bar: number;
  bytes: boolean;
  /** Speed and ETA. */
  speed: boolean;
}

/** Cells inside the bar's brackets: at most, and the fewest worth drawing. */
const BAR_CELLS = 12;
const BAR_MIN_CELLS = 6;
/** "1023.9 MiB / 1023.9 MiB" */
const BYTES_WIDTH = 23;
/** "1023.9 MiB/s" */
const SPEED_WIDTH = 12;
/** "1:02:03" */
const ETA_WIDTH = 7;
/** The status column, the same on every line so the columns before it line up. */
const STATUS_WIDTH = 14;
const NAME_MIN = 12;
/** What the name gets beyond its minimum before a bar is drawn. */
const NAME_SLACK = 8;
/** Arrow and space, the space after the name. */
const HEAD_EXTRA = 3;

/**
 * The optional columns a line of `width` columns (cursor marker excluded) can hold: bytes first,
 * then the bar (once the name has a few more columns than its minimum), then speed and ETA. The
 * percentage is always there.
 */
export function columnsFor(width: number): JobColumns {
  let rest = width - (HEAD_EXTRA + NAME_MIN + ' 100%  '.length + STATUS_WIDTH);
  const bytes = rest >= BYTES_WIDTH + 2;
  if (bytes) rest -= BYTES_WIDTH + 2;
  const cells = Math.min(BAR_CELLS, rest - 2 - NAME_SLACK);
  const bar = cells >= BAR_MIN_CELLS ? cells : 0;
  if (bar > 0) rest -= bar + 2;
  const speed = bytes && rest >= SPEED_WIDTH + ETA_WIDTH + 4;
  return { bar, bytes, speed };
}

/** Columns of the numbers part: " 100%", bytes, speed and ETA, and the gap before the status. */
function numbersWidth(columns: JobColumns): number {
  return 5 + (columns.bytes ? BYTES_WIDTH + 2 : 0) + (columns.speed ? SPEED_WIDTH + ETA_WIDTH + 4 : 0) + 2;
}

/** The name column's width for lines of `width` columns: the same on every line, so they align. */
export function nameWidthFor(width: number): number {
  const columns = columnsFor(width);
  const barWidth = columns.bar > 0 ? columns.bar + 2 : 0;
  return Math.max(NAME_MIN, width - HEAD_EXTRA - barWidth - numbersWidth(columns) - STATUS_WIDTH);
}

/**
 * One job's line, cut into the parts the panel colours: `head` (arrow and name, padded), the
 * bar (`bar` cells filled to `fraction`; 0 cells: no bar), `numbers` (percent, bytes, speed,
 * ETA) and `status`. Joined they take at most the width asked for.
 */
export interface JobLine {
  head: string;
  fraction: number;
  bar: number;
  numbers: string;
  status: string;
  tone: Tone;
}

/** Lays out one job in `width` columns (the cursor marker not included). */
export function jobLine(job: JobProgress, width: number): JobLine {
  const status = jobStatus(job);
  const name = job.kind === 'dir' ? `${job.name}/` : job.name;
  const headOf = (nameWidth: number) => `${directionArrow(job.direction)} ${fitColumns(name, nameWidth, { cut: 'middle' })} `;
  const room = (used: number) => Math.max(0, width - used);
  // A failure, a skip or a directory is about its reason, not bytes: on a narrow line the reason
  // takes some of the name's room.
  if (job.state === 'failed' || job.state === 'skipped' || job.kind === 'dir') {
    const head = headOf(Math.min(nameWidthFor(width), Math.max(NAME_MIN, Math.floor(width / 3))));
    return { head, fraction: 0, bar: 0, numbers: '', status: cut(status.text, room(textWidth(head))), tone: status.tone };
  }
  const head = headOf(nameWidthFor(width));
  const columns = columnsFor(width);
  const live = job.state === 'running' || job.state === 'reconnecting';
  let numbers = ` ${percentText(job.bytesDone, job.bytesTotal)}`;
  if (columns.bytes) numbers += `  ${`${formatSize(job.bytesDone)} / ${formatSize(job.bytesTotal)}`.padStart(BYTES_WIDTH)}`;
  if (columns.speed) {
    const speed = live && job.speed > 0 ? formatSpeed(job.speed) : '';
    const eta = live ? formatEta(job.eta) : '';
    numbers += `  ${speed.padStart(SPEED_WIDTH)}  ${eta.padStart(ETA_WIDTH)}`;
  }
  numbers += '  ';
  const used = textWidth(head) + (columns.bar > 0 ? columns.bar + 2 : 0) + numbers.length;
  return {
    head,
    fraction: fractionOf(job.bytesDone, job.bytesTotal),
    bar: columns.bar,
    numbers,
    status: cut(status.text, room(used)),
    tone: status.tone,
  };
}

/** The counts after the title: "3 running · 25 queued · 1 failed · 2 skipped" (zeros left out). */
export function countsText(totals: QueueTotals): string {
  const parts: string[] = [];
  if (totals.running > 0) parts.push(`${totals.running} running`);
  if (totals.queued > 0) parts.push(`${totals.queued} queued`);
  if (totals.failed > 0) parts.push(`${totals.failed} failed`);
  if (totals.skipped > 0) parts.push(`${totals.skipped} skipped`);
  if (parts.length === 0) parts.push(totals.files + totals.dirs > 0 ? 'all done' : 'empty');
  return parts.join(' · ');
}

/** Cells of the totals bar when there is room for it. */
const TOTAL_BAR_CELLS = 20;

/**
 * The totals line: "12/40 files  45%  120.0 MiB / 300.0 MiB  10.2 MiB/s  ETA 0:18" and the
 * cells of its bar. Narrow lines drop the bar, then the bytes, then the speed; never the counts.
 */
export function totalsLine(totals: QueueTotals, width: number): { bar: number; fraction: number; text: string } {
  const active = totals.running + totals.queued > 0;
  const parts: (string | undefined)[] = [
    `${totals.filesFinished}/${totals.files} files`,
    percentText(totals.bytesDone, totals.bytesTotal).trim(),
    `${formatSize(totals.bytesDone)} / ${formatSize(totals.bytesTotal)}`,
    active && totals.speed > 0 ? formatSpeed(totals.speed) : undefined,
    active ? `ETA ${formatEta(totals.eta)}` : undefined,
  ];
  const join = () => parts.filter((p): p is string => p !== undefined).join('  ');
  const fraction = fractionOf(totals.bytesDone, totals.bytesTotal);
  if (join().length + TOTAL_BAR_CELLS + 3 <= width) return { bar: TOTAL_BAR_CELLS, fraction, text: join() };
  for (const drop of [2, 3]) {
    if (join().length <= width) break;
    parts[drop] = undefined;
  }
  return { bar: 0, fraction, text: cut(join(), width) };
}

/**
 * The detail line of the selected job: where it goes, and the whole error or reason that the
 * status column may have cut ("local:/a/b.txt → alice@host:7070:/b.txt · quota exceeded (EQUOTA)").
 */
export function jobDetail(job: JobProgress, width: number): string {
  const route = `${job.source} → ${job.target}`;
  const why = job.error ? errorText(job.error) : job.state === 'skipped' ? (job.reason ?? '') : '';
  const extra = job.resumedFrom ? `resumed from ${formatSize(job.resumedFrom)}` : '';
  const tail = [why, extra].filter((p) => p !== '').join(' · ');
  if (tail === '') return cut(route, width);
  // The reason matters more than the middle of two long paths.
  const routeWidth = Math.max(10, width - textWidth(tail) - 3);
  return cut(`${cut(route, routeWidth)} · ${tail}`, width);
}

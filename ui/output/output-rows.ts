import { charWidth } from '../model/text-width.js';
import type { OutputRun, OutputStream } from './output-store.js';
import { joinArgv } from './split-argv.js';

/*
 * The runs laid out as screen rows for a given width: a header per run, then its output broken
 * into lines and wrapped. Pure, so the panel renders only the visible slice of it (the output of
 * 20 runs can be many thousands of rows).
 */

export interface OutputSegment {
  stream: OutputStream;
  text: string;
}

export type OutputRow =
  | { kind: 'header'; runId: number; command: string; status: string; tone: 'running' | 'ok' | 'error' }
  | { kind: 'note'; runId: number; text: string }
  | { kind: 'text'; runId: number; segments: OutputSegment[] };

/** What the header says about a run's state. */
export function runStatus(run: Pick<OutputRun, 'state'>): { status: string; tone: 'running' | 'ok' | 'error' } {
  const state = run.state;
  switch (state.kind) {
    case 'starting':
      return { status: 'starting…', tone: 'running' };
    case 'running':
      return { status: 'running…', tone: 'running' };
    case 'failed':
      return { status: state.error, tone: 'error' };
    case 'exited': {
      const end = state.code !== null ? `exit ${state.code}` : state.signal !== null ? `killed by ${state.signal}` : 'ended';
      const why =
        state.reason === 'timeout'
          ? ': ran longer than the server allows'
          : state.reason === 'output-limit'
            ? ': printed more than the server allows'
            : state.reason === 'canceled'
              ? ': canceled'
              : '';
      return { status: `${end}${why}`, tone: state.code === 0 && state.reason === undefined ? 'ok' : 'error' };
    }
  }
}

// Terminal control sequences from the remote program must not reach our terminal: CSI, OSC
// (ending in BEL or ST), other two-byte escapes, and every other control character but \n and \t.
// eslint-disable-next-line no-control-regex
const CONTROL = /\u001B\[[0-?]*[ -/]*[@-~]|\u001B\][^\u0007\u001B]*(?:\u0007|\u001B\\)?|\u001B[ -/]*[0-~]?|[\u0000-\u0008\u000B-\u001A\u001C-\u001F\u007F-\u009F]/gu;

/** Output text made safe to draw: escape sequences and control characters removed, tabs expanded later. */
export function cleanOutput(text: string): string {
  return text.replace(CONTROL, '');
}

/** Breaks a run's chunks into lines of segments (a line may mix stdout and stderr). */
function outputLines(run: OutputRun): OutputSegment[][] {
  const lines: OutputSegment[][] = [[]];
  for (const chunk of run.chunks) {
    const parts = cleanOutput(chunk.text).split('\n');
    parts.forEach((part, i) => {
      if (i > 0) lines.push([]);
      if (part !== '') lines.at(-1)!.push({ stream: chunk.stream, text: part });
    });
  }
  // Output that ends with a newline does not leave an empty last line.
  if (lines.length > 1 && lines.at(-1)!.length === 0) lines.pop();
  if (lines.length === 1 && lines[0]!.length === 0) return [];
  return lines;
}

/** One line cut into rows of at most `width` columns; tabs go to the next multiple of 8. */
function wrapLine(line: OutputSegment[], width: number): OutputSegment[][] {
  const rows: OutputSegment[][] = [];
  let row: OutputSegment[] = [];
  let used = 0;
  const put = (stream: OutputStream, char: string, columns: number) => {
    if (used + columns > width && used > 0) {
      rows.push(row);
      row = [];
      used = 0;
    }
    const last = row.at(-1);
    if (last !== undefined && last.stream === stream) last.text += char;
    else row.push({ stream, text: char });
    used += columns;
  };
  for (const segment of line) {
    for (const char of segment.text) {
      if (char === '\t') {
        const spaces = Math.max(1, 8 - (used % 8));
        for (let i = 0; i < spaces && used < width; i++) put(segment.stream, ' ', 1);
        continue;
      }
      const columns = charWidth(char);
      if (columns > 0) put(segment.stream, char, columns);
    }
  }
  rows.push(row);
  return rows;
}

/** Rows of one run at one width. The store hands out the same run object until it changes, so a finished run is laid out once. */
const laidOut = new WeakMap<OutputRun, { width: number; rows: OutputRow[] }>();

function runRows(run: OutputRun, columns: number): OutputRow[] {
  const cached = laidOut.get(run);
  if (cached?.width === columns) return cached.rows;
  const { status, tone } = runStatus(run);
  const rows: OutputRow[] = [{ kind: 'header', runId: run.id, command: joinArgv(run.argv), status, tone }];
  if (run.droppedBytes > 0) rows.push({ kind: 'note', runId: run.id, text: `… ${run.droppedBytes} bytes of older output not kept` });
  for (const line of outputLines(run)) {
    for (const segments of wrapLine(line, columns)) rows.push({ kind: 'text', runId: run.id, segments });
  }
  laidOut.set(run, { width: columns, rows });
  return rows;
}

/** Every row of every run, oldest run first, for a panel `width` columns wide. */
export function layoutRows(runs: readonly OutputRun[], width: number): OutputRow[] {
  const columns = Math.max(1, width);
  return runs.flatMap((run) => runRows(run, columns));
}

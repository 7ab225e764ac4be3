/**
 * The benchmark as a picture for docs/: one panel per transfer workload, a horizontal bar per
 * tool at its median MB/s with a whisker from the slowest to the fastest run, ferry in its own
 * colour, and ferry ÷ tool beside each peer. A self-contained SVG built as a string: presentation
 * attributes only (no <style>, no fonts, no scripts), which GitHub and browsers draw alike.
 * Text widths are estimated, not measured (no font is loaded), so the layout keeps generous room.
 */
import { formatRate, formatRatio, summarize, type Measurement, type ReportOptions, type ToolSummary, type WorkloadSummary } from './report.js';

export interface ChartOptions extends ReportOptions {
  /** The line at the top, e.g. 'ferry vs scp, sftp, vsftpd and raw TCP on loopback'. */
  title: string;
  /** The line under it: the date and the machine. */
  subtitle: string;
}

const WIDTH = 900;
const MARGIN = 24;
const FONT = 12;
/** Average advance of a sans-serif character at 12 px (digits are ~6.7, lower case ~6). */
const CHAR = 6.8;
const ROW = 26;
const BAR = 16;
const PANEL_HEAD = 30;
const AXIS = 26;
const PANEL_GAP = 22;
/** Room right of the axis for the value and the ratio printed past the longest whisker. */
const VALUE_ROOM = 170;
const LABEL_MIN = 110;
const LABEL_MAX = 250;

const COLOUR = {
  ferry: '#d9480f',
  peer: '#8c99a6',
  whisker: '#212529',
  text: '#212529',
  muted: '#5c636a',
  grid: '#dee2e6',
  faster: '#2b8a3e',
  slower: '#c92a2a',
} as const;

/** Escapes text for XML content and attribute values alike. */
export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');
}

/** Coordinates with one decimal: enough for the eye, short in the file. */
function n(value: number): string {
  return String(Math.round(value * 10) / 10);
}

function textWidth(text: string): number {
  return [...text].length * CHAR;
}

/** Keeps a label inside its column, cutting with an ellipsis (the full name stays in a <title>). */
function fit(text: string, width: number): string {
  const chars = [...text];
  const max = Math.floor(width / CHAR);
  return chars.length <= max ? text : `${chars.slice(0, max - 1).join('')}…`;
}

/** A step of 1, 2, 2.5 or 5 × 10^k giving about four intervals up to `top`. */
function niceStep(top: number): number {
  const rough = top / 4;
  const power = 10 ** Math.floor(Math.log10(rough));
  return [1, 2, 2.5, 5, 10].find((f) => f * power >= rough)! * power;
}

interface Axis {
  max: number;
  ticks: number[];
}

/** The panel's own scale, from 0 to a round number at or above the fastest run. */
function axisFor(summary: WorkloadSummary): Axis {
  const top = Math.max(0, ...summary.rows.map((row) => row.max ?? 0));
  if (top <= 0) return { max: 1, ticks: [0, 1] };
  const step = niceStep(top);
  const max = Math.ceil(top / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let i = 0; i * step <= max + step / 1e6; i++) ticks.push(i * step);
  return { max, ticks };
}

interface Frame {
  /** x of the right edge of the tool names. */
  labelRight: number;
  /** x where the bars start (0 MB/s) and the span for the axis maximum. */
  barLeft: number;
  barSpan: number;
}

/** Ticks are round numbers: print them without trailing zeros (0, 2.5, 20, 2000). */
function formatTick(value: number): string {
  return String(Number(value.toPrecision(6)));
}

/** x of `value` MB/s on the panel's axis. */
function xOf(frame: Frame, axis: Axis, value: number): number {
  return frame.barLeft + (value / axis.max) * frame.barSpan;
}

/** A line from x1 to x2 at y with an end cap on either side, as the whiskers and their legend. */
function whiskerLines(x1: number, x2: number, y: number, className?: string): string {
  const stroke = `stroke="${COLOUR.whisker}" stroke-width="1.5"`;
  return [
    `<line${className ? ` class="${className}"` : ''} x1="${n(x1)}" y1="${n(y)}" x2="${n(x2)}" y2="${n(y)}" ${stroke}/>`,
    `<line x1="${n(x1)}" y1="${n(y - 5)}" x2="${n(x1)}" y2="${n(y + 5)}" ${stroke}/>`,
    `<line x1="${n(x2)}" y1="${n(y - 5)}" x2="${n(x2)}" y2="${n(y + 5)}" ${stroke}/>`,
  ].join('');
}

function text(x: number, y: number, content: string, attributes = ''): string {
  return `<text x="${n(x)}" y="${n(y)}"${attributes ? ` ${attributes}` : ''}>${content}</text>`;
}

function row(summary: ToolSummary, index: number, top: number, frame: Frame, axis: Axis): string {
  const y = top + index * ROW;
  const mid = y + ROW / 2;
  const scale = (value: number) => xOf(frame, axis, value);
  const name = escapeXml(fit(summary.tool, frame.labelRight - MARGIN));
  const label = `<text x="${n(frame.labelRight)}" y="${n(mid + 4)}" text-anchor="end"${summary.ferry ? ' font-weight="bold"' : ''}><title>${escapeXml(summary.tool)}</title>${name}</text>`;
  if (summary.median === undefined || summary.min === undefined || summary.max === undefined) {
    return `<g data-tool="${escapeXml(summary.tool)}">${label}${text(frame.barLeft + 4, mid + 4, 'not measured', `fill="${COLOUR.muted}" font-style="italic"`)}</g>`;
  }
  const barWidth = scale(summary.median) - frame.barLeft;
  const bar = `<rect class="bar" x="${n(frame.barLeft)}" y="${n(mid - BAR / 2)}" width="${n(barWidth)}" height="${BAR}" fill="${summary.ferry ? COLOUR.ferry : COLOUR.peer}"/>`;
  const [x1, x2] = [scale(summary.min), scale(summary.max)];
  const whisker = whiskerLines(x1, x2, mid, 'whisker');
  // Printed past whichever ends later, the bar or the whisker, so the two never overlap.
  const valueX = Math.max(x2, scale(summary.median)) + 8;
  const ratio =
    summary.ratio === undefined
      ? ''
      : `<tspan dx="10" fill="${summary.ratio >= 1 ? COLOUR.faster : COLOUR.slower}" class="ratio">ferry ${escapeXml(formatRatio(summary.ratio))}</tspan>`;
  const value = `<text x="${n(valueX)}" y="${n(mid + 4)}"><tspan font-weight="bold" class="value">${formatRate(summary.median)}</tspan> MB/s${ratio}</text>`;
  return `<g data-tool="${escapeXml(summary.tool)}">${label}${bar}${whisker}${value}</g>`;
}

/** One workload: its name, a row per tool, gridlines and the axis labels below; returns its height. */
function panel(summary: WorkloadSummary, top: number, frame: Frame): { svg: string; height: number } {
  const axis = axisFor(summary);
  const rowsTop = top + PANEL_HEAD;
  const rowsBottom = rowsTop + summary.rows.length * ROW;
  const x = (value: number) => xOf(frame, axis, value);
  const perRun = `${Math.round(summary.bytes / 1e6).toLocaleString('en-US')} MB per run`;
  const parts = [
    text(MARGIN, top + 18, `${escapeXml(summary.workload)}<tspan dx="10" font-size="12" font-weight="normal" fill="${COLOUR.muted}">${perRun}</tspan>`, 'font-size="15" font-weight="bold"'),
    ...axis.ticks.map((tick) => `<line class="grid" x1="${n(x(tick))}" y1="${n(rowsTop)}" x2="${n(x(tick))}" y2="${n(rowsBottom)}" stroke="${COLOUR.grid}" stroke-width="1"/>`),
    `<line x1="${n(frame.barLeft)}" y1="${n(rowsBottom)}" x2="${n(frame.barLeft + frame.barSpan)}" y2="${n(rowsBottom)}" stroke="${COLOUR.muted}" stroke-width="1"/>`,
    ...axis.ticks.map((tick) => text(x(tick), rowsBottom + 16, formatTick(tick), `text-anchor="middle" font-size="11" fill="${COLOUR.muted}"`)),
    // The unit under the tool names, where it cannot run into the last tick's number.
    text(frame.labelRight - 4, rowsBottom + 16, 'MB/s', `text-anchor="end" font-size="11" fill="${COLOUR.muted}"`),
    ...summary.rows.map((r, i) => row(r, i, rowsTop, frame, axis)),
  ];
  return { svg: `<g class="panel" data-workload="${escapeXml(summary.workload)}">${parts.join('')}</g>`, height: PANEL_HEAD + summary.rows.length * ROW + AXIS };
}

/** Two legend lines: what the colours, the bar, the whisker and the ratio mean. */
function legend(y: number, reference: string, runs: string): string {
  const swatch = (x: number, fill: string) => `<rect x="${n(x)}" y="${n(y - 10)}" width="12" height="12" fill="${fill}"/>`;
  const muted = `fill="${COLOUR.muted}"`;
  const ratio =
    `<tspan fill="${COLOUR.faster}">ferry 1.50×</tspan> beside a tool: ${escapeXml(reference)} is 1.5 times as fast as it` +
    ` (<tspan fill="${COLOUR.slower}">red</tspan> below 1.00×: slower) · MB = 10^6 bytes`;
  return [
    swatch(MARGIN, COLOUR.ferry),
    text(MARGIN + 18, y, 'ferry', muted),
    swatch(MARGIN + 62, COLOUR.peer),
    text(MARGIN + 80, y, 'other tools', muted),
    text(MARGIN + 170, y, `bar: median MB/s of ${runs}`, muted),
    whiskerLines(MARGIN + 340, MARGIN + 362, y - 4),
    text(MARGIN + 370, y, 'slowest to fastest run', muted),
    text(MARGIN, y + 20, ratio, muted),
  ].join('');
}

/** "5 runs" when every tool ran as often, else "its runs". */
function runsPhrase(summaries: WorkloadSummary[]): string {
  const counts = new Set(summaries.flatMap((s) => s.rows.filter((r) => r.runs > 0).map((r) => r.runs)));
  const [only] = counts;
  return counts.size === 1 && only !== undefined ? `${only} run${only === 1 ? '' : 's'}` : 'its runs';
}

/**
 * A self-contained SVG of the transfer workloads (memory-only ones are left out: they have no
 * rate), 900 px wide and as tall as its rows. Each panel has its own axis, since a 1 GiB file and
 * a tree of small files differ by an order of magnitude. `options.reference`: which ferry row the
 * ratios use, as in the tables (default: the ws:// one, else the first).
 */
export function renderChart(measurements: Measurement[], options: ChartOptions): string {
  const summaries = summarize(measurements, options).filter((s) => !s.memoryOnly);
  const longest = Math.max(0, ...summaries.flatMap((s) => s.rows.map((r) => textWidth(r.tool))));
  const labelRight = MARGIN + Math.min(LABEL_MAX, Math.max(LABEL_MIN, longest));
  const barLeft = labelRight + 12;
  const frame: Frame = { labelRight, barLeft, barSpan: WIDTH - MARGIN - VALUE_ROOM - barLeft };
  const reference = summaries.find((s) => s.reference !== undefined)?.reference ?? 'ferry';

  const head = [
    text(MARGIN, 34, escapeXml(options.title), `font-size="20" font-weight="bold"`),
    text(MARGIN, 56, escapeXml(options.subtitle), `font-size="13" fill="${COLOUR.muted}"`),
    legend(80, reference, runsPhrase(summaries)),
  ];
  let y = 122;
  const panels: string[] = [];
  if (summaries.length === 0) {
    panels.push(text(MARGIN, y + 16, 'No transfer workloads were measured.', `fill="${COLOUR.muted}"`));
    y += 30;
  }
  for (const summary of summaries) {
    const drawn = panel(summary, y, frame);
    panels.push(drawn.svg);
    y += drawn.height + PANEL_GAP;
  }
  const height = Math.ceil(y - PANEL_GAP + MARGIN);
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="${FONT}" fill="${COLOUR.text}">`,
    // An opaque background: on GitHub's dark theme a transparent image would hide the dark text.
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    ...head,
    ...panels,
    '</svg>',
    '',
  ].join('\n');
}

/**
 * The benchmark's results as text: per workload, every tool's median MB/s with min and max, and
 * the ratio of ferry's median to each peer's (a claim of speed counts only as a ratio measured in
 * the same run); the targets met or missed. Markdown, because it reads well in the terminal and
 * in docs/benchmarks.md alike. The chart (bench/chart.ts) draws from the same summaries.
 */
import { cpus } from 'node:os';

export interface Measurement {
  /** Groups rows, e.g. 'upload 1 GiB file', 'download tree 1000 × 64 KiB', '50 clients × 20 MiB upload', '2000 idle sessions'. */
  workload: string;
  /** 'ferry (ws://)', 'scp aes128-gcm', 'vsftpd + curl', 'lftp mirror --parallel=4', 'raw TCP (socat) → /dev/null', ... */
  tool: string;
  /** Bytes moved per run (0 for a memory-only workload like idle sessions). */
  bytes: number;
  /** Seconds of each run (empty for a memory-only workload). */
  seconds: number[];
  /** The ferry server's peak RSS during the workload, bytes. */
  peakRss?: number;
  /** A steady RSS reading (e.g. with 2000 idle sessions), bytes. */
  rss?: number;
}

export interface TargetCheck {
  /** e.g. '1 GiB upload ≥ 1.0× vsftpd + curl' */
  label: string;
  /** The measured value, e.g. 1.23 (a ratio) or 142 (MiB); NaN when it could not be measured. */
  value: number;
  unit: '×' | 'MiB' | '%';
  /** The threshold. */
  target: number;
  /** True when higher is better (ratios), false for memory. */
  higherIsBetter: boolean;
}

export interface ReportOptions {
  /**
   * The ferry tool the ratios divide by, where a workload measured it. Default: the first ferry
   * row over ws:// (plain WebSocket is what the targets are set for; wss:// adds TLS on top),
   * else the first ferry row with timed runs.
   */
  reference?: string;
}

/** One tool's line in a workload, as the tables and the chart show it. */
export interface ToolSummary {
  tool: string;
  /** The tool's name starts with 'ferry'. */
  ferry: boolean;
  /** Timed runs. */
  runs: number;
  /** Median, min and max MB/s over the runs; undefined without timed runs. */
  median?: number;
  min?: number;
  max?: number;
  /** The reference's median ÷ this tool's median; undefined on ferry's rows and without rates. */
  ratio?: number;
  peakRss?: number;
  rss?: number;
}

export interface WorkloadSummary {
  workload: string;
  /** Bytes per run of the workload's first measurement. */
  bytes: number;
  /** No tool has timed runs (e.g. idle sessions): memory is the result, not a rate. */
  memoryOnly: boolean;
  /** The ferry tool the ratios divide by; undefined when no ferry row has timed runs. */
  reference?: string;
  /** Ferry's rows first (the reference leading), then the peers by median, fastest first. */
  rows: ToolSummary[];
}

/** MB as every rate here counts it: 10^6 bytes. */
const MB = 1e6;
const MIB = 1024 * 1024;

function sorted(values: number[]): number[] {
  return [...values].sort((a, b) => a - b);
}

/** The median of `values` (the mean of the middle two for an even count); NaN when empty. */
export function median(values: number[]): number {
  if (values.length === 0) return Number.NaN;
  const s = sorted(values);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

/** Throughput of each run in MB/s (10^6 bytes per second). */
export function rates(m: Pick<Measurement, 'bytes' | 'seconds'>): number[] {
  return m.seconds.map((s) => m.bytes / MB / s);
}

/** Cores, CPU model and Node version, for the line above the tables. */
export function machineLine(): string {
  const cpu = cpus();
  return `${cpu.length} cores, ${cpu[0]?.model.trim() ?? 'unknown CPU'}, Node ${process.version}`;
}

/** Ferry's rows are told apart by name: 'ferry (ws://)', 'ferry (wss://)', … */
export function isFerry(tool: string): boolean {
  return tool.toLowerCase().startsWith('ferry');
}

/** A rate with the precision it deserves: 1234, 123, 12.3, 1.23. */
export function formatRate(mbPerSecond: number): string {
  if (!Number.isFinite(mbPerSecond)) return '—';
  const digits = mbPerSecond >= 100 ? 0 : mbPerSecond >= 10 ? 1 : 2;
  return mbPerSecond.toFixed(digits);
}

/** A ratio as the tables and the chart print it: `1.42×`; two significant digits below 0.01. */
export function formatRatio(ratio: number): string {
  if (!Number.isFinite(ratio)) return '—';
  return `${ratio >= 0.01 || ratio === 0 ? ratio.toFixed(2) : ratio.toPrecision(2)}×`;
}

function formatMiB(bytes: number): string {
  return `${(bytes / MIB).toFixed(0)} MiB`;
}

function summarizeTool(m: Measurement): ToolSummary {
  const summary: ToolSummary = { tool: m.tool, ferry: isFerry(m.tool), runs: m.seconds.length, peakRss: m.peakRss, rss: m.rss };
  if (m.seconds.length > 0) {
    const r = sorted(rates(m));
    summary.median = median(r);
    summary.min = r[0];
    summary.max = r[r.length - 1];
  }
  return summary;
}

function pickReference(rows: ToolSummary[], preferred: string | undefined): ToolSummary | undefined {
  const timed = rows.filter((row) => row.ferry && row.median !== undefined);
  return timed.find((row) => row.tool === preferred) ?? timed.find((row) => row.tool.includes('ws://')) ?? timed[0];
}

/** Lower memory first for memory-only workloads; rows without a reading last. */
function byMemory(a: ToolSummary, b: ToolSummary): number {
  return (a.rss ?? a.peakRss ?? Infinity) - (b.rss ?? b.peakRss ?? Infinity);
}

/** Fastest first; rows without timed runs last. */
function byRate(a: ToolSummary, b: ToolSummary): number {
  return (b.median ?? -Infinity) - (a.median ?? -Infinity);
}

/**
 * Groups the measurements by workload (in the order they first appear) and computes each tool's
 * median, min, max and the ratio ferry ÷ tool. See {@link ReportOptions.reference} for which
 * ferry row the ratios use when there are several.
 */
export function summarize(measurements: Measurement[], options: ReportOptions = {}): WorkloadSummary[] {
  const groups = new Map<string, Measurement[]>();
  for (const m of measurements) {
    const group = groups.get(m.workload);
    if (group) group.push(m);
    else groups.set(m.workload, [m]);
  }
  return [...groups].map(([workload, group]) => {
    const all = group.map(summarizeTool);
    const memoryOnly = all.every((row) => row.runs === 0);
    const reference = memoryOnly ? undefined : pickReference(all, options.reference);
    const ferry = all.filter((row) => row.ferry);
    const ordered = [...(reference ? [reference] : []), ...ferry.filter((row) => row !== reference)];
    const peers = all.filter((row) => !row.ferry).sort(memoryOnly ? byMemory : byRate);
    if (reference?.median !== undefined) {
      for (const peer of peers) if (peer.median !== undefined) peer.ratio = reference.median / peer.median;
    }
    return { workload, bytes: group[0]!.bytes, memoryOnly, reference: reference?.tool, rows: [...ordered, ...peers] };
  });
}

/**
 * The ratio ferry ÷ `peer` in `workload` (ferry's median MB/s over the peer's), for building
 * {@link TargetCheck}s; NaN when either side was not measured, so a missing peer shows as
 * "not measured" rather than as a pass or a fail.
 */
export function ratioOf(measurements: Measurement[], workload: string, peer: string, options: ReportOptions = {}): number {
  const summary = summarize(measurements, options).find((w) => w.workload === workload);
  return summary?.rows.find((row) => row.tool === peer)?.ratio ?? Number.NaN;
}

type Align = 'left' | 'right';

/** Table cells must not contain a pipe (it would start a new cell) or a line break. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

/**
 * A Markdown table with its columns padded to a common width, so it is also aligned when read
 * raw in a terminal (Markdown ignores the padding).
 */
function markdownTable(header: string[], align: Align[], rows: string[][]): string {
  const cells = [header, ...rows].map((row) => row.map(cell));
  const widths = header.map((_, i) => Math.max(3, ...cells.map((row) => [...row[i]!].length)));
  const pad = (text: string, i: number) => {
    const gap = ' '.repeat(widths[i]! - [...text].length);
    return align[i] === 'right' ? gap + text : text + gap;
  };
  const line = (row: string[]) => `| ${row.map(pad).join(' | ')} |`;
  const rule = `| ${widths.map((w, i) => (align[i] === 'right' ? `${'-'.repeat(w - 1)}:` : '-'.repeat(w))).join(' | ')} |`;
  const [head, ...body] = cells;
  return [line(head!), rule, ...body.map(line)].join('\n');
}

function rateTable(summary: WorkloadSummary): string {
  const withRss = summary.rows.some((row) => row.peakRss !== undefined);
  const ratioHeader = `${summary.reference ?? 'ferry'} ÷ tool`;
  const header = ['tool', 'median MB/s', 'min', 'max', 'runs', ratioHeader, ...(withRss ? ['server peak RSS'] : [])];
  const align: Align[] = ['left', 'right', 'right', 'right', 'right', 'right', 'right'];
  const rows = summary.rows.map((row) => [
    row.tool,
    row.median === undefined ? 'not measured' : `**${formatRate(row.median)}**`,
    row.min === undefined ? '' : formatRate(row.min),
    row.max === undefined ? '' : formatRate(row.max),
    String(row.runs),
    row.ratio === undefined ? '' : formatRatio(row.ratio),
    ...(withRss ? [row.peakRss === undefined ? '' : formatMiB(row.peakRss)] : []),
  ]);
  const perRun = `${Math.round(summary.bytes / MB).toLocaleString('en-US')} MB per run`;
  return `**${cell(summary.workload)}** · ${perRun}\n\n${markdownTable(header, align, rows)}`;
}

function memoryTable(summary: WorkloadSummary): string {
  const withRss = summary.rows.some((row) => row.rss !== undefined);
  const withPeak = summary.rows.some((row) => row.peakRss !== undefined);
  const header = ['tool', ...(withRss ? ['server RSS'] : []), ...(withPeak ? ['server peak RSS'] : [])];
  const rows = summary.rows.map((row) => [
    row.tool,
    ...(withRss ? [row.rss === undefined ? '' : `**${formatMiB(row.rss)}**`] : []),
    ...(withPeak ? [row.peakRss === undefined ? '' : formatMiB(row.peakRss)] : []),
  ]);
  return `**${cell(summary.workload)}** · memory only\n\n${markdownTable(header, ['left', 'right', 'right'], rows)}`;
}

/**
 * One Markdown table per workload: tool, median MB/s (bold), min, max, runs, ferry ÷ tool (blank
 * on ferry's rows), and the server's peak RSS when known; ferry first, then the peers fastest
 * first. Memory-only workloads (no timed runs) show the RSS readings instead. A line under the
 * tables says what MB and the ratio mean. `options.reference`: see {@link ReportOptions}.
 */
export function formatResults(measurements: Measurement[], options: ReportOptions = {}): string {
  const summaries = summarize(measurements, options);
  if (summaries.length === 0) return 'No measurements.';
  const tables = summaries.map((s) => (s.memoryOnly ? memoryTable(s) : rateTable(s)));
  const twoFerries = summaries.some((s) => s.rows.filter((row) => row.ferry).length > 1);
  const note = [
    "MB = 10^6 bytes, MiB = 2^20 bytes. The median of each tool's runs is in bold, with the slowest and fastest run;",
    "ferry ÷ tool is ferry's median over that tool's (above 1.00× ferry is faster).",
    ...(twoFerries ? [`Where ferry ran more than once, the ratios use ${options.reference ? `${options.reference} if measured, else ` : ''}its ws:// row (else its first).`] : []),
  ].join('\n');
  return [...tables, note].join('\n\n');
}

function formatMeasured(check: TargetCheck): string {
  if (!Number.isFinite(check.value)) return 'not measured';
  if (check.unit === '×') return formatRatio(check.value);
  return `${check.value.toFixed(0)} ${check.unit}`;
}

/** Whether a check is met; a value that could not be measured is not. */
export function isMet(check: TargetCheck): boolean {
  if (!Number.isFinite(check.value)) return false;
  return check.higherIsBetter ? check.value >= check.target : check.value <= check.target;
}

/**
 * A Markdown table: target | measured | met? The verdict is the word `yes` or `no`, not ✅ / ❌:
 * emoji are two cells wide in some terminals and one in others (the padded columns would shift),
 * and some console fonts lack them, while a word renders the same everywhere and can be grepped.
 */
export function formatTargets(checks: TargetCheck[]): string {
  const rows = checks.map((check) => [check.label, formatMeasured(check), isMet(check) ? 'yes' : 'no']);
  return markdownTable(['target', 'measured', 'met?'], ['left', 'right', 'left'], rows);
}

import type { QueueState } from '../transfer/progress.js';
import type { TransferQueue } from '../transfer/transfer-queue.js';
import { fitWidth, formatEta, formatSize, formatSpeed } from './format.js';

/** Running jobs shown above the total line. */
const MAX_JOB_LINES = 4;

function percent(done: number, total: number): string {
  const p = total > 0 ? Math.floor((done / total) * 100) : 100;
  return `${String(Math.min(100, p)).padStart(3)}%`;
}

/**
 * The lines of the progress display for a queue state, at most `width` columns each: one per
 * running file (name, percent, bytes, speed, ETA), then the queue's total with a bar. Pure.
 */
export function renderProgress(state: QueueState, width: number): string[] {
  const lines: string[] = [];
  const running = [...state.jobs.values()].filter((job) => job.kind === 'file' && (job.state === 'running' || job.state === 'reconnecting'));
  for (const job of running.slice(0, MAX_JOB_LINES)) {
    const tail =
      job.state === 'reconnecting'
        ? '  reconnecting…'
        : `  ${percent(job.bytesDone, job.bytesTotal)}  ${formatSize(job.bytesDone)} / ${formatSize(job.bytesTotal)}  ${formatSpeed(job.speed)}  ETA ${formatEta(job.eta)}`;
    const nameWidth = Math.max(8, width - tail.length - 2);
    lines.push(fitWidth(`  ${fitWidth(job.name, nameWidth)}${tail}`, width));
  }
  if (running.length > MAX_JOB_LINES) lines.push(`  … and ${running.length - MAX_JOB_LINES} more`);
  const t = state.totals;
  const info = ` ${t.filesFinished}/${t.files} files ${percent(t.bytesDone, t.bytesTotal)}  ${formatSize(t.bytesDone)} / ${formatSize(t.bytesTotal)}  ${formatSpeed(t.speed)}  ETA ${formatEta(t.eta)}`;
  // A fixed width, so the bar does not jump as the numbers grow; none on a narrow terminal.
  const barWidth = width >= 70 ? 20 : 0;
  const filled = t.bytesTotal > 0 ? Math.round((t.bytesDone / t.bytesTotal) * barWidth) : barWidth;
  const bar = barWidth > 0 ? `[${'#'.repeat(filled)}${'.'.repeat(barWidth - filled)}]` : '';
  lines.push(fitWidth(bar + info, width));
  return lines;
}

/**
 * Draws the queue's progress on a terminal (stderr), redrawing at most every `intervalMs`
 * (default 100 ms, 10 Hz) and only when the text changed; stop() erases it.
 */
export class ProgressBar {
  private timer: NodeJS.Timeout | undefined;
  private drawn: string[] = [];

  constructor(
    private readonly queue: TransferQueue,
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly intervalMs = 100,
  ) {}

  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.draw(), this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.erase();
  }

  private draw(): void {
    const lines = renderProgress(this.queue.snapshot(), Math.max(20, (this.stream.columns || 80) - 1));
    if (lines.length === this.drawn.length && lines.every((line, i) => line === this.drawn[i])) return;
    this.erase();
    this.stream.write(`${lines.join('\n')}\n`);
    this.drawn = lines;
  }

  private erase(): void {
    if (this.drawn.length === 0) return;
    // Up over the lines drawn last time, clearing each.
    this.stream.write(`\x1b[${this.drawn.length}A\x1b[0J`);
    this.drawn = [];
  }
}

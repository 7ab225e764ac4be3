/**
 * Render benchmark of the TUI's file pane: a directory of 100,000 entries arrives and is drawn
 * (first paint: sort + view + frame), then key presses move the cursor (key → next frame). The
 * pane is the real component (ui/components/pane.tsx) over the real reducer, drawn by ink's own
 * render — throttle and all, as in the terminal — to a stand-in stdout; only the streams are not
 * a terminal. Times are wall clock from the cause (the listing handed over, the key bytes
 * arriving on stdin) to ink's onRender for the frame that shows it.
 */
import { EventEmitter } from 'node:events';
import { performance } from 'node:perf_hooks';
import { render, type Instance } from 'ink';
import { createElement, useReducer, type Dispatch } from 'react';
import type { Entry } from '../src/protocol/index.js';
import { Pane } from '../ui/components/pane.js';
import { matchKey } from '../ui/keymap.js';
import { initialPane, reducePane, type Motion, type PaneAction, type PaneState } from '../ui/model/pane-state.js';
import { useKeypress } from '../ui/use-keypress.js';
import { median } from './report.js';

export interface RenderOptions {
  /** Entries in the directory. Default 100,000. */
  entries?: number;
  /** Times the whole scenario runs (fresh ink instance each). Default 5. */
  runs?: number;
  /** Terminal size; the pane takes half the width, as in the TUI. Default 160 × 45. */
  columns?: number;
  rows?: number;
}

export interface RenderMeasurement {
  name: string;
  /** Milliseconds, one per sample. */
  ms: number[];
  /** The target for the median, if the issue sets one. */
  targetMs?: number;
}

/** Targets from the TUI issue. */
export const FIRST_PAINT_TARGET_MS = 300;
export const KEY_FRAME_TARGET_MS = 30;

/** ink draws at most 30 frames a second; keys are spaced wider so each one gets its own frame. */
const KEY_SPACING_MS = 40;
const KEYS_PER_KIND = 10;

const SEQUENCES = { down: '\u001B[B', up: '\u001B[A', pagedown: '\u001B[6~', pageup: '\u001B[5~', end: '\u001B[F', home: '\u001B[H' } as const;

/** A deterministic listing: files and some directories in shuffled order (so sorting works). */
export function makeEntries(count: number, seed = 1): Entry[] {
  let a = seed >>> 0;
  const random = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const entries: Entry[] = [];
  for (let i = 0; i < count; i++) {
    const dir = i % 100 === 0;
    entries.push({
      name: dir ? `dir-${String(i).padStart(6, '0')}` : `file-${String(i).padStart(6, '0')}.${['txt', 'jpg', 'tar.gz', 'md'][i % 4]}`,
      type: dir ? 'dir' : 'file',
      size: dir ? 0 : Math.floor(random() * 1e9),
      mtime: Date.UTC(2024, 0, 1) + Math.floor(random() * 3e10),
      mode: dir ? 0o755 : 0o644,
    });
  }
  for (let i = entries.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [entries[i], entries[j]] = [entries[j]!, entries[i]!];
  }
  return entries;
}

/** A stdout ink can draw on: a TTY of a fixed size that keeps the last bytes written. */
class BenchStdout extends EventEmitter {
  readonly isTTY = true;
  written = '';
  constructor(
    readonly columns: number,
    readonly rows: number,
  ) {
    super();
  }

  write(chunk: string | Uint8Array): boolean {
    // Only the tail is kept: enough to check what the last frame shows.
    this.written = (this.written + chunk.toString()).slice(-200_000);
    return true;
  }
}

/** A stdin ink reads keys from (raw mode accepted, data pushed with send()). */
class BenchStdin extends EventEmitter {
  readonly isTTY = true;
  private pending: string[] = [];
  setEncoding(): void {}
  setRawMode(): void {}
  resume(): void {}
  pause(): void {}
  ref(): void {}
  unref(): void {}
  read(): string | null {
    return this.pending.shift() ?? null;
  }
  send(data: string): void {
    this.pending.push(data);
    this.emit('readable');
  }
}

const MOTIONS: Record<string, Motion> = {
  'pane.up': 'up',
  'pane.down': 'down',
  'pane.page-up': 'page-up',
  'pane.page-down': 'page-down',
  'pane.home': 'home',
  'pane.end': 'end',
};

/** One pane with the input, as the App holds it: state in a reducer, keys through the keymap. */
function BenchPane({ initial, width, height, expose }: { initial: PaneState; width: number; height: number; expose: (dispatch: Dispatch<PaneAction>) => void }) {
  const [pane, dispatch] = useReducer(reducePane, initial);
  expose(dispatch);
  useKeypress((key) => {
    const command = matchKey('pane', key);
    const motion = command === undefined ? undefined : MOTIONS[command];
    if (motion !== undefined) dispatch({ type: 'move', motion });
  });
  return createElement(Pane, { pane, label: 'local', kind: 'local', width, height, active: true, quota: null, now: Date.UTC(2026, 0, 1) });
}

/** Resolves at the next frame ink draws after now, with its time. */
function nextFrame(frames: EventEmitter): Promise<number> {
  return new Promise((resolve) => frames.once('frame', resolve));
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Runs the scenario `runs` times and returns first paint, and key → frame for Down, PgDn and
 * End/Home, each sample in ms. Throws if a frame does not show what the key should have brought
 * on screen (so a broken pane cannot look fast).
 */
export async function benchRender(options: RenderOptions = {}): Promise<RenderMeasurement[]> {
  const count = options.entries ?? 100_000;
  const runs = options.runs ?? 5;
  const columns = options.columns ?? 160;
  const rows = options.rows ?? 45;
  const width = Math.floor(columns / 2);
  const height = rows - 2;
  const firstPaint: number[] = [];
  const down: number[] = [];
  const page: number[] = [];
  const jump: number[] = [];

  for (let run = 0; run < runs; run++) {
    const entries = makeEntries(count, run + 1);
    const stdout = new BenchStdout(columns, rows);
    const stdin = new BenchStdin();
    const frames = new EventEmitter();
    let dispatch: Dispatch<PaneAction> | undefined;
    const empty = reducePane(initialPane('/big', { height: height - 5 }), { type: 'list-start', path: '/big', ticket: 1 });
    const first = nextFrame(frames);
    const instance: Instance = render(
      createElement(BenchPane, {
        initial: empty,
        width,
        height,
        expose: (d) => {
          dispatch = d;
        },
      }),
      {
        stdout: stdout as unknown as NodeJS.WriteStream,
        stdin: stdin as unknown as NodeJS.ReadStream,
        stderr: stdout as unknown as NodeJS.WriteStream,
        exitOnCtrlC: false,
        patchConsole: false,
        onRender: () => frames.emit('frame', performance.now()),
      },
    );
    try {
      await first;
      await sleep(KEY_SPACING_MS);
      // First paint: the listing arrives as the session hands it over, then sort, view, frame.
      const painted = nextFrame(frames);
      const started = performance.now();
      dispatch!({ type: 'list-done', ticket: 1, path: '/big', atRoot: false, entries });
      firstPaint.push((await painted) - started);
      const sorted = [...entries].sort((x, y) => (x.type === y.type ? (x.name < y.name ? -1 : 1) : x.type === 'dir' ? -1 : 1));
      expectOnScreen(stdout, sorted[0]!.name, 'the first entry after the listing');

      const press = async (sequence: string, into: number[]) => {
        await sleep(KEY_SPACING_MS);
        const drawn = nextFrame(frames);
        const at = performance.now();
        stdin.send(sequence);
        into.push((await drawn) - at);
      };
      for (let i = 0; i < KEYS_PER_KIND; i++) await press(SEQUENCES.down, down);
      for (let i = 0; i < KEYS_PER_KIND; i++) await press(SEQUENCES.pagedown, page);
      for (let i = 0; i < KEYS_PER_KIND / 2; i++) {
        await press(SEQUENCES.end, jump);
        expectOnScreen(stdout, sorted[sorted.length - 1]!.name, 'the last entry after End');
        await press(SEQUENCES.home, jump);
      }
    } finally {
      instance.unmount();
      instance.cleanup();
    }
  }
  return [
    { name: `first paint of ${count.toLocaleString('en-US')} entries (sort + view + frame)`, ms: firstPaint, targetMs: FIRST_PAINT_TARGET_MS },
    { name: 'key → frame: Down', ms: down, targetMs: KEY_FRAME_TARGET_MS },
    { name: 'key → frame: PgDn', ms: page, targetMs: KEY_FRAME_TARGET_MS },
    { name: 'key → frame: End / Home', ms: jump, targetMs: KEY_FRAME_TARGET_MS },
  ];
}

function expectOnScreen(stdout: BenchStdout, name: string, what: string): void {
  if (!stdout.written.includes(name)) throw new Error(`render bench: ${what} (${name}) is not on screen`);
}

/** The Markdown table of a render run: median, min, max, samples, target and whether it is met. */
export function formatRenderTable(measurements: RenderMeasurement[]): string {
  const rows = measurements.map((m) => {
    const sorted = [...m.ms].sort((a, b) => a - b);
    const mid = median(m.ms);
    const target = m.targetMs === undefined ? '' : `≤ ${m.targetMs} ms ${mid <= m.targetMs ? '✓' : '✗'}`;
    return `| ${m.name} | **${mid.toFixed(1)}** | ${sorted[0]!.toFixed(1)} | ${sorted[sorted.length - 1]!.toFixed(1)} | ${m.ms.length} | ${target} |`;
  });
  return ['| render | median ms | min | max | samples | target |', '| --- | ---: | ---: | ---: | ---: | --- |', ...rows].join('\n');
}

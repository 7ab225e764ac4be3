import { render } from 'ink-testing-library';
import type { FileSystem } from '../../src/fs/file-system.js';
import { App } from '../../ui/app.js';
import type { CommandContext } from '../../ui/commands/context.js';
import { createTuiContext } from '../../ui/commands/create-context.js';
import type { LoginService } from '../../ui/commands/login.js';
import type { Side } from '../../ui/model/app-state.js';
import { currentEntry } from '../../ui/model/pane-state.js';
import { until } from './ink-wait.js';

/*
 * The whole TUI (App + the real context: store, transfer queue, conflict bridge) rendered by
 * ink-testing-library at a fixed size, with keys as a terminal sends them and waits that watch
 * the frame or the state instead of sleeping.
 */

/** Raw sequences (xterm / tmux). */
export const KEY = {
  up: '\u001B[A',
  down: '\u001B[B',
  right: '\u001B[C',
  left: '\u001B[D',
  home: '\u001B[H',
  end: '\u001B[F',
  pageUp: '\u001B[5~',
  pageDown: '\u001B[6~',
  enter: '\r',
  escape: '\u001B',
  tab: '\t',
  backspace: '\u007F',
  insert: '\u001B[2~',
  space: ' ',
  ctrlR: '\u0012',
  ctrlU: '\u0015',
  ctrlH: '\u0008',
  ctrlS: '\u0013',
  f1: '\u001BOP',
  f2: '\u001BOQ',
  f3: '\u001BOR',
  f4: '\u001BOS',
  f5: '\u001B[15~',
  f6: '\u001B[17~',
  f7: '\u001B[18~',
  f8: '\u001B[19~',
  f9: '\u001B[20~',
  f10: '\u001B[21~',
} as const;

export interface TuiHarness {
  ctx: CommandContext;
  frame(): string;
  /** Writes each sequence as its own terminal read, letting ink handle it before the next. */
  press(...sequences: string[]): Promise<void>;
  /** Types text one character at a time. */
  type(text: string): Promise<void>;
  /** Waits until the frame contains `text` (or matches it); fails after `timeoutMs` (15 s: disks syncing under load are slow). */
  see(text: string | RegExp, timeoutMs?: number): Promise<void>;
  /** Waits until `check` holds for the state. */
  until(check: (ctx: CommandContext) => boolean, what: string, timeoutMs?: number): Promise<void>;
  /** Name under the cursor of a side. */
  cursorName(side?: Side): string | undefined;
  /** Waits for both panes to have listed their directory. */
  ready(): Promise<void>;
  exited(): boolean;
  close(): Promise<void>;
}

export interface TuiHarnessOptions {
  left: FileSystem;
  right: FileSystem;
  leftPath?: string;
  rightPath?: string;
  columns?: number;
  rows?: number;
  env?: NodeJS.ProcessEnv;
  login?: LoginService;
  journalDir?: string | null;
  concurrency?: number;
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

/** Renders the TUI. Close it at the end (t.teardown) so the queue and sessions stop. */
export async function startTui(options: TuiHarnessOptions): Promise<TuiHarness> {
  let exited = false;
  const tui = await createTuiContext({
    left: options.left,
    right: options.right,
    ...(options.leftPath === undefined ? {} : { leftPath: options.leftPath }),
    ...(options.rightPath === undefined ? {} : { rightPath: options.rightPath }),
    journalDir: options.journalDir ?? null,
    ...(options.env ? { env: options.env } : {}),
    ...(options.concurrency ? { concurrency: options.concurrency } : {}),
    exit: () => {
      exited = true;
    },
  });
  // ink-testing-library's stdout is 100 columns wide: ink lays the root out at that width.
  const size = { columns: options.columns ?? 100, rows: options.rows ?? 30 };
  const rendered = render(<App ctx={tui.ctx} queueStore={tui.queueStore} output={tui.output} size={size} {...(options.login ? { login: options.login } : {})} {...(options.journalDir ? { journalDir: options.journalDir } : {})} />);
  const frame = () => rendered.lastFrame() ?? '';
  const harness: TuiHarness = {
    ctx: tui.ctx,
    frame,
    async press(...sequences) {
      for (const sequence of sequences) {
        rendered.stdin.write(sequence);
        // A lone ESC is held by ink until the next turn (it may start a sequence).
        await tick();
        if (sequence === KEY.escape) await tick();
      }
    },
    async type(text) {
      for (const char of text) await harness.press(char);
    },
    async see(text, timeoutMs = 15_000) {
      const check = () => (typeof text === 'string' ? frame().includes(text) : text.test(frame()));
      await until(check, String(text), timeoutMs).catch(() => {
        throw new Error(`timed out waiting for the screen to show ${String(text)}; it shows:\n${frame()}`);
      });
      // What just appeared attaches its key handler in an effect, which React runs on a later turn.
      await tick();
      await tick();
    },
    async until(check, what, timeoutMs = 15_000) {
      await until(() => check(tui.ctx), what, timeoutMs).catch(() => {
        throw new Error(`timed out waiting for ${what}; the screen shows:\n${frame()}`);
      });
    },
    cursorName(side) {
      const state = tui.ctx.store.getState();
      return currentEntry(state.sides[side ?? state.active].pane)?.name;
    },
    async ready() {
      await harness.until(({ store }) => {
        const { left, right } = store.getState().sides;
        return left.pane.ticket !== 0 && right.pane.ticket !== 0 && !left.pane.loading && !right.pane.loading;
      }, 'both panes to list their directory');
      // ink starts reading keys once the first handler's effect has run.
      await until(() => rendered.stdin.listenerCount('readable') > 0, 'ink to read keys');
      await tick();
    },
    exited: () => exited,
    async close() {
      rendered.unmount();
      await tui.close();
    },
  };
  return harness;
}

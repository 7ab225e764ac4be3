import { execFile } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ExecutionContext } from 'ava';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { NODE_FLAGS } from '../../src/cli/node-flags.js';

/*
 * The built `ferry` in a real terminal: a detached tmux session of a fixed size, driven with
 * send-keys and read with capture-pane. Each session has its own tmux server (a socket in the
 * test's temp dir), so tests never see each other's sessions or a user's tmux, and killing the
 * server removes everything it ran. Waiting is by observation: poll the screen until it shows
 * what the test expects.
 */

const run = promisify(execFile);
const repo = fileURLToPath(new URL('../..', import.meta.url));

/** The compiled CLI; e2e tests need the build (`npm test` builds first, or `npx tsc -p .`). */
export const BUILT_CLI = join(repo, 'dist', 'src', 'cli', 'main.js');

/** Line printed in the pane once the program ends, with its exit status. */
const EXIT_MARK = '[ferry exited';

/** True when dist/ holds a build of the CLI and of the TUI. */
export function builtCliExists(): boolean {
  return existsSync(BUILT_CLI) && statSync(BUILT_CLI).isFile();
}

/** A per-test temp dir for a program in tmux: `work/` (its cwd) and a private HOME. */
export interface TuiScratch {
  dir: string;
  home: string;
  work: string;
  /** HOME, the XDG dirs inside it, no session bus (so no keychain), TERM. */
  env: Record<string, string>;
}

/** Makes a TuiScratch under `prefix`, removed after the test. */
export async function tuiScratch(t: ExecutionContext, prefix: string): Promise<TuiScratch> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const home = join(dir, 'home');
  const work = join(dir, 'work');
  await mkdir(home, { recursive: true });
  await mkdir(work, { recursive: true });
  const env = {
    HOME: home,
    XDG_CONFIG_HOME: join(home, '.config'),
    XDG_STATE_HOME: join(home, '.local', 'state'),
    XDG_DATA_HOME: join(home, '.local', 'share'),
    // No keychain here: the login dialog says so and uses the typed password once.
    DBUS_SESSION_BUS_ADDRESS: `unix:path=${join(dir, 'no-dbus')}`,
    TERM: 'xterm-256color',
  };
  return { dir, home, work, env };
}

export interface TmuxOptions {
  /** Arguments after `node dist/src/cli/main.js`. */
  args: string[];
  /** The socket and scratch files go here (a per-test temp dir). */
  dir: string;
  /** Environment of the program (HOME, XDG_* dirs, …); PATH and LANG are added when missing. */
  env: Record<string, string>;
  cwd?: string;
  width?: number;
  height?: number;
}

export interface TmuxSession {
  /** Sends tmux key names (`F5`, `Enter`, `Down`, `IC` for Insert, `C-r`, …), one press each. */
  press(...keys: string[]): Promise<void>;
  /** Types `text` literally. */
  type(text: string): Promise<void>;
  /** The screen as plain text, one line per row. */
  capture(): Promise<string>;
  /**
   * Polls the screen until `pattern` shows (a string: contained; a RegExp: matched) and returns
   * that screen; fails after `timeoutMs` (default 15 s) with the last screen in the message.
   */
  waitFor(pattern: string | RegExp, timeoutMs?: number): Promise<string>;
  /** Polls until `pattern` is no longer on the screen. */
  waitForGone(pattern: string | RegExp, timeoutMs?: number): Promise<string>;
  /** The program's exit status once it ended, else null. */
  exitStatus(): Promise<number | null>;
  /** Sends `signal` to the program (the node process, not the shell around it) by its pid. */
  signal(signal: NodeJS.Signals): Promise<void>;
  /** Kills the tmux server and everything in it. Safe to call twice. */
  kill(): Promise<void>;
}

function matches(screen: string, pattern: string | RegExp): boolean {
  return typeof pattern === 'string' ? screen.includes(pattern) : pattern.test(screen);
}

function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

let sessions = 0;

/**
 * Starts `node dist/src/cli/main.js ...args` in a detached tmux session of `width` × `height`
 * (default 160 × 45). When the program ends the pane stays, showing `[ferry exited N]`, so a
 * crash can be read from the screen.
 */
export async function startTmux(options: TmuxOptions): Promise<TmuxSession> {
  const socket = join(options.dir, `tmux-${process.pid}-${++sessions}.sock`);
  const name = `ferry-e2e-${process.pid}-${sessions}`;
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    LANG: 'C.UTF-8',
    ...options.env,
  };
  const tmux = (...args: string[]) => run('tmux', ['-S', socket, ...args], { env: { ...env, TMUX: '' }, cwd: options.cwd ?? repo });
  const program = [process.execPath, ...NODE_FLAGS, BUILT_CLI, ...options.args].map(shellQuote).join(' ');
  // The shell keeps the pane open after the program ends and says how it ended.
  const script = `${program}; status=$?; echo; echo "${EXIT_MARK} $status]"; sleep 86400`;
  await tmux(
    '-f',
    '/dev/null',
    'new-session',
    '-d',
    '-x',
    String(options.width ?? 160),
    '-y',
    String(options.height ?? 45),
    '-s',
    name,
    ...Object.entries(env).flatMap(([key, value]) => ['-e', `${key}=${value}`]),
    'sh',
    '-c',
    script,
  );
  let killed = false;

  const capture = async () => (await tmux('capture-pane', '-p', '-t', name)).stdout;
  const poll = async (want: boolean, pattern: string | RegExp, timeoutMs: number) => {
    const deadline = Date.now() + timeoutMs;
    let screen = '';
    for (;;) {
      screen = await capture();
      if (matches(screen, pattern) === want) return screen;
      if (Date.now() > deadline) {
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${want ? '' : 'the end of '}${String(pattern)}; the screen:\n${screen}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  return {
    async press(...keys) {
      for (const key of keys) await tmux('send-keys', '-t', name, key);
    },
    async type(text) {
      await tmux('send-keys', '-t', name, '-l', text);
    },
    capture,
    waitFor: (pattern, timeoutMs = 15_000) => poll(true, pattern, timeoutMs),
    waitForGone: (pattern, timeoutMs = 15_000) => poll(false, pattern, timeoutMs),
    async exitStatus() {
      const match = new RegExp(`\\${EXIT_MARK} (\\d+)\\]`).exec(await capture());
      return match ? Number(match[1]) : null;
    },
    async signal(signal) {
      const shell = Number((await tmux('list-panes', '-t', name, '-F', '#{pane_pid}')).stdout.trim());
      const children = (await run('ps', ['-o', 'pid=', '--ppid', String(shell)])).stdout.trim().split(/\s+/).filter(Boolean).map(Number);
      const program = children[0];
      if (program === undefined) throw new Error('the program is not running');
      process.kill(program, signal);
    },
    async kill() {
      if (killed) return;
      killed = true;
      await tmux('kill-server').catch(() => undefined);
    },
  };
}

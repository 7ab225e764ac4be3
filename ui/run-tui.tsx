import { render, type Instance } from 'ink';
import type { Session } from '../src/client/session.js';
import { PasswordNeededError } from '../src/credentials/connect.js';
import type { FileSystem } from '../src/fs/file-system.js';
import { LocalFileSystem } from '../src/fs/local-file-system.js';
import { RemoteFileSystem } from '../src/fs/remote-file-system.js';
import { App } from './app.js';
import { attachSession, followSession } from './commands/connect.js';
import { createTuiContext } from './commands/create-context.js';
import { defaultLoginService, offerResume, openLogin, showLoginFailure, type LoginService } from './commands/login.js';
import { askTrust } from './commands/trust.js';

export interface RunTuiOptions {
  /** Default: the local disk at the current directory. */
  left?: FileSystem;
  /** Default: `session`'s home when given, else the local disk. */
  right?: FileSystem;
  /** Where the right pane starts (default: its file system's home). */
  rightPath?: string;
  /** A logged-in session to show (it stays the caller's: it is not closed here). */
  session?: Session;
  /** Open the login dialog at the start. */
  connect?: boolean;
  /**
   * Log in to this server at the start: with the saved password if the keychain has one, else
   * through the dialog. `tls` as the URL's scheme said (absent: TLS unless loopback).
   */
  initialConnect?: { host: string; port: number; user: string; tls?: boolean };
  /** Default: hosts.json in the config dir and the OS keychain. */
  login?: LoginService;
  /** Files copied at once. Default 4. */
  concurrency?: number;
  env?: NodeJS.ProcessEnv;
}

const ALT_SCREEN_ON = '\u001B[?1049h';
const ALT_SCREEN_OFF = '\u001B[?1049l';
const SHOW_CURSOR = '\u001B[?25h';

/**
 * Runs the TUI on this terminal until the user quits (F10 / q) or the process gets SIGTERM /
 * SIGHUP. Draws on the alternate screen, so the shell's screen comes back as it was; the
 * terminal is restored however it ends. On the way out the transfer queue is stopped with its
 * journal written (unfinished copies are offered again next time), sessions opened by the login
 * dialog are closed, and temp files removed.
 */
export async function runTui(options: RunTuiOptions = {}): Promise<void> {
  const env = options.env ?? process.env;
  const login = options.login ?? defaultLoginService();
  const left = options.left ?? new LocalFileSystem();
  const right = options.right ?? (options.session ? new RemoteFileSystem(options.session) : new LocalFileSystem());
  const stdout = process.stdout;

  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => (finish = resolve));
  let instance: Instance | undefined;
  let draw: () => void = () => {};

  /** Takes the TUI down while `run` has the terminal (an editor), then draws it again. */
  const suspend = async <T,>(run: () => Promise<T>): Promise<T> => {
    const current = instance;
    instance = undefined;
    current?.unmount();
    await current?.waitUntilExit().catch(() => undefined);
    stdout.write(ALT_SCREEN_OFF + SHOW_CURSOR);
    // Nothing of ours may read the terminal while the editor does.
    process.stdin.pause();
    try {
      return await run();
    } finally {
      stdout.write(ALT_SCREEN_ON);
      draw();
    }
  };

  const tui = await createTuiContext({ left, right, ...(options.rightPath ? { rightPath: options.rightPath } : {}), link: options.session?.state ?? null, concurrency: options.concurrency ?? 4, env, suspend, exit: () => finish() });
  const { ctx } = tui;
  const unfollow = options.session ? followSession(ctx, options.session) : () => {};
  draw = () => {
    instance = render(<App ctx={ctx} queueStore={tui.queueStore} output={tui.output} login={login} />, { exitOnCtrlC: false, patchConsole: true });
  };
  const onSignal = () => finish();
  process.once('SIGTERM', onSignal);
  process.once('SIGHUP', onSignal);
  // Should the process end some other way (a crash), the shell still gets its screen back.
  const onExit = () => stdout.write(ALT_SCREEN_OFF + SHOW_CURSOR);
  process.once('exit', onExit);

  stdout.write(ALT_SCREEN_ON);
  try {
    draw();
    if (options.initialConnect) void connectAtStart(options.initialConnect);
    else if (options.connect) openLogin(ctx);
    else void offerResume(ctx);
    await finished;
  } finally {
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onSignal);
    process.off('exit', onExit);
    unfollow();
    const current = instance;
    instance = undefined;
    current?.unmount();
    await current?.waitUntilExit().catch(() => undefined);
    stdout.write(ALT_SCREEN_OFF + SHOW_CURSOR);
    await tui.close();
  }

  /** `ferry connect user@host:port`: the saved password logs in at once; without one the dialog asks. */
  async function connectAtStart(target: NonNullable<RunTuiOptions['initialConnect']>): Promise<void> {
    ctx.store.dispatch({ type: 'message', text: `connecting to ${target.user}@${target.host}:${target.port}…`, tone: 'progress' });
    try {
      const session = await login.connect({
        ...target,
        trust: { ask: (peer, hostPort) => askTrust(ctx, peer, hostPort) },
        onNotice: (text) => ctx.store.dispatch({ type: 'message', text, tone: 'error' }),
      });
      ctx.store.dispatch({ type: 'clear-message' });
      attachSession(ctx, session);
      await offerResume(ctx);
    } catch (error) {
      ctx.store.dispatch({ type: 'clear-message' });
      // No saved password (or no keychain to hold one, which the dialog explains) is the normal
      // case, not an error worth a red line; a saved password the server refused is.
      if (error instanceof PasswordNeededError && error.why !== 'saved-refused') openLogin(ctx, target);
      else showLoginFailure(ctx, target, error);
    }
  }
}

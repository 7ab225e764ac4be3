import type { Logger } from 'pino';
import { FerryError } from '../../src/protocol/errors.js';
import type { ServerEvent } from '../../src/protocol/messages.js';
import type { ExecOptions } from '../options.js';
import type { DirectoryHandle, UserSpace } from '../storage/storage.js';
import type { UserStore } from '../users/types.js';
import { resolveProgram } from './allowlist.js';
import { checkArguments } from './argument-paths.js';
import { ExecIdentities } from './exec-identity.js';
import { ExecRun } from './exec-run.js';

/** Refusals one session logs in a minute; the rest are counted. */
const REFUSALS_LOGGED_PER_MINUTE = 10;
/** What a refusal's log line keeps of the argv: a client controls it, and it may be 64 KiB. */
const LOGGED_ARGS = 16;
const LOGGED_ARG_CHARS = 200;

function shorten(text: string): string {
  return text.length > LOGGED_ARG_CHARS ? `${text.slice(0, LOGGED_ARG_CHARS)}…(${text.length} chars)` : text;
}

function argvForLog(argv: readonly string[]): string[] {
  const kept = argv.slice(0, LOGGED_ARGS).map(shorten);
  if (argv.length > LOGGED_ARGS) kept.push(`…(${argv.length - LOGGED_ARGS} more)`);
  return kept;
}

export interface SessionExecsContext {
  options: ExecOptions;
  users: UserStore;
  log: Logger;
  sendFrame(frame: Buffer): Promise<void>;
  sendEvent(event: ServerEvent): void;
}

/**
 * The remote commands of one session: the checks before a program runs (feature on, the user's
 * permission, the allowlist, the working directory inside the jail, the per-session limit), the
 * running ones by stream id, cancel, and killing them all when the session ends. Every refusal
 * is logged (at warn: someone tried to run something they may not).
 */
export class SessionExecs {
  readonly #ctx: SessionExecsContext;
  readonly #runs = new Map<number, ExecRun>();
  /** Starts being checked or spawned, counted against the limit before they run. */
  #starting = 0;
  #closed = false;
  #refusalWindowStart = 0;
  #refusalsLogged = 0;
  #refusalsUnlogged = 0;

  constructor(ctx: SessionExecsContext) {
    this.#ctx = ctx;
  }

  /** Commands running now. */
  get running(): number {
    return this.#runs.size;
  }

  /** Process ids of the commands running now. */
  get pids(): number[] {
    return [...this.#runs.values()].flatMap((run) => (run.pid === undefined ? [] : [run.pid]));
  }

  /**
   * Checks and spawns `argv` in the wire directory `cwd` of `space` as stream `id`. Resolves
   * once the process runs; the caller sends the reply and then calls `run.start()`. EACCES when
   * remote commands are off, the user lacks the permission or the program is not allowed (also
   * for a cwd outside the home); ENOENT / ENOTDIR for a bad cwd; ELIMIT past maxPerSession.
   */
  async start(id: number, space: UserSpace, argv: string[], cwd: string): Promise<ExecRun> {
    const { options, users } = this.#ctx;
    const refuse = (error: FerryError): never => {
      this.#logRefusal({ argv: argvForLog(argv), argc: argv.length, cwd: shorten(cwd), code: error.code, reason: error.message });
      throw error;
    };
    if (options.allow.length === 0) refuse(new FerryError('EACCES', 'remote commands are not enabled on this server'));
    // Read now, not at login: `ferry user mod --no-exec` applies to running sessions at once.
    if (users.get(space.user)?.exec !== true) {
      refuse(new FerryError('EACCES', `user ${space.user} may not run remote commands (the administrator can allow it: ferry user mod ${space.user} --exec)`));
    }
    if (this.#runs.size + this.#starting >= options.maxPerSession) {
      refuse(new FerryError('ELIMIT', `at most ${options.maxPerSession} remote commands may run at once on one session`));
    }
    this.#starting++;
    try {
      let program: string;
      let dir: DirectoryHandle;
      try {
        program = await resolveProgram(argv[0]!, options.allow);
        dir = await space.openDirectory(cwd);
      } catch (error) {
        if (error instanceof FerryError) refuse(error);
        throw error;
      }
      let run: ExecRun;
      try {
        await checkArguments(dir!, argv).catch((error: unknown) => (error instanceof FerryError ? refuse(error) : Promise.reject(error)));
        const identity = options.isolation === 'user' && ExecIdentities.canSwitch() ? await ExecIdentities.forHome(dir!.home, options.uidBase).identityOf(dir!.home) : undefined;
        if (identity !== undefined) dir!.ownerChanged();
        if (this.#closed) throw new FerryError('ECANCELED', 'the session ended');
        // The working directory is the descriptor checked above, held open until the child runs.
        run = await ExecRun.spawn(id, { program: program!, argv, cwd: dir!.path, home: dir!.home, timeoutMs: options.timeoutMs, maxOutputBytes: options.maxOutputBytes, identity }, this.#ctx);
      } finally {
        await dir!.close();
      }
      this.#runs.set(id, run);
      void run.done.then(() => this.#runs.delete(id));
      if (this.#closed) {
        run.kill('canceled');
        run.start();
      }
      return run;
    } finally {
      this.#starting--;
    }
  }

  /**
   * Logs a refusal at warn, at most REFUSALS_LOGGED_PER_MINUTE a minute: someone trying again and
   * again must not be able to fill the log. What was left out is counted in the next line logged.
   */
  #logRefusal(fields: Record<string, unknown>): void {
    const now = Date.now();
    if (now - this.#refusalWindowStart >= 60_000) {
      this.#refusalWindowStart = now;
      this.#refusalsLogged = 0;
    }
    if (this.#refusalsLogged >= REFUSALS_LOGGED_PER_MINUTE) {
      this.#refusalsUnlogged++;
      return;
    }
    this.#refusalsLogged++;
    const unlogged = this.#refusalsUnlogged;
    this.#refusalsUnlogged = 0;
    this.#ctx.log.warn({ ...fields, ...(unlogged > 0 ? { unloggedRefusals: unlogged } : {}) }, 'exec refused');
  }

  /** Kills the command of `stream` (reason 'canceled'); EINVAL when no such command runs. */
  cancel(stream: number): void {
    const run = this.#runs.get(stream);
    if (!run) throw new FerryError('EINVAL', `no running remote command with stream id ${stream}`);
    run.kill('canceled');
  }

  /** Kills every command (the session is ending) and resolves once all have ended. */
  async closeAll(): Promise<void> {
    this.#closed = true;
    const runs = [...this.#runs.values()];
    for (const run of runs) run.kill('canceled');
    await Promise.all(runs.map((run) => run.done));
  }
}

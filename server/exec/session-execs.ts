import type { Logger } from 'pino';
import { FerryError } from '../../src/protocol/errors.js';
import type { ServerEvent } from '../../src/protocol/messages.js';
import type { ExecOptions } from '../options.js';
import type { UserSpace } from '../storage/storage.js';
import type { UserStore } from '../users/types.js';
import { resolveProgram } from './allowlist.js';
import { ExecRun } from './exec-run.js';

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
    const { options, users, log } = this.#ctx;
    const refuse = (error: FerryError): never => {
      log.warn({ argv, cwd, code: error.code, reason: error.message }, 'exec refused');
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
      let dir: string;
      let home: string;
      try {
        program = await resolveProgram(argv[0]!, options.allow);
        [dir, home] = await Promise.all([space.realDirectory(cwd), space.realDirectory('/')]);
      } catch (error) {
        if (error instanceof FerryError) refuse(error);
        throw error;
      }
      if (this.#closed) throw new FerryError('ECANCELED', 'the session ended');
      const run = await ExecRun.spawn(id, { program: program!, argv, cwd: dir!, home: home!, timeoutMs: options.timeoutMs, maxOutputBytes: options.maxOutputBytes }, this.#ctx);
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

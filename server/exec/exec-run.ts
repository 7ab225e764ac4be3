import { spawn, type ChildProcess } from 'node:child_process';
import type { Readable } from 'node:stream';
import type { Logger } from 'pino';
import { FerryError } from '../../src/protocol/errors.js';
import { encodeFrame, FrameKind } from '../../src/protocol/frame.js';
import type { ExecEndReason, ServerEvent } from '../../src/protocol/messages.js';
import { SAFE_PATH_DIRS } from './allowlist.js';

/** Listens for 'readable' without reading: see the ExecRun constructor. */
function holdOutput(): void {}

/** After the program exits, how long stragglers holding its pipes get before the pipes are cut. */
const PIPE_GRACE_MS = 2000;

/** What a run needs from its session. */
export interface ExecRunContext {
  /** Queues one binary frame; resolves once the socket has room again, rejects when it is gone. */
  sendFrame(frame: Buffer): Promise<void>;
  sendEvent(event: ServerEvent): void;
  log: Logger;
}

export interface ExecSpec {
  /** Absolute path of the executable (from resolveProgram). */
  program: string;
  /** As the client sent it; argv[0] is what the program sees as its name. */
  argv: string[];
  /** Real absolute directory inside the user's home. */
  cwd: string;
  /** Real absolute path of the user's home (HOME). */
  home: string;
  timeoutMs: number;
  maxOutputBytes: number;
  /** The OS identity to run as; undefined = the server's own. */
  identity?: { uid: number; gid: number };
}

/**
 * The whole environment of a remote command: a fixed PATH, the user's home, a UTF-8 C locale.
 * Nothing of the server's own environment (secrets, proxies, LD_*) leaks through.
 */
export function scrubbedEnv(home: string): Record<string, string> {
  return { PATH: SAFE_PATH_DIRS.join(':'), HOME: home, LANG: 'C.UTF-8' };
}

/**
 * One running remote command: spawned without a shell in its own process group, its stdout and
 * stderr sent as EXEC_STDOUT / EXEC_STDERR frames as they come (each kind with its own offsets),
 * then one `exec.exit` event. The whole group is killed on timeout, past the output cap, on
 * cancel, when the session ends, and once the program itself has exited (so nothing it started
 * in the background outlives it).
 */
export class ExecRun {
  readonly id: number;
  readonly startedAt = Date.now();
  /** Resolves once `exec.exit` has been sent (or could not be, the session being gone). */
  readonly done: Promise<void>;
  readonly #child: ChildProcess;
  readonly #spec: ExecSpec;
  readonly #ctx: ExecRunContext;
  #reason: ExecEndReason | undefined;
  #outputBytes = 0;
  #offsets = { stdout: 0, stderr: 0 };
  #timer: NodeJS.Timeout | undefined;
  #graceTimer: NodeJS.Timeout | undefined;
  #exited = false;
  #started = false;
  /** The process ended and its pipes closed (maybe before start()). */
  #closed: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  #resolveDone!: () => void;

  private constructor(id: number, child: ChildProcess, spec: ExecSpec, ctx: ExecRunContext) {
    this.id = id;
    this.#child = child;
    this.#spec = spec;
    this.#ctx = ctx;
    this.done = new Promise((resolve) => (this.#resolveDone = resolve));
    // Listening from the start: a program may end before start() (its output waits in the pipes).
    // A 'readable' listener keeps the output there: without one, Node's child_process resumes
    // (and so throws away) unread output when the program exits.
    child.stdout?.on('readable', holdOutput);
    child.stderr?.on('readable', holdOutput);
    child.on('error', (error) => this.#ctx.log.warn({ err: error, stream: this.id }, 'exec process error'));
    child.once('exit', () => {
      // The program is done; whatever it left running in its group goes with it.
      this.#killGroup();
      this.#exited = true;
      clearTimeout(this.#timer);
      this.#graceTimer = setTimeout(() => {
        child.stdout?.destroy();
        child.stderr?.destroy();
      }, PIPE_GRACE_MS);
      this.#graceTimer.unref();
    });
    child.once('close', (code, signal) => {
      // exec.exit must follow the reply and every frame, so it waits for start().
      this.#closed = { code, signal };
      if (this.#started) this.#onClose(code, signal);
    });
  }

  /** The process id (for logs and tests). */
  get pid(): number | undefined {
    return this.#child.pid;
  }

  /**
   * Spawns the program and resolves once it runs; its output waits (unread) until start().
   * Rejects with ENOENT / EACCES when the system cannot execute it.
   */
  static spawn(id: number, spec: ExecSpec, ctx: ExecRunContext): Promise<ExecRun> {
    return new Promise((resolve, reject) => {
      const child = spawn(spec.program, spec.argv.slice(1), {
        argv0: spec.argv[0],
        cwd: spec.cwd,
        env: scrubbedEnv(spec.home),
        shell: false,
        // Its own process group, so that killing it reaches everything it started.
        detached: true,
        stdio: ['ignore', 'pipe', 'pipe'],
        windowsHide: true,
        ...(spec.identity ?? {}),
      });
      const onError = (error: NodeJS.ErrnoException): void => {
        child.off('spawn', onSpawn);
        const name = JSON.stringify(spec.argv[0]);
        if (error.code === 'ENOENT') reject(new FerryError('ENOENT', `cannot run ${name}: not found`));
        else if ((error.code === 'EACCES' || error.code === 'EPERM') && spec.identity !== undefined) {
          // Usually a program in a directory only the server's user may enter (mkdtemp, /root).
          reject(new FerryError('EACCES', `cannot run ${name}: the user's own uid may not execute it (the program and every directory above it must be executable by others)`));
        } else if (error.code === 'EACCES' || error.code === 'EPERM') reject(new FerryError('EACCES', `cannot run ${name}: not executable`));
        else reject(error);
      };
      const onSpawn = (): void => {
        child.off('error', onError);
        resolve(new ExecRun(id, child, spec, ctx));
      };
      child.once('error', onError);
      child.once('spawn', onSpawn);
    });
  }

  /** Starts reading output and the timeout clock. Call after the `exec.start` reply is sent. */
  start(): void {
    if (this.#started) return;
    this.#started = true;
    const child = this.#child;
    this.#pipe(child.stdout!, 'stdout');
    this.#pipe(child.stderr!, 'stderr');
    if (this.#closed) {
      this.#onClose(this.#closed.code, this.#closed.signal);
      return;
    }
    if (!this.#exited) {
      this.#timer = setTimeout(() => this.kill('timeout'), this.#spec.timeoutMs);
      this.#timer.unref();
    }
  }

  /**
   * Kills the process group; the first reason given is the one reported. Once the program has
   * exited by itself nothing is killed any more (its group went with it), and only a cut of the
   * output still left in the pipes is worth reporting.
   */
  kill(reason: ExecEndReason): void {
    if (this.#exited) {
      if (reason === 'output-limit') this.#reason ??= reason;
      return;
    }
    this.#reason ??= reason;
    this.#killGroup();
  }

  #killGroup(): void {
    const pid = this.#child.pid;
    // After the exit the group id may no longer be ours to signal.
    if (pid === undefined || this.#exited) return;
    try {
      process.kill(-pid, 'SIGKILL');
    } catch (error) {
      // ESRCH: the group is gone already.
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') this.#ctx.log.warn({ err: error, pid }, 'could not kill a remote command');
    }
    // The group kill misses nothing but a leader that already left its group; this covers it.
    this.#child.kill('SIGKILL');
  }

  #pipe(stream: Readable, kind: 'stdout' | 'stderr'): void {
    const frameKind = kind === 'stdout' ? FrameKind.EXEC_STDOUT : FrameKind.EXEC_STDERR;
    // Once 'readable' has no listener left, the 'data' listener below makes the stream flow.
    stream.off('readable', holdOutput);
    stream.on('data', (chunk: Buffer) => {
      const room = Math.max(0, this.#spec.maxOutputBytes - this.#outputBytes);
      if (room === 0) {
        if (chunk.length > 0) this.kill('output-limit');
        return;
      }
      const data = chunk.length > room ? chunk.subarray(0, room) : chunk;
      if (data.length > 0) {
        const frame = encodeFrame({ kind: frameKind, stream: this.id, offset: this.#offsets[kind] }, data);
        this.#offsets[kind] += data.length;
        this.#outputBytes += data.length;
        // A slow client must not make the server hold the output: stop reading until the socket drains.
        stream.pause();
        this.#ctx.sendFrame(frame).then(
          () => stream.resume(),
          () => {
            // The socket is gone: end the program and drain its pipes so the run can finish.
            this.kill('canceled');
            stream.resume();
          },
        );
      }
      if (chunk.length > room) this.kill('output-limit');
    });
    // The pipe may be cut (destroy) after the program exited; that is not an error to report.
    stream.on('error', () => {});
  }

  #onClose(code: number | null, signal: NodeJS.Signals | null): void {
    clearTimeout(this.#timer);
    clearTimeout(this.#graceTimer);
    this.#ctx.sendEvent({
      event: 'exec.exit',
      stream: this.id,
      code,
      signal,
      ...(this.#reason === undefined ? {} : { reason: this.#reason }),
    });
    this.#ctx.log.info(
      {
        stream: this.id,
        argv: this.#spec.argv,
        cwd: this.#spec.cwd,
        pid: this.#child.pid,
        exitCode: code,
        signal,
        reason: this.#reason,
        bytes: this.#outputBytes,
        durationMs: Date.now() - this.startedAt,
      },
      'exec',
    );
    this.#resolveDone();
  }
}

import { FerryError, FrameKind, type ExecEndReason } from '../protocol/index.js';
import type { Session } from './session.js';

export interface RunRemoteOptions {
  /** Program and arguments, passed to the program as they are (no shell on either side). */
  argv: string[];
  /** Wire path of the directory to run in. Default '/' (the home). */
  cwd?: string;
  /** Output as it arrives. The buffer is a view into the received message: copy it to keep it. */
  onStdout?(data: Buffer): void;
  onStderr?(data: Buffer): void;
  /** Aborting asks the server to kill the command; the result then says reason 'canceled'. */
  signal?: AbortSignal;
  /** Called with the stream id once the command runs. */
  onStart?(stream: number): void;
}

export interface RemoteResult {
  /** Exit status, or null when a signal ended the program. */
  code: number | null;
  /** Name of the signal that ended it (e.g. 'SIGKILL'), or null. */
  signal: string | null;
  /** Set when the server ended it: timeout, output past the cap, or a cancel. */
  reason?: ExecEndReason;
}

/**
 * Runs an allowlisted program on the server and streams its output to the callbacks, in the order
 * it was produced per stream. Resolves once the program has ended (after its last output). A
 * refusal rejects with the server's error (EACCES: not allowed; ELIMIT: too many running;
 * ENOENT/ENOTDIR: bad cwd). A dropped connection rejects with ENETWORK: the server kills the
 * command when its session ends, and it is not started again (a command is not idempotent).
 */
export async function runRemote(session: Session, options: RunRemoteOptions): Promise<RemoteResult> {
  const { signal } = options;
  const { stream } = await session.request('exec.start', { argv: options.argv, cwd: options.cwd ?? '/' }, signal ? { signal } : {});
  const generation = session.generation;
  options.onStart?.(stream);
  return new Promise<RemoteResult>((resolve, reject) => {
    /** Bytes received so far per output kind: each frame must start where the last one ended. */
    const expected = new Map<number, number>([
      [FrameKind.EXEC_STDOUT, 0],
      [FrameKind.EXEC_STDERR, 0],
    ]);
    let settled = false;
    // onStream hands over frames and events that came before it was called, synchronously: the
    // exit may be among them, before the unsubscribe function exists.
    let unsubscribe: (() => void) | undefined;
    const finish = (outcome: () => void): void => {
      if (settled) return;
      settled = true;
      unsubscribe?.();
      signal?.removeEventListener('abort', onAbort);
      outcome();
    };
    const onAbort = (): void => {
      // The answer comes as exec.exit with reason 'canceled'; a cancel that races the exit is EINVAL.
      session.request('exec.cancel', { stream }, { generation }).catch(() => {});
    };
    const stop = session.onStream(stream, {
      frame(frame) {
        const at = expected.get(frame.kind);
        if (at === undefined) {
          finish(() => reject(new FerryError('EPROTO', `frame of kind ${frame.kind} on command stream ${stream}`)));
          return;
        }
        if (frame.offset !== at) {
          finish(() => reject(new FerryError('EPROTO', `command output at offset ${frame.offset}, expected ${at}`)));
          return;
        }
        expected.set(frame.kind, at + frame.payload.length);
        if (frame.kind === FrameKind.EXEC_STDOUT) options.onStdout?.(frame.payload);
        else options.onStderr?.(frame.payload);
      },
      event(event) {
        if (event.event !== 'exec.exit') return;
        const result: RemoteResult = { code: event.code, signal: event.signal };
        if (event.reason !== undefined) result.reason = event.reason;
        finish(() => resolve(result));
      },
      lost(error) {
        finish(() => reject(new FerryError('ENETWORK', `the connection dropped while ${options.argv[0]} ran (the server ended it): ${error.message}`)));
      },
    });
    if (settled) {
      stop();
      return;
    }
    unsubscribe = stop;
    if (signal?.aborted) onAbort();
    else signal?.addEventListener('abort', onAbort, { once: true });
  });
}

import { constants } from 'node:os';
import type { Command } from 'commander';
import { runRemote, type RemoteResult } from '../client/exec.js';
import type { Session } from '../client/session.js';
import { FerryError } from '../protocol/index.js';
import type { ExitCode } from './exit-codes.js';
import { withSession, type RemoteFlags } from './remote-command.js';

/** A shell's status for Ctrl-C: 128 + SIGINT. */
const INTERRUPTED = 128 + constants.signals.SIGINT;

/**
 * The status `ferry exec` exits with: the remote program's own exit code, 128 + the signal's
 * number when a signal ended it (as a shell reports it), 130 when we canceled it with Ctrl-C.
 */
export function remoteExitStatus(result: RemoteResult, interrupted: boolean): number {
  if (interrupted && result.reason === 'canceled') return INTERRUPTED;
  if (result.code !== null) return result.code;
  const number = result.signal === null ? undefined : constants.signals[result.signal as NodeJS.Signals];
  return number === undefined ? 1 : 128 + number;
}

/** What the user is told when the server, not the program, ended the command. */
export function endReasonText(result: RemoteResult): string | undefined {
  switch (result.reason) {
    case 'timeout':
      return 'the remote command was killed: it ran longer than the server allows';
    case 'output-limit':
      return 'the remote command was killed: it printed more output than the server allows (what came is shown)';
    case 'canceled':
      return 'the remote command was canceled';
    default:
      return undefined;
  }
}

/** `ferry exec URL -- PROGRAM ARGS…`: runs an allowlisted program on the server. */
export function registerExecCommand(program: Command, setExit: (code: ExitCode) => void): void {
  program
    .command('exec')
    .summary('run an allowed program on the server')
    .description(
      'Run a program the server allows (its administrator lists them) in the directory the URL names, and stream its ' +
        'output here as it comes. Nothing goes through a shell: each argument reaches the program as it is. Exits with ' +
        "the program's exit status (128 + n when signal n ended it); Ctrl-C kills it on the server.",
    )
    .argument('<url>', 'ferry://user@host:port/dir (the directory to run in; / is your home)')
    .argument('<command...>', 'the program and its arguments; put -- before them when any starts with -')
    .option('--password-stdin', 'read the password from standard input')
    .option('--fingerprint <sha256>', "the TLS server's certificate fingerprint (SHA256:…, from ferry serve --fingerprint); pinned in known_hosts once the server shows it")
    .addHelpText('after', '\nExample:\n  ferry exec ferry://alice@files.example/photos -- sha256sum trip.jpg\n')
    .action(async (url: string, argv: string[], flags: RemoteFlags) => {
      const { result, interrupted } = await withSession(url, flags, (session, arg) => runInForeground(session, argv, arg.url.path));
      const reason = endReasonText(result);
      if (reason !== undefined && !interrupted) process.stderr.write(`ferry: ${reason}\n`);
      // The remote program's own status passes through, whatever number it is.
      setExit(remoteExitStatus(result, interrupted) as ExitCode);
    });
}

/** Runs the command with our stdout/stderr as its output; the first Ctrl-C cancels it remotely, a second one gives up. */
async function runInForeground(session: Session, argv: string[], cwd: string): Promise<{ result: RemoteResult; interrupted: boolean }> {
  const controller = new AbortController();
  let interrupted = false;
  const onSigint = (): void => {
    if (interrupted) process.exit(INTERRUPTED);
    interrupted = true;
    controller.abort();
  };
  process.on('SIGINT', onSigint);
  let paused = false;
  // A slow reader of our output (a pager, a pipe) slows the server down instead of filling memory.
  const write = (out: NodeJS.WriteStream, data: Buffer): void => {
    if (out.write(Buffer.from(data)) || paused) return;
    paused = true;
    session.pauseIncoming();
    out.once('drain', () => {
      paused = false;
      session.resumeIncoming();
    });
  };
  try {
    const result = await runRemote(session, {
      argv,
      cwd,
      signal: controller.signal,
      onStdout: (data) => write(process.stdout, data),
      onStderr: (data) => write(process.stderr, data),
    });
    return { result, interrupted };
  } catch (error) {
    // Ctrl-C before the server answered the start: the client cancels whatever it started.
    if (interrupted && error instanceof FerryError && error.code === 'ECANCELED') return { result: { code: null, signal: null, reason: 'canceled' }, interrupted };
    throw error;
  } finally {
    process.off('SIGINT', onSigint);
  }
}

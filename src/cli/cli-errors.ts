import { FerryError } from '../protocol/index.js';
import { toFerryError } from '../transfer/errors.js';
import { EXIT, exitCodeFor, type ExitCode } from './exit-codes.js';

/** Wrong use of the command line: exits with EXIT.USAGE (2). */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * Prints `ferry: <message> (<CODE>)` (or `ferry: <message>` for usage errors, with a hint) on
 * stderr and returns the exit status. Never a stack trace: an unexpected error is shown by its
 * message as EINTERNAL.
 */
export function reportError(error: unknown, stderr: NodeJS.WritableStream = process.stderr): ExitCode {
  if (error instanceof UsageError) {
    stderr.write(`ferry: ${error.message}\nTry 'ferry --help'.\n`);
    return EXIT.USAGE;
  }
  const ferry = error instanceof FerryError ? error : toFerryError(error);
  stderr.write(`ferry: ${ferry.message} (${ferry.code})\n`);
  return exitCodeFor(ferry.code);
}

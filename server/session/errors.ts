import type { Logger } from 'pino';
import { FerryError } from '../../src/protocol/errors.js';

/**
 * The boundary rule for errors: a FerryError crosses the wire as it is; anything else is a bug or
 * an unexpected system failure, so it is logged with its stack and the peer only learns
 * EINTERNAL (never the message, which may hold paths or internals).
 */
export function asFerryError(error: unknown, log: Logger, context: Record<string, unknown> = {}): FerryError {
  if (error instanceof FerryError) return error;
  log.error({ ...context, err: error }, 'internal error');
  return new FerryError('EINTERNAL');
}

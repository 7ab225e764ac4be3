import { fromNodeError } from '../fs/node-errors.js';
import { FerryError, type ErrorCode } from '../protocol/index.js';

/** Errors worth another try: the network or a busy server, not the file or the request. */
export const TRANSIENT_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['ENETWORK', 'ETIMEDOUT', 'EBUSY']);

/**
 * Any thrown value as a FerryError: ours pass through, Node's errno errors keep their meaning
 * (ENOENT stays ENOENT), anything else is EINTERNAL with its message.
 */
export function toFerryError(error: unknown): FerryError {
  return fromNodeError(error);
}

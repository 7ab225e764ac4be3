import { ERRORS, FerryError, type ErrorCode } from '../protocol/index.js';

/** Errors worth another try: the network or a busy server, not the file or the request. */
export const TRANSIENT_CODES: ReadonlySet<ErrorCode> = new Set<ErrorCode>(['ENETWORK', 'ETIMEDOUT', 'EBUSY']);

const OS_CODES: Readonly<Record<string, ErrorCode>> = {
  ENOENT: 'ENOENT',
  EEXIST: 'EEXIST',
  EACCES: 'EACCES',
  EPERM: 'EACCES',
  EROFS: 'EACCES',
  ENOTDIR: 'ENOTDIR',
  EISDIR: 'EISDIR',
  ENOTEMPTY: 'ENOTEMPTY',
  ENOSPC: 'ENOSPC',
  EDQUOT: 'EQUOTA',
  EBUSY: 'EBUSY',
  ETIMEDOUT: 'ETIMEDOUT',
  ECONNREFUSED: 'ENETWORK',
  ECONNRESET: 'ENETWORK',
  EPIPE: 'ENETWORK',
};

/**
 * Any thrown value as a FerryError: ours pass through, Node's errno errors keep their meaning
 * (ENOENT stays ENOENT), anything else is EINTERNAL with its message.
 */
export function toFerryError(error: unknown): FerryError {
  if (error instanceof FerryError) return error;
  const errno = (error as NodeJS.ErrnoException | undefined)?.code;
  const code = errno === undefined ? undefined : OS_CODES[errno];
  const file = (error as NodeJS.ErrnoException | undefined)?.path;
  if (code !== undefined && file !== undefined) return new FerryError(code, `${ERRORS[code]}: ${file}`);
  const message = error instanceof Error ? error.message : String(error);
  return new FerryError(code ?? 'EINTERNAL', message);
}

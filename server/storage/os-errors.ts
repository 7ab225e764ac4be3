import { FerryError, type ErrorCode } from '../../src/protocol/index.js';

/**
 * The one table from OS errno names to wire codes. Anything not listed is a server fault
 * (EINTERNAL), never a message built from the OS text, which would leak server paths.
 */
const OS_TO_WIRE: Record<string, ErrorCode> = {
  ENOENT: 'ENOENT',
  EEXIST: 'EEXIST',
  ENOTDIR: 'ENOTDIR',
  EISDIR: 'EISDIR',
  ENOTEMPTY: 'ENOTEMPTY',
  EACCES: 'EACCES',
  EPERM: 'EACCES',
  EROFS: 'EACCES',
  // Only O_NOFOLLOW meeting a symlink (or a loop) produces ELOOP here: a link swapped in after the
  // jail check, which is exactly what the jail refuses.
  ELOOP: 'EACCES',
  ENOSPC: 'ENOSPC',
  EDQUOT: 'ENOSPC',
  ENAMETOOLONG: 'ELIMIT',
  EMLINK: 'ELIMIT',
  EFBIG: 'ELIMIT',
  // rename of a directory into itself.
  EINVAL: 'EINVAL',
};

/** Reads the errno name (`code`) of a Node system error, if it is one. */
export function osErrorCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}

/**
 * Turns whatever a file system call threw into a FerryError. `wirePath` names the path as the user
 * sent it, so the message never shows where the home lives on the server. A FerryError passes
 * through unchanged; an unknown error becomes EINTERNAL with the original kept as `cause` for the log.
 */
export function toFerryError(error: unknown, wirePath?: string): FerryError {
  if (error instanceof FerryError) return error;
  const code = OS_TO_WIRE[osErrorCode(error) ?? ''];
  if (code === undefined) {
    const internal = new FerryError('EINTERNAL');
    internal.cause = error;
    return internal;
  }
  const base = new FerryError(code).message;
  return new FerryError(code, wirePath === undefined ? base : `${base}: ${wirePath}`);
}

/** True when `error` is a Node system error with one of the given errno names. */
export function isOsError(error: unknown, ...codes: string[]): boolean {
  const code = osErrorCode(error);
  return code !== undefined && codes.includes(code);
}

import { FerryError, type ErrorCode } from '../protocol/index.js';

/** node:fs error codes and the FerryError codes they read as. */
const NODE_CODES: Record<string, ErrorCode> = {
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
  EFBIG: 'ELIMIT',
  ENAMETOOLONG: 'ELIMIT',
  ELOOP: 'EINVAL',
  EINVAL: 'EINVAL',
  EXDEV: 'ENOTSUP',
  ENOTSUP: 'ENOTSUP',
  EOPNOTSUPP: 'ENOTSUP',
  EBUSY: 'EBUSY',
  EMFILE: 'ELIMIT',
  ENFILE: 'ELIMIT',
  ETIMEDOUT: 'ETIMEDOUT',
  ECONNREFUSED: 'ENETWORK',
  ECONNRESET: 'ENETWORK',
  EPIPE: 'ENETWORK',
};

/**
 * Turns an error thrown by node:fs into a FerryError with a stable code and a message that names
 * the path ("ENOENT: no such file or directory: /tmp/x" becomes ENOENT "/tmp/x: no such file or
 * directory"). A FerryError passes through unchanged; an unknown error becomes EINTERNAL.
 */
export function fromNodeError(error: unknown, path?: string): FerryError {
  if (error instanceof FerryError) return error;
  const nodeError = error as NodeJS.ErrnoException;
  const code = typeof nodeError?.code === 'string' ? NODE_CODES[nodeError.code] : undefined;
  const text = nodeError?.message ?? String(error);
  // node's message is "CODE: description, syscall 'path'"; keep the description only.
  const description = /^[A-Z]+: ([^,]+)/.exec(text)?.[1] ?? text;
  const where = path ?? nodeError?.path;
  const message = where === undefined ? description : `${where}: ${description}`;
  return new FerryError(code ?? 'EINTERNAL', message);
}

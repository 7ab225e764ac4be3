/**
 * The one table of error codes that cross the wire. Codes are stable: clients branch on them,
 * scripts see them as exit codes, and docs/protocol.md lists every one. Messages are the default
 * human text; a reply may carry a more specific message for the same code.
 */
export const ERRORS = {
  ENOENT: 'no such file or directory',
  EEXIST: 'file already exists',
  EACCES: 'access denied',
  ENOTDIR: 'not a directory',
  EISDIR: 'is a directory',
  ENOTEMPTY: 'directory not empty',
  EINVAL: 'invalid argument',
  EQUOTA: 'disk quota exceeded',
  ENOSPC: 'no space left on the server',
  EINTEGRITY: 'checksum mismatch',
  EOFFSET: 'unexpected offset',
  ECHANGED: 'the file changed since the transfer started',
  EBUSY: 'server busy, try again later',
  EAUTH: 'invalid user name or password',
  ENOTAUTH: 'not logged in',
  ETHROTTLE: 'too many failed attempts, try again later',
  EPENDING: 'account is waiting for approval',
  EPROTO: 'protocol error',
  ELIMIT: 'limit exceeded',
  ENOTSUP: 'operation not supported',
  ETIMEDOUT: 'timed out',
  ECANCELED: 'canceled',
  ENETWORK: 'connection lost',
  EIDENTITY: "the server's identity is unknown or has changed",
  EINTERNAL: 'internal server error',
} as const;

export type ErrorCode = keyof typeof ERRORS;

export function isErrorCode(value: unknown): value is ErrorCode {
  return typeof value === 'string' && Object.hasOwn(ERRORS, value);
}

/** The error shape carried in replies and events: `{code, message}` plus optional details. */
export interface WireError {
  code: ErrorCode;
  message: string;
  /** For EOFFSET: the offset the server expects. */
  expected?: number;
  /** For ETHROTTLE / EBUSY: how long to wait before trying again. */
  retryAfterMs?: number;
}

/**
 * An error with a stable code, thrown on both ends. `toWire()` is what a reply carries; an error
 * of any other class becomes EINTERNAL at the boundary (and is logged there, never sent verbatim).
 */
export class FerryError extends Error {
  readonly code: ErrorCode;
  readonly details: Omit<WireError, 'code' | 'message'>;

  constructor(code: ErrorCode, message?: string, details: Omit<WireError, 'code' | 'message'> = {}) {
    super(message ?? ERRORS[code]);
    this.name = 'FerryError';
    this.code = code;
    this.details = details;
  }

  toWire(): WireError {
    return { code: this.code, message: this.message, ...this.details };
  }

  static fromWire(error: WireError): FerryError {
    const code = isErrorCode(error.code) ? error.code : 'EINTERNAL';
    const { code: _c, message, ...details } = error;
    return new FerryError(code, message, details);
  }
}

/**
 * WebSocket close codes. 1002/1008/1009 are the RFC 6455 meanings; 4000–4999 are ours.
 */
export const CLOSE = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  PROTOCOL: 1002,
  POLICY: 1008,
  TOO_BIG: 1009,
  INTERNAL: 1011,
  AUTH_FAILED: 4001,
  THROTTLED: 4002,
  BUSY: 4003,
  IDLE_TIMEOUT: 4004,
  HANDSHAKE_TIMEOUT: 4005,
  SHUTDOWN: 4006,
  KICKED: 4007,
} as const;

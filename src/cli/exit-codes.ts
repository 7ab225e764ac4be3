import type { ErrorCode } from '../protocol/index.js';

/**
 * The exit status of every `ferry` command, one table: scripts branch on these numbers, and
 * `ferry --help` prints the same table. Error codes not listed exit with OTHER (1).
 */
export const EXIT = {
  OK: 0,
  OTHER: 1,
  USAGE: 2,
  AUTH: 3,
  NOT_FOUND: 4,
  QUOTA: 5,
  NETWORK: 6,
  INTEGRITY: 7,
  CONFLICT: 8,
  ACCESS: 9,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

/** Exit status, what it means, and the error codes that lead to it. */
export const EXIT_TABLE: readonly { status: ExitCode; meaning: string; codes: readonly ErrorCode[] }[] = [
  { status: EXIT.OK, meaning: 'success', codes: [] },
  { status: EXIT.OTHER, meaning: 'any other error', codes: [] },
  { status: EXIT.USAGE, meaning: 'bad usage: unknown option, missing or invalid argument', codes: ['EINVAL'] },
  { status: EXIT.AUTH, meaning: 'authentication: wrong user or password, throttled, pending account', codes: ['EAUTH', 'ETHROTTLE', 'EPENDING', 'ENOTAUTH'] },
  { status: EXIT.NOT_FOUND, meaning: 'not found', codes: ['ENOENT'] },
  { status: EXIT.QUOTA, meaning: 'quota exceeded or disk full', codes: ['EQUOTA', 'ENOSPC'] },
  { status: EXIT.NETWORK, meaning: "network: unreachable, connection lost, timed out, server busy, server identity unknown or changed", codes: ['ENETWORK', 'ETIMEDOUT', 'EBUSY', 'EIDENTITY'] },
  { status: EXIT.INTEGRITY, meaning: 'integrity: checksum mismatch, file changed during transfer', codes: ['EINTEGRITY', 'ECHANGED'] },
  { status: EXIT.CONFLICT, meaning: 'exists or conflict', codes: ['EEXIST', 'ENOTEMPTY'] },
  { status: EXIT.ACCESS, meaning: 'access denied', codes: ['EACCES'] },
];

const BY_CODE = new Map<ErrorCode, ExitCode>(EXIT_TABLE.flatMap((row) => row.codes.map((code) => [code, row.status] as const)));

/** The exit status for an error code (OTHER when the table does not name it). */
export function exitCodeFor(code: ErrorCode): ExitCode {
  return BY_CODE.get(code) ?? EXIT.OTHER;
}

/** The table as help text. */
export function exitCodesHelp(): string {
  const lines = EXIT_TABLE.map((row) => `  ${String(row.status).padStart(2)}  ${row.meaning}${row.codes.length ? ` (${row.codes.join(', ')})` : ''}`);
  return `Exit status:\n${lines.join('\n')}`;
}

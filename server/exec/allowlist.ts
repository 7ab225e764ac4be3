import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import path from 'node:path';
import { FerryError } from '../../src/protocol/errors.js';
import type { ExecOptions } from '../options.js';

/**
 * The only directories a bare program name is looked up in, and the PATH remote commands get.
 * Fixed on purpose: the server's own PATH (or a user's) must never decide what `uname` means.
 */
export const SAFE_PATH_DIRS: readonly string[] = ['/usr/local/sbin', '/usr/local/bin', '/usr/sbin', '/usr/bin', '/sbin', '/bin'];

/** A bare program name in the allowlist: no '/', no leading '-', nothing a shell would read. */
const PROGRAM_NAME = /^[A-Za-z0-9_+][A-Za-z0-9._+-]*$/;

/**
 * Checks and completes exec options (defaults for what is missing). Throws EINVAL naming the bad
 * entry: an allowlist entry must be a bare name (`uname`) or a normalised absolute path
 * (`/usr/bin/df`); a relative path with '/' would depend on the server's working directory.
 */
export function normalizeExecOptions(value: Partial<ExecOptions>, defaults: ExecOptions): ExecOptions {
  const allow = value.allow ?? defaults.allow;
  if (!Array.isArray(allow)) throw new FerryError('EINVAL', 'exec.allow: expected a list of program names or absolute paths');
  for (const entry of allow) {
    if (typeof entry !== 'string' || entry === '' || entry.includes('\0')) {
      throw new FerryError('EINVAL', `exec.allow: ${JSON.stringify(entry)} is not a program name or an absolute path`);
    }
    if (entry.includes('/')) {
      if (!path.isAbsolute(entry) || path.normalize(entry) !== entry || entry.endsWith('/')) {
        throw new FerryError('EINVAL', `exec.allow: ${JSON.stringify(entry)} must be an absolute, normalised path (like /usr/bin/df) or a bare name (like df)`);
      }
    } else if (!PROGRAM_NAME.test(entry)) {
      throw new FerryError('EINVAL', `exec.allow: ${JSON.stringify(entry)} is not a valid program name`);
    }
  }
  const result: ExecOptions = {
    allow: [...allow],
    timeoutMs: value.timeoutMs ?? defaults.timeoutMs,
    maxOutputBytes: value.maxOutputBytes ?? defaults.maxOutputBytes,
    maxPerSession: value.maxPerSession ?? defaults.maxPerSession,
    isolation: value.isolation ?? defaults.isolation,
    uidBase: value.uidBase ?? defaults.uidBase,
  };
  if (result.isolation !== 'user' && result.isolation !== 'none') {
    throw new FerryError('EINVAL', `exec.isolation: expected "user" or "none", got ${JSON.stringify(result.isolation)}`);
  }
  // Below 65536 are the system's own accounts; spawn() takes a 31-bit uid.
  if (!Number.isSafeInteger(result.uidBase) || result.uidBase < 65_536 || result.uidBase > 2 ** 31 - 1_000_000) {
    throw new FerryError('EINVAL', `exec.uidBase: expected a whole number from 65536 to ${2 ** 31 - 1_000_000}, got ${JSON.stringify(result.uidBase)}`);
  }
  for (const key of ['timeoutMs', 'maxOutputBytes', 'maxPerSession'] as const) {
    const n = result[key];
    if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 1) throw new FerryError('EINVAL', `exec.${key}: expected a whole number ≥ 1, got ${JSON.stringify(n)}`);
  }
  return result;
}

/**
 * Finds the executable for `argv0`, allowing only what the allowlist names. A bare name must be
 * in the list, either itself (then it is looked up in SAFE_PATH_DIRS only) or as the last
 * component of an absolute entry (that entry is used). A name with '/' must be exactly an
 * absolute entry: `./x`, `../bin/sh` or an unlisted `/bin/sh` are refused. Throws EACCES for
 * anything not allowed and ENOENT when an allowed name is not installed.
 */
export async function resolveProgram(argv0: string, allow: readonly string[]): Promise<string> {
  if (allow.length === 0) throw new FerryError('EACCES', 'remote commands are not enabled on this server');
  if (argv0.includes('/')) {
    if (allow.includes(argv0)) return argv0;
    throw new FerryError('EACCES', `${JSON.stringify(argv0)} is not on this server's list of allowed programs (a path must be listed exactly)`);
  }
  const absolute = allow.find((entry) => entry.includes('/') && path.basename(entry) === argv0);
  if (absolute !== undefined) return absolute;
  if (!allow.includes(argv0)) throw new FerryError('EACCES', `${JSON.stringify(argv0)} is not on this server's list of allowed programs`);
  for (const dir of SAFE_PATH_DIRS) {
    const candidate = path.join(dir, argv0);
    if (await isExecutableFile(candidate)) return candidate;
  }
  throw new FerryError('ENOENT', `${JSON.stringify(argv0)} is allowed but not installed on the server (looked in ${SAFE_PATH_DIRS.join(':')})`);
}

async function isExecutableFile(file: string): Promise<boolean> {
  try {
    if (!(await stat(file)).isFile()) return false;
    await access(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

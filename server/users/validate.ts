import { FerryError } from '../../src/protocol/index.js';

/** Lowercase letter first, then lowercase letters, digits, '.', '_' or '-'. */
export const USER_NAME_PATTERN = /^[a-z][a-z0-9._-]*$/;
export const USER_NAME_MIN = 2;
export const USER_NAME_MAX = 32;

/**
 * Names that would be confusing or dangerous as accounts (they look like system or service
 * identities). 'admin' is deliberately allowed: it is a common first account.
 */
export const RESERVED_USER_NAMES: ReadonlySet<string> = new Set(['root', 'ferry', 'nobody', 'anonymous', 'daemon', 'system']);

/**
 * Throws EINVAL with a message saying what is wrong unless `name` is a usable account name:
 * 2–32 characters matching USER_NAME_PATTERN, not reserved. The name is also a directory name
 * under homes/, which is why the rules are this strict.
 */
export function validateUserName(name: string): void {
  if (typeof name !== 'string' || name.length < USER_NAME_MIN || name.length > USER_NAME_MAX) {
    throw new FerryError('EINVAL', `invalid user name ${JSON.stringify(name)}: it must be ${USER_NAME_MIN} to ${USER_NAME_MAX} characters long`);
  }
  if (!USER_NAME_PATTERN.test(name)) {
    throw new FerryError(
      'EINVAL',
      `invalid user name ${JSON.stringify(name)}: use lowercase letters, digits, '.', '_' and '-', starting with a letter`,
    );
  }
  if (RESERVED_USER_NAMES.has(name)) {
    throw new FerryError('EINVAL', `invalid user name ${JSON.stringify(name)}: the name is reserved`);
  }
}

import { FerryError } from '../../src/protocol/index.js';

/** Lowercase letter first, then lowercase letters, digits, '.', '_' or '-'. */
export const USER_NAME_PATTERN = /^[a-z][a-z0-9._-]*$/;
export const USER_NAME_MIN = 2;
export const USER_NAME_MAX = 32;

/**
 * Names no account may have, not even one the administrator creates: they are system or service
 * identities, and `ferry user …` refuses them everywhere (EINVAL).
 */
export const RESERVED_USER_NAMES: ReadonlySet<string> = new Set(['root', 'ferry', 'nobody', 'anonymous', 'daemon', 'system']);

/**
 * Names that look as if they speak for the server or its operators: roles (admin, support, …) and
 * the mailboxes of RFC 2142 (postmaster, abuse, …). Only the administrator may give them
 * (`ferry user add admin` works: 'admin' is a common first account); self-registration refuses
 * them, and the names of RESERVED_USER_NAMES, also in other spellings (see registrationReserved).
 */
export const ADMIN_ONLY_USER_NAMES: ReadonlySet<string> = new Set([
  // Who runs the server.
  'admin', 'administrator', 'admins', 'sysadmin', 'superuser', 'su', 'sudo', 'operator', 'owner', 'staff',
  'moderator', 'mod', 'official', 'team', 'server', 'service', 'localhost', 'guest',
  // Whom users turn to.
  'support', 'help', 'helpdesk', 'contact', 'billing', 'sales', 'marketing', 'legal', 'privacy',
  // RFC 2142 mailboxes and their kin.
  'info', 'postmaster', 'webmaster', 'hostmaster', 'abuse', 'security', 'noc', 'usenet', 'news', 'www', 'uucp',
  'ftp', 'mail', 'mailerdaemon', 'noreply', 'donotreply',
]);

/** The name with '.', '_', '-' and trailing digits dropped: 'Post.Master', 'admin2', 'web-master' → one word. */
function canonical(name: string): string {
  return name.replace(/[._-]/g, '').replace(/[0-9]+$/, '');
}

/**
 * True when a client may not register `name` itself: a name of ADMIN_ONLY_USER_NAMES or
 * RESERVED_USER_NAMES, also spelled with '.', '_' or '-' inside or digits at the end ('ad.min',
 * 'admin2', 'post_master'). Names merely containing one ('adminton', 'helpful') are fine.
 */
export function registrationReserved(name: string): boolean {
  const word = canonical(name);
  return ADMIN_ONLY_USER_NAMES.has(word) || RESERVED_USER_NAMES.has(word);
}

/**
 * For self-registration: validateUserName, then EACCES when the name is registrationReserved
 * (the administrator can still create it with `ferry user add`).
 */
export function validateRegistrationName(name: string): void {
  validateUserName(name);
  if (registrationReserved(name)) {
    throw new FerryError('EACCES', `the name ${name} is reserved for the server's administrators; choose another`);
  }
}

/**
 * Throws EINVAL with a message saying what is wrong unless `name` is a usable account name:
 * 2–32 characters matching USER_NAME_PATTERN, not in RESERVED_USER_NAMES. The name is also a
 * directory name under homes/, which is why the rules are this strict.
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

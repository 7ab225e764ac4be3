export type UserStatus = 'active' | 'pending';

export interface UserRecord {
  name: string;
  /** Bytes; 0 = unlimited. */
  quota: number;
  status: UserStatus;
  /** May run allowlisted remote commands (issue: remote commands). */
  exec: boolean;
  /** ms since the epoch. */
  createdAt: number;
}

export interface AddOptions {
  /** Bytes; 0 = unlimited. Default: the store's default quota. */
  quota?: number;
  status?: UserStatus;
  /**
   * Create the account although an earlier account of the name left files (see NameHold): an
   * archive of a deleted account stays where it is; files found in the home or partials directory
   * of the name are first moved into a new archive entry, in the same transaction. Either way the
   * new account starts empty and never sees them.
   */
  reuseName?: boolean;
}

/**
 * Why a name that has no account must not simply be given to a new one: a deleted account's
 * files are archived under it (while the archive exists), or files lie in the home or partials
 * directory of the name (an older ferry, or someone by hand, left them there).
 */
export type NameHold = { kind: 'archived'; archive: string; deletedAt: number } | { kind: 'files'; paths: string[] };

/** What remove() did with the account's files. */
export interface RemovedAccount {
  /** The archive entry now holding the home and the partials; absent when they held no file. */
  archive?: string;
  /** With `purge`: the directories the files were renamed to, for the caller to delete. */
  toDelete: string[];
}

/**
 * Users live in SQLite (<root>/users.db, WAL) so that `ferry user …` can change them while the
 * server runs; the server reads a record at each use and never caches it.
 */
export interface UserStore {
  /**
   * EEXIST when taken, and when the name is held (nameHold) unless `reuseName` allows an archive;
   * EINVAL for a bad name (see validateUserName).
   */
  add(name: string, password: string, options?: AddOptions): Promise<UserRecord>;
  /**
   * Deletes the account and, in the same transaction, moves its home and partials out of the way
   * by rename: into a new archive entry `<root>/archive/<name>-<stamp>/` (which then holds the
   * name, see nameHold), or with `purge` aside for the caller to delete (`toDelete`). Either both
   * happen or neither does. ENOENT when absent; when the files cannot be moved, the move's error
   * (EACCES, ENOSPC, ENOTSUP for another file system, EINTERNAL) and the account is kept.
   */
  remove(name: string, options?: { purge?: boolean }): RemovedAccount;
  /** Undefined when a new account may be called `name` (ignoring whether one exists: see get). */
  nameHold(name: string): NameHold | undefined;
  setPassword(name: string, password: string): Promise<void>;
  setQuota(name: string, bytes: number): void;
  get(name: string): UserRecord | undefined;
  list(): UserRecord[];
  /**
   * EAUTH for an unknown user and for a wrong password alike (same message, same work: an
   * unknown name is checked against a dummy hash); EPENDING for a pending account with the right
   * password; ETHROTTLE (with retryAfterMs) after too many failures for the name or the IP.
   */
  authenticate(name: string, password: string, ip: string): Promise<UserRecord>;
  close(): void;
}

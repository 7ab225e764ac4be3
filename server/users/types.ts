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

/**
 * Users live in SQLite (<root>/users.db, WAL) so that `ferry user …` can change them while the
 * server runs; the server reads a record at each use and never caches it.
 */
export interface UserStore {
  /** EEXIST when taken; EINVAL for a bad name (see validateUserName). */
  add(name: string, password: string, options?: { quota?: number; status?: UserStatus }): Promise<UserRecord>;
  /** ENOENT when absent. Does not touch the home directory. */
  remove(name: string): void;
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

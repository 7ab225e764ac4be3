import Database from 'better-sqlite3';
import { chmodSync, existsSync, lstatSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { FerryError } from '../../src/protocol/index.js';
import { DEFAULT_SERVER_OPTIONS } from '../options.js';
import { dropEmptyArchive, moveAside, moveToArchive, strayFiles, type MovedFiles } from './account-files.js';
import { DUMMY_HASH, hashPassword, verifyPassword } from './password.js';
import { LoginThrottle } from './throttle.js';
import type { AddOptions, NameHold, RemovedAccount, UserRecord, UserStatus, UserStore } from './types.js';
import { USER_NAME_MAX, USER_NAME_PATTERN, validateUserName } from './validate.js';

/** The schema this code writes (PRAGMA user_version). Bump it with a step in MIGRATIONS. */
export const USERS_SCHEMA_VERSION = 2;

/** MIGRATIONS[n] takes the database from version n to n + 1. */
const MIGRATIONS: readonly string[] = [
  `CREATE TABLE users (
     name       TEXT PRIMARY KEY NOT NULL,
     hash       TEXT NOT NULL,
     quota      INTEGER NOT NULL DEFAULT 0 CHECK (quota >= 0),
     status     TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'pending')),
     exec       INTEGER NOT NULL DEFAULT 0 CHECK (exec IN (0, 1)),
     created_at INTEGER NOT NULL
   ) STRICT`,
  // Names of deleted accounts whose files were archived (see UserStore.nameHold). `archive` is
  // relative to the data root, so that the root can be moved.
  `CREATE TABLE retired_names (
     id         INTEGER PRIMARY KEY,
     name       TEXT NOT NULL,
     archive    TEXT NOT NULL,
     deleted_at INTEGER NOT NULL
   ) STRICT;
   CREATE INDEX retired_names_by_name ON retired_names (name)`,
];

/** How long a statement waits for another process (the admin CLI, the server) holding the lock. */
const BUSY_TIMEOUT_MS = 5000;
/** The login op accepts passwords up to this many characters. */
const MAX_PASSWORD_LENGTH = 1024;

interface UserRow {
  name: string;
  hash: string;
  quota: number;
  status: string;
  exec: number;
  created_at: number;
}

export interface SqliteUserStoreOptions {
  /** Failed-login limits. Defaults: DEFAULT_SERVER_OPTIONS.maxFailedLogins / throttleWindowMs. */
  throttle?: { maxFailedLogins: number; throttleWindowMs: number };
  /** Quota for `add` without one. Default 0 (unlimited). */
  defaultQuotaBytes?: number;
  /**
   * The data root holding homes/, partials/ and archive/, where remove() moves an account's files
   * and add() looks for files of an earlier account. Default: the directory of the database.
   */
  root?: string;
}

interface RetiredRow {
  archive: string;
  deleted_at: number;
}

function toRecord(row: UserRow): UserRecord {
  return {
    name: row.name,
    quota: row.quota,
    status: row.status === 'pending' ? 'pending' : 'active',
    exec: row.exec === 1,
    createdAt: row.created_at,
  };
}

function checkQuota(bytes: number): void {
  if (typeof bytes !== 'number' || !Number.isSafeInteger(bytes) || bytes < 0) {
    throw new FerryError('EINVAL', `invalid quota ${String(bytes)}: bytes as a non-negative integer (0 = unlimited)`);
  }
}

function checkPassword(password: string): void {
  if (typeof password !== 'string' || password.length === 0) throw new FerryError('EINVAL', 'the password must not be empty');
  if (password.length > MAX_PASSWORD_LENGTH) throw new FerryError('EINVAL', `the password must be at most ${MAX_PASSWORD_LENGTH} characters`);
}

function checkStatus(status: UserStatus): void {
  if (status !== 'active' && status !== 'pending') throw new FerryError('EINVAL', `invalid status ${JSON.stringify(status)}: active or pending`);
}

/**
 * Users in SQLite (`<root>/users.db`). WAL mode and a busy timeout let the admin CLI change users
 * while the server runs; every read goes to the database, so a change applies at the next use.
 */
export class SqliteUserStore implements UserStore {
  private readonly throttle: LoginThrottle;
  private readonly defaultQuota: number;
  private readonly statements;
  /** The data root (absolute). */
  readonly root: string;

  private constructor(
    private readonly db: Database.Database,
    options: SqliteUserStoreOptions & { root: string },
  ) {
    this.root = path.resolve(options.root);
    this.throttle = new LoginThrottle(options.throttle ?? DEFAULT_SERVER_OPTIONS);
    this.defaultQuota = options.defaultQuotaBytes ?? 0;
    checkQuota(this.defaultQuota);
    this.statements = {
      get: db.prepare<[string], UserRow>('SELECT * FROM users WHERE name = ?'),
      list: db.prepare<[], UserRow>('SELECT * FROM users ORDER BY name'),
      insert: db.prepare<[string, string, number, string, number, number]>(
        'INSERT INTO users (name, hash, quota, status, exec, created_at) VALUES (?, ?, ?, ?, ?, ?)',
      ),
      remove: db.prepare<[string]>('DELETE FROM users WHERE name = ?'),
      setHash: db.prepare<[string, string]>('UPDATE users SET hash = ? WHERE name = ?'),
      setQuota: db.prepare<[number, string]>('UPDATE users SET quota = ? WHERE name = ?'),
      setStatus: db.prepare<[string, string]>('UPDATE users SET status = ? WHERE name = ?'),
      setExec: db.prepare<[number, string]>('UPDATE users SET exec = ? WHERE name = ?'),
      retired: db.prepare<[string], RetiredRow>('SELECT archive, deleted_at FROM retired_names WHERE name = ? ORDER BY id DESC'),
      retire: db.prepare<[string, string, number]>('INSERT INTO retired_names (name, archive, deleted_at) VALUES (?, ?, ?)'),
    };
  }

  /**
   * Opens (creating if needed, with its directory, mode 0600) the database at `dbPath` and brings
   * its schema up to date. ENOTSUP for a database written by a newer ferry.
   */
  static open(dbPath: string, options: SqliteUserStoreOptions = {}): SqliteUserStore {
    mkdirSync(path.dirname(dbPath), { recursive: true });
    const created = !existsSync(dbPath);
    const db = new Database(dbPath);
    try {
      if (created) chmodSync(dbPath, 0o600);
      db.pragma(`busy_timeout = ${BUSY_TIMEOUT_MS}`);
      db.pragma('journal_mode = WAL');
      // WAL makes NORMAL durable against application crashes, and commits stay cheap.
      db.pragma('synchronous = NORMAL');
      migrate(db);
      return new SqliteUserStore(db, { ...options, root: options.root ?? path.dirname(dbPath) });
    } catch (error) {
      db.close();
      throw error;
    }
  }

  async add(name: string, password: string, options: AddOptions = {}): Promise<UserRecord> {
    validateUserName(name);
    checkPassword(password);
    const quota = options.quota ?? this.defaultQuota;
    checkQuota(quota);
    const status = options.status ?? 'active';
    checkStatus(status);
    // Checked before the scrypt work for a quick answer, and again with the insert (a race).
    if (this.get(name) !== undefined) throw new FerryError('EEXIST', `user ${name} already exists`);
    const reuse = options.reuseName === true;
    if (!reuse) this.checkNameFree(name);
    const hash = await hashPassword(password);
    const createdAt = Date.now();
    const done: { moved?: MovedFiles | undefined } = {};
    try {
      this.inTransactionWithFiles(done, () => {
        if (!reuse) this.checkNameFree(name);
        else if (this.statements.get.get(name) === undefined && strayFiles(this.root, name).length > 0) {
          // Never handed over: archived like a deleted account's, in the same transaction.
          const moved = moveToArchive(this.root, name, createdAt);
          done.moved = moved;
          if (moved !== undefined) this.statements.retire.run(name, this.relative(moved.entry), createdAt);
        }
        this.statements.insert.run(name, hash, quota, status, 0, createdAt);
      });
    } catch (error) {
      if (error instanceof Database.SqliteError && error.code.startsWith('SQLITE_CONSTRAINT')) {
        throw new FerryError('EEXIST', `user ${name} already exists`);
      }
      throw error;
    }
    return { name, quota, status, exec: false, createdAt };
  }

  /** EEXIST when the name is held (nameHold): an earlier account of that name left files. */
  private checkNameFree(name: string): void {
    if (this.nameHold(name) !== undefined) throw new FerryError('EEXIST', `the name ${name} is not available: an earlier account of that name left files`);
  }

  nameHold(name: string): NameHold | undefined {
    // Only a name that can be an account has places on disk (and nothing else is looked at).
    if (typeof name !== 'string' || name.length > USER_NAME_MAX || !USER_NAME_PATTERN.test(name)) return undefined;
    for (const row of this.statements.retired.all(name)) {
      const archive = path.resolve(this.root, row.archive);
      if (lstatSync(archive, { throwIfNoEntry: false }) !== undefined) return { kind: 'archived', archive, deletedAt: row.deleted_at };
    }
    const paths = strayFiles(this.root, name);
    return paths.length > 0 ? { kind: 'files', paths } : undefined;
  }

  remove(name: string, options: { purge?: boolean } = {}): RemovedAccount {
    const at = Date.now();
    const purge = options.purge === true;
    const done: { moved?: (MovedFiles & { entry?: string }) | undefined } = {};
    this.inTransactionWithFiles(done, () => {
      if (this.statements.remove.run(name).changes === 0) throw noSuchUser(name);
      done.moved = purge ? moveAside(this.root, name, at) : moveToArchive(this.root, name, at);
      if (!purge && done.moved !== undefined && !done.moved.empty) this.statements.retire.run(name, this.relative(done.moved.entry!), at);
    });
    const moved = done.moved;
    if (moved === undefined) return { toDelete: [] };
    if (purge) return { toDelete: moved.to };
    if (!moved.empty) return { archive: moved.entry!, toDelete: [] };
    // Only empty directories: nothing to keep, and nothing that should hold the name.
    if (dropEmptyArchive(moved.entry!)) return { toDelete: [] };
    this.statements.retire.run(name, this.relative(moved.entry!), at);
    return { archive: moved.entry!, toDelete: [] };
  }

  /**
   * Runs `body` in an IMMEDIATE transaction. When it or the commit fails after files were moved
   * (`done.moved`), they are moved back: the account and its files change together or not at all.
   */
  private inTransactionWithFiles(done: { moved?: MovedFiles | undefined }, body: () => void): void {
    try {
      this.db.transaction(body).immediate();
    } catch (error) {
      if (done.moved !== undefined) {
        try {
          done.moved.undo();
        } catch (undoError) {
          throw new FerryError('EINTERNAL', `${(error as Error).message}; nothing was changed in users.db, but ${(undoError as Error).message}`);
        }
        done.moved = undefined;
      }
      throw error;
    }
  }

  private relative(file: string): string {
    return path.relative(this.root, file);
  }

  async setPassword(name: string, password: string): Promise<void> {
    checkPassword(password);
    if (this.get(name) === undefined) throw noSuchUser(name);
    const hash = await hashPassword(password);
    if (this.statements.setHash.run(hash, name).changes === 0) throw noSuchUser(name);
  }

  setQuota(name: string, bytes: number): void {
    checkQuota(bytes);
    if (this.statements.setQuota.run(bytes, name).changes === 0) throw noSuchUser(name);
  }

  /** Approves ('active') or suspends ('pending') an account. ENOENT when absent. */
  setStatus(name: string, status: UserStatus): void {
    checkStatus(status);
    if (this.statements.setStatus.run(status, name).changes === 0) throw noSuchUser(name);
  }

  /** Allows or denies remote commands for the user. ENOENT when absent. */
  setExec(name: string, allowed: boolean): void {
    if (this.statements.setExec.run(allowed ? 1 : 0, name).changes === 0) throw noSuchUser(name);
  }

  get(name: string): UserRecord | undefined {
    const row = this.statements.get.get(name);
    return row === undefined ? undefined : toRecord(row);
  }

  list(): UserRecord[] {
    return this.statements.list.all().map(toRecord);
  }

  async authenticate(name: string, password: string, ip: string): Promise<UserRecord> {
    const attempt = await this.throttle.attempt(name, ip);
    let matches = false;
    let row: ReturnType<typeof this.statements.get.get>;
    let usable = false;
    try {
      row = typeof name === 'string' && name.length <= 64 ? this.statements.get.get(name) : undefined;
      usable = typeof password === 'string' && password.length <= MAX_PASSWORD_LENGTH;
      // The same scrypt work whether or not the user exists.
      matches = await verifyPassword(usable ? password : '', row?.hash ?? DUMMY_HASH);
    } finally {
      if (matches && row !== undefined && usable) attempt.succeeded();
      else attempt.failed();
    }
    if (!matches || row === undefined || !usable) throw new FerryError('EAUTH');
    // Read again: the admin may have changed the account during the hash (quota, status, removal).
    const current = this.statements.get.get(name);
    if (current === undefined) throw new FerryError('EAUTH');
    const record = toRecord(current);
    if (record.status === 'pending') {
      throw new FerryError('EPENDING', `account ${record.name} is waiting for approval by the server's administrator; try again once it is approved`);
    }
    return record;
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}

function noSuchUser(name: string): FerryError {
  return new FerryError('ENOENT', `no such user: ${name}`);
}

/**
 * Brings the schema to USERS_SCHEMA_VERSION inside one IMMEDIATE transaction, so two processes
 * opening a new database at once do not both create it.
 */
function migrate(db: Database.Database): void {
  db.transaction(() => {
    const version = db.pragma('user_version', { simple: true }) as number;
    if (version > USERS_SCHEMA_VERSION) {
      throw new FerryError('ENOTSUP', `users.db has schema version ${version}, newer than this ferry understands (${USERS_SCHEMA_VERSION}); upgrade ferry`);
    }
    for (let step = version; step < USERS_SCHEMA_VERSION; step++) db.exec(MIGRATIONS[step]!);
    if (version !== USERS_SCHEMA_VERSION) db.pragma(`user_version = ${USERS_SCHEMA_VERSION}`);
  }).immediate();
}

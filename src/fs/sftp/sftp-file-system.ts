import type { Attributes, FileEntryWithStats, SFTPWrapper } from 'ssh2';
import { FerryError, type Entry, type EntryType, type Quota } from '../../protocol/index.js';
import type { FileSink, FileSource, FileSystem, SinkRequest } from '../file-system.js';
import { PosixPaths } from '../posix-paths.js';
import type { SftpConnection } from './sftp-connection.js';
import { SftpCalls, openSftpSink, openSftpSource } from './sftp-copy-ends.js';
import { runSshCommand } from './ssh-command.js';
import type { RemoteResult, RunRemoteOptions } from '../../client/exec.js';

/** SFTP status codes (draft-ietf-secsh-filexfer-02, the version OpenSSH speaks). */
const STATUS = { NO_SUCH_FILE: 2, PERMISSION_DENIED: 3, FAILURE: 4, OP_UNSUPPORTED: 8 } as const;
const S_IFMT = 0o170000;
/** Symlinks in a listing are followed this many at a time to learn what they point at. */
const LINK_STATS_AT_ONCE = 16;

/**
 * A directory tree on an SSH server, through its SFTP subsystem. Paths are the server's own,
 * absolute and '/'-separated; `home` is the login directory. Errors come back as FerryErrors
 * with the same codes a ferry server would use, so panes and the queue need no SFTP cases.
 */
export class SftpFileSystem extends PosixPaths implements FileSystem {
  readonly kind = 'sftp' as const;
  readonly label: string;
  readonly home: string;
  #sftp!: SFTPWrapper;
  #connection!: SftpConnection;
  #calls!: SftpCalls;
  /** Dials again with the trust and credentials of the first login; none: a lost link stays lost. */
  readonly #reopen: (() => Promise<SftpConnection>) | undefined;
  #lost = false;
  #reopening: Promise<void> | undefined;
  #closed = false;

  constructor(connection: SftpConnection, label: string, options: { reopen?: () => Promise<SftpConnection> } = {}) {
    super();
    this.home = connection.home;
    this.label = label;
    this.#reopen = options.reopen;
    this.#use(connection);
  }

  #use(connection: SftpConnection): void {
    this.#connection = connection;
    this.#sftp = connection.sftp;
    this.#calls = new SftpCalls(connection.sftp, connection.client, sftpError);
    const lost = () => {
      if (this.#connection === connection) this.#lost = true;
    };
    connection.client.once('close', lost);
    connection.client.once('end', lost);
  }

  /**
   * A link that dropped is dialled again before the next request (the request that was under way
   * failed with ENETWORK; the queue retries a copy after a pause, and it resumes from its partial).
   */
  async #ready(): Promise<void> {
    if (!this.#lost || this.#closed || this.#reopen === undefined) return;
    this.#reopening ??= this.#reopen().then(
      (connection) => {
        this.#lost = false;
        this.#use(connection);
      },
      (error: unknown) => {
        throw error instanceof FerryError ? error : new FerryError('ENETWORK', `${this.label}: ${(error as Error).message}`);
      },
    ).finally(() => {
      this.#reopening = undefined;
    });
    await this.#reopening;
  }

  async list(path: string): Promise<Entry[]> {
    const listed = await this.#call<FileEntryWithStats[]>(path, (done) => this.#sftp.readdir(path, done));
    const entries = listed.filter((item) => item.filename !== '.' && item.filename !== '..').map((item) => toEntry(item.filename, item.attrs));
    // A link's own attributes say nothing of its target: ask for each, a few at a time.
    const links = entries.filter((entry) => entry.type === 'symlink');
    for (let at = 0; at < links.length; at += LINK_STATS_AT_ONCE) {
      await Promise.all(
        links.slice(at, at + LINK_STATS_AT_ONCE).map(async (entry) => {
          const target = await this.#attributes(this.join(path, entry.name), 'stat').catch(() => undefined);
          const kind = target && typeOf(target.mode);
          if (kind === 'file' || kind === 'dir') entry.target = kind;
        }),
      );
    }
    return entries;
  }

  async stat(path: string): Promise<Entry | null> {
    try {
      const own = await this.#attributes(path, 'lstat');
      const entry = toEntry(this.basename(path), own);
      if (entry.type === 'symlink') {
        const target = await this.#attributes(path, 'stat').catch(() => undefined);
        const kind = target && typeOf(target.mode);
        if (kind === 'file' || kind === 'dir') entry.target = kind;
      }
      return entry;
    } catch (error) {
      if (error instanceof FerryError && (error.code === 'ENOENT' || error.code === 'ENOTDIR')) return null;
      throw error;
    }
  }

  async mkdir(path: string, options: { parents?: boolean } = {}): Promise<void> {
    if (options.parents) {
      const parent = this.dirname(path);
      if (parent !== path && (await this.stat(parent)) === null) await this.mkdir(parent, { parents: true });
      const existing = await this.stat(path);
      if (existing?.type === 'dir' || existing?.target === 'dir') return;
    }
    try {
      await this.#call<void>(path, (done) => this.#sftp.mkdir(path, done));
    } catch (error) {
      // SFTP v3 has no "exists" status: an existing name comes back as a bare FAILURE.
      if (error instanceof FerryError && error.code === 'EINTERNAL' && (await this.stat(path)) !== null) {
        throw new FerryError('EEXIST', `${this.label}:${path}: file already exists`);
      }
      throw error;
    }
  }

  async remove(path: string, options: { recursive?: boolean } = {}): Promise<void> {
    const entry = await this.stat(path);
    if (entry === null) throw new FerryError('ENOENT', `${this.label}:${path}: no such file or directory`);
    if (entry.type !== 'dir') {
      await this.#call<void>(path, (done) => this.#sftp.unlink(path, done));
      return;
    }
    if (options.recursive) {
      for (const child of await this.list(path)) await this.remove(this.join(path, child.name), { recursive: true });
    } else if ((await this.list(path)).length > 0) {
      throw new FerryError('ENOTEMPTY', `${this.label}:${path}: directory not empty`);
    }
    await this.#call<void>(path, (done) => this.#sftp.rmdir(path, done));
  }

  async rename(from: string, to: string, options: { overwrite?: boolean } = {}): Promise<void> {
    if (!options.overwrite) {
      // Plain SFTP rename refuses an existing target on OpenSSH, but not on every server: check.
      if ((await this.stat(to)) !== null) throw new FerryError('EEXIST', `${this.label}:${to}: file already exists`);
      await this.#call<void>(from, (done) => this.#sftp.rename(from, to, done));
      return;
    }
    // posix-rename@openssh.com replaces the target atomically, as rename(2) does.
    await this.#call<void>(from, (done) => this.#sftp.ext_openssh_rename(from, to, done));
  }

  async quota(): Promise<Quota | null> {
    try {
      // ssh2 names the fields as statvfs(3) does; 64-bit counts may come as strings or bigints.
      const fs = await this.#call<Record<'f_bsize' | 'f_frsize' | 'f_blocks' | 'f_bavail', number | bigint | string>>(this.home, (done) =>
        this.#sftp.ext_openssh_statvfs(this.home, done as never),
      );
      const unit = Number(fs.f_frsize) || Number(fs.f_bsize);
      return { used: (Number(fs.f_blocks) - Number(fs.f_bavail)) * unit, total: Number(fs.f_blocks) * unit };
    } catch {
      // statvfs@openssh.com is an extension; without it the pane shows no quota.
      return null;
    }
  }

  async openSource(path: string): Promise<FileSource> {
    await this.#ready();
    return openSftpSource(this.#calls, path);
  }

  async openSink(path: string, request: SinkRequest): Promise<FileSink> {
    await this.#ready();
    return openSftpSink(this.#calls, path, request);
  }

  /** Runs a command in the user's shell account on the server (the `:` line of an SFTP pane). */
  async runCommand(options: RunRemoteOptions): Promise<RemoteResult> {
    await this.#ready();
    return runSshCommand(this.#connection.client, options);
  }

  /** Ends the SSH connection. */
  close(): void {
    this.#closed = true;
    this.#connection.client.end();
  }


  #attributes(path: string, how: 'stat' | 'lstat'): Promise<Attributes> {
    return this.#call<Attributes>(path, (done) => this.#sftp[how](path, done));
  }

  /** Runs one SFTP request; its status becomes a FerryError naming the path. */
  async #call<T>(path: string, request: (done: (error: Error | null | undefined, value: T) => void) => void): Promise<T> {
    await this.#ready();
    return this.#calls.call(`${this.label}:${path}`, request);
  }
}

function sftpError(error: Error & { code?: number | string }, where: string): FerryError {
  switch (error.code) {
    case STATUS.NO_SUCH_FILE:
      return new FerryError('ENOENT', `${where}: no such file or directory`);
    case STATUS.PERMISSION_DENIED:
      return new FerryError('EACCES', `${where}: permission denied`);
    case STATUS.OP_UNSUPPORTED:
      return new FerryError('ENOTSUP', `${where}: the server does not support this (${error.message})`);
    case STATUS.FAILURE:
      return new FerryError('EINTERNAL', `${where}: the server refused: ${error.message}`);
    default:
      return new FerryError('ENETWORK', `${where}: ${error.message}`);
  }
}

function typeOf(mode: number): EntryType {
  switch (mode & S_IFMT) {
    case 0o100000:
      return 'file';
    case 0o040000:
      return 'dir';
    case 0o120000:
      return 'symlink';
    default:
      return 'other';
  }
}

function toEntry(name: string, attrs: Attributes): Entry {
  return { name, type: typeOf(attrs.mode), size: attrs.size, mtime: attrs.mtime * 1000, mode: attrs.mode & 0o7777 };
}

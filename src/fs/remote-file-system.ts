import { FerryError, type Entry, type Quota } from '../protocol/index.js';
import type { Session } from '../client/session.js';
import type { FileSystem } from './file-system.js';
import { PosixPaths } from './posix-paths.js';

/**
 * A user's home on a ferry server behind the FileSystem interface. Paths are '/'-separated and
 * relative to the home ('/' is the home). Every call is one request on the session, so it waits
 * through a reconnect and fails with the server's FerryError.
 */
export class RemoteFileSystem extends PosixPaths implements FileSystem {
  readonly kind = 'remote' as const;
  readonly home = '/';
  readonly session: Session;

  constructor(session: Session) {
    super();
    this.session = session;
  }

  /** `user@host:port`. */
  get label(): string {
    return `${this.session.user}@${this.session.where}`;
  }

  async list(path: string): Promise<Entry[]> {
    return (await this.session.request('list', { path: this.#wire(path) })).entries;
  }

  /** Like list, but also says whether the server cut the listing (over 200 000 entries). */
  async listWithTruncation(path: string): Promise<{ entries: Entry[]; truncated: boolean }> {
    const result = await this.session.request('list', { path: this.#wire(path) });
    return { entries: result.entries, truncated: result.truncated === true };
  }

  async stat(path: string): Promise<Entry | null> {
    try {
      return (await this.session.request('stat', { path: this.#wire(path) })).entry;
    } catch (error) {
      if (error instanceof FerryError && (error.code === 'ENOENT' || error.code === 'ENOTDIR')) return null;
      throw error;
    }
  }

  async mkdir(path: string, options: { parents?: boolean } = {}): Promise<void> {
    await this.session.request('mkdir', { path: this.#wire(path), ...(options.parents ? { parents: true } : {}) });
  }

  async remove(path: string, options: { recursive?: boolean } = {}): Promise<void> {
    await this.session.request('remove', { path: this.#wire(path), ...(options.recursive ? { recursive: true } : {}) });
  }

  async rename(from: string, to: string, options: { overwrite?: boolean } = {}): Promise<void> {
    await this.session.request('rename', { from: this.#wire(from), to: this.#wire(to), ...(options.overwrite ? { overwrite: true } : {}) });
  }

  async quota(): Promise<Quota | null> {
    return this.session.request('quota', {});
  }


  /** The home is '/'; an empty path means it too (the wire refuses ''). */
  #wire(path: string): string {
    return path === '' ? '/' : path;
  }
}

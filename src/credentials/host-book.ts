import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { z } from 'zod';
import { fromNodeError } from '../fs/node-errors.js';
import { FerryError } from '../protocol/index.js';
import { configDir } from '../util/paths.js';

/** A server people log in to. Never holds a password: those live in the keychain only. */
export interface HostEntry {
  host: string;
  port: number;
  user: string;
  /** TLS (wss://) or plain ws://; absent in files from before TLS: what ferry:// means for the host. */
  tls?: boolean;
  /** A bookmark's label ("work"); recent hosts have none. */
  name?: string;
  /** ISO time of the last successful login (recent hosts). */
  lastUsed?: string;
}

/** What the file holds, plus a warning when it could not be read and was set aside. */
export interface HostBookData {
  recent: HostEntry[];
  bookmarks: HostEntry[];
  /** Set when hosts.json was unreadable: it was kept as hosts.json.bak and the lists start empty. */
  warning?: string;
}

const entrySchema = z.object({
  host: z.string().min(1).max(255),
  port: z.number().int().min(1).max(65_535),
  user: z.string().min(1).max(255),
  tls: z.boolean().optional(),
  name: z.string().min(1).max(100).optional(),
  lastUsed: z.string().max(40).optional(),
});

// z.object drops unknown keys, so a password someone typed into the file by hand is never
// written back.
const fileSchema = z.object({
  version: z.literal(1),
  recent: z.array(entrySchema).default([]),
  bookmarks: z.array(entrySchema).default([]),
});

export interface HostBookOptions {
  /** The directory of hosts.json. Default configDir() (`$XDG_CONFIG_HOME/ferry`). */
  dir?: string;
  /** Most recent hosts kept. Default 20. */
  maxRecent?: number;
  /** Clock for lastUsed. Default `() => new Date()`. */
  now?: () => Date;
}

const sameLogin = (a: HostEntry, b: HostEntry) => a.host === b.host && a.port === b.port && a.user === b.user;

/**
 * Bookmarks and recent hosts in `<dir>/hosts.json`, most recent first. Every change rewrites the
 * file atomically (a temp file, fsync, rename), so a crash leaves the old list or the new one,
 * never half of each. Changes made through one HostBook are applied one after the other; two
 * ferry processes writing at once keep whichever wrote last.
 */
export class HostBook {
  /** Full path of hosts.json. */
  readonly file: string;
  readonly #maxRecent: number;
  readonly #now: () => Date;
  #chain: Promise<unknown> = Promise.resolve();

  constructor(options: HostBookOptions = {}) {
    this.file = path.join(options.dir ?? configDir(), 'hosts.json');
    this.#maxRecent = options.maxRecent ?? 20;
    this.#now = options.now ?? (() => new Date());
  }

  /**
   * Reads the lists. A missing file is two empty lists. A file that is not valid JSON or not in
   * the expected shape is renamed to hosts.json.bak (so nothing the user had is destroyed) and
   * the lists start empty, with `warning` saying so.
   */
  load(): Promise<HostBookData> {
    return this.#serial(() => this.#read());
  }

  /** Puts a successful login on top of the recent list (moving it up if it was there), capped. */
  addRecent(login: { host: string; port: number; user: string; tls?: boolean }): Promise<HostBookData> {
    const entry: HostEntry = {
      host: login.host,
      port: login.port,
      user: login.user,
      ...(login.tls === undefined ? {} : { tls: login.tls }),
      lastUsed: this.#now().toISOString(),
    };
    return this.#update((data) => ({
      ...data,
      recent: [entry, ...data.recent.filter((other) => !sameLogin(other, entry))].slice(0, this.#maxRecent),
    }));
  }

  /** Forgets one recent host. */
  removeRecent(login: { host: string; port: number; user: string }): Promise<HostBookData> {
    const target = { host: login.host, port: login.port, user: login.user };
    return this.#update((data) => ({ ...data, recent: data.recent.filter((other) => !sameLogin(other, target)) }));
  }

  /** Adds a bookmark, or renames the one for the same login. The label must not be empty (EINVAL). */
  addBookmark(bookmark: { host: string; port: number; user: string; tls?: boolean; name: string }): Promise<HostBookData> {
    const parsed = entrySchema.safeParse(bookmark);
    if (!parsed.success || bookmark.name.trim() === '') {
      return Promise.reject(new FerryError('EINVAL', 'a bookmark needs a host, a port (1–65535), a user and a name'));
    }
    const entry: HostEntry = {
      host: bookmark.host,
      port: bookmark.port,
      user: bookmark.user,
      ...(bookmark.tls === undefined ? {} : { tls: bookmark.tls }),
      name: bookmark.name.trim(),
    };
    return this.#update((data) => {
      const index = data.bookmarks.findIndex((other) => sameLogin(other, entry));
      const bookmarks = index < 0 ? [...data.bookmarks, entry] : data.bookmarks.map((other, i) => (i === index ? entry : other));
      return { ...data, bookmarks };
    });
  }

  /** Removes the bookmark of a login. */
  removeBookmark(login: { host: string; port: number; user: string }): Promise<HostBookData> {
    const target = { host: login.host, port: login.port, user: login.user };
    return this.#update((data) => ({ ...data, bookmarks: data.bookmarks.filter((other) => !sameLogin(other, target)) }));
  }

  #serial<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(work, work);
    this.#chain = run.catch(() => {});
    return run;
  }

  #update(change: (data: HostBookData) => HostBookData): Promise<HostBookData> {
    return this.#serial(async () => {
      const current = await this.#read();
      const next = change({ recent: current.recent, bookmarks: current.bookmarks });
      await this.#write(next);
      return current.warning === undefined ? next : { ...next, warning: current.warning };
    });
  }

  async #read(): Promise<HostBookData> {
    let text: string;
    try {
      text = await readFile(this.file, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return { recent: [], bookmarks: [] };
      throw fromNodeError(error, this.file);
    }
    let problem: string;
    try {
      const parsed = fileSchema.safeParse(JSON.parse(text));
      if (parsed.success) return { recent: parsed.data.recent, bookmarks: parsed.data.bookmarks };
      problem = 'it is not in the expected shape';
    } catch {
      problem = 'it is not valid JSON';
    }
    const backup = `${this.file}.bak`;
    await rename(this.file, backup).catch((error: unknown) => {
      throw fromNodeError(error, backup);
    });
    return { recent: [], bookmarks: [], warning: `${this.file} could not be read (${problem}); it was kept as ${backup} and the host list starts empty` };
  }

  async #write(data: HostBookData): Promise<void> {
    const dir = path.dirname(this.file);
    // User names and hosts are nobody else's business: the directory and file are private.
    const body = `${JSON.stringify({ version: 1, recent: data.recent, bookmarks: data.bookmarks }, null, 2)}\n`;
    const temp = path.join(dir, `.hosts.json.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    try {
      await mkdir(dir, { recursive: true, mode: 0o700 });
      const handle = await open(temp, 'wx', 0o600);
      try {
        await handle.writeFile(body, 'utf8');
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(temp, this.file);
    } catch (error) {
      await rm(temp, { force: true });
      throw fromNodeError(error, this.file);
    }
  }
}

/** The host book at the default place, `$XDG_CONFIG_HOME/ferry/hosts.json`. */
export function openHostBook(options: HostBookOptions = {}): HostBook {
  return new HostBook(options);
}

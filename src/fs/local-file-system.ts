import type { Stats } from 'node:fs';
import { lstat, mkdir, readdir, rename, rm, rmdir, stat, statfs, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { FerryError, type Entry, type EntryType, type Quota } from '../protocol/index.js';
import type { FileSink, FileSource, FileSystem, SinkRequest } from './file-system.js';
import { openLocalSink, openLocalSource } from './local-copy-ends.js';
import { fromNodeError } from './node-errors.js';

/** lstat calls in flight at once while listing a directory (keeps huge folders from opening a file per entry). */
const LIST_CONCURRENCY = 64;

/**
 * The local disk behind the FileSystem interface (node:fs). Paths are OS paths, resolved against
 * `home` when relative. Errors are FerryErrors with the codes the remote side uses, so callers
 * handle both sides alike.
 */
export class LocalFileSystem implements FileSystem {
  readonly kind = 'local' as const;
  readonly label = 'local';
  readonly home: string;

  /** `home` defaults to process.cwd(). */
  constructor(options: { home?: string } = {}) {
    this.home = resolve(options.home ?? process.cwd());
  }

  /** Every entry, hidden ones included; `type` is from lstat, and a symlink says what it points at. */
  async list(path: string): Promise<Entry[]> {
    const dir = this.#resolve(path);
    let names: string[];
    try {
      names = await readdir(dir);
    } catch (error) {
      throw fromNodeError(error, dir);
    }
    const entries: Entry[] = [];
    let next = 0;
    const worker = async () => {
      while (next < names.length) {
        const name = names[next++]!;
        const full = join(dir, name);
        try {
          const st = await lstat(full);
          const entry = entryOf(name, st);
          if (entry.type === 'symlink') {
            const target = await stat(full).catch(() => undefined);
            if (target?.isDirectory()) entry.target = 'dir';
            else if (target?.isFile()) entry.target = 'file';
          }
          entries.push(entry);
        } catch {
          // Gone between readdir and lstat: it is simply not there any more.
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(LIST_CONCURRENCY, names.length) }, worker));
    return entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Follows symlinks; null when nothing is there (ENOENT, or a path through a file). */
  async stat(path: string): Promise<Entry | null> {
    const full = this.#resolve(path);
    try {
      return entryOf(basename(full), await stat(full));
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      if (code === 'ENOENT' || code === 'ENOTDIR') return null;
      throw fromNodeError(error, full);
    }
  }

  async mkdir(path: string, options: { parents?: boolean } = {}): Promise<void> {
    const full = this.#resolve(path);
    try {
      await mkdir(full, { recursive: options.parents ?? false });
    } catch (error) {
      throw fromNodeError(error, full);
    }
    if (options.parents) {
      // mkdir -p succeeds on an existing file only in spirit; say what is really there.
      const st = await stat(full);
      if (!st.isDirectory()) throw new FerryError('EEXIST', `${full}: exists and is not a directory`);
    }
  }

  /** Symlinks are removed, never followed; a non-empty directory needs `recursive`. */
  async remove(path: string, options: { recursive?: boolean } = {}): Promise<void> {
    const full = this.#resolve(path);
    try {
      if (options.recursive) {
        await rm(full, { recursive: true });
        return;
      }
      const st = await lstat(full);
      if (st.isDirectory()) await rmdir(full);
      else await unlink(full);
    } catch (error) {
      throw fromNodeError(error, full);
    }
  }

  /** EEXIST when `to` exists and not `overwrite`. */
  async rename(from: string, to: string, options: { overwrite?: boolean } = {}): Promise<void> {
    const source = this.#resolve(from);
    const target = this.#resolve(to);
    try {
      await lstat(source);
      if (!options.overwrite) {
        const taken = await lstat(target).then(
          () => true,
          () => false,
        );
        if (taken) throw new FerryError('EEXIST', `${target}: file already exists`);
      }
      await rename(source, target);
    } catch (error) {
      throw fromNodeError(error, source);
    }
  }

  /** The file system holding `home`: `total` its size, `used` what is not available to us. */
  async quota(): Promise<Quota | null> {
    try {
      const fs = await statfs(this.home);
      const total = fs.blocks * fs.bsize;
      return { used: total - fs.bavail * fs.bsize, total };
    } catch {
      return null;
    }
  }

  openSource(path: string): Promise<FileSource> {
    return openLocalSource(this.#resolve(path));
  }

  openSink(path: string, request: SinkRequest): Promise<FileSink> {
    return openLocalSink(this.#resolve(path), request);
  }

  join(dir: string, name: string): string {
    return join(dir, name);
  }

  dirname(path: string): string {
    return dirname(path);
  }

  basename(path: string): string {
    return basename(path);
  }

  #resolve(path: string): string {
    if (path.includes('\0')) throw new FerryError('EINVAL', 'NUL byte in path');
    return resolve(this.home, path);
  }
}

function entryOf(name: string, st: Stats): Entry {
  return {
    name,
    type: typeOf(st),
    size: st.size,
    mtime: Math.floor(st.mtimeMs),
    mode: st.mode & 0o7777,
  };
}

function typeOf(st: Stats): EntryType {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'dir';
  if (st.isSymbolicLink()) return 'symlink';
  return 'other';
}

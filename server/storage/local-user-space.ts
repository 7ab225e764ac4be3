import { createHash, randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import type { Stats } from 'node:fs';
import { link, lstat, mkdir, open, readdir, rename, rm, rmdir, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { FerryError, LIMITS, type Entry } from '../../src/protocol/index.js';
import { LocalFileReader } from './file-reader.js';
import { displayPath, type Jail, type JailPath } from './jail.js';
import type { LocalStorage } from './local-storage.js';
import { isOsError, toFerryError } from './os-errors.js';
import { LocalPartialUpload, PartialState, hashPrefix, readPartialInfo, type PartialInfo, type UploadContext } from './partial-upload.js';
import { placeFile } from './place-file.js';
import type { FileReader, PutOptions, UploadOptions, UserSpace } from './storage.js';
import { treeBytes } from './usage.js';

/** lstat calls a listing keeps in flight. */
const LIST_CONCURRENCY = 64;
/** Read size for `hash`. */
const HASH_CHUNK = 1024 * 1024;

/** An Entry from lstat/stat results. Directories and other non-files report size 0. */
export function toEntry(name: string, st: Stats): Entry {
  const type = st.isFile() ? 'file' : st.isDirectory() ? 'dir' : st.isSymbolicLink() ? 'symlink' : 'other';
  return {
    name,
    type,
    size: type === 'file' ? st.size : 0,
    // Rounded, not floored: utimes stores microseconds, so a whole-ms mtime can read back as x.999.
    mtime: Math.round(st.mtimeMs),
    mode: st.mode & 0o7777,
  };
}

async function lstatOrNull(real: string): Promise<Stats | null> {
  try {
    return await lstat(real);
  } catch (error) {
    if (isOsError(error, 'ENOENT', 'ENOTDIR')) return null;
    throw error;
  }
}

/** Runs `task`; anything it throws leaves as a FerryError naming `wire`. */
async function mapErrors<T>(wire: string, task: () => Promise<T>): Promise<T> {
  try {
    return await task();
  } catch (error) {
    throw toFerryError(error, wire);
  }
}

function isCount(value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0;
}

/** One user's home on the local disk; see UserSpace for the contract. */
export class LocalUserSpace implements UserSpace {
  constructor(
    private readonly storage: LocalStorage,
    readonly user: string,
    private readonly quotaBytes: () => number,
  ) {}

  private jail(): Promise<Jail> {
    return this.storage.jailFor(this.user);
  }

  /** Resolves a wire path in this home (see Jail.resolve). */
  async resolve(wire: string, follow: boolean): Promise<JailPath> {
    return (await this.jail()).resolve(wire, { follow });
  }

  async list(wire: string): Promise<{ entries: Entry[]; truncated: boolean }> {
    const jail = await this.jail();
    const dir = await jail.resolve(wire, { follow: true });
    let names: string[];
    try {
      names = await readdir(dir.real);
    } catch (error) {
      throw toFerryError(error, dir.wire);
    }
    names.sort();
    const truncated = names.length > this.storage.maxListEntries;
    if (truncated) names = names.slice(0, this.storage.maxListEntries);
    const entries: Entry[] = [];
    await mapErrors(dir.wire, async () => {
      for (let i = 0; i < names.length; i += LIST_CONCURRENCY) {
        const batch = await Promise.all(names.slice(i, i + LIST_CONCURRENCY).map((name) => this.entryIn(jail, dir, name)));
        for (const entry of batch) if (entry !== null) entries.push(entry);
      }
    });
    return { entries, truncated };
  }

  /**
   * The entry for `name` in the listed directory. A symlink stays type 'symlink'; when it
   * resolves inside the home it gets `target` and the size, mtime and mode of what it points at.
   */
  private async entryIn(jail: Jail, dir: JailPath, name: string): Promise<Entry | null> {
    const st = await lstatOrNull(path.join(dir.real, name));
    if (st === null) return null; // removed while we listed
    const entry = toEntry(name, st);
    if (!st.isSymbolicLink()) return entry;
    try {
      const resolved = await jail.resolve(`${dir.wire}/${name}`, { follow: true });
      const target = await lstat(resolved.real);
      if (target.isFile() || target.isDirectory()) {
        return { ...toEntry(name, target), type: 'symlink', target: target.isFile() ? 'file' : 'dir' };
      }
    } catch {
      // Points outside, dangles or loops: shown as a bare link.
    }
    return entry;
  }

  async realDirectory(wire: string): Promise<string> {
    const target = await this.resolve(wire, true);
    let info: Stats;
    try {
      info = await lstat(target.real);
    } catch (error) {
      throw toFerryError(error, target.wire);
    }
    if (!info.isDirectory()) throw new FerryError('ENOTDIR', `not a directory: ${displayPath(target.wire)}`);
    return target.real;
  }

  async stat(wire: string): Promise<Entry> {
    const target = await this.resolve(wire, true);
    try {
      const name = target.parts.length === 0 ? '/' : target.parts[target.parts.length - 1]!;
      return toEntry(name, await lstat(target.real));
    } catch (error) {
      throw toFerryError(error, target.wire);
    }
  }

  async mkdir(wire: string, options: { parents: boolean }): Promise<void> {
    const jail = await this.jail();
    const target = await jail.resolve(wire, { follow: false });
    const exists = `file already exists: ${displayPath(target.wire)}`;
    if (target.parts.length === 0) {
      if (options.parents) return;
      throw new FerryError('EEXIST', exists);
    }
    try {
      const st = await lstatOrNull(target.real);
      if (st !== null) {
        let isDir = st.isDirectory();
        if (st.isSymbolicLink()) {
          // Through the jail: a link to a directory outside is refused, not reported as a dir.
          isDir = (await lstatOrNull((await jail.resolve(target.wire, { follow: true })).real))?.isDirectory() ?? false;
        }
        if (isDir && options.parents) return;
        throw new FerryError('EEXIST', exists);
      }
      await mkdir(target.real, { recursive: options.parents });
    } catch (error) {
      throw toFerryError(error, target.wire);
    }
  }

  async remove(wire: string, options: { recursive: boolean }): Promise<void> {
    const target = await this.resolve(wire, false);
    if (target.parts.length === 0) throw new FerryError('EACCES', 'access denied: the home itself cannot be removed');
    const usage = this.storage.usage;
    try {
      const st = await lstat(target.real);
      if (!st.isDirectory()) {
        // A symlink is unlinked itself; what it points at is untouched.
        await unlink(target.real);
        if (st.isFile() && st.nlink === 1) usage.add(this.user, -st.size);
        return;
      }
      if (!options.recursive) {
        await rmdir(target.real);
        return;
      }
      const bytes = await treeBytes(target.real);
      try {
        // fs.rm never follows symlinks inside the tree: it lstat()s and unlinks them.
        await rm(target.real, { recursive: true });
      } catch (error) {
        usage.invalidate(this.user);
        throw error;
      }
      usage.add(this.user, -bytes);
    } catch (error) {
      throw toFerryError(error, target.wire);
    }
  }

  async rename(fromWire: string, toWire: string, options: { overwrite: boolean }): Promise<void> {
    const jail = await this.jail();
    const from = await jail.resolve(fromWire, { follow: false });
    const to = await jail.resolve(toWire, { follow: false });
    if (from.parts.length === 0 || to.parts.length === 0) {
      throw new FerryError('EACCES', 'access denied: the home itself cannot be renamed or replaced');
    }
    if (from.real === to.real) {
      await lstat(from.real).catch((error: unknown) => {
        throw toFerryError(error, from.wire);
      });
      return;
    }
    if (to.real.startsWith(`${from.real}/`)) {
      throw new FerryError('EINVAL', `cannot move ${displayPath(from.wire)} into itself`);
    }
    try {
      const source = await lstat(from.real);
      const existing = await lstatOrNull(to.real);
      if (existing !== null && !options.overwrite) throw new FerryError('EEXIST', `file already exists: ${displayPath(to.wire)}`);
      if (!options.overwrite && !source.isDirectory() && (await this.linkNoClobber(from.real, to.real))) return;
      // Directories cannot be hard-linked, so a directory that appears at the target between the
      // check above and here is the one race left (and rename only replaces an empty one).
      await rename(from.real, to.real);
      if (existing?.isFile() && existing.nlink === 1) this.storage.usage.add(this.user, -existing.size);
    } catch (error) {
      throw toFerryError(error, `${from.wire} -> ${to.wire}`);
    }
  }

  /**
   * Moves a non-directory with link()+unlink(), which fails with EEXIST if the target exists:
   * rename without clobbering, atomically. False when the file system cannot hard-link.
   */
  private async linkNoClobber(from: string, to: string): Promise<boolean> {
    try {
      await link(from, to);
    } catch (error) {
      if (isOsError(error, 'EPERM', 'ENOTSUP', 'EOPNOTSUPP', 'EMLINK', 'EXDEV')) return false;
      throw error;
    }
    await unlink(from);
    return true;
  }

  async hash(wire: string, length?: number): Promise<{ sha256: string; length: number }> {
    if (length !== undefined && !isCount(length)) throw new FerryError('EINVAL', 'length must be a non-negative integer');
    const target = await this.resolve(wire, true);
    const reader = await LocalFileReader.open(target.real, target.wire);
    try {
      const end = Math.min(length ?? reader.size, reader.size);
      const hash = createHash('sha256');
      const buffer = Buffer.allocUnsafe(Math.min(HASH_CHUNK, Math.max(1, end)));
      let position = 0;
      while (position < end) {
        const read = await reader.read(buffer, 0, Math.min(buffer.length, end - position), position);
        if (read === 0) break; // shrank while we read
        hash.update(buffer.subarray(0, read));
        position += read;
      }
      return { sha256: hash.digest('hex'), length: position };
    } finally {
      await reader.close();
    }
  }

  async quota(): Promise<{ used: number; total: number }> {
    return { used: await mapErrors('/', () => this.storage.usage.get(this.user)), total: this.quotaBytes() };
  }

  async openRead(wire: string, options: { expectSize?: number; expectMtime?: number } = {}): Promise<FileReader> {
    const target = await this.resolve(wire, true);
    const reader = await LocalFileReader.open(target.real, target.wire);
    const sizeChanged = options.expectSize !== undefined && options.expectSize !== reader.size;
    const mtimeChanged = options.expectMtime !== undefined && options.expectMtime !== reader.mtime;
    if (sizeChanged || mtimeChanged) {
      await reader.close();
      throw new FerryError('ECHANGED', `the file changed since the transfer started: ${displayPath(target.wire)}`);
    }
    return reader;
  }

  async openUpload(wire: string, options: UploadOptions): Promise<LocalPartialUpload> {
    const { size, mtime } = options;
    if (!isCount(size) || size > LIMITS.maxFileSize) throw new FerryError('EINVAL', 'size must be a non-negative integer');
    // 8.64e15 ms is the last instant a JS Date (and so utimes) can express.
    if (!isCount(mtime) || mtime > 8.64e15) throw new FerryError('EINVAL', 'mtime must be a non-negative integer of ms, at most 8.64e15');
    const jail = await this.jail();
    const target = await jail.resolve(wire, { follow: true });
    if (target.parts.length === 0) throw new FerryError('EISDIR', 'cannot upload onto the home');
    const parentWire = `/${target.parts.slice(0, -1).join('/')}`;
    let existing: Stats | null;
    try {
      const parent = await lstat(path.dirname(target.real));
      if (!parent.isDirectory()) throw new FerryError('ENOTDIR', `not a directory: ${displayPath(parentWire)}`);
      existing = await lstatOrNull(target.real);
    } catch (error) {
      throw toFerryError(error, parentWire);
    }
    if (existing?.isDirectory()) throw new FerryError('EISDIR', `is a directory: ${displayPath(target.wire)}`);
    const adopting = options.adopt && existing !== null && existing.isFile();
    if (adopting && existing!.size >= size) {
      throw new FerryError('EINVAL', `cannot adopt ${displayPath(target.wire)}: it is not shorter than the upload (${existing!.size} >= ${size} bytes)`);
    }
    if (existing !== null && !options.overwrite && !adopting) {
      throw new FerryError('EEXIST', `file already exists: ${displayPath(target.wire)}`);
    }
    const destination = `/${target.realRel}`;
    const key = createHash('sha256').update(destination).digest('hex');
    const registryKey = `${this.user}/${key}`;
    const dir = await mapErrors(target.wire, () => this.storage.partialsDirFor(this.user));
    const partPath = path.join(dir, `${key}.part`);
    const infoPath = path.join(dir, `${key}.info`);

    return this.storage.mutex.run(registryKey, () => mapErrors(target.wire, async () => {
      const { partials, usage } = this.storage;
      // What is held for this destination: the registry's state, unless someone changed the
      // data file behind our back, else what a previous server process left on disk.
      let state = partials.get(registryKey) ?? null;
      if (state !== null && !(await state.unchangedOnDisk())) {
        state.gone = true;
        state.owner = null;
        await state.closeFile().catch(() => undefined);
        partials.delete(registryKey);
        state = null;
        // Our running figure counted what we wrote, not what is there now.
        usage.invalidate(this.user);
      }
      let diskInfo: PartialInfo | null = null;
      let diskLength = 0;
      if (state === null) {
        diskInfo = await readPartialInfo(infoPath);
        const part = await lstatOrNull(partPath);
        if (part === null || !part.isFile()) diskInfo = null;
        else diskLength = part.size;
      }
      const held = state?.info ?? diskInfo;
      const heldBytes = state?.offset ?? diskLength;
      const resume =
        held !== null &&
        !options.restart &&
        !adopting &&
        held.path === destination &&
        held.size === size &&
        held.mtime === mtime &&
        heldBytes <= size;

      const quota = this.quotaBytes();
      if (quota > 0) {
        const used = await usage.get(this.user);
        const startAt = resume ? heldBytes : adopting ? existing!.size : 0;
        const freed = (resume ? 0 : heldBytes) + (options.overwrite && !adopting && existing?.isFile() && existing.nlink === 1 ? existing.size : 0);
        const needed = size - startAt;
        if (used - freed + needed > quota) {
          throw new FerryError('EQUOTA', `disk quota exceeded: ${size} bytes do not fit (${Math.max(0, quota - used)} of ${quota} bytes free)`);
        }
      }

      try {
        if (!resume) {
          if (state !== null) await state.deleteFiles();
          else {
            await rm(partPath, { force: true });
            await rm(infoPath, { force: true });
          }
          partials.delete(registryKey);
          usage.add(this.user, -heldBytes);
          state = null;
        }
        if (state === null) {
          const now = Date.now();
          const createdAt = resume && diskInfo !== null ? diskInfo.createdAt : now;
          const info = { path: destination, size, mtime, createdAt, updatedAt: now };
          if (adopting) await rename(target.real, partPath); // the bytes move from the home to the partials: usage unchanged
          const fresh = new PartialState(this.user, registryKey, partPath, infoPath, info, createHash('sha256'), 0);
          const file = await fresh.openFile();
          if (resume || adopting) {
            // After a restart (or an adopt) the file's length is the offset, and the hash must be
            // rebuilt from what is really on disk.
            const length = (await file.stat()).size;
            fresh.hash = await hashPrefix(file, length);
            fresh.offset = length;
            await file.datasync();
            fresh.durableOffset = length;
          }
          state = fresh;
          partials.set(registryKey, state);
        }
        const upload = new LocalPartialUpload(
          state,
          this.uploadContext(jail),
          target.wire,
          options.overwrite || adopting,
          options.overwrite && !adopting && existing?.isFile() && existing.nlink === 1 ? existing.size : 0,
        );
        // A newer open takes the partial over; the previous handle gets ECANCELED from now on.
        state.owner = upload;
        const file = await state.openFile();
        if (state.durableOffset < state.offset) {
          await file.datasync();
          state.durableOffset = state.offset;
        }
        state.info.updatedAt = Date.now();
        await state.writeInfo();
        return upload;
      } catch (error) {
        throw toFerryError(error, target.wire);
      }
    }));
  }

  async putFile(wire: string, data: Uint8Array, options: PutOptions): Promise<{ size: number; sha256: string; mtime: number }> {
    const { mtime, sha256, overwrite } = options;
    if (!isCount(mtime) || mtime > 8.64e15) throw new FerryError('EINVAL', 'mtime must be a non-negative integer of ms, at most 8.64e15');
    if (createHash('sha256').update(data).digest('hex') !== sha256) {
      throw new FerryError('EINTEGRITY', `checksum mismatch for ${displayPath(wire)}: nothing was stored`);
    }
    const jail = await this.jail();
    const { usage } = this.storage;
    const size = data.length;
    await mapErrors(wire, () => usage.get(this.user));
    const quota = this.quotaBytes();
    if (quota > 0 && usage.peek(this.user) + size > quota) {
      // Only now is the file it would replace worth a look: its bytes are freed when this lands.
      const existing = overwrite ? await mapErrors(wire, async () => lstatOrNull((await jail.resolve(wire, { follow: true })).real)) : null;
      const credit = existing?.isFile() && existing.nlink === 1 ? existing.size : 0;
      if (usage.peek(this.user) - credit + size > quota) {
        throw new FerryError('EQUOTA', `disk quota exceeded: ${size} bytes do not fit (${Math.max(0, quota - usage.peek(this.user))} of ${quota} bytes free)`);
      }
    }
    // Reserved with no await since the check: other uploads of this user may be landing too.
    usage.add(this.user, size);
    let temporary = '';
    let placed = false;
    try {
      const created = await this.createPutFile();
      temporary = created.path;
      const file = created.file;
      try {
        for (let written = 0; written < size; ) {
          written += (await file.write(data, written, size - written, written)).bytesWritten;
        }
        const when = new Date(mtime);
        await file.utimes(when, when);
        await file.chmod(0o644);
        // fsync, not fdatasync: the mtime must survive a crash with the data.
        await file.sync();
      } finally {
        await file.close();
      }
      const freed = await placeFile(jail, wire, temporary, overwrite);
      placed = true;
      usage.add(this.user, -freed);
      return { size, sha256, mtime };
    } catch (error) {
      throw toFerryError(error, wire);
    } finally {
      if (!placed) {
        usage.add(this.user, -size);
        if (temporary !== '') await rm(temporary, { force: true }).catch(() => undefined);
      }
    }
  }

  /** A new private file beside the partials for a put; the directory is made again if it vanished. */
  private async createPutFile(): Promise<{ path: string; file: FileHandle }> {
    for (let attempt = 1; ; attempt++) {
      const file = path.join(await this.storage.partialsDirFor(this.user, { cached: true }), `${randomUUID()}.put`);
      try {
        return { path: file, file: await open(file, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW, 0o600) };
      } catch (error) {
        if (attempt > 1 || !isOsError(error, 'ENOENT')) throw error;
        this.storage.partialsDirGone(this.user);
      }
    }
  }

  private uploadContext(jail: Jail): UploadContext {
    const storage = this.storage;
    return {
      jail,
      usage: storage.usage,
      quotaBytes: this.quotaBytes,
      locked: (state, task) => storage.mutex.run(state.registryKey, task),
      forget: (state) => {
        if (storage.partials.get(state.registryKey) === state) storage.partials.delete(state.registryKey);
      },
    };
  }
}

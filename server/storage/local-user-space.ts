import { createHash, randomUUID } from 'node:crypto';
import { constants } from 'node:fs';
import type { Stats } from 'node:fs';
import { copyFile, lstat, mkdir, open, readdir, rename, rm, rmdir, unlink, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { FerryError, LIMITS, type Entry } from '../../src/protocol/index.js';
import { LocalFileReader, SAFE_READ_FLAGS } from './file-reader.js';
import { displayPath, splitWirePath, type Jail } from './jail.js';
import type { LocalStorage } from './local-storage.js';
import { isOsError, toFerryError } from './os-errors.js';
import { LocalPartialUpload, PartialState, hashPrefix, readPartialInfo, type PartialInfo, type UploadContext } from './partial-upload.js';
import { placeFile } from './place-file.js';
import type { Place } from './place.js';
import { moveEntry } from './move-entry.js';
import { giveToHomeOwner } from './home-owner.js';
import { removeTree } from './remove-tree.js';
import type { DirectoryHandle, FileReader, PutOptions, UploadOptions, UserSpace } from './storage.js';

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

/**
 * Moves a home's file `from` (a descriptor path) to `partPath` to continue an upload in it. A
 * file with other hard links is copied instead of written in place: its other names may be
 * outside the home, and they must keep their bytes. What arrives is checked to be a regular
 * file (the entry may have been swapped since it was looked at); anything else goes back.
 */
async function adoptInto(from: string, partPath: string): Promise<void> {
  await rename(from, partPath);
  const moved = await lstat(partPath);
  if (!moved.isFile()) {
    await rename(partPath, from).catch(() => rm(partPath, { recursive: true, force: true }));
    throw new FerryError('EBUSY', 'the file changed while it was being taken over; try again');
  }
  if (moved.nlink > 1) {
    const copy = `${partPath}.copy`;
    await copyFile(partPath, copy);
    await rename(copy, partPath);
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

  /** Pinned at first use: if the account is deleted and its name given again, this space keeps the old home's jail. */
  #jail: Promise<Jail> | undefined;

  #closed = false;

  private jail(): Promise<Jail> {
    if (this.#closed) return Promise.reject(new FerryError('ECANCELED', 'the session ended'));
    if (this.#jail === undefined) {
      const jail = this.storage.jailFor(this.user).then((held) => {
        held.acquire();
        return held;
      });
      this.#jail = jail;
      jail.catch(() => {
        if (this.#jail === jail) this.#jail = undefined;
      });
    }
    return this.#jail;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const jail = await this.#jail?.catch(() => undefined);
    jail?.release();
  }

  /** Runs `task` on the place `wire` names (see Jail.locate), closing it after; errors name `wire`. */
  private async at<T>(wire: string, follow: boolean, task: (place: Place, jail: Jail) => Promise<T>): Promise<T> {
    const jail = await this.jail();
    const place = await jail.locate(wire, { follow });
    try {
      return await task(place, jail);
    } catch (error) {
      throw toFerryError(error, place.wire);
    } finally {
      await place.close();
    }
  }

  async list(wire: string): Promise<{ entries: Entry[]; truncated: boolean }> {
    const jail = await this.jail();
    const dir = await jail.openDirectory(wire);
    try {
      let names: string[];
      try {
        names = await readdir(dir.dirPath);
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
    } finally {
      await dir.close();
    }
  }

  /**
   * The entry for `name` in the listed directory. A symlink stays type 'symlink'; when it
   * resolves inside the home it gets `target` and the size, mtime and mode of what it points at.
   */
  private async entryIn(jail: Jail, dir: Place, name: string): Promise<Entry | null> {
    const st = await lstatOrNull(`${dir.dirPath}/${name}`);
    if (st === null) return null; // removed while we listed
    const entry = toEntry(name, st);
    if (!st.isSymbolicLink()) return entry;
    let target: Place | undefined;
    try {
      target = await jail.locate(`${dir.wire}/${name}`, { follow: true });
      const resolved = await target.lstat();
      if (resolved.isFile() || resolved.isDirectory()) {
        return { ...toEntry(name, resolved), type: 'symlink', target: resolved.isFile() ? 'file' : 'dir' };
      }
    } catch {
      // Points outside, dangles or loops: shown as a bare link.
    } finally {
      await target?.close();
    }
    return entry;
  }

  async openDirectory(wire: string): Promise<DirectoryHandle> {
    const jail = await this.jail();
    const place = await jail.openDirectory(wire);
    return {
      path: place.dirPath,
      wire: place.wire,
      home: jail.realHome,
      reachesOnlyInside: (text) => jail.reachesOnlyInside(place, text),
      ownerChanged: () => jail.ownerChanged(),
      close: () => place.close(),
    };
  }

  async stat(wire: string): Promise<Entry> {
    return this.at(wire, true, async (place) => {
      const name = place.isHome ? '/' : path.posix.basename(place.wire);
      // Nothing there: lstat again, for the OS's own ENOENT.
      return toEntry(name, (await place.entryStat()) ?? (await place.lstat()));
    });
  }

  async mkdir(wire: string, options: { parents: boolean }): Promise<void> {
    const jail = await this.jail();
    const exists = (place: { wire: string }) => new FerryError('EEXIST', `file already exists: ${displayPath(place.wire)}`);
    if (options.parents) {
      try {
        await (await jail.openDirectory(wire, { create: true })).close();
      } catch (error) {
        // What is there is no directory (and no link to one): that is EEXIST, as for mkdir -p.
        if (!(error instanceof FerryError && error.code === 'ENOTDIR')) throw error;
        const isFile = await this.at(wire, false, async (place) => place.name !== null && (await lstatOrNull(place.path)) !== null).catch(() => false);
        throw isFile ? exists({ wire: `/${splitWirePath(wire).join('/')}` }) : error;
      }
      return;
    }
    await this.at(wire, false, async (place) => {
      if (place.name === null) throw exists(place);
      try {
        await mkdir(place.path, 0o755);
        await giveToHomeOwner(place.homeOwner, place.path);
      } catch (error) {
        throw isOsError(error, 'EEXIST') ? exists(place) : error;
      }
    });
  }

  async remove(wire: string, options: { recursive: boolean }): Promise<void> {
    await this.at(wire, false, async (place) => {
      if (place.name === null) throw new FerryError('EACCES', 'access denied: the home itself cannot be removed');
      const usage = this.storage.usage;
      const st = await lstat(place.path);
      if (!st.isDirectory()) {
        // A symlink is unlinked itself; what it points at is untouched.
        await unlink(place.path);
        if (st.isFile() && st.nlink === 1) usage.add(this.user, -st.size);
        return;
      }
      if (!options.recursive) {
        await rmdir(place.path);
        return;
      }
      try {
        usage.add(this.user, -(await removeTree(place.dir, place.name)));
      } catch (error) {
        usage.invalidate(this.user);
        throw error;
      }
    });
  }

  async rename(fromWire: string, toWire: string, options: { overwrite: boolean }): Promise<void> {
    const jail = await this.jail();
    const from = await jail.locate(fromWire, { follow: false });
    let to: Place | undefined;
    try {
      to = await jail.locate(toWire, { follow: false });
      const freed = await moveEntry(jail, from, to, options.overwrite);
      this.storage.usage.add(this.user, -freed);
    } catch (error) {
      throw toFerryError(error, `${from.wire} -> ${to?.wire ?? toWire}`);
    } finally {
      await Promise.all([from.close(), to?.close()]);
    }
  }

  async hash(wire: string, length?: number): Promise<{ sha256: string; length: number }> {
    if (length !== undefined && !isCount(length)) throw new FerryError('EINVAL', 'length must be a non-negative integer');
    const reader = await this.openReader(wire);
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

  /** Opens the regular file `wire` names through the jail, by descriptor. */
  private async openReader(wire: string): Promise<LocalFileReader> {
    const { place, file } = await (await this.jail()).openFile(wire, SAFE_READ_FLAGS);
    await place.close();
    return LocalFileReader.fromHandle(file, place.wire);
  }

  async quota(): Promise<{ used: number; total: number }> {
    return { used: await mapErrors('/', () => this.storage.usage.get(this.user)), total: this.quotaBytes() };
  }

  async openRead(wire: string, options: { expectSize?: number; expectMtime?: number } = {}): Promise<FileReader> {
    const reader = await this.openReader(wire);
    const sizeChanged = options.expectSize !== undefined && options.expectSize !== reader.size;
    const mtimeChanged = options.expectMtime !== undefined && options.expectMtime !== reader.mtime;
    if (sizeChanged || mtimeChanged) {
      await reader.close();
      throw new FerryError('ECHANGED', `the file changed since the transfer started: ${displayPath(reader.wire)}`);
    }
    return reader;
  }

  async openUpload(wire: string, options: UploadOptions): Promise<LocalPartialUpload> {
    const { size, mtime } = options;
    if (!isCount(size) || size > LIMITS.maxFileSize) throw new FerryError('EINVAL', 'size must be a non-negative integer');
    // 8.64e15 ms is the last instant a JS Date (and so utimes) can express.
    if (!isCount(mtime) || mtime > 8.64e15) throw new FerryError('EINVAL', 'mtime must be a non-negative integer of ms, at most 8.64e15');
    const jail = await this.jail();
    const target = await jail.locate(wire, { follow: true });
    try {
      return await this.openUploadAt(jail, target, options);
    } finally {
      await target.close();
    }
  }

  private async openUploadAt(jail: Jail, target: Place, options: UploadOptions): Promise<LocalPartialUpload> {
    const { size, mtime } = options;
    if (target.name === null) {
      throw new FerryError('EISDIR', target.isHome ? 'cannot upload onto the home' : `is a directory: ${displayPath(target.wire)}`);
    }
    const existing = await mapErrors(target.wire, () => target.entryStat());
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
          // The bytes move from the home to the partials: usage unchanged.
          if (adopting) await adoptInto(target.path, partPath);
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
        const file = await state.flushedFile();
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
      const existing = overwrite ? await this.at(wire, true, (place) => place.entryStat()) : null;
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

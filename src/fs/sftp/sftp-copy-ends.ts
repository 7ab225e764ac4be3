import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import type { Client as SshClient, OpenMode, SFTPWrapper } from 'ssh2';
import { FerryError } from '../../protocol/index.js';
import type { FileSink, FileSource, SinkRequest } from '../file-system.js';

/** Bytes per SFTP read or write request: what OpenSSH's own client uses (32 KiB). */
const REQUEST_BYTES = 32 * 1024;
/**
 * Written bytes a sink keeps in flight before it waits for the server's replies (OpenSSH's sftp
 * keeps 64 requests of 32 KiB): a write that waited for its own replies paid a round trip per MiB.
 */
const WRITE_WINDOW = 8 * 1024 * 1024;
/**
 * Files up to this size are checked by reading them back over SFTP and hashing here, not by
 * sha256sum: one round trip instead of a command started per file. Nor do they get a sidecar:
 * a partial this small is not worth resuming.
 */
const SMALL_FILE = 1024 * 1024;

type Handle = Buffer;

/** Promisified SFTP requests on one channel, errors named after `where`. */
export class SftpCalls {
  /** Requests waiting for a reply: failed at once when the connection drops (ssh2 would leave them waiting). */
  readonly #waiting = new Set<(error: FerryError) => void>();
  #gone: FerryError | undefined;

  constructor(
    readonly sftp: SFTPWrapper,
    readonly client: SshClient,
    readonly toError: (error: Error, where: string) => FerryError,
  ) {
    const drop = () => {
      this.#gone ??= new FerryError('ENETWORK', 'the SSH connection was lost');
      for (const fail of [...this.#waiting]) fail(this.#gone);
      this.#waiting.clear();
    };
    client.once('close', drop);
    client.once('end', drop);
  }

  call<T>(where: string, request: (done: (error: Error | null | undefined, value: T) => void) => void): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      if (this.#gone) return reject(new FerryError('ENETWORK', `${where}: ${this.#gone.message}`));
      const fail = (error: FerryError) => reject(new FerryError('ENETWORK', `${where}: ${error.message}`));
      this.#waiting.add(fail);
      try {
        request((error, value) => {
          this.#waiting.delete(fail);
          if (error) reject(this.toError(error, where));
          else resolve(value);
        });
      } catch (error) {
        this.#waiting.delete(fail);
        reject(new FerryError('ENETWORK', `${where}: the SSH connection is gone (${(error as Error).message})`));
      }
    });
  }

  open(path: string, flags: OpenMode): Promise<Handle> {
    return this.call<Handle>(path, (done) => this.sftp.open(path, flags, done));
  }

  close(path: string, handle: Handle): Promise<void> {
    return this.call<void>(path, (done) => this.sftp.close(handle, done));
  }

  /**
   * `length` bytes at `position`, as many 32 KiB requests in flight at once (one round trip for
   * the lot, not one each); fewer at the end of the file.
   */
  async read(path: string, handle: Handle, buffer: Buffer, length: number, position: number): Promise<number> {
    const pieces: Array<Promise<number>> = [];
    for (let at = 0; at < length; at += REQUEST_BYTES) {
      const size = Math.min(REQUEST_BYTES, length - at);
      pieces.push(this.call<number>(path, (done) => this.sftp.read(handle, buffer, at, size, position + at, (error, bytes) => done(error, bytes))));
    }
    const got = await Promise.all(pieces);
    let total = 0;
    for (let i = 0; i < got.length; i++) {
      total += got[i]!;
      // A short piece is the end of the file: what follows it did not come.
      if (got[i]! < Math.min(REQUEST_BYTES, length - i * REQUEST_BYTES)) break;
    }
    return total;
  }

  /**
   * Sends `data` for `position` as 32 KiB requests and resolves with their replies; ssh2 copies
   * the bytes into its packets before this returns, so the caller may reuse `data` at once.
   */
  write(path: string, handle: Handle, data: Uint8Array, position: number): Promise<void> {
    const buffer = Buffer.from(data.buffer, data.byteOffset, data.length);
    const pieces: Array<Promise<void>> = [];
    for (let at = 0; at < buffer.length; at += REQUEST_BYTES) {
      const size = Math.min(REQUEST_BYTES, buffer.length - at);
      pieces.push(this.call<void>(path, (done) => this.sftp.write(handle, buffer, at, size, position + at, done)));
    }
    return Promise.all(pieces).then(() => undefined);
  }

  /**
   * The SHA-256 of what the server holds at `path`: a small file read back over SFTP and hashed
   * here, a big one hashed on the server (`sha256sum` over an exec channel); undefined when the
   * account may not run commands (then no hash check is claimed).
   */
  async sha256(path: string, size: number): Promise<string | undefined> {
    if (size <= SMALL_FILE) return this.#sha256ByReading(path, size);
    return this.#sha256sum(path);
  }

  async #sha256ByReading(path: string, size: number): Promise<string> {
    const handle = await this.open(path, 'r');
    try {
      const buffer = Buffer.allocUnsafe(size + 1);
      const got = await this.read(path, handle, buffer, size + 1, 0);
      return createHash('sha256').update(buffer.subarray(0, got)).digest('hex');
    } finally {
      await this.close(path, handle).catch(() => undefined);
    }
  }

  #sha256sum(path: string): Promise<string | undefined> {
    return new Promise((resolve) => {
      this.client.exec(`sha256sum -b -- ${shellQuote(path)}`, (error, channel) => {
        if (error) return resolve(undefined);
        let out = '';
        channel.on('data', (chunk: Buffer) => {
          if (out.length < 4096) out += chunk.toString('latin1');
        });
        channel.stderr.on('data', () => undefined);
        channel.on('close', (code: number | null) => {
          const digest = /^\\?([0-9a-f]{64}) /.exec(out)?.[1];
          resolve(code === 0 && digest ? digest : undefined);
        });
      });
    });
  }
}

function shellQuote(text: string): string {
  return `'${text.replace(/'/g, `'\\''`)}'`;
}

/** A file on the SSH server as the source of a copy. */
export async function openSftpSource(calls: SftpCalls, path: string): Promise<FileSource> {
  const attrs = await calls.call<{ mode: number; size: number; mtime: number }>(path, (done) => calls.sftp.stat(path, done));
  if ((attrs.mode & 0o170000) === 0o040000) throw new FerryError('EISDIR', `${path}: is a directory`);
  if ((attrs.mode & 0o170000) !== 0o100000) throw new FerryError('EINVAL', `${path}: not a regular file`);
  const handle = await calls.open(path, 'r');
  return {
    size: attrs.size,
    mtime: attrs.mtime * 1000,
    read: (buffer, length, position) => calls.read(path, handle, buffer, length, position),
    hashAtSource: () => calls.sha256(path, attrs.size),
    close: () => calls.close(path, handle).catch(() => undefined),
  };
}

interface Sidecar {
  version: 1;
  origin: string;
  size: number;
  mtime: number;
}

/**
 * A file on the SSH server as the target of a copy: `.<name>.ferry-part` beside it and a `.json`
 * sidecar naming the source, so a later attempt (another process, after a cut) resumes from the
 * partial's length; checked with the server's sha256sum before it is moved into place, where the
 * account may run it.
 */
export async function openSftpSink(calls: SftpCalls, destination: string, request: SinkRequest): Promise<FileSink> {
  const dir = posix.dirname(destination);
  const part = posix.join(dir, `.${posix.basename(destination)}.ferry-part`);
  const sidecar = `${part}.json`;
  const existing = await statOrNull(calls, destination);
  if (existing && (existing.mode & 0o170000) === 0o040000) throw new FerryError('EISDIR', `${destination}: is a directory`);
  if (existing && !request.overwrite) throw new FerryError('EEXIST', `${destination}: file already exists`);
  const identity: Sidecar = { version: 1, origin: request.origin, size: request.size, mtime: request.mtime };
  const kept = request.size > SMALL_FILE ? await readSidecar(calls, sidecar) : undefined;
  const keepPartial = !request.restart && kept?.origin === identity.origin && kept.size === identity.size && kept.mtime === identity.mtime;
  const partStat = keepPartial ? await statOrNull(calls, part) : null;
  let offset = partStat && partStat.size <= request.size ? partStat.size : 0;
  // A partial longer than its source, or another source's, is written over from 0 ('w' truncates).
  const handle = await calls.open(part, offset > 0 ? 'r+' : 'w');
  if (request.size > SMALL_FILE) await writeRemote(calls, sidecar, `${JSON.stringify(identity)}\n`);
  let closed = false;
  /** Writes sent whose replies have not all come, oldest first, with their sizes. */
  const inFlight: Array<{ bytes: number; done: Promise<void> }> = [];
  let inFlightBytes = 0;
  const settleOldest = async () => {
    const oldest = inFlight.shift()!;
    inFlightBytes -= oldest.bytes;
    await oldest.done;
  };
  const drain = async () => {
    while (inFlight.length > 0) await settleOldest();
  };
  const shut = async () => {
    if (closed) return;
    closed = true;
    await Promise.allSettled(inFlight.map((item) => item.done));
    await calls.close(part, handle).catch(() => undefined);
  };
  const removeBoth = async () => {
    await calls.call<void>(part, (done) => calls.sftp.unlink(part, done)).catch(() => undefined);
    await calls.call<void>(sidecar, (done) => calls.sftp.unlink(sidecar, done)).catch(() => undefined);
  };
  return {
    get offset() {
      return offset;
    },
    async write(data) {
      const done = calls.write(part, handle, data, offset);
      // A failed write is reported by the next write or the finish, which wait for it.
      done.catch(() => undefined);
      inFlight.push({ bytes: data.length, done });
      inFlightBytes += data.length;
      offset += data.length;
      while (inFlightBytes > WRITE_WINDOW) await settleOldest();
    },
    async finish({ sha256 }) {
      await drain();
      // fsync@openssh.com where offered; a server without it gives no durability promise to keep.
      await calls.call<void>(part, (done) => calls.sftp.ext_openssh_fsync(handle, done)).catch(() => undefined);
      await shut();
      const atTarget = await calls.sha256(part, request.size);
      if (atTarget !== undefined && atTarget !== sha256) {
        await removeBoth();
        throw new FerryError('EINTEGRITY', `${destination}: the server's sha256sum is ${atTarget}, the source's ${sha256}: the partial was dropped`);
      }
      const seconds = Math.floor(request.mtime / 1000);
      await calls.call<void>(part, (done) => calls.sftp.utimes(part, seconds, seconds, done));
      if (request.overwrite) {
        await calls.call<void>(destination, (done) => calls.sftp.ext_openssh_rename(part, destination, done));
      } else {
        // OpenSSH's rename refuses an existing name, which is the check we want; check first
        // for servers whose rename would replace it.
        if (await statOrNull(calls, destination)) throw new FerryError('EEXIST', `${destination}: appeared during the copy (the complete file is kept in ${part})`);
        await calls.call<void>(destination, (done) => calls.sftp.rename(part, destination, done));
      }
      if (request.size > SMALL_FILE) await calls.call<void>(sidecar, (done) => calls.sftp.unlink(sidecar, done)).catch(() => undefined);
      return atTarget === undefined ? {} : { sha256AtTarget: atTarget };
    },
    async discard() {
      await shut();
      await removeBoth();
    },
    close: shut,
  };
}

async function statOrNull(calls: SftpCalls, path: string): Promise<{ mode: number; size: number } | null> {
  try {
    return await calls.call<{ mode: number; size: number }>(path, (done) => calls.sftp.stat(path, done));
  } catch (error) {
    if (error instanceof FerryError && error.code === 'ENOENT') return null;
    throw error;
  }
}

async function readSidecar(calls: SftpCalls, path: string): Promise<Sidecar | undefined> {
  try {
    const text = await calls.call<Buffer>(path, (done) => calls.sftp.readFile(path, done));
    const parsed = JSON.parse(text.toString('utf8')) as Partial<Sidecar>;
    return parsed.version === 1 && typeof parsed.origin === 'string' ? (parsed as Sidecar) : undefined;
  } catch {
    return undefined;
  }
}

function writeRemote(calls: SftpCalls, path: string, text: string): Promise<void> {
  return calls.call<void>(path, (done) => calls.sftp.writeFile(path, text, done));
}

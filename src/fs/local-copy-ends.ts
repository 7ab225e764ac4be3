import { constants } from 'node:fs';
import { lstat, open, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import type { Hash } from 'node:crypto';
import { partialPathsFor } from '../client/download.js';
import { hashFilePrefix } from '../client/file-hash.js';
import { FerryError } from '../protocol/index.js';
import { AppendWriter } from './append-writer.js';
import { DirectReader } from './direct-reader.js';
import { syncDirectory } from './directory-sync.js';
import { placePartial } from './place-partial.js';
import type { FileSink, FileSource, SinkRequest } from './file-system.js';
import { fromNodeError } from './node-errors.js';

/** A local file as the source of a copy. */
export async function openLocalSource(path: string): Promise<FileSource> {
  const handle = await open(path, 'r').catch((error: unknown) => {
    throw fromNodeError(error, path);
  });
  try {
    const st = await handle.stat();
    if (st.isDirectory()) throw new FerryError('EISDIR', `${path}: is a directory`);
    if (!st.isFile()) throw new FerryError('EINVAL', `${path}: not a regular file`);
    const reader = await DirectReader.attach(handle);
    return {
      size: st.size,
      mtime: Math.floor(st.mtimeMs),
      read: (buffer, length, position) => reader.read(buffer, 0, length, position),
      close: async () => {
        await reader.close();
        await handle.close();
      },
    };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

interface Sidecar {
  version: 1;
  origin: string;
  size: number;
  mtime: number;
}

/**
 * A local file as the target of a copy: the bytes go to `.<name>.ferry-part` beside it (with a
 * `.json` sidecar naming the source, the same names a download uses), which is fsync'd, given the
 * source's mtime and moved into place when complete.
 */
export async function openLocalSink(destination: string, request: SinkRequest): Promise<FileSink> {
  const target = resolve(destination);
  const { part, sidecar } = partialPathsFor(target);
  const existing = await lstat(target).catch(() => undefined);
  if (existing?.isDirectory()) throw new FerryError('EISDIR', `${target}: is a directory`);
  if (existing && !request.overwrite) throw new FerryError('EEXIST', `${target}: file already exists`);
  const identity: Sidecar = { version: 1, origin: request.origin, size: request.size, mtime: request.mtime };
  if (request.restart || !(await sidecarMatches(sidecar, identity))) {
    await rm(part, { force: true });
    await rm(sidecar, { force: true });
  }
  const handle = await open(part, constants.O_RDWR | constants.O_CREAT, 0o644).catch((error: unknown) => {
    throw fromNodeError(error, part);
  });
  let writer: AppendWriter;
  let offset: number;
  try {
    offset = (await handle.stat()).size;
    if (offset > request.size) {
      await handle.truncate(0);
      offset = 0;
    }
    await writeFile(sidecar, `${JSON.stringify(identity)}\n`);
    writer = await AppendWriter.attach(handle, offset);
  } catch (error) {
    await handle.close();
    throw fromNodeError(error, part);
  }
  let closed = false;
  const shut = async () => {
    if (closed) return;
    closed = true;
    await writer.flush().catch(() => undefined);
    await writer.close();
    await handle.close().catch(() => undefined);
  };
  return {
    offset,
    keptHash: (): Promise<Hash> => hashFilePrefix(handle, offset),
    write: (data) => writer.write(data).catch((error: unknown) => {
      throw fromNodeError(error, part);
    }),
    async finish() {
      await writer.flush();
      await handle.sync();
      await shut();
      await utimes(part, new Date(), new Date(request.mtime));
      await placePartial(part, target, request.overwrite);
      await rm(sidecar, { force: true });
      await syncDirectory(dirname(target));
      return {};
    },
    async discard() {
      await shut();
      await rm(part, { force: true });
      await rm(sidecar, { force: true });
    },
    close: shut,
  };
}

async function sidecarMatches(file: string, identity: Sidecar): Promise<boolean> {
  try {
    const known = JSON.parse(await readFile(file, 'utf8')) as Partial<Sidecar>;
    return known.version === 1 && known.origin === identity.origin && known.size === identity.size && known.mtime === identity.mtime;
  } catch {
    return false;
  }
}

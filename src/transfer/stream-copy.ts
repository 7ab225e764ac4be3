import { createHash, type Hash } from 'node:crypto';
import type { FileSink, FileSource, FileSystem } from '../fs/file-system.js';
import { FerryError } from '../protocol/index.js';

const CHUNK = 1024 * 1024;
/** Chunks read ahead of the one being written. */
const READ_AHEAD = 4;

export interface StreamCopyOptions {
  signal?: AbortSignal;
  onProgress?: (progress: { done: number; total: number }) => void;
  overwrite: boolean;
  restart?: boolean;
}

export interface StreamCopyResult {
  size: number;
  sha256: string;
  resumedFrom: number;
  /**
   * What was checked beyond the size: 'sha256' when one end computed the file's SHA-256 where it
   * lies (an SSH server's sha256sum) and it matched ours; 'size' when neither end could.
   */
  check: 'sha256' | 'size';
}

/**
 * Copies one file through the byte-level ends two file systems offer (FileSystem.openSource and
 * openSink), whichever backends they are: the copy's own SHA-256 is taken of every byte read,
 * the target's partial is resumed when it was left by the same source, and the file is moved
 * into place only once complete and, where either end can hash it in place, matching. A
 * mismatch drops the partial and starts over once, then fails EINTEGRITY; an abort keeps the
 * partial (ECANCELED).
 */
export async function streamCopy(source: FileSystem, sourcePath: string, target: FileSystem, targetPath: string, options: StreamCopyOptions): Promise<StreamCopyResult> {
  if (!source.openSource || !target.openSink) {
    throw new FerryError('ENOTSUP', `copying from ${source.label} to ${target.label} is not supported`);
  }
  const input = await source.openSource(sourcePath);
  try {
    for (let attempt = 1; ; attempt++) {
      throwIfAborted(options.signal);
      const sink = await target.openSink(targetPath, {
        size: input.size,
        mtime: input.mtime,
        origin: `${source.label}:${sourcePath}`,
        overwrite: options.overwrite,
        restart: options.restart === true || attempt > 1,
      });
      try {
        const result = await copyInto(input, sink, options);
        return result;
      } catch (error) {
        if (error instanceof FerryError && error.code === 'EINTEGRITY' && attempt === 1) continue;
        throw error;
      } finally {
        await sink.close().catch(() => undefined);
      }
    }
  } finally {
    await input.close();
  }
}

async function copyInto(input: FileSource, sink: FileSink, options: StreamCopyOptions): Promise<StreamCopyResult> {
  const resumedFrom = sink.offset;
  const hash = resumedFrom === 0 ? createHash('sha256') : sink.keptHash ? await sink.keptHash() : await hashRange(input, resumedFrom, options.signal);
  options.onProgress?.({ done: resumedFrom, total: input.size });
  // The source's own hash (an SSH server's sha256sum) runs on its side while the bytes flow.
  const atSourcePending = input.hashAtSource?.();
  atSourcePending?.catch(() => undefined);
  // Reads run ahead of the writes, each into its own buffer; a buffer is read into again only
  // after the sink has taken what it held (write() resolves once the bytes are copied or sent).
  const buffers = Array.from({ length: READ_AHEAD + 1 }, () => Buffer.allocUnsafe(CHUNK));
  const ahead: Array<Promise<Buffer>> = [];
  let nextRead = resumedFrom;
  let turn = 0;
  const fill = () => {
    while (ahead.length < READ_AHEAD && nextRead < input.size) {
      const length = Math.min(CHUNK, input.size - nextRead);
      const read = readChunk(input, buffers[turn++ % buffers.length]!, length, nextRead);
      read.catch(() => undefined);
      ahead.push(read);
      nextRead += length;
    }
  };
  let position = resumedFrom;
  try {
    fill();
    while (ahead.length > 0) {
      throwIfAborted(options.signal);
      const chunk = await ahead.shift()!;
      position += chunk.length;
      hash.update(chunk);
      await sink.write(chunk);
      fill();
      options.onProgress?.({ done: position, total: input.size });
    }
  } finally {
    await Promise.allSettled(ahead);
  }
  const sha256 = hash.digest('hex');
  let check: StreamCopyResult['check'] = 'size';
  const atSource = await atSourcePending;
  if (atSource !== undefined) {
    if (atSource !== sha256) {
      await sink.discard();
      throw new FerryError('EINTEGRITY', `read ${input.size} bytes with SHA-256 ${sha256}, the source's own sha256sum says ${atSource}`);
    }
    check = 'sha256';
  }
  const { sha256AtTarget } = await sink.finish({ sha256 });
  if (sha256AtTarget !== undefined) check = 'sha256';
  return { size: input.size, sha256, resumedFrom, check };
}

async function readChunk(input: FileSource, buffer: Buffer, length: number, position: number): Promise<Buffer> {
  let filled = 0;
  while (filled < length) {
    const got = await input.read(buffer.subarray(filled), length - filled, position + filled);
    if (got === 0) throw new FerryError('ECHANGED', `the source ended at ${position + filled} bytes, it had ${input.size}`);
    filled += got;
  }
  return buffer.subarray(0, length);
}

/** The SHA-256 state of the source's first `length` bytes (a kept partial the target cannot read back). */
async function hashRange(input: FileSource, length: number, signal?: AbortSignal): Promise<Hash> {
  const hash = createHash('sha256');
  const buffer = Buffer.allocUnsafe(CHUNK);
  for (let position = 0; position < length; ) {
    throwIfAborted(signal);
    const chunk = await readChunk(input, buffer, Math.min(CHUNK, length - position), position);
    hash.update(chunk);
    position += chunk.length;
  }
  return hash;
}

function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw new FerryError('ECANCELED', 'copy canceled');
}

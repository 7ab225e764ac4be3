import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import path from 'node:path';
import { partialPathsFor } from '../../src/client/download.js';
import type { FileSystem } from '../../src/fs/file-system.js';
import { LocalFileSystem } from '../../src/fs/local-file-system.js';
import { FerryError } from '../../src/protocol/index.js';
import { copyStep } from '../../src/transfer/copy-step.js';
import { formatSize } from '../../src/util/units.js';
import type { CommandContext } from './context.js';

/*
 * Remote files the viewer and the editor need as local files: fetched into the TUI's temp dir
 * by the same engine as every download (verified by SHA-256), with progress on the message line.
 */

const LOCAL = new LocalFileSystem();

function progress(ctx: CommandContext, verb: string, name: string) {
  return ({ done, total }: { done: number; total: number }) => {
    const percent = total > 0 ? Math.floor((done / total) * 100) : 100;
    ctx.store.dispatch({ type: 'message', text: `${verb} ${name}… ${percent}% (${formatSize(done)} of ${formatSize(total)})`, tone: 'progress' });
  };
}

/** A fresh directory inside the TUI's temp dir, so two fetches of the same name never meet. */
export async function scratchDir(ctx: CommandContext): Promise<string> {
  return mkdtemp(path.join(await ctx.tempDir(), 'f-'));
}

/** Downloads `remotePath` whole to `localPath`. */
export async function fetchWhole(ctx: CommandContext, fs: FileSystem, remotePath: string, localPath: string): Promise<void> {
  await copyStep(fs, remotePath, LOCAL, localPath, { onProgress: progress(ctx, 'fetching', fs.basename(remotePath)) });
}

/** Uploads `localPath` over `remotePath`. */
export async function sendBack(ctx: CommandContext, localPath: string, fs: FileSystem, remotePath: string): Promise<void> {
  await copyStep(LOCAL, localPath, fs, remotePath, { overwrite: true, onProgress: progress(ctx, 'uploading', fs.basename(remotePath)) });
}

/**
 * The first `limit` bytes of a remote file (all of it when smaller). The download is stopped once
 * enough has arrived and the partial it leaves is read, so viewing the start of a huge file does
 * not fetch the whole file.
 */
export async function fetchHead(ctx: CommandContext, fs: FileSystem, remotePath: string, limit: number): Promise<Buffer> {
  const dir = await scratchDir(ctx);
  const local = path.join(dir, 'view');
  const controller = new AbortController();
  const report = progress(ctx, 'fetching', fs.basename(remotePath));
  try {
    try {
      await copyStep(fs, remotePath, LOCAL, local, {
        signal: controller.signal,
        onProgress: (p) => {
          report({ done: Math.min(p.done, limit), total: Math.min(p.total, limit) });
          if (p.done >= limit) controller.abort();
        },
      });
      return await readHead(local, limit);
    } catch (error) {
      if (!(error instanceof FerryError && error.code === 'ECANCELED' && controller.signal.aborted)) throw error;
      return await readHead(partialPathsFor(local).part, limit);
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Up to `limit` bytes from the start of a local file. */
export async function readHead(file: string, limit: number): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const buffer = Buffer.alloc(limit);
    let filled = 0;
    while (filled < limit) {
      const { bytesRead } = await handle.read(buffer, filled, limit - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return buffer.subarray(0, filled);
  } finally {
    await handle.close();
  }
}

/** SHA-256 of a local file, hex. */
export async function sha256Of(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

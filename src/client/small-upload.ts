import { createHash } from 'node:crypto';
import type { FileHandle } from 'node:fs/promises';
import { FRAME_HEADER_BYTES, FerryError } from '../protocol/index.js';
import { readFully } from './file-hash.js';
import type { Session } from './session.js';
import { isNetworkLoss, throwIfAborted } from './transfer-common.js';
import type { TransferOptions, TransferResult } from './transfer-types.js';

/** What the caller saw of the source when it opened it. */
export interface SmallSource {
  size: number;
  /** Whole milliseconds, as the wire carries them. */
  mtime: number;
}

/**
 * Uploads a small file (≤ LIMITS.maxPutBytes) whole with `upload.put`: the request and its one
 * frame go out together and the reply says the file is in place, verified. No round trip before
 * the data and none after it, so a tree of small files flows as fast as the server stores them,
 * several in flight at once. Nothing is resumed (there is nothing worth resuming): after a lost
 * link the file is sent again, and an EEXIST then is checked against the remote file's hash, as
 * the lost reply may have been for a put that landed.
 * `checkSource` throws ECHANGED when the local file is no longer the one opened.
 */
export async function uploadSmallFile(
  session: Session,
  handle: FileHandle,
  remotePath: string,
  source: SmallSource,
  checkSource: () => Promise<void>,
  options: TransferOptions,
): Promise<TransferResult> {
  const { size, mtime } = source;
  const overwrite = options.overwrite ?? false;
  let sha256: string | undefined;
  let sentBefore = false;
  for (;;) {
    throwIfAborted(options.signal);
    await session.waitReady(options.signal);
    // A fresh buffer each time: the last one may still sit in the lost connection's send queue.
    const frame = size > 0 ? Buffer.allocUnsafe(FRAME_HEADER_BYTES + size) : undefined;
    if (frame !== undefined) await readFully(handle, frame, FRAME_HEADER_BYTES, size, 0);
    const hash = createHash('sha256')
      .update(frame?.subarray(FRAME_HEADER_BYTES) ?? Buffer.alloc(0))
      .digest('hex');
    if (sha256 !== undefined && hash !== sha256) throw new FerryError('ECHANGED', `${remotePath}: the local file changed during the upload`);
    sha256 = hash;
    await checkSource();
    try {
      const stored = await session.put({ path: remotePath, size, mtime, sha256, ...(overwrite ? { overwrite: true } : {}) }, frame, options.signal);
      if (stored.sha256 !== sha256 || stored.size !== size) {
        throw new FerryError('EINTEGRITY', `server stored ${stored.size} bytes with SHA-256 ${stored.sha256}, expected ${size} bytes with ${sha256}`);
      }
    } catch (error) {
      if (isNetworkLoss(error)) {
        sentBefore = true;
        continue;
      }
      const maybeLanded = sentBefore && !overwrite && error instanceof FerryError && error.code === 'EEXIST';
      if (!maybeLanded) throw error;
      let landed: boolean;
      try {
        landed = await landedBefore(session, remotePath, size, sha256);
      } catch (checkError) {
        // Lost again while looking: put once more, and look again when EEXIST says so.
        if (isNetworkLoss(checkError)) continue;
        throw checkError;
      }
      if (!landed) throw error;
    }
    options.onProgress?.({ done: size, total: size });
    return { size, sha256, resumedFrom: 0 };
  }
}

/**
 * True when the remote file is exactly these bytes: an earlier put of them arrived. A lost link
 * while asking throws (ENETWORK); any other failure to tell means no.
 */
async function landedBefore(session: Session, remotePath: string, size: number, sha256: string): Promise<boolean> {
  try {
    const remote = await session.request('hash', { path: remotePath });
    return remote.length === size && remote.sha256 === sha256;
  } catch (error) {
    if (isNetworkLoss(error)) throw error;
    return false;
  }
}

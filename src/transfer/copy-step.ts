import { rm } from 'node:fs/promises';
import { downloadFile, partialPathsFor } from '../client/download.js';
import { Session } from '../client/session.js';
import { uploadFile } from '../client/upload.js';
import type { FileSystem } from '../fs/file-system.js';
import { FerryError } from '../protocol/index.js';
import { copyLocalFile, localPartialPath } from './local-copy.js';
import { streamCopy } from './stream-copy.js';

export interface CopyStepOptions {
  signal?: AbortSignal;
  onProgress?: (progress: { done: number; total: number }) => void;
  /** Replace an existing target. */
  overwrite?: boolean;
  /** Take a shorter existing target as the partial (its prefix is checked first). */
  adopt?: boolean;
}

export interface CopyStepResult {
  size: number;
  sha256: string;
  /** Bytes that were already in place (a partial) and not sent again. */
  resumedFrom: number;
  /**
   * What verified the copy: 'sha256' (both ends' hashes compared; always so with a ferry server
   * or locally) or 'size' (an SSH server that cannot run sha256sum: size and mtime only).
   */
  check?: 'sha256' | 'size';
}

/** The Session behind a remote file system (RemoteFileSystem keeps it as `session`). */
export function sessionOf(fs: FileSystem): Session | undefined {
  const session = (fs as { session?: unknown }).session;
  return session instanceof Session ? session : undefined;
}

function requireSession(fs: FileSystem): Session {
  const session = sessionOf(fs);
  if (session === undefined) throw new FerryError('ENOTSUP', `${fs.label}: a remote file system without a session`);
  return session;
}

/**
 * Copies one file between any two file systems, picking the engine by the pair of kinds:
 * local→remote uploads, remote→local downloads, local→local copies through a partial, and a
 * pair with an SFTP side (local or SFTP on the other) goes through the sides' byte-level ends
 * (streamCopy). A ferry server and an SFTP server together, and two ferry servers, are ENOTSUP
 * for now. Every path resumes from what an earlier attempt left.
 */
export async function copyStep(
  source: FileSystem,
  sourcePath: string,
  target: FileSystem,
  targetPath: string,
  options: CopyStepOptions,
): Promise<CopyStepResult> {
  const engine = { ...options, overwrite: options.overwrite === true, adopt: options.adopt === true };
  if (source.kind === 'local' && target.kind === 'remote') {
    return uploadFile(requireSession(target), sourcePath, targetPath, engine);
  }
  if (source.kind === 'remote' && target.kind === 'local') {
    return downloadFile(requireSession(source), sourcePath, targetPath, engine);
  }
  if (source.kind === 'local' && target.kind === 'local') {
    return copyLocalFile(sourcePath, targetPath, engine);
  }
  if ((source.kind === 'sftp' && target.kind !== 'remote') || (target.kind === 'sftp' && source.kind !== 'remote')) {
    return streamCopy(source, sourcePath, target, targetPath, engine);
  }
  throw new FerryError('ENOTSUP', `copying between two servers is not supported yet (${source.label} → ${target.label})`);
}

/**
 * Deletes what an interrupted copy to `path` may have left next to it (a download's or a local
 * copy's partial and sidecar). Called when the destination turns out to be complete already: a
 * process killed between placing the file and removing its sidecar leaves one behind.
 * Remote partials are the server's business (they expire there).
 */
export async function discardLocalPartials(fs: FileSystem, path: string): Promise<void> {
  if (fs.kind !== 'local') return;
  const download = partialPathsFor(path);
  const copy = localPartialPath(path);
  await Promise.all([download.part, download.sidecar, copy, `${copy}.json`].map((file) => rm(file, { force: true })));
}

import { rm } from 'node:fs/promises';
import type { FileSystem } from '../../src/fs/file-system.js';
import { FerryError } from '../../src/protocol/index.js';
import type { JournalEndpoint, UnfinishedJournal } from '../../src/transfer/journal.js';
import type { TransferRequest } from '../../src/transfer/types.js';

/*
 * What the resume dialog's two buttons do. A journal records requests by their endpoints' kind,
 * label and path; rebuilding them with the same fields (policy, move, exactTarget included) gives
 * the same journal keys, so a queue with that journal skips the files it finished and the copy
 * engine continues each partial from its last byte.
 */

/**
 * The transfer requests of an unfinished journal, with file systems from `fileSystemFor` (the
 * local disk, or a session logged in as the endpoint's label `user@host:port`). Rejects with
 * EINVAL when a file system of the wrong kind or label comes back, since the copy would then go
 * somewhere else than the one that was started.
 */
export async function requestsOf(journal: UnfinishedJournal, fileSystemFor: (endpoint: JournalEndpoint) => Promise<FileSystem>): Promise<TransferRequest[]> {
  const requests: TransferRequest[] = [];
  for (const request of journal.requests) {
    const source = await checked(request.source, fileSystemFor);
    const target = await checked(request.target, fileSystemFor);
    requests.push({
      source: { fs: source, path: request.source.path },
      target: { fs: target, path: request.target.path },
      move: request.move,
      conflict: request.conflict,
      exactTarget: request.exactTarget,
    });
  }
  return requests;
}

async function checked(endpoint: JournalEndpoint, fileSystemFor: (endpoint: JournalEndpoint) => Promise<FileSystem>): Promise<FileSystem> {
  const fs = await fileSystemFor(endpoint);
  if (fs.kind !== endpoint.kind || fs.label !== endpoint.label) {
    throw new FerryError('EINVAL', `the journal's copy used ${endpoint.label}, not ${fs.label}`);
  }
  return fs;
}

/**
 * Deletes an unfinished journal (the Discard button, or after its requests were handed to a queue
 * whose own journal has been flushed). Partial files already on the targets stay: the next copy
 * of the same file resumes from them. Refuses (EBUSY) a journal another ferry is running.
 */
export async function discardJournal(journal: Pick<UnfinishedJournal, 'file' | 'active'>): Promise<void> {
  if (journal.active) throw new FerryError('EBUSY', 'another ferry is running this copy');
  await rm(journal.file, { force: true });
}

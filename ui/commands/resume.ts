import { readFile } from 'node:fs/promises';
import type { FileSystem } from '../../src/fs/file-system.js';
import { LocalFileSystem } from '../../src/fs/local-file-system.js';
import { FerryError } from '../../src/protocol/index.js';
import { JOURNAL_VERSION, listUnfinished, type JournalEndpoint, type JournalFile, type UnfinishedJournal } from '../../src/transfer/journal.js';
import { errorText } from '../model/error-text.js';
import { discardJournal, requestsOf } from '../queue/resume-journal.js';
import type { CommandContext } from './context.js';

/**
 * Unfinished copies of earlier runs that no running ferry owns (from `dir`, default journalDir()).
 * Unreadable journals are left out; a failure to list is no reason to stop the TUI.
 */
export async function findUnfinished(dir?: string): Promise<UnfinishedJournal[]> {
  const found = await listUnfinished(dir).catch(() => []);
  return found.filter((journal) => !journal.active);
}

/** A file system for a journal's endpoint: the local disk, or a pane's session with that label. */
function fileSystemFor(ctx: CommandContext) {
  return async (endpoint: JournalEndpoint): Promise<FileSystem> => {
    if (endpoint.kind === 'local') return new LocalFileSystem();
    const { sides } = ctx.store.getState();
    for (const side of [sides.left, sides.right]) if (side.fs.kind === endpoint.kind && side.fs.label === endpoint.label) return side.fs;
    throw new FerryError('ENOTAUTH', `log in to ${endpoint.label} first: this copy goes to or from there`);
  };
}

/**
 * Continues an unfinished copy in the TUI's queue: its finished files are carried into the
 * queue's journal (so they are not copied again), its requests are added with the same policies,
 * and once the TUI's journal holds them the old journal is deleted. Partial files resume from
 * their last verified byte. Returns false (with the reason on the message line) when it cannot.
 */
export async function resumeUnfinished(ctx: CommandContext, unfinished: UnfinishedJournal): Promise<boolean> {
  try {
    const requests = await requestsOf(unfinished, fileSystemFor(ctx));
    if (ctx.journal) {
      const old = JSON.parse(await readFile(unfinished.file, 'utf8')) as Partial<JournalFile>;
      if (old.version !== JOURNAL_VERSION || !Array.isArray(old.requests) || !Array.isArray(old.jobs)) throw new FerryError('EINVAL', `${unfinished.file}: not a ferry journal`);
      for (const request of old.requests) ctx.journal.addRequest(request);
      for (const job of old.jobs) if (job.state === 'done') ctx.journal.setJob(job);
      await ctx.journal.flush();
    }
    for (const request of requests) {
      ctx.queue.add(request).catch((error: unknown) => ctx.store.dispatch({ type: 'message', text: errorText(error), tone: 'error' }));
    }
    await discardJournal(unfinished);
    ctx.store.dispatch({ type: 'queue', visible: true });
    ctx.store.dispatch({ type: 'message', text: `resuming ${unfinished.pending + unfinished.failed} unfinished files`, tone: 'progress' });
    return true;
  } catch (error) {
    ctx.store.dispatch({ type: 'message', text: `cannot resume: ${errorText(error)}`, tone: 'error' });
    return false;
  }
}

/** Deletes an unfinished copy's journal (its partial files stay, for a later copy to resume). */
export async function discardUnfinished(ctx: CommandContext, unfinished: UnfinishedJournal): Promise<void> {
  try {
    await discardJournal(unfinished);
  } catch (error) {
    ctx.store.dispatch({ type: 'message', text: `cannot discard: ${errorText(error)}`, tone: 'error' });
  }
}

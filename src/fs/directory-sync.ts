import { constants } from 'node:fs';
import { open } from 'node:fs/promises';

interface DirectoryState {
  /** The fsync running now, if any. */
  running: Promise<void> | null;
  /** The fsync that starts when the running one ends: it covers every caller that came meanwhile. */
  next: Promise<void> | null;
}

const directories = new Map<string, DirectoryState>();

/**
 * fsync of a directory, so a rename or link into it survives a crash, shared between callers
 * (group commit): a caller arriving while a sync of the same directory runs waits for the next
 * one, which starts when the running one ends and covers every entry made before it began. A
 * tree of small files placed together costs a few directory syncs instead of one per file.
 * Used by the server (uploads) and the client (downloads). Best effort: the entry is already in
 * place, and failing a transfer now would report an error for a transfer that happened (and not
 * every platform can open a directory).
 */
export function syncDirectory(directoryPath: string): Promise<void> {
  let state = directories.get(directoryPath);
  if (state === undefined) {
    state = { running: null, next: null };
    directories.set(directoryPath, state);
  }
  if (state.running === null) {
    state.running = run(directoryPath, state);
    return state.running;
  }
  state.next ??= state.running.then(() => {
    state.next = null;
    state.running = run(directoryPath, state);
    return state.running;
  });
  return state.next;
}

async function run(directoryPath: string, state: DirectoryState): Promise<void> {
  try {
    const directory = await open(directoryPath, constants.O_RDONLY | constants.O_DIRECTORY);
    try {
      await directory.sync();
    } finally {
      await directory.close();
    }
  } catch {
    // See syncDirectory: nothing useful to do.
  } finally {
    // The chained `next` (if any) replaces `running` before this settles for its waiters.
    if (state.next === null) {
      state.running = null;
      directories.delete(directoryPath);
    }
  }
}

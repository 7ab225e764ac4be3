import type { Session } from '../../src/client/session.js';
import type { TransferJournal } from '../../src/transfer/journal.js';
import type { TransferQueue } from '../../src/transfer/transfer-queue.js';
import type { AppStore } from '../model/app-state.js';
import type { ConflictBridge } from '../queue/conflict-bridge.js';

/** What commands need besides the state: the queue, the terminal, a temp dir, the way out. */
export interface CommandContext {
  store: AppStore;
  queue: TransferQueue;
  /** The queue's journal (a TUI run's copies, for "resume?" next time), when there is one. */
  journal: TransferJournal | undefined;
  /** Where the queue's file-exists questions wait for the dialog. */
  conflicts: ConflictBridge;
  /** Sessions the TUI opened (the login dialog), closed when it ends. */
  sessions: Set<Session>;
  /**
   * Hands the terminal to `run` (an editor): the TUI is taken down first and drawn again after.
   * Tests pass a function that just runs it.
   */
  suspend<T>(run: () => Promise<T>): Promise<T>;
  /** A private temp directory for fetched files (made on first use, removed when the TUI ends). */
  tempDir(): Promise<string>;
  /** Ends the TUI. */
  exit(): void;
  /** $VISUAL / $EDITOR come from here. */
  env: NodeJS.ProcessEnv;
}

let lastTicket = 0;

/** A listing ticket no other listing of this process has. */
export function nextTicket(): number {
  return ++lastTicket;
}

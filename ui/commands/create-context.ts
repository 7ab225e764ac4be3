import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { SessionState } from '../../src/client/session.js';
import type { FileSystem } from '../../src/fs/file-system.js';
import { TransferJournal } from '../../src/transfer/journal.js';
import { TransferQueue } from '../../src/transfer/transfer-queue.js';
import { createAppStore, initialAppState } from '../model/app-state.js';
import { createConflictBridge } from '../queue/conflict-bridge.js';
import { createOutputFeature, type OutputFeature } from '../output/output-ui.js';
import { createQueueStore, type QueueStore } from '../queue/queue-store.js';
import type { CommandContext } from './context.js';

export interface TuiContextOptions {
  left: FileSystem;
  right: FileSystem;
  /** Where the panes start. Default: each file system's home. */
  leftPath?: string;
  rightPath?: string;
  /** The remote side's session state at the start, if there is one. */
  link?: SessionState | null;
  /** Files copied at once. Default 4. */
  concurrency?: number;
  /**
   * Where the queue's journal lives (default: journalDir()); null for no journal. The TUI's run
   * gets a journal of its own, so a copy interrupted by quitting is offered again next time.
   */
  journalDir?: string | null;
  env?: NodeJS.ProcessEnv;
  /** See CommandContext.suspend. Default: runs the function as it is (no terminal to hand over). */
  suspend?: <T>(run: () => Promise<T>) => Promise<T>;
  /** Called by the quit command. */
  exit: () => void;
}

export interface TuiContext {
  ctx: CommandContext;
  queueStore: QueueStore;
  /** Remote commands: their output and the command line. */
  output: OutputFeature;
  /**
   * Stops everything the context started: running remote commands, unanswered questions, the
   * queue (its journal is written so unfinished copies can be resumed), the sessions from
   * logins, the temp dir.
   */
  close(): Promise<void>;
}

/**
 * The TUI's parts around an App: the state store with both panes, a transfer queue that asks
 * the file-exists dialog (policy 'ask'), its journal, and the queue store the panel samples.
 */
export async function createTuiContext(options: TuiContextOptions): Promise<TuiContext> {
  const store = createAppStore(
    initialAppState(options.left, options.right, {
      ...(options.leftPath === undefined ? {} : { leftPath: options.leftPath }),
      ...(options.rightPath === undefined ? {} : { rightPath: options.rightPath }),
      link: options.link ?? null,
    }),
  );
  const conflicts = createConflictBridge();
  const journal =
    options.journalDir === null
      ? undefined
      : await TransferJournal.open({ key: randomBytes(16).toString('hex'), ...(options.journalDir === undefined ? {} : { dir: options.journalDir }) });
  const queue = new TransferQueue({ concurrency: options.concurrency ?? 4, conflict: 'ask', onConflict: conflicts.onConflict, ...(journal ? { journal } : {}) });
  const queueStore = createQueueStore(queue);
  const output = createOutputFeature();
  let temp: Promise<string> | undefined;
  const ctx: CommandContext = {
    store,
    queue,
    journal,
    conflicts,
    sessions: new Set(),
    suspend: options.suspend ?? ((run) => run()),
    tempDir: () => (temp ??= mkdtemp(path.join(os.tmpdir(), 'ferry-tui-'))),
    exit: options.exit,
    env: options.env ?? process.env,
  };
  return {
    ctx,
    queueStore,
    output,
    async close() {
      output.close();
      conflicts.cancelAll();
      queueStore.close();
      await queue.close();
      await Promise.all([...ctx.sessions].map((session) => session.close().catch(() => undefined)));
      if (temp) await rm(await temp, { recursive: true, force: true });
    },
  };
}

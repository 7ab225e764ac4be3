import { TextDecoder } from 'node:util';
import { useSyncExternalStore } from 'react';
import { runRemote, type RemoteResult, type RunRemoteOptions } from '../../src/client/exec.js';
import type { Session } from '../../src/client/session.js';
import { FerryError } from '../../src/protocol/errors.js';
import type { ExecEndReason } from '../../src/protocol/index.js';
import { errorText } from '../model/error-text.js';
import type { StoreTimers } from '../queue/queue-store.js';

/*
 * The remote commands the TUI ran: the last few runs with their output, for the output panel.
 * Output comes in many small frames; the store keeps them in arrival order (stdout and stderr
 * interleaved as they came), bounded per run, and tells React at most `hz` times a second.
 */

export type OutputStream = 'stdout' | 'stderr';

/** A piece of output, decoded as UTF-8 (a character split across frames is joined). */
export interface OutputChunk {
  stream: OutputStream;
  text: string;
}

export type RunState =
  | { kind: 'starting' }
  | { kind: 'running' }
  /** The program ended: its code, or the signal; `reason` when the server ended it. */
  | { kind: 'exited'; code: number | null; signal: string | null; reason?: ExecEndReason }
  /** It never ran or the link dropped: one readable line (`message (CODE)`). */
  | { kind: 'failed'; error: string };

export interface OutputRun {
  /** Unique within the store, increasing. */
  id: number;
  argv: readonly string[];
  /** The remote directory it ran in. */
  cwd: string;
  chunks: readonly OutputChunk[];
  /** Output bytes kept in `chunks`. */
  storedBytes: number;
  /** The oldest output bytes dropped to stay within the per-run cap. */
  droppedBytes: number;
  state: RunState;
}

export interface OutputSnapshot {
  /** Oldest first. */
  runs: readonly OutputRun[];
}

/** What a run calls; runRemote by default (tests may wrap it). */
export type RemoteRunner = (target: CommandTarget, options: RunRemoteOptions) => Promise<RemoteResult>;

/** Where a command runs: a ferry session (its allowlisted programs) or a host with its own way (an SSH account's shell). */
export type CommandTarget = Session | { runCommand(options: RunRemoteOptions): Promise<RemoteResult> };

function runOn(target: CommandTarget, options: RunRemoteOptions): Promise<RemoteResult> {
  return 'runCommand' in target ? target.runCommand(options) : runRemote(target, options);
}

export interface OutputStoreOptions {
  /** Runs kept (the oldest finished ones go first). Default 20. */
  maxRuns?: number;
  /** Output bytes kept per run; beyond it the oldest output is dropped and counted. Default 256 KiB. */
  maxBytesPerRun?: number;
  /** Most notifications per second. Default 10. */
  hz?: number;
  timers?: StoreTimers;
  runner?: RemoteRunner;
}

export interface OutputStore {
  subscribe(listener: () => void): () => void;
  /** The same object until the next notification. */
  getSnapshot(): OutputSnapshot;
  /**
   * Runs `argv` on the server in `cwd` (a wire path) and records it. Resolves with the final
   * record once the program ended or failed; never rejects (a refusal is the run's state).
   */
  run(target: CommandTarget, argv: readonly string[], cwd: string): Promise<OutputRun>;
  /** Asks the server to kill a running command: the one with `id`, else every running one. */
  cancel(id?: number): void;
  /** True while any command is starting or running. */
  busy(): boolean;
  /** Cancels what runs and stops notifying. */
  close(): void;
}

const REAL_TIMERS: StoreTimers = {
  now: () => Date.now(),
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/** Adjacent chunks of one stream are merged up to this size, so a flood of tiny frames stays a short list. */
const MERGE_LIMIT = 16 * 1024;

interface LiveRun {
  id: number;
  argv: readonly string[];
  cwd: string;
  chunks: { stream: OutputStream; text: string; bytes: number }[];
  storedBytes: number;
  droppedBytes: number;
  state: RunState;
  controller: AbortController;
  decoders: Record<OutputStream, TextDecoder>;
  /** The frozen copy handed out last, reused while nothing changed. */
  view: OutputRun | undefined;
}

/** The first `bytes` of a UTF-8 text dropped, cut at a character boundary. */
function dropHead(text: string, bytes: number): { text: string; dropped: number } {
  const buffer = Buffer.from(text, 'utf8');
  let at = Math.min(bytes, buffer.length);
  // Never start inside a character: skip its continuation bytes too.
  while (at < buffer.length && (buffer[at]! & 0xc0) === 0x80) at++;
  return { text: buffer.subarray(at).toString('utf8'), dropped: at };
}

/**
 * A store of remote command runs for `useSyncExternalStore(store.subscribe, store.getSnapshot)`.
 * Keeps the last `maxRuns` (default 20) runs and at most `maxBytesPerRun` (default 256 KiB) of
 * output each (the newest output; what was dropped is counted), notifying at most `hz` (default
 * 10) times a second with a trailing notification so the final state always shows. Throws
 * EINVAL for limits that are not positive numbers.
 */
export function createOutputStore(options: OutputStoreOptions = {}): OutputStore {
  const maxRuns = options.maxRuns ?? 20;
  const maxBytes = options.maxBytesPerRun ?? 256 * 1024;
  const hz = options.hz ?? 10;
  for (const [name, value] of [['maxRuns', maxRuns], ['maxBytesPerRun', maxBytes], ['hz', hz]] as const) {
    if (!Number.isFinite(value) || value <= 0) throw new FerryError('EINVAL', `output store ${name} must be a positive number, got ${value}`);
  }
  const timers = options.timers ?? REAL_TIMERS;
  const runner = options.runner ?? runOn;
  const intervalMs = 1000 / hz;
  const listeners = new Set<() => void>();
  let runs: LiveRun[] = [];
  let lastId = 0;
  let snapshot: OutputSnapshot = { runs: [] };
  let lastSample = -Infinity;
  let timer: unknown;
  let closed = false;

  const freeze = (run: LiveRun): OutputRun => {
    run.view ??= { id: run.id, argv: run.argv, cwd: run.cwd, chunks: run.chunks.map(({ stream, text }) => ({ stream, text })), storedBytes: run.storedBytes, droppedBytes: run.droppedBytes, state: run.state };
    return run.view;
  };

  const sample = () => {
    timer = undefined;
    lastSample = timers.now();
    snapshot = { runs: runs.map(freeze) };
    for (const listener of [...listeners]) listener();
  };

  /** Something changed: notify now if the last notification is old enough, else once the interval is over. */
  const changed = (run?: LiveRun) => {
    if (run) run.view = undefined;
    if (closed || timer !== undefined) return;
    const wait = lastSample + intervalMs - timers.now();
    if (wait <= 0) sample();
    else timer = timers.setTimeout(sample, wait);
  };

  const append = (run: LiveRun, stream: OutputStream, data: Buffer, end = false) => {
    const text = run.decoders[stream].decode(data, { stream: !end });
    if (text === '') return;
    const bytes = Buffer.byteLength(text, 'utf8');
    const last = run.chunks.at(-1);
    if (last !== undefined && last.stream === stream && last.bytes + bytes <= MERGE_LIMIT) {
      last.text += text;
      last.bytes += bytes;
    } else {
      run.chunks.push({ stream, text, bytes });
    }
    run.storedBytes += bytes;
    // Keep the newest output: whole old chunks go first, then the head of the oldest one left.
    while (run.storedBytes > maxBytes) {
      const first = run.chunks[0]!;
      const excess = run.storedBytes - maxBytes;
      if (first.bytes <= excess) {
        run.chunks.shift();
        run.storedBytes -= first.bytes;
        run.droppedBytes += first.bytes;
      } else {
        const cut = dropHead(first.text, excess);
        first.text = cut.text;
        first.bytes -= cut.dropped;
        run.storedBytes -= cut.dropped;
        run.droppedBytes += cut.dropped;
      }
    }
    changed(run);
  };

  const evict = () => {
    while (runs.length > maxRuns) {
      // The oldest finished run goes; if every kept run is still going, the oldest one does.
      const index = runs.findIndex((run) => run.state.kind === 'exited' || run.state.kind === 'failed');
      runs.splice(index === -1 ? 0 : index, 1);
    }
  };

  const isLive = (run: LiveRun) => run.state.kind === 'starting' || run.state.kind === 'running';

  return {
    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    getSnapshot: () => snapshot,
    async run(target, argv, cwd) {
      const run: LiveRun = {
        id: ++lastId,
        argv: [...argv],
        cwd,
        chunks: [],
        storedBytes: 0,
        droppedBytes: 0,
        state: { kind: 'starting' },
        controller: new AbortController(),
        decoders: { stdout: new TextDecoder('utf-8'), stderr: new TextDecoder('utf-8') },
        view: undefined,
      };
      runs.push(run);
      evict();
      changed(run);
      if (closed) run.controller.abort();
      try {
        const result = await runner(target, {
          argv: [...argv],
          cwd,
          signal: run.controller.signal,
          onStart: () => {
            run.state = { kind: 'running' };
            changed(run);
          },
          onStdout: (data) => append(run, 'stdout', data),
          onStderr: (data) => append(run, 'stderr', data),
        });
        run.state = { kind: 'exited', code: result.code, signal: result.signal, ...(result.reason === undefined ? {} : { reason: result.reason }) };
      } catch (error) {
        // Canceled before the server answered the start: the client canceled what it started.
        if (run.controller.signal.aborted && error instanceof FerryError && error.code === 'ECANCELED') run.state = { kind: 'exited', code: null, signal: null, reason: 'canceled' };
        else run.state = { kind: 'failed', error: errorText(error) };
      }
      // A character cut by the end of the output is shown as U+FFFD rather than lost.
      append(run, 'stdout', Buffer.alloc(0), true);
      append(run, 'stderr', Buffer.alloc(0), true);
      changed(run);
      return freeze(run);
    },
    cancel(id) {
      for (const run of runs) {
        if ((id === undefined || run.id === id) && isLive(run)) run.controller.abort();
      }
    },
    busy: () => runs.some(isLive),
    close() {
      if (closed) return;
      closed = true;
      for (const run of runs) if (isLive(run)) run.controller.abort();
      if (timer !== undefined) timers.clearTimeout(timer);
      timer = undefined;
      listeners.clear();
    },
  };
}

/** The sampled runs, re-rendering at the store's rate. */
export function useOutputRuns(store: OutputStore): OutputSnapshot {
  return useSyncExternalStore(store.subscribe, store.getSnapshot);
}

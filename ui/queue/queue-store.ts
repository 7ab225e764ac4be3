import { useSyncExternalStore } from 'react';
import { FerryError } from '../../src/protocol/errors.js';
import type { QueueState } from '../../src/transfer/progress.js';

/*
 * The queue emits 'update' on every event (hundreds a second during a big copy); React should
 * see at most `hz` of them. The store samples queue.snapshot() on a leading edge, then at most
 * once per interval, and always once more after the last update so the final state (100 %,
 * failed, …) is what stays on screen.
 */

/** The part of a TransferQueue the store needs. */
export interface QueueSource {
  snapshot(): QueueState;
  on(event: 'update', listener: (state: QueueState) => void): unknown;
  off(event: 'update', listener: (state: QueueState) => void): unknown;
}

/** What React's useSyncExternalStore takes. */
export interface QueueStore {
  /** Calls `listener` after each sampled change; returns the unsubscribe. */
  subscribe(listener: () => void): () => void;
  /** The last sampled state: the same object until the next notification. */
  getSnapshot(): QueueState;
  /** Stops listening to the queue and drops a pending sample (the queue itself is untouched). */
  close(): void;
}

/** A timer source, so tests can drive the throttle with a fake clock. */
export interface StoreTimers {
  now(): number;
  setTimeout(callback: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface QueueStoreOptions {
  /** Most notifications per second. Default 10. */
  hz?: number;
  /** Default: Date.now and the global timers. */
  timers?: StoreTimers;
}

const REAL_TIMERS: StoreTimers = {
  now: () => Date.now(),
  // Not unref'd: a pending sample is at most one interval away, and the final state must land.
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/**
 * A store over `queue` (a TransferQueue) for `useSyncExternalStore(store.subscribe, store.getSnapshot)`, notifying
 * at most `hz` (default 10) times a second, with a trailing sample so the last change always
 * shows. Throws EINVAL for a rate that is not a positive finite number.
 */
export function createQueueStore(queue: QueueSource, options: QueueStoreOptions = {}): QueueStore {
  const hz = options.hz ?? 10;
  if (!Number.isFinite(hz) || hz <= 0) throw new FerryError('EINVAL', `queue store rate must be a positive number of Hz, got ${hz}`);
  const intervalMs = 1000 / hz;
  const timers = options.timers ?? REAL_TIMERS;
  const listeners = new Set<() => void>();
  let current = queue.snapshot();
  let lastSample = -Infinity;
  let timer: unknown;
  let closed = false;

  const sample = () => {
    timer = undefined;
    lastSample = timers.now();
    const next = queue.snapshot();
    if (next === current) return;
    current = next;
    // A copy: a listener that unsubscribes while being called must not skip another one.
    for (const listener of [...listeners]) listener();
  };

  const queueOnUpdate = () => {
    if (closed || timer !== undefined) return;
    const wait = lastSample + intervalMs - timers.now();
    if (wait <= 0) sample();
    else timer = timers.setTimeout(sample, wait);
  };

  queue.on('update', queueOnUpdate);

  return {
    subscribe(listener) {
      listeners.add(listener);
      return () => {
        listeners.delete(listener);
      };
    },
    getSnapshot: () => current,
    close() {
      if (closed) return;
      closed = true;
      queue.off('update', queueOnUpdate);
      if (timer !== undefined) timers.clearTimeout(timer);
      timer = undefined;
      listeners.clear();
    },
  };
}

/** The sampled queue state, re-rendering at the store's rate. */
export function useQueueState(store: QueueStore): QueueState {
  return useSyncExternalStore(store.subscribe, store.getSnapshot);
}

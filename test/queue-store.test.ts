import { EventEmitter } from 'node:events';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { FerryError } from '../src/protocol/errors.js';
import { LocalFileSystem } from '../src/fs/local-file-system.js';
import { initialQueueState, reduceTransfer, type QueueState } from '../src/transfer/progress.js';
import { TransferQueue, type TransferQueueEvents } from '../src/transfer/transfer-queue.js';
import type { TransferEvent } from '../src/transfer/types.js';
import { createQueueStore, type QueueSource, type StoreTimers } from '../ui/queue/queue-store.js';

/** A clock that moves only when told to, with the timers due by then fired in order. */
class FakeClock implements StoreTimers {
  private time = 0;
  private nextHandle = 1;
  private readonly pending = new Map<number, { at: number; callback: () => void }>();

  now(): number {
    return this.time;
  }

  setTimeout(callback: () => void, ms: number): unknown {
    const handle = this.nextHandle++;
    this.pending.set(handle, { at: this.time + ms, callback });
    return handle;
  }

  clearTimeout(handle: unknown): void {
    this.pending.delete(handle as number);
  }

  get timers(): number {
    return this.pending.size;
  }

  advance(ms: number): void {
    const end = this.time + ms;
    for (;;) {
      const due = [...this.pending.entries()].filter(([, t]) => t.at <= end).sort((a, b) => a[1].at - b[1].at)[0];
      if (due === undefined) break;
      this.pending.delete(due[0]);
      this.time = due[1].at;
      due[1].callback();
    }
    this.time = end;
  }
}

/** The queue's observable surface, driven by hand: snapshot() plus 'update' events. */
class ManualQueue extends EventEmitter<TransferQueueEvents> implements QueueSource {
  state: QueueState = initialQueueState();

  snapshot(): QueueState {
    return this.state;
  }

  push(event: TransferEvent): void {
    this.state = reduceTransfer(this.state, event);
    this.emit('update', this.state);
  }
}

function progress(queue: ManualQueue, at: number, done: number): void {
  queue.push({ type: 'job-progress', at, id: 1, done, total: 1000 });
}

function startedQueue(): ManualQueue {
  const queue = new ManualQueue();
  queue.push({ type: 'job-added', at: 0, job: { id: 1, requestId: 1, kind: 'file', name: 'a', source: '/a', target: '/b', size: 1000 } });
  queue.push({ type: 'job-started', at: 0, id: 1, attempt: 1 });
  return queue;
}

test('throttle: the first update shows at once, a burst within the interval shows once more at its end', (t) => {
  const clock = new FakeClock();
  const queue = startedQueue();
  const store = createQueueStore(queue, { hz: 10, timers: clock });
  let notified = 0;
  store.subscribe(() => notified++);
  t.is(store.getSnapshot(), queue.state, 'starts with the queue state');

  progress(queue, 0, 1);
  t.is(notified, 1, 'leading edge: no wait for the first change');
  t.is(store.getSnapshot().jobs.get(1)!.bytesDone, 1);

  // 50 updates within 50 ms: nothing new on screen until the interval is over.
  for (let i = 2; i <= 51; i++) {
    clock.advance(1);
    progress(queue, clock.now(), i);
  }
  t.is(notified, 1);
  t.is(store.getSnapshot().jobs.get(1)!.bytesDone, 1, 'the snapshot is stable between notifications');
  t.is(clock.timers, 1, 'one trailing sample scheduled, not one per update');

  clock.advance(50);
  t.is(notified, 2, 'trailing sample after 100 ms');
  t.is(store.getSnapshot().jobs.get(1)!.bytesDone, 51, 'and it holds the newest state');
  store.close();
});

test('throttle: a steady stream of updates gives at most hz notifications a second, and the last state shows', (t) => {
  const clock = new FakeClock();
  const queue = startedQueue();
  const store = createQueueStore(queue, { hz: 10, timers: clock });
  let notified = 0;
  store.subscribe(() => notified++);
  // One update every 2 ms for 3 seconds: 1500 updates.
  for (let i = 1; i <= 1500; i++) {
    clock.advance(2);
    progress(queue, clock.now(), Math.min(1000, i));
  }
  queue.push({ type: 'job-done', at: clock.now(), id: 1, outcome: 'transferred', size: 1000 });
  clock.advance(1000);
  t.true(notified <= 31, `${notified} notifications for 3 s at 10 Hz`);
  t.true(notified >= 29, `${notified} notifications: the stream is sampled all along, not starved`);
  t.is(store.getSnapshot().jobs.get(1)!.state, 'done', 'the final state is on screen');
  t.is(clock.timers, 0, 'nothing left scheduled once quiet');
  store.close();
});

test('throttle: the rate is configurable; updates after a quiet spell show at once again', (t) => {
  const clock = new FakeClock();
  const queue = startedQueue();
  const store = createQueueStore(queue, { hz: 2, timers: clock });
  let notified = 0;
  store.subscribe(() => notified++);
  progress(queue, 0, 1);
  progress(queue, 0, 2);
  t.is(notified, 1);
  clock.advance(499);
  t.is(notified, 1, '2 Hz waits 500 ms');
  clock.advance(1);
  t.is(notified, 2);
  clock.advance(5000);
  progress(queue, clock.now(), 3);
  t.is(notified, 3, 'after a quiet spell the next change is drawn immediately');
  store.close();
});

test('subscribe/unsubscribe and close: no notifications after either, and close drops the pending sample', (t) => {
  const clock = new FakeClock();
  const queue = startedQueue();
  const store = createQueueStore(queue, { timers: clock });
  let a = 0;
  let b = 0;
  const offA = store.subscribe(() => a++);
  store.subscribe(() => b++);
  progress(queue, 0, 1);
  t.deepEqual([a, b], [1, 1]);
  offA();
  clock.advance(200);
  progress(queue, clock.now(), 2);
  t.deepEqual([a, b], [1, 2]);
  progress(queue, clock.now(), 3);
  t.is(clock.timers, 1);
  store.close();
  t.is(clock.timers, 0, 'the trailing timer is cleared');
  t.is(queue.listenerCount('update'), 0, 'the store let go of the queue');
  clock.advance(1000);
  progress(queue, clock.now(), 4);
  t.is(b, 2);
  t.notThrows(() => store.close(), 'close twice is harmless');
});

test('bad rates are refused with EINVAL', (t) => {
  const queue = new ManualQueue();
  for (const hz of [0, -1, Number.NaN, Number.POSITIVE_INFINITY]) {
    const error = t.throws(() => createQueueStore(queue, { hz }));
    t.true(error instanceof FerryError);
    t.is((error as FerryError).code, 'EINVAL');
  }
});

test('a real queue copying 40 files: fewer notifications than updates, and the store ends on the finished state', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-queue-store-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, 'src'));
  await mkdir(join(dir, 'dst'));
  for (let i = 0; i < 40; i++) await writeFile(join(dir, 'src', `f${i}.txt`), `file ${i}\n`.repeat(100 + i));
  const fs = new LocalFileSystem({ home: dir });
  const queue = new TransferQueue({ concurrency: 4 });
  const store = createQueueStore(queue, { hz: 10 });
  t.teardown(() => store.close());
  let updates = 0;
  queue.on('update', () => updates++);
  let notified = 0;
  store.subscribe(() => notified++);

  await queue.add({ source: { fs, path: join(dir, 'src') }, target: { fs, path: join(dir, 'dst') } });
  const final = await queue.whenIdle();
  // The trailing sample comes at most one interval after the last update.
  await new Promise<void>((resolve) => {
    if (store.getSnapshot() === queue.snapshot()) return resolve();
    const off = store.subscribe(() => {
      if (store.getSnapshot() !== queue.snapshot()) return;
      off();
      resolve();
    });
  });
  const shown = store.getSnapshot();
  t.is(shown.totals.files, 40);
  t.is(shown.totals.filesFinished, 40);
  t.is(shown.totals.done, final.totals.done);
  t.is(shown.jobs.get(2)?.direction, 'local', 'jobs say which way they go');
  t.true(updates > 40 * 3, `${updates} queue updates`);
  t.true(notified < updates, `${notified} notifications for ${updates} updates`);
});

import test from 'ava';
import { render } from 'ink-testing-library';
import { initialQueueState, reduceTransfer, type QueueState } from '../src/transfer/progress.js';
import type { JobInfo, TransferEvent } from '../src/transfer/types.js';
import { barCells } from '../ui/components/progress-bar.js';
import { columnsFor, jobDetail, jobLine, percentText, totalsLine } from '../ui/queue/job-format.js';
import { firstUnfinished, jobRows } from '../ui/queue/job-rows.js';
import { QueuePanel, type QueuePanelProps } from '../ui/queue/queue-panel.js';
import { INITIAL_QUEUE_VIEW, moveQueueView, settleQueueView } from '../ui/queue/queue-view.js';
import { textWidth } from '../ui/model/text-width.js';
import { KEYS, mounted, until } from './helpers/ink-wait.js';

const MiB = 1024 * 1024;

function file(id: number, name: string, size: number, direction: JobInfo['direction'] = 'upload'): TransferEvent {
  return {
    type: 'job-added',
    at: 0,
    job: { id, requestId: 1, kind: 'file', name, source: `/home/me/${name}`, target: `alice@127.0.0.1:7070:/in/${name}`, size, direction },
  };
}

function fold(events: TransferEvent[], from: QueueState = initialQueueState()): QueueState {
  return events.reduce(reduceTransfer, from);
}

/** One job in each state a user can see. */
function mixedState(): QueueState {
  return fold([
    file(1, 'holiday-video.mp4', 100 * MiB),
    file(2, 'quota-breaker.iso', 10 * MiB),
    file(3, 'notes.txt', 2000, 'download'),
    file(4, 'waiting.bin', 5 * MiB),
    file(5, 'flaky.bin', 5 * MiB),
    file(6, 'exists.txt', 10, 'download'),
    file(7, 'done.txt', 3 * MiB, 'local'),
    { type: 'job-started', at: 0, id: 1, attempt: 1 },
    { type: 'job-progress', at: 0, id: 1, done: 0, total: 100 * MiB },
    { type: 'job-progress', at: 1000, id: 1, done: 20 * MiB, total: 100 * MiB },
    { type: 'job-progress', at: 2000, id: 1, done: 45 * MiB, total: 100 * MiB },
    { type: 'job-started', at: 0, id: 2, attempt: 1 },
    { type: 'job-failed', at: 100, id: 2, error: { code: 'EQUOTA', message: 'disk quota exceeded' } },
    { type: 'job-started', at: 0, id: 3, attempt: 1 },
    { type: 'job-progress', at: 0, id: 3, done: 500, total: 2000 },
    { type: 'job-reconnecting', at: 100, id: 3 },
    { type: 'job-started', at: 0, id: 5, attempt: 1 },
    { type: 'job-retrying', at: 200, id: 5, attempt: 1, error: { code: 'ENETWORK', message: 'connection lost' }, delayMs: 500 },
    { type: 'job-skipped', at: 100, id: 6, reason: 'target exists' },
    { type: 'job-started', at: 0, id: 7, attempt: 1 },
    { type: 'job-done', at: 100, id: 7, outcome: 'transferred', size: 3 * MiB },
  ]);
}

function props(state: QueueState, overrides: Partial<QueuePanelProps> = {}): QueuePanelProps {
  return { state, width: 100, height: 14, isActive: true, onRetry: () => {}, onCancel: () => {}, onClose: () => {}, ...overrides };
}

function lineOf(frame: string, name: string): string {
  return frame.split('\n').find((line) => line.includes(name)) ?? '';
}

// ---------------------------------------------------------------- rendering

test('every job shows direction, name, progress, bytes and its state; the totals cover the whole copy', (t) => {
  const { lastFrame, unmount } = render(<QueuePanel {...props(mixedState())} />);
  t.teardown(unmount);
  const frame = lastFrame()!;
  const running = lineOf(frame, 'holiday-video.mp4');
  t.regex(running, /↑ holiday-video\.mp4/);
  t.regex(running, /\[█+░+\]/, 'a bar partly filled');
  t.regex(running, / 45%/);
  t.regex(running, /45\.0 MiB \/ 100\.0 MiB/);
  t.regex(running, /running/);
  t.regex(lineOf(frame, 'quota-breaker.iso'), /failed: disk quota exceeded \(EQUOTA\)/, 'the reason of a failure, with its code');
  const reconnecting = lineOf(frame, 'notes.txt');
  t.regex(reconnecting, /↓ notes\.txt/);
  t.regex(reconnecting, /reconnecting…/);
  t.regex(reconnecting, / 25%/);
  t.regex(lineOf(frame, 'waiting.bin'), /  0%.*queued/);
  t.regex(lineOf(frame, 'flaky.bin'), /retrying/);
  t.regex(lineOf(frame, 'exists.txt'), /skipped: target exists/);
  const done = lineOf(frame, 'done.txt');
  t.regex(done, /→ done\.txt/);
  t.regex(done, /\[█+\] 100%.*3\.0 MiB \/ 3\.0 MiB.*done/);
  t.regex(frame, /Transfers · 2 running · 2 queued · 1 failed · 1 skipped/);
  t.regex(frame, /Total .*3\/7 files/, 'done, failed and skipped files are finished');
});

test('at full terminal width the rows also show speed and ETA; a narrow panel drops columns but keeps percent and state', (t) => {
  t.deepEqual(columnsFor(154), { bar: 12, bytes: true, speed: true });
  const wide = jobLine(mixedState().jobs.get(1)!, 154);
  t.regex(wide.numbers, /MiB\/s/);
  t.regex(wide.numbers, /\d:\d\d/);
  const narrow = render(<QueuePanel {...props(mixedState(), { width: 50 })} />);
  t.teardown(narrow.unmount);
  const line = lineOf(narrow.lastFrame()!, 'holiday');
  t.regex(line, / 45%/);
  t.regex(line, /running/);
  t.notRegex(line, /MiB/);
  for (const frameLine of narrow.lastFrame()!.split('\n')) t.true([...frameLine].length <= 50, frameLine);
});

test('wide characters in names keep the columns: every line is exactly the panel wide', (t) => {
  const state = fold([file(1, '報告書-最終版-2024年度.pdf', 10 * MiB), file(2, 'plain.txt', 10 * MiB), { type: 'job-started', at: 0, id: 1, attempt: 1 }]);
  const { lastFrame, unmount } = render(<QueuePanel {...props(state, { width: 90 })} />);
  t.teardown(unmount);
  const lines = lastFrame()!.split('\n');
  for (const line of lines) t.is(textWidth(line), 90, line);
  const percentAt = (name: string) => textWidth(lineOf(lastFrame()!, name).split('%')[0]!);
  t.is(percentAt('報告書'), percentAt('plain.txt'), 'the percent column lines up');
});

test('the selected job shows its route and its whole error on the detail line', (t) => {
  const state = mixedState();
  const failed = state.jobs.get(2)!;
  const detail = jobDetail(failed, 200);
  t.true(detail.startsWith('/home/me/quota-breaker.iso → alice@127.0.0.1:7070:/in/quota-breaker.iso'));
  t.true(detail.endsWith('disk quota exceeded (EQUOTA)'));
  // On a narrow line the paths give way, not the error.
  t.true(jobDetail(failed, 50).endsWith('disk quota exceeded (EQUOTA)'));
  t.true(jobDetail(state.jobs.get(5)!, 200).endsWith('connection lost (ENETWORK)'), 'a retry says why');
});

test('percent never reads 100 before the end; bars fill by whole cells', (t) => {
  t.is(percentText(999, 1000), ' 99%');
  t.is(percentText(1000, 1000), '100%');
  t.is(percentText(0, 0), '100%', 'an empty file is complete');
  t.deepEqual(barCells(0.5, 10), { filled: '█████', empty: '░░░░░' });
  t.deepEqual(barCells(0.99, 10), { filled: '█████████', empty: '░' });
  t.deepEqual(barCells(2, 4), { filled: '████', empty: '' });
  t.deepEqual(barCells(Number.NaN, 3), { filled: '', empty: '░░░' });
});

test('totals line drops the bar, then the bytes on narrow panels, never the file count or ETA', (t) => {
  const totals = mixedState().totals;
  const wide = totalsLine(totals, 120);
  t.is(wide.bar, 20);
  t.regex(wide.text, /^3\/7 files  \d+%  .+ \/ .+  .*ETA/);
  const narrow = totalsLine(totals, 40);
  t.is(narrow.bar, 0);
  t.regex(narrow.text, /^3\/7 files/);
  t.regex(narrow.text, /ETA/);
  t.notRegex(narrow.text, / \/ /);
  t.true(narrow.text.length <= 40);
});

test('an empty queue says how to start a copy', (t) => {
  const { lastFrame, unmount } = render(<QueuePanel {...props(initialQueueState())} />);
  t.teardown(unmount);
  t.regex(lastFrame()!, /No transfers yet: mark files and press F5/);
  t.regex(lastFrame()!, /Transfers · empty/);
});

test('progress moves on as new states arrive (rerender)', async (t) => {
  const events: TransferEvent[] = [file(1, 'big.bin', 10 * MiB), { type: 'job-started', at: 0, id: 1, attempt: 1 }];
  let state = fold(events);
  const { lastFrame, rerender, unmount } = render(<QueuePanel {...props(state)} />);
  t.teardown(unmount);
  const seen: string[] = [];
  for (const [at, done] of [[0, 0], [500, 3 * MiB], [1000, 7 * MiB]] as const) {
    state = fold([{ type: 'job-progress', at, id: 1, done, total: 10 * MiB }], state);
    rerender(<QueuePanel {...props(state)} />);
    await until(() => lineOf(lastFrame()!, 'big.bin').includes(`${Math.floor((done / (10 * MiB)) * 100)}%`), `${done} bytes on screen`);
    seen.push(lineOf(lastFrame()!, 'big.bin').match(/\d+%/)![0]);
  }
  state = fold([{ type: 'job-done', at: 1500, id: 1, outcome: 'transferred', size: 10 * MiB }], state);
  rerender(<QueuePanel {...props(state)} />);
  await until(() => lineOf(lastFrame()!, 'big.bin').includes('100%'), 'the finished job');
  t.deepEqual(seen, ['0%', '30%', '70%']);
  t.regex(lineOf(lastFrame()!, 'big.bin'), /done/);
  t.regex(lastFrame()!, /Transfers · all done/);
});

// ---------------------------------------------------------------- keys

test('cursor: follows the work, then up/down select; retry only on a failed job, cancel only on an unfinished one; Esc closes', async (t) => {
  const retried: number[] = [];
  const canceled: number[] = [];
  let closed = 0;
  const { lastFrame, stdin, unmount } = render(
    <QueuePanel
      {...props(mixedState(), {
        onRetry: (id) => retried.push(id),
        onCancel: (id) => canceled.push(id),
        onClose: () => closed++,
      })}
    />,
  );
  t.teardown(unmount);
  await mounted();
  t.regex(lineOf(lastFrame()!, 'holiday-video.mp4'), /^│ › /, 'the cursor starts on the first unfinished job');
  stdin.write('r');
  stdin.write('c');
  await until(() => canceled.length === 1, 'the cancel');
  t.deepEqual(retried, [], 'a running job is not retried');
  t.deepEqual(canceled, [1]);

  stdin.write(KEYS.down);
  await until(() => lineOf(lastFrame()!, 'quota-breaker.iso').startsWith('│ › '), 'the cursor on the failed job');
  t.regex(lastFrame()!, /│ \/home\/me\/quota-breaker\.iso → .*quota-breaker\.iso · disk quota exceeded \(EQUOTA\) │/, 'its detail line');
  stdin.write('c');
  stdin.write('r');
  await until(() => retried.length === 1, 'the retry');
  t.deepEqual(retried, [2]);
  t.deepEqual(canceled, [1], 'a failed job cannot be canceled');

  // Keys typed faster than a render still move one row each.
  stdin.write(KEYS.down);
  stdin.write(KEYS.down);
  stdin.write(KEYS.down);
  stdin.write(KEYS.up);
  await until(() => lineOf(lastFrame()!, 'waiting.bin').startsWith('│ › '), 'the cursor on row 4');
  stdin.write(KEYS.delete);
  await until(() => canceled.length === 2, 'the second cancel, with the Delete key');
  t.deepEqual(canceled, [1, 4]);

  stdin.write(KEYS.escape);
  await until(() => closed === 1, 'close');
  t.pass();
});

test('an inactive panel shows no cursor and ignores keys', async (t) => {
  let calls = 0;
  const { lastFrame, stdin, unmount } = render(
    <QueuePanel {...props(mixedState(), { isActive: false, onRetry: () => calls++, onCancel: () => calls++, onClose: () => calls++ })} />,
  );
  t.teardown(unmount);
  await mounted();
  t.notRegex(lastFrame()!, /›/);
  t.notRegex(lastFrame()!, /r retry/, 'no key hints');
  for (const key of ['c', 'r', KEYS.escape, KEYS.down]) stdin.write(key);
  await mounted();
  t.is(calls, 0);
});

// ---------------------------------------------------------------- virtualisation

function bigState(count: number, finished: number): QueueState {
  let state = initialQueueState();
  for (let id = 1; id <= count; id++) state = reduceTransfer(state, file(id, `f${String(id).padStart(6, '0')}.dat`, 1000));
  for (let id = 1; id <= finished; id++) {
    state = reduceTransfer(state, { type: 'job-started', at: 0, id, attempt: 1 });
    state = reduceTransfer(state, { type: 'job-done', at: 0, id, outcome: 'transferred', size: 1000 });
  }
  return state;
}

test('only the visible rows are drawn: a 20,000-job queue reads a handful of jobs per frame', async (t) => {
  const state = bigState(20_000, 0);
  const jobs = state.jobs;
  let reads = 0;
  const get = jobs.get.bind(jobs);
  // Counting reads on this one table instance (an own property shadows the class method).
  Object.defineProperty(jobs, 'get', { value: (id: number) => (reads++, get(id)) });
  const { lastFrame, stdin, unmount } = render(<QueuePanel {...props(state, { height: 12 })} />);
  t.teardown(unmount);
  const frame = lastFrame()!;
  const rows = frame.split('\n').filter((line) => /^│ . ↑ f\d{6}\.dat/.test(line));
  t.is(rows.length, 12 - 5, 'body rows = height minus border, title, detail and totals');
  t.true(reads < 50, `${reads} job reads for one frame`);
  t.regex(frame, /0\/20000 files/);

  await mounted();
  reads = 0;
  stdin.write(KEYS.down);
  stdin.write(KEYS.down);
  for (let i = 0; i < 8; i++) stdin.write(KEYS.down);
  await until(() => lastFrame()!.includes('f000011.dat'), 'the list to scroll');
  t.false(lastFrame()!.includes('f000001.dat'), 'rows above the window are gone');
  t.regex(lineOf(lastFrame()!, 'f000011.dat'), /^│ › /);
  t.true(reads < 500, `${reads} job reads for ten keys and their frames`);
});

test('following the work: the window shows the running job of a long queue without any key', (t) => {
  let state = bigState(500, 300);
  state = reduceTransfer(state, { type: 'job-started', at: 0, id: 301, attempt: 1 });
  const { lastFrame, unmount } = render(<QueuePanel {...props(state, { height: 10, isActive: false })} />);
  t.teardown(unmount);
  t.regex(lastFrame()!, /f000301\.dat .*running/);
  t.false(lastFrame()!.includes('f000001.dat'));
  t.regex(lastFrame()!, /300\/500 files/);
});

test('view model: follow, clamp, scroll, and moving by hand stops following', (t) => {
  const state = bigState(50, 20);
  const rows = jobRows(state.jobs);
  t.is(firstUnfinished(rows), 20);
  t.is(firstUnfinished(rows, 30), 30);
  let view = settleQueueView(INITIAL_QUEUE_VIEW, rows, 10);
  t.like(view, { cursor: 20, offset: 11, follow: true, frontier: 20 });
  t.is(settleQueueView(view, rows, 10), view, 'a settled view is returned as is');
  view = moveQueueView(view, 'up', rows, 10);
  t.like(view, { cursor: 19, offset: 11, follow: false });
  view = moveQueueView(view, 'page-down', rows, 10);
  t.like(view, { cursor: 28, offset: 19 });
  view = moveQueueView(view, 'end', rows, 10);
  t.like(view, { cursor: 49, offset: 40 });
  view = moveQueueView(view, 'down', rows, 10);
  t.is(view.cursor, 49, 'no row past the last');
  view = moveQueueView(view, 'home', rows, 10);
  t.like(view, { cursor: 0, offset: 0 });
  view = moveQueueView(view, 'follow', rows, 10);
  t.like(view, { cursor: 20, follow: true });
  const done = jobRows(bigState(5, 5).jobs);
  t.like(settleQueueView(INITIAL_QUEUE_VIEW, done, 10), { cursor: 4, frontier: 5 }, 'all finished: rest on the last row');
  t.like(settleQueueView(INITIAL_QUEUE_VIEW, jobRows(initialQueueState().jobs), 10), { cursor: 0, offset: 0 });
});

import { mkdir, mkdtemp, readFile, rm, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { Text } from 'ink';
import { render } from 'ink-testing-library';
import { LocalFileSystem } from '../src/fs/local-file-system.js';
import { FerryError, type Entry } from '../src/protocol/index.js';
import { TransferQueue } from '../src/transfer/transfer-queue.js';
import type { ConflictDecision, JobInfo } from '../src/transfer/types.js';
import { ConflictDialog, comparison, conflictChoices, conflictDialogStep } from '../ui/dialogs/conflict-dialog.js';
import { canResumeInto, createConflictBridge, policiesFor, useConflictQuestion, type ConflictBridge } from '../ui/queue/conflict-bridge.js';
import { KEYS, mounted, until } from './helpers/ink-wait.js';

const JOB: JobInfo = {
  id: 7,
  requestId: 1,
  kind: 'file',
  name: 'report.pdf',
  source: '/home/me/report.pdf',
  target: 'alice@127.0.0.1:7070:/docs/report.pdf',
  size: 5_000_000,
  direction: 'upload',
};
const JUNE = new Date(2024, 5, 1, 14, 3).getTime();
const MAY = new Date(2024, 4, 30, 9, 12).getTime();
const SOURCE: Entry = { name: 'report.pdf', type: 'file', size: 5_000_000, mtime: JUNE, mode: 0o644 };
const SHORTER: Entry = { name: 'report.pdf', type: 'file', size: 3_000_000, mtime: MAY, mode: 0o644 };
const LONGER: Entry = { ...SHORTER, size: 9_000_000 };
const DIR: Entry = { name: 'report.pdf', type: 'dir', size: 0, mtime: MAY, mode: 0o755 };

function dialog(target: Entry, canResume: boolean, decisions: ConflictDecision[], isActive = true) {
  return <ConflictDialog isActive={isActive} job={JOB} source={SOURCE} target={target} canResume={canResume} onDecide={(d) => decisions.push(d)} />;
}

test('shows the target, both sides with size and time, and every choice when resume makes sense', (t) => {
  const { lastFrame, unmount } = render(dialog(SHORTER, true, []));
  t.teardown(unmount);
  const frame = lastFrame()!;
  t.regex(frame, /File exists/);
  t.regex(frame, /alice@127\.0\.0\.1:7070:\/docs\/report\.pdf/);
  t.regex(frame, /source +4\.8 MiB \(5,000,000 B\) +2024-06-01 14:03/);
  t.regex(frame, /target +2\.9 MiB \(3,000,000 B\) +2024-05-30 09:12/);
  t.regex(frame, /The source is newer and larger\./);
  for (const label of ['Overwrite (o)', 'Resume (r)', 'Skip (s)', 'Keep both (rename) (n)', 'Overwrite if newer (w)', 'Overwrite if size differs (d)']) {
    t.true(frame.includes(label), label);
  }
  t.regex(frame, /\[ \] Apply to all remaining conflicts of this copy \(a\)/);
});

test('resume is not offered for a target that is not shorter, and its key does nothing', async (t) => {
  const decisions: ConflictDecision[] = [];
  const { lastFrame, stdin, unmount } = render(dialog(LONGER, false, decisions));
  t.teardown(unmount);
  t.false(lastFrame()!.includes('Resume'));
  t.regex(lastFrame()!, /The source is newer and smaller\./);
  await mounted();
  stdin.write('r');
  stdin.write('o');
  await until(() => decisions.length === 1, 'a decision');
  t.deepEqual(decisions, [{ policy: 'overwrite', applyToAll: false }], "'r' was ignored, 'o' decided");
});

test('each choice key gives its policy', async (t) => {
  const keys = { o: 'overwrite', r: 'resume', s: 'skip', n: 'rename', w: 'newer', d: 'size-differs' } as const;
  for (const [key, policy] of Object.entries(keys)) {
    const decisions: ConflictDecision[] = [];
    const { stdin, unmount } = render(dialog(SHORTER, true, decisions));
    await mounted();
    stdin.write(key);
    await until(() => decisions.length > 0, `the decision for '${key}'`);
    unmount();
    t.deepEqual(decisions, [{ policy, applyToAll: false }], key);
  }
});

test('"apply to all" toggles with a and Space, and goes with the decision', async (t) => {
  const decisions: ConflictDecision[] = [];
  const { lastFrame, stdin, unmount } = render(dialog(SHORTER, true, decisions));
  t.teardown(unmount);
  await mounted();
  stdin.write('a');
  await until(() => lastFrame()!.includes('[x] Apply to all'), 'the box ticked');
  stdin.write(KEYS.space);
  await until(() => lastFrame()!.includes('[ ] Apply to all'), 'the box cleared');
  stdin.write(KEYS.space);
  stdin.write('d');
  await until(() => decisions.length === 1, 'a decision');
  t.deepEqual(decisions, [{ policy: 'size-differs', applyToAll: true }]);
});

test('Tab / Shift-Tab move between choices, Enter takes the focused one, Esc skips this file only', async (t) => {
  const decisions: ConflictDecision[] = [];
  const first = render(dialog(SHORTER, true, decisions));
  await mounted();
  first.stdin.write(KEYS.tab);
  first.stdin.write(KEYS.enter);
  await until(() => decisions.length === 1, 'Tab + Enter');
  first.unmount();
  const second = render(dialog(SHORTER, true, decisions));
  await mounted();
  second.stdin.write('a');
  second.stdin.write(KEYS.shiftTab);
  second.stdin.write(KEYS.enter);
  await until(() => decisions.length === 2, 'Shift-Tab + Enter');
  second.unmount();
  const third = render(dialog(SHORTER, true, decisions));
  await mounted();
  third.stdin.write('a');
  third.stdin.write(KEYS.escape);
  await until(() => decisions.length === 3, 'Esc');
  third.unmount();
  t.deepEqual(decisions, [
    { policy: 'resume', applyToAll: false },
    { policy: 'size-differs', applyToAll: true },
    { policy: 'skip', applyToAll: false },
  ]);
});

test('a directory in the way: only skip and rename', async (t) => {
  const decisions: ConflictDecision[] = [];
  const { lastFrame, stdin, unmount } = render(dialog(DIR, false, decisions));
  t.teardown(unmount);
  const frame = lastFrame()!;
  t.regex(frame, /A directory is in the way of/);
  t.regex(frame, /target +directory/);
  t.false(frame.includes('Overwrite'));
  t.true(frame.includes('Skip (s)'));
  t.true(frame.includes('Keep both (rename) (n)'));
  await mounted();
  stdin.write('o');
  stdin.write('w');
  stdin.write('n');
  await until(() => decisions.length === 1, 'rename');
  t.deepEqual(decisions, [{ policy: 'rename', applyToAll: false }]);
});

test('an inactive dialog ignores keys', async (t) => {
  const decisions: ConflictDecision[] = [];
  const { stdin, unmount } = render(dialog(SHORTER, true, decisions, false));
  t.teardown(unmount);
  await mounted();
  for (const key of ['o', 's', KEYS.enter, KEYS.escape]) stdin.write(key);
  await mounted();
  t.deepEqual(decisions, []);
});

test('pure parts: which choices, comparisons, and the dialog step', (t) => {
  t.true(canResumeInto(SOURCE, SHORTER));
  t.false(canResumeInto(SOURCE, LONGER));
  t.false(canResumeInto(SOURCE, { ...SOURCE }), 'same size: nothing to resume');
  t.false(canResumeInto(SOURCE, DIR));
  t.deepEqual(policiesFor({ target: DIR, canResume: false }), ['skip', 'rename']);
  t.deepEqual(policiesFor({ target: LONGER, canResume: false }), ['overwrite', 'skip', 'rename', 'newer', 'size-differs']);
  t.is(comparison(SOURCE, SHORTER), 'newer, larger');
  t.is(comparison(SHORTER, SOURCE), 'older, smaller');
  t.is(comparison(SOURCE, { ...SOURCE, mtime: JUNE + 1 }), 'same time, same size');
  const choices = conflictChoices(LONGER, false);
  const start = { focus: 0, applyToAll: false };
  t.deepEqual(conflictDialogStep(start, 'conflict.resume', choices), { state: start }, 'resume not offered');
  t.deepEqual(conflictDialogStep(start, 'dialog.prev-field', choices).state, { focus: choices.length - 1, applyToAll: false });
  t.deepEqual(conflictDialogStep({ focus: 1, applyToAll: true }, 'dialog.confirm', choices).decision, { policy: 'skip', applyToAll: true });
});

// ---------------------------------------------------------------- the bridge

function entry(size: number): Entry {
  return { name: 'x', type: 'file', size, mtime: 0, mode: 0o644 };
}

test('bridge: questions wait in line, answers resolve them in order, bad answers are refused', async (t) => {
  const bridge = createConflictBridge();
  let notified = 0;
  bridge.subscribe(() => notified++);
  t.is(bridge.getSnapshot(), null);
  t.throws(() => bridge.answer({ policy: 'skip', applyToAll: false }), { instanceOf: FerryError, message: /no file-exists question/ });
  const first = bridge.onConflict({ ...JOB, id: 1 }, entry(10), entry(5));
  const second = bridge.onConflict({ ...JOB, id: 2 }, entry(10), entry(50));
  t.is(notified, 1, 'the second question waits behind the first');
  const shown = bridge.getSnapshot()!;
  t.is(shown.job.id, 1);
  t.true(shown.canResume);
  bridge.answer({ policy: 'resume', applyToAll: false });
  t.deepEqual(await first, { policy: 'resume', applyToAll: false });
  t.is(bridge.getSnapshot()!.job.id, 2);
  t.false(bridge.getSnapshot()!.canResume);
  const refused = t.throws(() => bridge.answer({ policy: 'resume', applyToAll: true }), { instanceOf: FerryError });
  t.is((refused as FerryError).code, 'EINVAL');
  t.is(bridge.getSnapshot()!.job.id, 2, 'a refused answer leaves the question up');
  bridge.answer({ policy: 'skip', applyToAll: true });
  t.deepEqual(await second, { policy: 'skip', applyToAll: true });
  t.is(bridge.getSnapshot(), null);
  t.is(notified, 3);
});

test('bridge: cancelAll rejects the waiting questions with ECANCELED', async (t) => {
  const bridge = createConflictBridge();
  const asked = [bridge.onConflict(JOB, entry(10), entry(5)), bridge.onConflict(JOB, entry(10), entry(5))];
  bridge.cancelAll();
  for (const question of asked) {
    const error = await t.throwsAsync(question, { instanceOf: FerryError });
    t.is((error as FerryError).code, 'ECANCELED');
  }
  t.is(bridge.getSnapshot(), null);
});

/** What the App does with the bridge: the dialog while a question waits. */
function Asker({ bridge }: { bridge: ConflictBridge }) {
  const question = useConflictQuestion(bridge);
  if (question === null) return <Text>no question</Text>;
  return <ConflictDialog isActive job={question.job} source={question.source} target={question.target} canResume={question.canResume} onDecide={bridge.answer} />;
}

test('a real queue asks through the bridge and the dialog: overwrite one, then skip the rest with "apply to all"', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-conflict-ui-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, 'src'));
  await mkdir(join(dir, 'dst'));
  for (const name of ['a.txt', 'b.txt', 'c.txt']) {
    await writeFile(join(dir, 'src', name), `new ${name} content\n`);
    await writeFile(join(dir, 'dst', name), `old ${name}\n`);
    // Targets older than the sources, so "same time" never answers for the dialog.
    await utimes(join(dir, 'dst', name), new Date(2020, 0, 1), new Date(2020, 0, 1));
  }
  const bridge = createConflictBridge();
  const fs = new LocalFileSystem({ home: dir });
  const queue = new TransferQueue({ concurrency: 1, conflict: 'ask', onConflict: bridge.onConflict });
  t.teardown(() => queue.close());
  const { lastFrame, stdin, unmount } = render(<Asker bridge={bridge} />);
  t.teardown(unmount);
  t.is(lastFrame(), 'no question');

  const added = queue.add({ source: { fs, path: join(dir, 'src') }, target: { fs, path: join(dir, 'dst') }, exactTarget: true });
  await until(() => lastFrame()!.includes('a.txt'), 'the first question');
  t.regex(lastFrame()!, /The source is newer and larger/);
  t.regex(lastFrame()!, /Resume \(r\)/, 'the old target is shorter: resume is offered');
  stdin.write('o');
  await until(() => lastFrame()!.includes('b.txt'), 'the second question');
  stdin.write('a');
  await until(() => lastFrame()!.includes('[x] Apply to all'), 'apply to all ticked');
  stdin.write('s');
  await added;
  const state = await queue.whenIdle();
  await until(() => lastFrame() === 'no question', 'the dialog to close');

  t.is(await readFile(join(dir, 'dst', 'a.txt'), 'utf8'), 'new a.txt content\n');
  t.is(await readFile(join(dir, 'dst', 'b.txt'), 'utf8'), 'old b.txt\n');
  t.is(await readFile(join(dir, 'dst', 'c.txt'), 'utf8'), 'old c.txt\n', 'c.txt was not asked about: "apply to all" skipped it');
  t.is(state.totals.transferredFiles, 1);
  t.is(state.totals.skipped, 2);
});

test('a job canceled while its question is open stays canceled: the answer that comes later copies nothing', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-conflict-cancel-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await mkdir(join(dir, 'dst'));
  await writeFile(join(dir, 'a.txt'), 'new content\n');
  await writeFile(join(dir, 'dst', 'a.txt'), 'old\n');
  const bridge = createConflictBridge();
  const fs = new LocalFileSystem({ home: dir });
  const queue = new TransferQueue({ conflict: 'ask', onConflict: bridge.onConflict });
  t.teardown(() => queue.close());
  const seen: string[] = [];
  queue.on('event', (event) => {
    if (event.type !== 'tick') seen.push(event.type);
  });
  await queue.add({ source: { fs, path: join(dir, 'a.txt') }, target: { fs, path: join(dir, 'dst') } });
  await until(() => bridge.getSnapshot() !== null, 'the question');
  const id = bridge.getSnapshot()!.job.id;
  queue.cancel(id);
  t.is(queue.snapshot().jobs.get(id)!.state, 'failed');
  bridge.answer({ policy: 'overwrite', applyToAll: false });
  const state = await queue.whenIdle();
  t.is(state.jobs.get(id)!.state, 'failed');
  t.is(state.jobs.get(id)!.error?.code, 'ECANCELED');
  t.is(state.totals.failed, 1);
  t.is(await readFile(join(dir, 'dst', 'a.txt'), 'utf8'), 'old\n', 'the target was left alone');
  t.deepEqual(seen, ['job-added', 'job-failed'], 'no start, no progress, no second ending');
});

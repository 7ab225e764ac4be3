import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { render } from 'ink-testing-library';
import { LocalFileSystem } from '../src/fs/local-file-system.js';
import { FerryError } from '../src/protocol/index.js';
import { TransferJournal, describeRequest, listUnfinished, type UnfinishedJournal } from '../src/transfer/journal.js';
import { TransferQueue } from '../src/transfer/transfer-queue.js';
import { ResumeDialog, endpointText, journalCounts, resumeButtons } from '../ui/dialogs/resume-dialog.js';
import { discardJournal, requestsOf } from '../ui/queue/resume-journal.js';
import { KEYS, mounted, until } from './helpers/ink-wait.js';

function journal(key: string, overrides: Partial<UnfinishedJournal> = {}): UnfinishedJournal {
  return {
    key,
    file: `/state/journal/${key}.json`,
    createdAt: new Date(2024, 5, 1, 14, 0).getTime(),
    updatedAt: new Date(2024, 5, 1, 14, 3).getTime(),
    requests: [
      {
        key: `${key}-r1`,
        source: { kind: 'local', label: 'local', path: '/home/me/photos' },
        target: { kind: 'remote', label: 'alice@127.0.0.1:7070', path: '/photos' },
        move: false,
        conflict: 'resume',
        exactTarget: false,
      },
    ],
    done: 12,
    pending: 30,
    failed: 1,
    active: false,
    ...overrides,
  };
}

test('lists each unfinished copy with its time, counts and route; a copy another ferry runs has no buttons', (t) => {
  const journals = [journal('aaaa'), journal('bbbb', { active: true, done: 3, pending: 4, failed: 0 })];
  const { lastFrame, unmount } = render(<ResumeDialog isActive journals={journals} onResume={() => {}} onDiscard={() => {}} onClose={() => {}} />);
  t.teardown(unmount);
  const frame = lastFrame()!;
  t.regex(frame, /2 copies did not finish last time/);
  t.regex(frame, /2024-06-01 14:03 +12 done · 30 pending · 1 failed/);
  t.regex(frame, /copy \/home\/me\/photos → alice@127\.0\.0\.1:7070:\/photos/);
  t.regex(frame, /3 done · 4 pending/);
  t.regex(frame, /another ferry is running this copy now/);
  t.is(frame.match(/Resume/g)?.length, 1, 'one Resume button, for the idle copy');
  t.regex(frame, /Later/);
  t.deepEqual(
    resumeButtons(journals).map((b) => (b.kind === 'later' ? 'later' : `${b.kind}:${b.journal.key}`)),
    ['resume:aaaa', 'discard:aaaa', 'later'],
  );
  t.is(journalCounts({ done: 5, pending: 0, failed: 0 }), '5 done');
  t.is(endpointText({ kind: 'local', label: 'local', path: '/x' }), '/x');
});

test('Enter presses the focused button: Resume first, Tab to Discard, Tab past the last copy to Later; Esc is Later', async (t) => {
  const journals = [journal('aaaa'), journal('bbbb')];
  const calls: string[] = [];
  const ui = (
    <ResumeDialog
      isActive
      journals={journals}
      onResume={(j) => calls.push(`resume:${j.key}`)}
      onDiscard={(j) => calls.push(`discard:${j.key}`)}
      onClose={() => calls.push('later')}
    />
  );
  const { stdin, unmount } = render(ui);
  t.teardown(unmount);
  await mounted();
  stdin.write(KEYS.enter);
  await until(() => calls.length === 1, 'resume');
  stdin.write(KEYS.tab);
  stdin.write(KEYS.enter);
  await until(() => calls.length === 2, 'discard');
  stdin.write(KEYS.down);
  stdin.write(KEYS.down);
  stdin.write(KEYS.enter);
  await until(() => calls.length === 3, 'discard of the second');
  stdin.write(KEYS.tab);
  stdin.write(KEYS.enter);
  await until(() => calls.length === 4, 'later');
  stdin.write(KEYS.shiftTab);
  stdin.write(KEYS.shiftTab);
  stdin.write(KEYS.enter);
  stdin.write(KEYS.escape);
  await until(() => calls.length === 6, 'resume of the second, then Esc');
  t.deepEqual(calls, ['resume:aaaa', 'discard:aaaa', 'discard:bbbb', 'later', 'resume:bbbb', 'later']);
});

test('a journal left by an interrupted copy is rebuilt into the same requests, and resuming them finishes the copy', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-resume-ui-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const journals = join(dir, 'journal');
  await mkdir(join(dir, 'src'));
  for (const name of ['a.txt', 'b.txt', 'c.txt']) await writeFile(join(dir, 'src', name), `content of ${name}\n`);
  const fs = new LocalFileSystem({ home: dir });
  const request = { source: { fs, path: join(dir, 'src') }, target: { fs, path: join(dir, 'dst') } };

  // The earlier run: it recorded its request and then stopped before copying anything.
  const described = describeRequest(request, 'resume');
  const earlier = await TransferJournal.open({ key: 'abcdef0123456789', dir: journals });
  earlier.addRequest(described);
  await earlier.flush();
  const [found] = await listUnfinished(journals);
  t.truthy(found);
  t.is(found!.requests.length, 1);

  const rebuilt = await requestsOf(found!, async () => fs);
  t.is(rebuilt.length, 1);
  t.is(describeRequest(rebuilt[0]!, 'resume').key, described.key, 'same journal identity');

  const resumed = await TransferJournal.open({ key: found!.key, dir: journals });
  t.true(resumed.resumed);
  const queue = new TransferQueue({ journal: resumed });
  for (const r of rebuilt) await queue.add(r);
  const state = await queue.whenIdle();
  t.is(state.totals.done, 4, 'the directory and three files');
  for (const name of ['a.txt', 'b.txt', 'c.txt']) t.is(await readFile(join(dir, 'dst', name), 'utf8'), `content of ${name}\n`);
  t.deepEqual(await listUnfinished(journals), [], 'a finished copy leaves no journal');

  const wrong = await t.throwsAsync(requestsOf(found!, async () => ({ ...fs, kind: 'remote', label: 'bob@h:1' }) as unknown as LocalFileSystem));
  t.is((wrong as FerryError).code, 'EINVAL');
});

test('discard deletes the journal file, but never one another ferry is running', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-discard-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const file = join(dir, 'abcd.json');
  await writeFile(file, '{}');
  const busy = await t.throwsAsync(discardJournal({ file, active: true }));
  t.is((busy as FerryError).code, 'EBUSY');
  await stat(file);
  await discardJournal({ file, active: false });
  await t.throwsAsync(stat(file), { code: 'ENOENT' });
  await t.notThrowsAsync(discardJournal({ file, active: false }), 'discarding twice is fine');
});

import test from 'ava';
import { render } from 'ink-testing-library';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Entry } from '../src/protocol/index.js';
import { LocalFileSystem } from '../src/fs/local-file-system.js';
import { App } from '../ui/app.js';
import { createTuiContext } from '../ui/commands/create-context.js';
import { KeyBar } from '../ui/components/key-bar.js';
import { Pane } from '../ui/components/pane.js';
import { ConfirmDialog } from '../ui/dialogs/confirm-dialog.js';
import { HelpScreen } from '../ui/dialogs/help-screen.js';
import { InputDialog } from '../ui/dialogs/input-dialog.js';
import { COMMANDS } from '../ui/keymap.js';
import { initialPane, reducePane, type PaneState } from '../ui/model/pane-state.js';
import { viewContentOf } from '../ui/model/view-content.js';
import { Viewer } from '../ui/viewer/viewer.js';
import { until } from './helpers/ink-wait.js';
import { KEY } from './helpers/tui.js';

const tick = () => new Promise((resolve) => setImmediate(resolve));

async function press(stdin: { write(data: string): void }, ...keys: string[]): Promise<void> {
  for (const key of keys) {
    stdin.write(key);
    await tick();
    if (key === KEY.escape) await tick();
  }
}

function bigPane(count: number, height: number): PaneState {
  const entries: Entry[] = [];
  for (let i = 0; i < count; i++) entries.push({ name: `entry-${String(i).padStart(6, '0')}.dat`, type: 'file', size: i, mtime: 1_700_000_000_000, mode: 0o644 });
  const started = reducePane(initialPane('/big', { height }), { type: 'list-start', path: '/big', ticket: 1 });
  return reducePane(started, { type: 'list-done', ticket: 1, path: '/big', atRoot: false, entries });
}

test('the file list is virtualised: a 100 000-entry pane draws only the rows that fit, and moves with the cursor', (t) => {
  let pane = bigPane(100_000, 10);
  const view = (state: PaneState) => <Pane pane={state} label="local" kind="local" width={80} height={15} active quota={null} />;
  const rendered = render(view(pane));
  t.teardown(() => rendered.unmount());
  let frame = rendered.lastFrame() ?? '';
  t.is(frame.split('\n').length, 15);
  t.true(frame.includes('entry-000000.dat'));
  t.true(frame.includes('entry-000008.dat'));
  t.false(frame.includes('entry-000009.dat'), 'row 11 of the list is not drawn');
  pane = reducePane(pane, { type: 'move', motion: 'end' });
  rendered.rerender(view(pane));
  frame = rendered.lastFrame() ?? '';
  t.true(frame.includes('entry-099999.dat'));
  t.true(frame.includes('entry-099990.dat'));
  t.false(frame.includes('entry-099989.dat'));
  t.false(frame.includes('entry-000000.dat'));
});

test('the pane frame: path in the top border, sort in the titles, status line, free space in the bottom border', (t) => {
  const pane = reducePane(bigPane(3, 5), { type: 'mark-pattern', pattern: '*1.dat;*2.dat', mode: 'select' });
  const rendered = render(<Pane pane={pane} label="alice@h:7070" kind="remote" width={70} height={10} active={false} quota={{ used: 1024, total: 4096 }} notice="reconnecting…" />);
  t.teardown(() => rendered.unmount());
  const lines = (rendered.lastFrame() ?? '').split('\n');
  t.regex(lines[0]!, /^┌─ alice@h:7070:\/big \[reconnecting…\] ─+┐$/);
  t.regex(lines[1]!, /↑Name.*Size.*Modify time/);
  t.regex(lines[8]!, /^│2 marked, 3 B\s+│$/);
  t.regex(lines[9]!, /^└─+ quota: 3\.0 KiB free of 4\.0 KiB \(75%\) ─┘$/);
  t.true(lines.some((line) => line.includes('✓entry-000001.dat')));
});

test('a remote pane says in its title whether its connection is encrypted, and to whom', (t) => {
  const pane = bigPane(1, 5);
  const title = (security: 'TLS' | 'plain' | undefined) => {
    const rendered = render(<Pane pane={pane} label="alice@files.example:7070" kind="remote" {...(security ? { security } : {})} width={70} height={10} active quota={null} />);
    const first = (rendered.lastFrame() ?? '').split('\n')[0]!;
    rendered.unmount();
    return first;
  };
  t.regex(title('TLS'), /^╔═ TLS alice@files\.example:7070:\/big ═+╗$/);
  t.regex(title('plain'), /^╔═ plain alice@files\.example:7070:\/big ═+╗$/);
  t.regex(title(undefined), /^╔═ alice@files\.example:7070:\/big ═+╗$/);
  // A narrow pane cuts the title in the middle: the marker in front stays.
  const narrow = render(<Pane pane={pane} label="alice@a-very-long-host-name.files.example:7070" kind="remote" security="plain" width={30} height={10} active quota={null} />);
  t.teardown(() => narrow.unmount());
  t.regex((narrow.lastFrame() ?? '').split('\n')[0]!, /^╔═ plain alice@.*…/);
});

test('the key bar shows F1–F10 with the labels of the keymap table across the width', (t) => {
  const rendered = render(<KeyBar width={100} />);
  t.teardown(() => rendered.unmount());
  const frame = rendered.lastFrame() ?? '';
  // (ink trims the trailing blanks of a line)
  t.is(frame, '1Help     2Sort     3View     4Edit     5Copy     6RenMov   7Mkdir    8Delete   9Queue    10Quit');
});

test('the help screen lists every command of the keymap table with its keys', async (t) => {
  const rendered = render(<HelpScreen width={200} height={400} isActive onClose={() => {}} />);
  t.teardown(() => rendered.unmount());
  const frame = rendered.lastFrame() ?? '';
  for (const command of COMMANDS) t.true(frame.includes(command.description), command.id);
  t.regex(frame, /F10, q\s+Quit/);
});

test('the viewer scrolls by line, page and to the end, sideways too, and closes with q', async (t) => {
  const lines = Array.from({ length: 100 }, (_, i) => `line ${i + 1}${i === 0 ? ` ${'x'.repeat(150)}END` : ''}`);
  const content = viewContentOf(Buffer.from(lines.join('\n')), 10_000);
  let closed = false;
  const rendered = render(<Viewer title="notes.txt" content={content} width={80} height={12} isActive onClose={() => (closed = true)} />);
  t.teardown(() => rendered.unmount());
  await until(() => (rendered.lastFrame() ?? '').includes('1-10/100'), 'the first page');
  await tick();
  t.regex(rendered.lastFrame() ?? '', /first .* of /, 'says only the start of the file was read');
  await press(rendered.stdin, KEY.down);
  await until(() => (rendered.lastFrame() ?? '').includes('2-11/100'), 'one line down');
  await press(rendered.stdin, KEY.pageDown);
  await until(() => (rendered.lastFrame() ?? '').includes('11-20/100'), 'a page down');
  await press(rendered.stdin, KEY.end);
  await until(() => (rendered.lastFrame() ?? '').includes('91-100/100 100%'), 'the end');
  t.true((rendered.lastFrame() ?? '').includes('line 100'));
  await press(rendered.stdin, 'g', KEY.right, KEY.right, KEY.right, KEY.right, KEY.right, KEY.right, KEY.right, KEY.right, KEY.right, KEY.right);
  await until(() => (rendered.lastFrame() ?? '').includes('xEND'), 'the end of the long line, scrolled sideways');
  await press(rendered.stdin, 'q');
  await until(() => closed, 'q to close');
  t.pass();
});

test('the input dialog edits its offered text and submits what was typed; Esc cancels', async (t) => {
  let submitted: string | undefined;
  let canceled = false;
  const rendered = render(<InputDialog title="Rename" prompt="New name:" initial="old.txt" width={50} isActive onSubmit={(v) => (submitted = v)} onCancel={() => (canceled = true)} />);
  t.teardown(() => rendered.unmount());
  await until(() => (rendered.lastFrame() ?? '').includes('old.txt'), 'the offered text');
  await press(rendered.stdin, KEY.backspace, KEY.backspace, KEY.backspace, 'm', 'd', KEY.home, 'n', 'e', 'w', '-', KEY.enter);
  t.is(submitted, 'new-old.md');
  await press(rendered.stdin, KEY.escape);
  await until(() => canceled, 'Esc to cancel');
  t.pass();
});

test('the confirm dialog: Enter takes the focused button (yes first), Tab moves to no, Esc is no', async (t) => {
  const answers: string[] = [];
  const rendered = render(<ConfirmDialog title="Delete" message="Delete 2 entries?" yes="Delete" danger width={50} isActive onYes={() => answers.push('yes')} onNo={() => answers.push('no')} />);
  t.teardown(() => rendered.unmount());
  await until(() => (rendered.lastFrame() ?? '').includes('[ Delete ]  [ No ]'), 'the buttons');
  t.true((rendered.lastFrame() ?? '').includes('Delete 2 entries?'));
  await press(rendered.stdin, KEY.enter, KEY.tab, KEY.enter, KEY.escape);
  await until(() => answers.length === 3, 'three answers');
  t.deepEqual(answers, ['yes', 'no', 'no']);
});

test('the App fills the terminal and is drawn again at the new size on a resize', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-ui-resize-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'file.txt'), 'x');
  const tui = await createTuiContext({ left: new LocalFileSystem({ home: dir }), right: new LocalFileSystem({ home: dir }), journalDir: null, exit: () => {} });
  const rendered = render(<App ctx={tui.ctx} queueStore={tui.queueStore} />);
  t.teardown(async () => {
    rendered.unmount();
    await tui.close();
  });
  const stdout = rendered.stdout as unknown as NodeJS.EventEmitter & { rows?: number };
  await until(() => (rendered.lastFrame() ?? '').includes('file.txt'), 'the listing');
  t.is((rendered.lastFrame() ?? '').split('\n').length, 24, '24 rows when the terminal does not say');
  Object.defineProperty(stdout, 'rows', { value: 40, configurable: true });
  stdout.emit('resize');
  await until(() => (rendered.lastFrame() ?? '').split('\n').length === 40, 'the frame to grow to 40 rows');
  t.is(tui.ctx.store.getState().sides.left.pane.height, 40 - 2 - 5, 'the lists got the new rows in the same frame');
});

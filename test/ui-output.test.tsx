import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { render } from 'ink-testing-library';
import { useState } from 'react';
import { Session } from '../src/client/session.js';
import type { FerryError } from '../src/protocol/index.js';
import type { ServerOptions } from '../server/options.js';
import type { SqliteUserStore } from '../server/users/sqlite-user-store.js';
import { CommandLine } from '../ui/components/command-line.js';
import { OutputPanel, moveScroll, scrollTop } from '../ui/output/output-panel.js';
import { cleanOutput, layoutRows } from '../ui/output/output-rows.js';
import { createOutputStore, useOutputRuns, type OutputRun, type OutputStore } from '../ui/output/output-store.js';
import { joinArgv, splitArgv } from '../ui/output/split-argv.js';
import { KEYS, mounted, until } from './helpers/ink-wait.js';
import { startTestServer } from './helpers/server.js';

/*
 * The TUI half of remote commands: argv splitting, the output store against a real server with
 * allowlisted scripts, the output panel and the command line rendered with ink-testing-library.
 */

const ALICE = { name: 'alice', password: 'alice-secret-1' };
const CTRL_C = '\u0003';
const CTRL_O = '\u000F';

const SCRIPTS: Record<string, string> = {
  // Prints, waits for a file the test creates once it saw the first lines, prints again.
  'print-wait-print': 'echo first\necho oops >&2\nwhile [ ! -e "$1" ]; do sleep 0.02; done\necho second\nexit 3\n',
  'args': 'for a in "$@"; do printf "[%s]\\n" "$a"; done\n',
  'lines': 'i=1\nwhile [ $i -le "$1" ]; do echo "line $i"; i=$((i+1)); done\n',
  'sleeper': 'echo started\nsleep 30\n',
  'colors': 'printf "\\033[31mred\\033[0m\\tafter-tab\\n"\n',
};

interface Fixture {
  session: Session;
  scripts: Record<string, string>;
  dir: string;
  /** The user's home on the server's disk. */
  home: string;
  store: OutputStore;
}

async function setup(t: ExecutionContext, storeOptions: Parameters<typeof createOutputStore>[0] = {}): Promise<Fixture> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-ui-output-'));
  // Commands run as the user's own uid: the scripts must be reachable by others.
  await chmod(dir, 0o755);
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const scripts: Record<string, string> = {};
  for (const [name, body] of Object.entries(SCRIPTS)) {
    const file = join(dir, name);
    await writeFile(file, `#!/bin/sh\n${body}`);
    await chmod(file, 0o755);
    scripts[name] = file;
  }
  const ts = await startTestServer({ users: [ALICE], options: { exec: { allow: Object.values(scripts) } } as Partial<ServerOptions> });
  t.teardown(() => ts.close());
  (ts.server.users as SqliteUserStore).setExec(ALICE.name, true);
  const session = await Session.connect({ url: ts.url, user: ALICE.name, password: ALICE.password, reconnect: false });
  t.teardown(() => session.close());
  const store = createOutputStore(storeOptions);
  t.teardown(() => store.close());
  // The flag files the scripts wait for live in the home: an argument outside it is refused.
  const home = join(ts.root, 'homes', ALICE.name);
  await mkdir(home, { recursive: true });
  return { session, scripts, dir, home, store };
}

const text = (run: OutputRun | undefined, stream?: 'stdout' | 'stderr') =>
  (run?.chunks ?? [])
    .filter((chunk) => stream === undefined || chunk.stream === stream)
    .map((chunk) => chunk.text)
    .join('');

// ---- splitting the command line ----

test('splitArgv: blanks separate words; quotes and backslashes group them; shell syntax stays literal', (t) => {
  t.deepEqual(splitArgv(''), []);
  t.deepEqual(splitArgv('   '), []);
  t.deepEqual(splitArgv('uname -a'), ['uname', '-a']);
  t.deepEqual(splitArgv('  ls   -l\t/tmp  '), ['ls', '-l', '/tmp']);
  t.deepEqual(splitArgv(`grep 'a b' "c d" e\\ f`), ['grep', 'a b', 'c d', 'e f']);
  t.deepEqual(splitArgv(`echo '' ""`), ['echo', '', '']);
  t.deepEqual(splitArgv(`echo 'it'\\''s' "say \\"hi\\" \\\\ \\n"`), ['echo', "it's", 'say "hi" \\ \\n']);
  t.deepEqual(splitArgv(`echo a'b'"c"d`), ['echo', 'abcd']);
  t.deepEqual(splitArgv('echo $HOME *.txt ; rm -rf / | cat > x && `id`'), ['echo', '$HOME', '*.txt', ';', 'rm', '-rf', '/', '|', 'cat', '>', 'x', '&&', '`id`']);
  t.deepEqual(splitArgv('echo 日本 😀'), ['echo', '日本', '😀']);
  for (const [line, message] of [
    [`echo 'open`, /unterminated single quote/],
    [`echo "open`, /unterminated double quote/],
    ['echo trailing\\', /ends with a backslash/],
  ] as const) {
    const error = t.throws(() => splitArgv(line)) as FerryError;
    t.is(error.code, 'EINVAL');
    t.regex(error.message, message);
  }
});

test('joinArgv writes argv back so splitArgv reads the same argv', (t) => {
  const samples = [['uname', '-a'], ['grep', 'a b', "it's", '', '$HOME', 'x;y', 'tab\there', 'a"b', 'back\\slash', 'ünï']];
  for (const argv of samples) t.deepEqual(splitArgv(joinArgv(argv)), argv);
  t.is(joinArgv(['ls', '-l', '/tmp/x.txt']), 'ls -l /tmp/x.txt');
});

// ---- laying out rows ----

function fakeRun(partial: Partial<OutputRun>): OutputRun {
  return { id: 1, argv: ['prog'], cwd: '/', chunks: [], storedBytes: 0, droppedBytes: 0, state: { kind: 'running' }, ...partial };
}

test('layoutRows: a header per run with its status; lines split across chunks join; stderr segments stay apart; long lines wrap', (t) => {
  const run = fakeRun({
    argv: ['prog', 'a b'],
    chunks: [
      { stream: 'stdout', text: 'hel' },
      { stream: 'stdout', text: 'lo\nwor' },
      { stream: 'stderr', text: 'ERR\n' },
      { stream: 'stdout', text: 'abcdefghij\n' },
    ],
    state: { kind: 'exited', code: 2, signal: null },
  });
  const rows = layoutRows([run], 4);
  t.deepEqual(rows[0], { kind: 'header', runId: 1, command: "prog 'a b'", status: 'exit 2', tone: 'error' });
  t.deepEqual(
    rows.slice(1).map((row) => (row.kind === 'text' ? row.segments : row)),
    [
      [{ stream: 'stdout', text: 'hell' }],
      [{ stream: 'stdout', text: 'o' }],
      [{ stream: 'stdout', text: 'wor' }, { stream: 'stderr', text: 'E' }],
      [{ stream: 'stderr', text: 'RR' }],
      [{ stream: 'stdout', text: 'abcd' }],
      [{ stream: 'stdout', text: 'efgh' }],
      [{ stream: 'stdout', text: 'ij' }],
    ],
  );
  const status = (state: OutputRun['state']) => (layoutRows([fakeRun({ state })], 80)[0] as { status: string }).status;
  t.is(status({ kind: 'exited', code: 0, signal: null }), 'exit 0');
  t.is(status({ kind: 'exited', code: null, signal: 'SIGTERM' }), 'killed by SIGTERM');
  t.is(status({ kind: 'exited', code: null, signal: 'SIGKILL', reason: 'timeout' }), 'killed by SIGKILL: ran longer than the server allows');
  t.is(status({ kind: 'exited', code: null, signal: 'SIGKILL', reason: 'output-limit' }), 'killed by SIGKILL: printed more than the server allows');
  t.is(status({ kind: 'exited', code: null, signal: 'SIGKILL', reason: 'canceled' }), 'killed by SIGKILL: canceled');
  t.is(status({ kind: 'failed', error: 'not allowed (EACCES)' }), 'not allowed (EACCES)');
  const dropped = layoutRows([fakeRun({ droppedBytes: 1234 })], 80);
  t.deepEqual(dropped[1], { kind: 'note', runId: 1, text: '… 1234 bytes of older output not kept' });
});

test('cleanOutput removes terminal escape sequences and control characters but keeps newlines and tabs', (t) => {
  t.is(cleanOutput('\u001B[31mred\u001B[0m \u001B]0;title\u0007ok\r\n\ttab\u0007\u001B(B\u0008x'), 'red ok\n\ttabx');
  const rows = layoutRows([fakeRun({ chunks: [{ stream: 'stdout', text: 'a\tb\n' }] })], 40);
  t.deepEqual(rows[1], { kind: 'text', runId: 1, segments: [{ stream: 'stdout', text: 'a       b' }] });
});

test('scroll: follows the end until moved; moving back to the bottom follows again', (t) => {
  t.is(scrollTop({ top: null }, 100, 10), 90);
  t.is(scrollTop({ top: null }, 5, 10), 0);
  let scroll = moveScroll({ top: null }, 'up', 100, 10);
  t.deepEqual(scroll, { top: 89 });
  scroll = moveScroll(scroll, 'page-up', 100, 10);
  t.deepEqual(scroll, { top: 80 });
  t.deepEqual(moveScroll(scroll, 'home', 100, 10), { top: 0 });
  t.deepEqual(moveScroll({ top: 0 }, 'up', 100, 10), { top: 0 });
  t.deepEqual(moveScroll(scroll, 'page-down', 100, 10), { top: 89 });
  t.deepEqual(moveScroll({ top: 89 }, 'page-down', 100, 10), { top: null });
  t.deepEqual(moveScroll({ top: 3 }, 'end', 100, 10), { top: null });
});

// ---- the store against a real server ----

test('store: output arrives while the program runs, in order, and the exit code is recorded', async (t) => {
  const { session, scripts, home, store } = await setup(t);
  const flag = join(home, 'go');
  const done = store.run(session, [scripts['print-wait-print']!, 'go'], '/');
  // The first lines are in the store (and sampled) while the program still waits for the flag.
  await until(() => text(store.getSnapshot().runs[0]).includes('first') && text(store.getSnapshot().runs[0]).includes('oops'), 'the first lines', 10_000);
  t.is(store.getSnapshot().runs[0]!.state.kind, 'running');
  t.true(store.busy());
  await writeFile(flag, '');
  const run = await done;
  t.is(text(run, 'stdout'), 'first\nsecond\n');
  t.is(text(run, 'stderr'), 'oops\n');
  t.deepEqual(run.state, { kind: 'exited', code: 3, signal: null });
  t.false(store.busy());
  await until(() => store.getSnapshot().runs[0]?.state.kind === 'exited', 'the exit in the snapshot');
  t.deepEqual(store.getSnapshot().runs[0]!.argv, [scripts['print-wait-print']!, 'go']);
});

test('store: arguments reach the program exactly as split, shell characters included', async (t) => {
  const { session, scripts, store } = await setup(t);
  const run = await store.run(session, splitArgv(`${scripts.args} 'a b' "$HOME" '*' ';' "it's"`), '/');
  t.is(text(run), '[a b]\n[$HOME]\n[*]\n[;]\n[it\'s]\n');
  t.deepEqual(run.state, { kind: 'exited', code: 0, signal: null });
});

test('store: cancel kills the running command on the server and says canceled', async (t) => {
  const { session, scripts, store } = await setup(t);
  const done = store.run(session, [scripts.sleeper!], '/');
  await until(() => text(store.getSnapshot().runs[0]).includes('started'), 'the program to start', 10_000);
  store.cancel();
  const run = await done;
  t.is(run.state.kind, 'exited');
  t.is((run.state as { reason?: string }).reason, 'canceled');
});

test('store: a refused program is a failed run with a readable line, not an exception', async (t) => {
  const { session, store } = await setup(t);
  const run = await store.run(session, ['/bin/sh', '-c', 'id'], '/');
  t.is(run.state.kind, 'failed');
  t.regex((run.state as { error: string }).error, /\(EACCES\)$/);
  t.notRegex((run.state as { error: string }).error, /at .*\.ts:\d+/);
});

test('store: keeps the newest output within the per-run cap and counts what it dropped; keeps the last runs', async (t) => {
  const { session, scripts, store } = await setup(t, { maxBytesPerRun: 100, maxRuns: 2 });
  const run = await store.run(session, [scripts.lines!, '100'], '/');
  t.is(run.storedBytes, 100);
  t.is(run.droppedBytes + run.storedBytes, [...Array(100).keys()].map((i) => `line ${i + 1}\n`).join('').length);
  t.true(text(run).endsWith('line 99\nline 100\n'));
  await store.run(session, [scripts.args!, 'two'], '/');
  await store.run(session, [scripts.args!, 'three'], '/');
  await until(() => store.getSnapshot().runs.length === 2 && store.getSnapshot().runs[1]!.state.kind === 'exited', 'the last runs');
  t.deepEqual(store.getSnapshot().runs.map((r) => r.argv[1]), ['two', 'three']);
});

// ---- the panel and the command line, rendered ----

function Harness({ store, height = 8, onCancel, onToggle }: { store: OutputStore; height?: number; onCancel: () => void; onToggle?: () => void }) {
  const snapshot = useOutputRuns(store);
  return <OutputPanel snapshot={snapshot} width={60} height={height} isActive onCancel={onCancel} onClose={() => {}} onToggleFullScreen={onToggle ?? (() => {})} />;
}

test.serial('panel: live output appears in order while the program runs, stderr included, then the exit code in the header', async (t) => {
  const { session, scripts, home, store } = await setup(t);
  const app = render(<Harness store={store} onCancel={() => store.cancel()} />);
  t.teardown(() => app.unmount());
  await mounted();
  t.regex(app.lastFrame() ?? '', /no commands run yet/);
  const flag = join(home, 'go');
  const done = store.run(session, [scripts['print-wait-print']!, 'go'], '/');
  await until(() => /first\s*\n\s*oops/.test(app.lastFrame() ?? ''), 'the first lines on screen', 10_000);
  t.regex(app.lastFrame() ?? '', /\[running…\]/);
  t.notRegex(app.lastFrame() ?? '', /second/);
  await writeFile(flag, '');
  await done;
  await until(() => /\[exit 3\]/.test(app.lastFrame() ?? ''), 'the exit code', 10_000);
  const lines = (app.lastFrame() ?? '').split('\n').map((line) => line.trim());
  const at = (s: string) => lines.findIndex((line) => line === s);
  t.true(at('first') < at('oops') && at('oops') < at('second'), lines.join('\n'));
});

test.serial('panel: Ctrl-C cancels the running command; Ctrl-O asks for full screen', async (t) => {
  const { session, scripts, store } = await setup(t);
  let toggled = 0;
  const app = render(<Harness store={store} onCancel={() => store.cancel()} onToggle={() => toggled++} />);
  t.teardown(() => app.unmount());
  await mounted();
  const done = store.run(session, [scripts.sleeper!], '/');
  await until(() => (app.lastFrame() ?? '').includes('started'), 'the program to start', 10_000);
  t.regex(app.lastFrame() ?? '', /Ctrl-C cancel/);
  app.stdin.write(CTRL_C);
  const run = await done;
  t.is((run.state as { reason?: string }).reason, 'canceled');
  await until(() => /: canceled\]/.test(app.lastFrame() ?? ''), 'the canceled header', 10_000);
  app.stdin.write(CTRL_O);
  await until(() => toggled === 1, 'the full-screen toggle');
  t.pass();
});

test.serial('panel: follows the newest output, scrolls back with the keys, shows only the rows that fit', async (t) => {
  const { session, scripts, store } = await setup(t);
  const app = render(<Harness store={store} height={6} onCancel={() => {}} />);
  t.teardown(() => app.unmount());
  await mounted();
  await store.run(session, [scripts.lines!, '30'], '/');
  await until(() => (app.lastFrame() ?? '').includes('line 30'), 'the end of the output', 10_000);
  const frame = () => app.lastFrame() ?? '';
  // Title + 5 rows: the last five lines.
  t.is(frame().split('\n').length, 6);
  t.regex(frame(), /line 26[\s\S]*line 30/);
  t.regex(frame(), /27–31\/31/);
  app.stdin.write(KEYS.up);
  await until(() => frame().includes('line 25') && !frame().includes('line 30'), 'one line up');
  app.stdin.write('\u001B[H');
  await until(() => /\$ .*lines 30/.test(frame()), 'the header at the top');
  t.regex(frame(), /\[exit 0\]/);
  app.stdin.write('\u001B[F');
  await until(() => frame().includes('line 30'), 'back at the end');
  t.pass();
});

function LineHarness({ onRun }: { onRun: (argv: string[], line: string) => void }) {
  const [history, setHistory] = useState<string[]>(['uname -a']);
  return (
    <CommandLine
      isActive
      width={70}
      where="/photos"
      history={history}
      onRun={(argv, line) => {
        setHistory((h) => [...h, line]);
        onRun(argv, line);
      }}
      onClose={() => onRun([], '<closed>')}
    />
  );
}

test.serial('command line: quoting becomes argv; an open quote is refused with the reason; Up/Down walk the history', async (t) => {
  const runs: { argv: string[]; line: string }[] = [];
  const app = render(<LineHarness onRun={(argv, line) => runs.push({ argv, line })} />);
  t.teardown(() => app.unmount());
  await mounted();
  const frame = () => app.lastFrame() ?? '';
  t.regex(frame(), /\/photos\$ /);
  t.regex(frame(), /no shell: quotes and \\ group words; \$ \* \| ; stay literal/);
  app.stdin.write(`grep -r 'two words' "a \\"q\\"" x\\ y $HOME`);
  await until(() => frame().includes('$HOME'), 'the typed line');
  app.stdin.write(KEYS.enter);
  await until(() => runs.length === 1, 'the run');
  t.deepEqual(runs[0]!.argv, ['grep', '-r', 'two words', 'a "q"', 'x y', '$HOME']);
  app.stdin.write(`echo 'open`);
  await until(() => frame().includes("echo 'open"), 'the typed line');
  app.stdin.write(KEYS.enter);
  await until(() => frame().includes('unterminated single quote'), 'the refusal');
  t.is(runs.length, 1);
  // Up: the newest entry (the grep), again: the older one; Down twice: back to what was typed.
  app.stdin.write(KEYS.up);
  await until(() => frame().includes("grep -r 'two words'"), 'the newest history entry');
  app.stdin.write(KEYS.up);
  await until(() => frame().includes('uname -a'), 'the older history entry');
  app.stdin.write(KEYS.enter);
  await until(() => runs.length === 2, 'the history entry run');
  t.deepEqual(runs[1]!.argv, ['uname', '-a']);
  app.stdin.write('draft');
  await until(() => frame().includes('draft'), 'a draft');
  app.stdin.write(KEYS.up);
  await until(() => !frame().includes('draft'), 'history over the draft');
  app.stdin.write(KEYS.down);
  await until(() => frame().includes('draft'), 'the draft back');
  app.stdin.write(KEYS.escape);
  await until(() => runs.length === 3, 'Esc');
  t.is(runs[2]!.line, '<closed>');
});

test('the store refuses nonsense limits', (t) => {
  for (const options of [{ maxRuns: 0 }, { maxBytesPerRun: -1 }, { hz: Number.NaN }]) {
    t.is((t.throws(() => createOutputStore(options)) as FerryError).code, 'EINVAL');
  }
});

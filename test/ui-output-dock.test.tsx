import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { render } from 'ink-testing-library';
import { Session } from '../src/client/session.js';
import { LocalFileSystem } from '../src/fs/local-file-system.js';
import { RemoteFileSystem } from '../src/fs/remote-file-system.js';
import type { ServerOptions } from '../server/options.js';
import type { SqliteUserStore } from '../server/users/sqlite-user-store.js';
import type { CommandContext } from '../ui/commands/context.js';
import { createTuiContext } from '../ui/commands/create-context.js';
import { OutputDock, outputDockRows } from '../ui/output/output-dock.js';
import { handleOutputPaneKey, INITIAL_OUTPUT_UI, reduceOutputUi, remoteTarget, createOutputFeature, type OutputFeature, type OutputUiState } from '../ui/output/output-ui.js';
import { useKeypress } from '../ui/use-keypress.js';
import { useStore } from '../ui/use-store.js';
import { KEYS, mounted, until } from './helpers/ink-wait.js';
import { startTestServer } from './helpers/server.js';

/*
 * The command line and the output panel together, as the App docks them: ':' opens the line,
 * Enter runs the command in the remote pane's directory on a real server, the panel shows it.
 */

const ALICE = { name: 'alice', password: 'alice-secret-1' };

test('reduceOutputUi: the command line opens and closes back to where it came from; a run shows the panel; history without repeats', (t) => {
  let state: OutputUiState = INITIAL_OUTPUT_UI;
  state = reduceOutputUi(state, { type: 'open-command' });
  t.is(state.focus, 'command');
  t.is(reduceOutputUi(state, { type: 'close-command' }).focus, 'none');
  state = reduceOutputUi(state, { type: 'ran', line: 'uname -a' });
  t.deepEqual([state.panel, state.focus, state.history], [true, 'output', ['uname -a']]);
  state = reduceOutputUi(reduceOutputUi(state, { type: 'open-command' }), { type: 'ran', line: 'uname -a' });
  t.deepEqual(state.history, ['uname -a']);
  state = reduceOutputUi(state, { type: 'open-command' });
  t.is(reduceOutputUi(state, { type: 'close-command' }).focus, 'output');
  state = reduceOutputUi(reduceOutputUi(state, { type: 'close-command' }), { type: 'toggle-full-screen' });
  t.true(state.fullScreen);
  t.is(outputDockRows(state, 40), 40);
  state = reduceOutputUi(state, { type: 'hide' });
  t.deepEqual([state.panel, state.fullScreen, state.focus], [false, false, 'none']);
  t.is(outputDockRows(state, 40), 0);
  t.is(outputDockRows(reduceOutputUi(state, { type: 'show' }), 40), 13);
  let many = INITIAL_OUTPUT_UI;
  for (let i = 0; i < 150; i++) many = reduceOutputUi(many, { type: 'ran', line: `c${i}` });
  t.is(many.history.length, 100);
  t.is(many.history[0], 'c50');
});

interface Fixture {
  ctx: CommandContext;
  feature: OutputFeature;
  scripts: Record<string, string>;
}

async function setup(t: ExecutionContext, remote = true): Promise<Fixture> {
  const dir = await mkdtemp(join(tmpdir(), 'ferry-ui-dock-'));
  // Commands run as the user's own uid: the scripts must be reachable by others.
  await chmod(dir, 0o755);
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const scripts: Record<string, string> = { where: join(dir, 'where'), args: join(dir, 'args') };
  await writeFile(scripts.where!, '#!/bin/sh\npwd\necho "to stderr" >&2\nexit 4\n');
  await writeFile(scripts.args!, '#!/bin/sh\nfor a in "$@"; do printf "[%s]\\n" "$a"; done\n');
  for (const file of Object.values(scripts)) await chmod(file, 0o755);
  const ts = await startTestServer({ users: [ALICE], options: { exec: { allow: Object.values(scripts) } } as Partial<ServerOptions> });
  t.teardown(() => ts.close());
  (ts.server.users as SqliteUserStore).setExec(ALICE.name, true);
  await mkdir(join(ts.root, 'homes', ALICE.name, 'sub dir'), { recursive: true });
  const session = await Session.connect({ url: ts.url, user: ALICE.name, password: ALICE.password, reconnect: false });
  t.teardown(() => session.close());
  const local = new LocalFileSystem({ home: dir });
  const right = remote ? new RemoteFileSystem(session) : new LocalFileSystem({ home: dir });
  const tui = await createTuiContext({ left: local, right, rightPath: remote ? '/sub dir' : dir, journalDir: null, exit: () => {} });
  t.teardown(() => tui.close());
  const feature = createOutputFeature();
  t.teardown(() => feature.close());
  return { ctx: tui.ctx, feature, scripts };
}

/** What the App does: the dock under nothing else, and the pane keys ':' / Ctrl-P while the panes have the input. */
function Host({ ctx, feature }: { ctx: CommandContext; feature: OutputFeature }) {
  const ui = useStore(feature.ui);
  useKeypress((key) => void handleOutputPaneKey(ctx, feature, key), { isActive: ui.focus === 'none' });
  return <OutputDock ctx={ctx} feature={feature} width={100} height={outputDockRows(ui, 24)} blocked={false} />;
}

test.serial('":" opens the command line; Enter runs the command in the remote pane\'s directory; the panel shows the output and the exit code', async (t) => {
  const { ctx, feature, scripts } = await setup(t);
  t.is(remoteTarget(ctx.store.getState())?.cwd, '/sub dir');
  const app = render(<Host ctx={ctx} feature={feature} />);
  t.teardown(() => app.unmount());
  await mounted();
  const frame = () => app.lastFrame() ?? '';
  app.stdin.write(':');
  await until(() => /alice@127\.0\.0\.1:\d+:\/sub dir\$ /.test(frame()), 'the command line');
  app.stdin.write(scripts.where!);
  await until(() => frame().includes(scripts.where!), 'the typed command');
  app.stdin.write(KEYS.enter);
  await until(() => /\[exit 4\]/.test(frame()), 'the exit code', 10_000);
  t.regex(frame(), /\/sub dir\s*\n\s*to stderr/);
  t.is(feature.ui.getState().focus, 'output');
  // ':' from the panel opens the line again; Up brings back the last command; quoting reaches the program.
  app.stdin.write(':');
  await until(() => feature.ui.getState().focus === 'command', 'the command line again');
  app.stdin.write(KEYS.up);
  await until(() => frame().split('\n').at(-1)!.includes(scripts.where!), 'the history');
  app.stdin.write('\u0015');
  app.stdin.write(`${scripts.args} 'x y' "$HOME" \\;`);
  await until(() => frame().includes('\\;'), 'the second command');
  app.stdin.write(KEYS.enter);
  await until(() => /\[x y\]\s*\n\s*\[\$HOME\]\s*\n\s*\[;\]/.test(frame()), 'the literal arguments', 10_000);
  // Esc hides the panel and gives the input back; Ctrl-P shows it again with both runs kept.
  await until(() => /\[exit 0\]/.test(frame()), 'the second exit', 10_000);
  app.stdin.write(KEYS.escape);
  await until(() => feature.ui.getState().focus === 'none' && !frame().includes('[exit'), 'the panel hidden');
  app.stdin.write('\u0010');
  await until(() => frame().includes('[exit 4]') && frame().includes('[exit 0]'), 'the panel back');
  t.is(feature.ui.getState().focus, 'output');
  // Ctrl-O from the panes (as in mc): the output full screen at once; Ctrl-O again: the panes back.
  app.stdin.write(KEYS.escape);
  await until(() => feature.ui.getState().focus === 'none', 'the panel hidden again');
  app.stdin.write('\u000F');
  await until(() => feature.ui.getState().fullScreen, 'full screen');
  t.like(feature.ui.getState(), { panel: true, fullScreen: true, focus: 'output' });
  app.stdin.write('\u000F');
  await until(() => !feature.ui.getState().fullScreen, 'the panes back');
});

test.serial('without a remote pane the command line says to connect first', async (t) => {
  const { ctx, feature } = await setup(t, false);
  const app = render(<Host ctx={ctx} feature={feature} />);
  t.teardown(() => app.unmount());
  await mounted();
  app.stdin.write(':');
  await until(() => (app.lastFrame() ?? '').includes('(not connected)$'), 'the command line');
  app.stdin.write('uname');
  await until(() => (app.lastFrame() ?? '').includes('uname'), 'the typed command');
  app.stdin.write(KEYS.enter);
  await until(() => ctx.store.getState().message !== null, 'the message');
  t.regex(ctx.store.getState().message!.text, /remote commands run on a server: connect first \(Ctrl-N\)/);
  t.is(feature.ui.getState().focus, 'none');
  t.deepEqual(feature.runs.getSnapshot().runs, []);
});

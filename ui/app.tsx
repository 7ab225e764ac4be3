import { Box, useStdin } from 'ink';
import { useEffect, useLayoutEffect } from 'react';
import type { FileSystem } from '../src/fs/file-system.js';
import { RemoteFileSystem } from '../src/fs/remote-file-system.js';
import type { CommandContext } from './commands/context.js';
import type { LoginService } from './commands/login.js';
import { loadDir, refreshQuota } from './commands/navigate.js';
import { handlePaneKey, runCommand, runSafely } from './commands/run-command.js';
import { KeyBar } from './components/key-bar.js';
import { MessageLine } from './components/message-line.js';
import { OverlayLayer } from './components/overlay-layer.js';
import { PANE_CHROME_ROWS, Pane } from './components/pane.js';
import { HelpScreen } from './dialogs/help-screen.js';
import { matchKey } from './keymap.js';
import type { AppState, Side } from './model/app-state.js';
import { screenLayout } from './model/screen-layout.js';
import { createStore } from './model/store.js';
import { OutputDock, outputDockRows } from './output/output-dock.js';
import { handleOutputPaneKey, INITIAL_OUTPUT_UI, type OutputFeature } from './output/output-ui.js';
import { useConflictQuestion } from './queue/conflict-bridge.js';
import { QueuePanel } from './queue/queue-panel.js';
import { useQueueState, type QueueStore } from './queue/queue-store.js';
import { useKeypress } from './use-keypress.js';
import { useQueueRefresh } from './use-queue-refresh.js';
import { useStore } from './use-store.js';
import { useTerminalSize, type TerminalSize } from './use-terminal-size.js';
import { Viewer } from './viewer/viewer.js';

export interface AppProps {
  ctx: CommandContext;
  queueStore: QueueStore;
  /** Remote commands (':' and Ctrl-P); without it the output dock is left out. */
  output?: OutputFeature;
  /** How the login dialog logs in; without it there is no login (Ctrl-O does nothing). */
  login?: LoginService;
  /** Where unfinished copies are looked for after a login. Default journalDir(). */
  journalDir?: string;
  /** A fixed size instead of the terminal's (tests). */
  size?: TerminalSize;
}

/** Stands in for the output feature's state when there is none: nothing shown, no input. */
const NO_OUTPUT_UI = createStore((state: typeof INITIAL_OUTPUT_UI) => state, INITIAL_OUTPUT_UI);

/** "reconnecting…" on the remote side while its link is down. */
function remoteNotice(state: AppState, side: Side): string | null {
  if (state.sides[side].fs.kind !== 'remote') return null;
  if (state.link === 'reconnecting' || state.link === 'connecting') return 'reconnecting…';
  if (state.link === 'closed') return 'disconnected';
  return null;
}

/** "TLS" or "plain" for a remote side (its session dials wss:// or ws://), nothing for the local disk. */
function securityOf(fs: FileSystem): 'TLS' | 'plain' | undefined {
  if (!(fs instanceof RemoteFileSystem)) return undefined;
  return fs.session.url.startsWith('wss:') ? 'TLS' : 'plain';
}

/**
 * The screen: two panes side by side, the queue panel and the remote commands' output dock below
 * them when shown, the message line and mc's key bar; the viewer and help take the whole screen;
 * dialogs sit on top. Exactly one part takes the keys: a dialog, else the viewer, else the output
 * dock (command line or output panel), else the queue panel, else the panes.
 */
/**
 * Keeps the terminal in raw mode for as long as the app is up. ink counts raw-mode users and
 * leaves raw mode when the count reaches 0; when one layer's key handler hands over to another
 * (a dialog opening or closing, a panel taking the keys), the count can touch 0 for a moment, and
 * a key typed in that moment meets a terminal in cooked mode and can be lost (an Enter in the
 * mkdir dialog, now and then, in the tmux tests). Holding one count for the app's lifetime means
 * it never reaches 0 while it runs.
 */
function useRawModeWhileMounted(): void {
  const { setRawMode, isRawModeSupported } = useStdin();
  useLayoutEffect(() => {
    if (!isRawModeSupported) return;
    setRawMode(true);
    return () => setRawMode(false);
  }, [setRawMode, isRawModeSupported]);
}

export function App({ ctx, queueStore, output, login, journalDir, size: fixedSize }: AppProps) {
  const terminal = useTerminalSize();
  const { columns: width, rows: height } = fixedSize ?? terminal;
  const state = useStore(ctx.store);
  const queue = useQueueState(queueStore);
  const question = useConflictQuestion(ctx.conflicts);
  const outputUi = useStore(output?.ui ?? NO_OUTPUT_UI);
  useQueueRefresh(ctx);
  useRawModeWhileMounted();

  const layout = screenLayout(height, { queue: state.queue.visible, dock: outputDockRows(outputUi, height), dockFullScreen: outputUi.fullScreen });
  const panesHeight = layout.panes;
  const listHeight = panesHeight - PANE_CHROME_ROWS;
  const leftWidth = Math.floor(width / 2);

  // Before the frame is written, so no frame shows a list laid out for the old size.
  useLayoutEffect(() => {
    // While the output is full screen the panes are hidden and keep the size they had.
    if (listHeight < 1) return;
    for (const side of ['left', 'right'] as const) ctx.store.dispatch({ type: 'pane', side, action: { type: 'resize', height: listHeight } });
  }, [ctx, listHeight]);

  useEffect(() => {
    // The first listing of each side (a side that got a new file system lists itself there).
    const { sides } = ctx.store.getState();
    for (const side of ['left', 'right'] as const) {
      if (sides[side].pane.ticket !== 0) continue;
      void loadDir(ctx, side, sides[side].pane.path);
      void refreshQuota(ctx, side);
    }
  }, [ctx]);

  const overlay = state.overlay;
  const fullScreen = question === null && (overlay?.kind === 'viewer' || overlay?.kind === 'help');
  const input = question !== null || overlay !== null ? 'overlay' : outputUi.focus !== 'none' ? 'output' : state.queue.focused ? 'queue' : 'panes';

  useKeypress(
    (key) =>
      runSafely(ctx, async () => {
        if (output && handleOutputPaneKey(ctx, output, key)) return;
        await handlePaneKey(ctx, key);
      }),
    { isActive: input === 'panes' },
  );
  useKeypress(
    (key) => {
      const command = matchKey('global', key);
      if (command !== undefined) runSafely(ctx, () => runCommand(ctx, command));
    },
    { isActive: input === 'queue' },
  );

  if (fullScreen) {
    const close = () => ctx.store.dispatch({ type: 'overlay', overlay: null });
    return overlay.kind === 'viewer' ? (
      <Viewer title={overlay.title} content={overlay.content} width={width} height={height} isActive onClose={close} />
    ) : (
      <HelpScreen width={width} height={height} isActive onClose={close} />
    );
  }

  const connected = state.sides.left.fs.kind !== 'local' || state.sides.right.fs.kind !== 'local';
  const pane = (side: Side, paneWidth: number) => {
    const { fs, pane: model, quota } = state.sides[side];
    const security = securityOf(fs);
    return <Pane pane={model} label={fs.label} kind={fs.kind} {...(security ? { security } : {})} width={paneWidth} height={panesHeight} active={state.active === side && (input === 'panes' || input === 'overlay')} quota={quota} notice={remoteNotice(state, side)} />;
  };
  return (
    <Box flexDirection="column" width={width} height={height}>
      {panesHeight > 0 ? (
        <Box height={panesHeight}>
          {pane('left', leftWidth)}
          {pane('right', width - leftWidth)}
        </Box>
      ) : null}
      {layout.queue > 0 ? (
        <QueuePanel
          state={queue}
          width={width}
          height={layout.queue}
          isActive={input === 'queue'}
          onRetry={(id) => ctx.queue.retry(id)}
          onCancel={(id) => ctx.queue.cancel(id)}
          onClose={() => ctx.store.dispatch({ type: 'queue', focused: false })}
        />
      ) : null}
      {output && layout.dock > 0 ? <OutputDock ctx={ctx} feature={output} width={width} height={layout.dock} blocked={input === 'overlay'} /> : null}
      <MessageLine message={state.message} totals={queue.totals} queueVisible={state.queue.visible} connected={connected} width={width} />
      <KeyBar width={width} />
      <OverlayLayer ctx={ctx} overlay={overlay} question={question} login={login} journalDir={journalDir} width={width} height={height} />
    </Box>
  );
}

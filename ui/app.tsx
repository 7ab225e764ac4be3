import { Box } from 'ink';
import { useEffect, useLayoutEffect } from 'react';
import type { CommandContext } from './commands/context.js';
import type { LoginService } from './commands/login.js';
import { loadDir, refreshQuota } from './commands/navigate.js';
import { handlePaneKey, runCommand } from './commands/run-command.js';
import { KeyBar } from './components/key-bar.js';
import { MessageLine } from './components/message-line.js';
import { OverlayLayer } from './components/overlay-layer.js';
import { PANE_CHROME_ROWS, Pane } from './components/pane.js';
import { HelpScreen } from './dialogs/help-screen.js';
import { matchKey } from './keymap.js';
import type { AppState, Side } from './model/app-state.js';
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
  /** How the login dialog logs in; without it there is no login (Ctrl-O does nothing). */
  login?: LoginService;
  /** Where unfinished copies are looked for after a login. Default journalDir(). */
  journalDir?: string;
  /** A fixed size instead of the terminal's (tests). */
  size?: TerminalSize;
}

/** Rows of the queue panel when it is shown: a third of the screen, 6 to 14. */
function queueRows(rows: number): number {
  return Math.max(6, Math.min(14, Math.floor(rows / 3)));
}

/** "reconnecting…" on the remote side while its link is down. */
function remoteNotice(state: AppState, side: Side): string | null {
  if (state.sides[side].fs.kind !== 'remote') return null;
  if (state.link === 'reconnecting' || state.link === 'connecting') return 'reconnecting…';
  if (state.link === 'closed') return 'disconnected';
  return null;
}

/**
 * The screen: two panes side by side, the queue panel below them when shown, the message line
 * and mc's key bar; the viewer and help take the whole screen; dialogs sit on top. Exactly one
 * part takes the keys: a dialog, else the viewer, else the queue panel, else the panes.
 */
export function App({ ctx, queueStore, login, journalDir, size: fixedSize }: AppProps) {
  const terminal = useTerminalSize();
  const { columns: width, rows: height } = fixedSize ?? terminal;
  const state = useStore(ctx.store);
  const queue = useQueueState(queueStore);
  const question = useConflictQuestion(ctx.conflicts);
  useQueueRefresh(ctx);

  const queueHeight = state.queue.visible ? queueRows(height) : 0;
  const panesHeight = Math.max(PANE_CHROME_ROWS + 1, height - 2 - queueHeight);
  const listHeight = panesHeight - PANE_CHROME_ROWS;
  const leftWidth = Math.floor(width / 2);

  // Before the frame is written, so no frame shows a list laid out for the old size.
  useLayoutEffect(() => {
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
  const input = question !== null || overlay !== null ? 'overlay' : state.queue.focused ? 'queue' : 'panes';

  useKeypress((key) => void handlePaneKey(ctx, key), { isActive: input === 'panes' });
  useKeypress(
    (key) => {
      const command = matchKey('global', key);
      if (command !== undefined) void runCommand(ctx, command);
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

  const connected = state.sides.left.fs.kind === 'remote' || state.sides.right.fs.kind === 'remote';
  const pane = (side: Side, paneWidth: number) => {
    const { fs, pane: model, quota } = state.sides[side];
    return <Pane pane={model} label={fs.label} kind={fs.kind} width={paneWidth} height={panesHeight} active={state.active === side && input !== 'queue'} quota={quota} notice={remoteNotice(state, side)} />;
  };
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Box height={panesHeight}>
        {pane('left', leftWidth)}
        {pane('right', width - leftWidth)}
      </Box>
      {state.queue.visible ? (
        <QueuePanel
          state={queue}
          width={width}
          height={queueHeight}
          isActive={input === 'queue'}
          onRetry={(id) => ctx.queue.retry(id)}
          onCancel={(id) => ctx.queue.cancel(id)}
          onClose={() => ctx.store.dispatch({ type: 'queue', focused: false })}
        />
      ) : null}
      <MessageLine message={state.message} totals={queue.totals} queueVisible={state.queue.visible} connected={connected} width={width} />
      <KeyBar width={width} />
      <OverlayLayer ctx={ctx} overlay={overlay} question={question} login={login} journalDir={journalDir} width={width} height={height} />
    </Box>
  );
}

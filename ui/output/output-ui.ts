import { RemoteFileSystem } from '../../src/fs/remote-file-system.js';
import { SftpFileSystem } from '../../src/fs/sftp/sftp-file-system.js';
import type { CommandContext } from '../commands/context.js';
import { commandById, formatKey, matchKey, type KeyPress } from '../keymap.js';
import type { AppState, Side } from '../model/app-state.js';
import { createStore, type Store } from '../model/store.js';
import { createOutputStore, type CommandTarget, type OutputStore, type OutputStoreOptions } from './output-store.js';

/*
 * Where the remote-command parts stand on screen, apart from the App's own state so the App
 * only composes: is the output panel shown, full screen, and who has the input (the command
 * line, the panel, or neither: then the App's own layers decide). Also the command history.
 */

export type OutputFocus = 'none' | 'output' | 'command';

export interface OutputUiState {
  /** The output panel is on screen. */
  panel: boolean;
  /** The panes are hidden and the output takes the screen (Ctrl-O). */
  fullScreen: boolean;
  focus: OutputFocus;
  /** Where Esc on the command line goes back to. */
  commandFrom: 'none' | 'output';
  /** Command lines run, oldest first (at most HISTORY_LIMIT, no two equal in a row). */
  history: readonly string[];
}

export type OutputUiAction =
  | { type: 'open-command' }
  | { type: 'close-command' }
  /** A command line was run: into the history; the panel shows it and takes the input. */
  | { type: 'ran'; line: string }
  | { type: 'show' }
  | { type: 'hide' }
  | { type: 'toggle-full-screen' };

export const HISTORY_LIMIT = 100;

export const INITIAL_OUTPUT_UI: OutputUiState = { panel: false, fullScreen: false, focus: 'none', commandFrom: 'none', history: [] };

/** Applies one action; returns `state` itself when nothing changed. */
export function reduceOutputUi(state: OutputUiState, action: OutputUiAction): OutputUiState {
  switch (action.type) {
    case 'open-command':
      return state.focus === 'command' ? state : { ...state, focus: 'command', commandFrom: state.focus === 'output' ? 'output' : 'none' };
    case 'close-command':
      // Full screen the panes are hidden: the input can only go back to the output.
      return state.focus !== 'command' ? state : { ...state, focus: state.fullScreen || (state.commandFrom === 'output' && state.panel) ? 'output' : 'none' };
    case 'ran': {
      const history = state.history.at(-1) === action.line ? state.history : [...state.history, action.line].slice(-HISTORY_LIMIT);
      return { ...state, history, panel: true, focus: 'output' };
    }
    case 'show':
      return { ...state, panel: true, focus: 'output' };
    case 'hide':
      return { ...state, panel: false, fullScreen: false, focus: state.focus === 'command' ? 'command' : 'none', commandFrom: 'none' };
    case 'toggle-full-screen':
      return { ...state, fullScreen: !state.fullScreen, panel: true };
  }
}

export type OutputUiStore = Store<OutputUiState, OutputUiAction>;

/** The remote-command feature of one TUI run: the runs and where they are on screen. */
export interface OutputFeature {
  runs: OutputStore;
  ui: OutputUiStore;
  /** Cancels running commands and stops the store's notifications. */
  close(): void;
}

/** Creates the stores (options go to createOutputStore: 20 runs, 256 KiB each, 10 Hz by default). */
export function createOutputFeature(options: OutputStoreOptions = {}): OutputFeature {
  const runs = createOutputStore(options);
  return { runs, ui: createStore(reduceOutputUi, INITIAL_OUTPUT_UI), close: () => runs.close() };
}

/** Rows of the output panel below the panes: a third of the screen, 6 to 14. */
export function outputPanelRows(height: number): number {
  return Math.max(6, Math.min(14, Math.floor(height / 3)));
}

/** Where a command runs: the active pane if it is remote, else the other one; its directory. */
export function remoteTarget(state: AppState): { side: Side; session: CommandTarget; cwd: string; where: string } | undefined {
  const order: Side[] = state.active === 'left' ? ['left', 'right'] : ['right', 'left'];
  for (const side of order) {
    const { fs, pane } = state.sides[side];
    if (fs instanceof RemoteFileSystem) return { side, session: fs.session, cwd: pane.path, where: `${fs.session.user}@${fs.session.where}:${pane.path}` };
    // An SSH account runs anything its shell can, not a server's allowlist: the dock says so.
    if (fs instanceof SftpFileSystem) return { side, session: fs, cwd: pane.path, where: `${fs.label}:${pane.path} (your shell account)` };
  }
  return undefined;
}

/**
 * Runs a command line on the server in the remote pane's directory: into the history, the
 * panel shows it with the input. Without a remote pane the message line says how to connect.
 * Resolves when the command ended (its outcome is in the panel, never thrown).
 */
export async function runCommandLine(ctx: CommandContext, feature: OutputFeature, argv: string[], line: string): Promise<void> {
  const target = remoteTarget(ctx.store.getState());
  if (target === undefined) {
    feature.ui.dispatch({ type: 'close-command' });
    const connect = formatKey(commandById('app.connect').keys[0]!);
    ctx.store.dispatch({ type: 'message', text: `remote commands run on a server: connect first (${connect})`, tone: 'error' });
    return;
  }
  feature.ui.dispatch({ type: 'ran', line });
  await feature.runs.run(target.session, argv, target.cwd);
}

/**
 * The remote-command keys of the pane layer (':' opens the command line, Ctrl-P shows the
 * output, Ctrl-O shows it full screen), taken before the App's pane handler. Not while a quick filter is typed: there ':'
 * is part of the filter. Returns true when the key was one of them.
 */
export function handleOutputPaneKey(ctx: CommandContext, feature: OutputFeature, key: KeyPress): boolean {
  const { active, sides } = ctx.store.getState();
  if (sides[active].pane.filter !== null) return false;
  const command = matchKey('pane', key);
  if (command === 'command.open') {
    feature.ui.dispatch({ type: 'open-command' });
    return true;
  }
  if (command === 'output.show') {
    feature.ui.dispatch({ type: 'show' });
    return true;
  }
  if (command === 'output.screen') {
    feature.ui.dispatch({ type: 'show' });
    if (!feature.ui.getState().fullScreen) feature.ui.dispatch({ type: 'toggle-full-screen' });
    return true;
  }
  return false;
}

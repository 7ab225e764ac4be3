import type { PeerIdentity } from '../../src/client/server-identity.js';
import type { SessionState } from '../../src/client/session.js';
import type { TrustAnswer } from '../../src/credentials/server-trust.js';
import type { FileSystem } from '../../src/fs/file-system.js';
import type { Quota } from '../../src/protocol/index.js';
import type { UnfinishedJournal } from '../../src/transfer/journal.js';
import { initialPane, reducePane, type PaneAction, type PaneState } from './pane-state.js';
import { createStore, type Store } from './store.js';
import type { ViewContent } from './view-content.js';

/*
 * The whole screen as data: two sides (a file system and its pane each), which side has the
 * input, the overlay on top (a dialog, the viewer, the help), the queue panel's visibility and
 * the message line. One reducer; I/O lives in ui/commands and dispatches here.
 */

export type Side = 'left' | 'right';

export interface SideState {
  fs: FileSystem;
  pane: PaneState;
  /** Free space (local) or quota (remote), when known. */
  quota: Quota | null;
}

/** What an input dialog's answer is for (captured when it opened). */
export type InputPurpose =
  | { type: 'mkdir'; side: Side; dir: string }
  | { type: 'move'; side: Side; dir: string; names: string[] }
  | { type: 'mark'; side: Side; mode: 'select' | 'unselect' | 'invert' };

/** What a confirm dialog's yes does. */
export type ConfirmPurpose = { type: 'delete'; side: Side; dir: string; names: string[] } | { type: 'quit' };

/** The login dialog: `busy` while logging in (with the place in the server's queue, if it has one); `error` after a failure. */
export interface LoginOverlay {
  kind: 'login';
  initial?: { host: string; port: number; user: string; tls?: boolean };
  busy: boolean;
  queuePosition?: number;
  error?: string;
}

export type Overlay =
  | { kind: 'help' }
  | { kind: 'viewer'; title: string; content: ViewContent }
  | { kind: 'input'; title: string; prompt: string; initial: string; purpose: InputPurpose }
  | { kind: 'confirm'; title: string; message: string; yes: string; danger: boolean; purpose: ConfirmPurpose }
  | LoginOverlay
  /**
   * A TLS server neither pinned nor vouched for by a CA, shown before any password goes to it.
   * `answer` resolves the login waiting for it (a promise outside the store, as the conflict
   * bridge parks its questions) and puts `under` back: the busy login dialog, or what was open.
   */
  | { kind: 'trust'; hostPort: string; peer: PeerIdentity; under: Overlay | null; answer: (answer: TrustAnswer) => void }
  /** A pinned server presented another certificate: nothing was sent; Esc goes back to `under` (the login dialog with its error). */
  | { kind: 'identity-changed'; hostPort: string; known: { fingerprint: string; file: string; line: number }; presented: PeerIdentity; under: Overlay | null }
  /** Unfinished copies of earlier runs, offered to resume. */
  | { kind: 'resume'; journals: UnfinishedJournal[] };

export type MessageTone = 'info' | 'error' | 'progress';

export interface AppState {
  sides: Record<Side, SideState>;
  active: Side;
  overlay: Overlay | null;
  queue: { visible: boolean; focused: boolean };
  message: { text: string; tone: MessageTone } | null;
  /** The server link behind the remote side, when there is one. */
  link: SessionState | null;
}

export type AppAction =
  | { type: 'pane'; side: Side; action: PaneAction }
  | { type: 'switch' }
  | { type: 'swap' }
  /** A side gets another file system (after a login), with a fresh pane at `path`. */
  | { type: 'set-fs'; side: Side; fs: FileSystem; path: string }
  | { type: 'quota'; side: Side; fs: FileSystem; quota: Quota | null }
  | { type: 'overlay'; overlay: Overlay | null }
  | { type: 'queue'; visible?: boolean; focused?: boolean }
  | { type: 'message'; text: string; tone?: MessageTone }
  | { type: 'clear-message' }
  | { type: 'link'; state: SessionState | null };

export type AppStore = Store<AppState, AppAction>;

export function otherSide(side: Side): Side {
  return side === 'left' ? 'right' : 'left';
}

function sideState(fs: FileSystem, path: string): SideState {
  return { fs, pane: initialPane(path), quota: null };
}

/** Both panes at their file system's home (or the given paths), the left one active. */
export function initialAppState(left: FileSystem, right: FileSystem, options: { leftPath?: string; rightPath?: string; link?: SessionState | null } = {}): AppState {
  return {
    sides: { left: sideState(left, options.leftPath ?? left.home), right: sideState(right, options.rightPath ?? right.home) },
    active: 'left',
    overlay: null,
    queue: { visible: false, focused: false },
    message: null,
    link: options.link ?? null,
  };
}

/** Applies one action; returns `state` itself when nothing changed. */
export function reduceApp(state: AppState, action: AppAction): AppState {
  switch (action.type) {
    case 'pane': {
      const side = state.sides[action.side];
      const pane = reducePane(side.pane, action.action);
      if (pane === side.pane) return state;
      return { ...state, sides: { ...state.sides, [action.side]: { ...side, pane } } };
    }
    case 'switch':
      return { ...state, active: otherSide(state.active) };
    case 'swap':
      // The panes trade places; the input stays on the same screen half, as in mc.
      return { ...state, sides: { left: state.sides.right, right: state.sides.left } };
    case 'set-fs': {
      const height = state.sides[action.side].pane.height;
      return { ...state, sides: { ...state.sides, [action.side]: { fs: action.fs, pane: initialPane(action.path, { height }), quota: null } } };
    }
    case 'quota': {
      const side = state.sides[action.side];
      // A quota that arrives after the side changed file system belongs to the old one.
      if (side.fs !== action.fs) return state;
      return { ...state, sides: { ...state.sides, [action.side]: { ...side, quota: action.quota } } };
    }
    case 'overlay':
      if (state.overlay === action.overlay) return state;
      return { ...state, overlay: action.overlay };
    case 'queue': {
      const visible = action.visible ?? state.queue.visible;
      const focused = visible && (action.focused ?? state.queue.focused);
      if (visible === state.queue.visible && focused === state.queue.focused) return state;
      return { ...state, queue: { visible, focused } };
    }
    case 'message':
      return { ...state, message: { text: action.text, tone: action.tone ?? 'info' } };
    case 'clear-message':
      return state.message === null ? state : { ...state, message: null };
    case 'link':
      return state.link === action.state ? state : { ...state, link: action.state };
  }
}

/** A store over reduceApp. */
export function createAppStore(initial: AppState): AppStore {
  return createStore(reduceApp, initial);
}

/** The side whose pane shows `fs` (the remote one, say), if any. */
export function sideOf(state: AppState, fs: FileSystem): Side | undefined {
  if (state.sides.left.fs === fs) return 'left';
  if (state.sides.right.fs === fs) return 'right';
  return undefined;
}

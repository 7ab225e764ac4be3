import type { Session } from '../../src/client/session.js';
import { hostPortOf, webSocketUrl } from '../../src/client/url.js';
import { connectWithCredentials, type ConnectRequest } from '../../src/credentials/connect.js';
import type { TrustRequest } from '../../src/credentials/server-trust.js';
import type { RegisterValues } from '../dialogs/login-form.js';
import { HostBook, type HostEntry } from '../../src/credentials/host-book.js';
import { keychainStatus, type KeychainStatus } from '../../src/credentials/keychain.js';
import type { LoginOverlay } from '../model/app-state.js';
import { errorText } from '../model/error-text.js';
import type { CommandContext } from './context.js';
import { attachSession } from './connect.js';
import { registerFromDialog } from './register.js';
import { findUnfinished } from './resume.js';
import { askTrust, identityChangedOverlay } from './trust.js';

/** Where the login dialog's lists come from and how it logs in (tests give their own). */
export interface LoginService {
  /** Recent hosts and bookmarks (never passwords), and whether passwords can be saved. */
  load(): Promise<{ recent: HostEntry[]; bookmarks: HostEntry[]; keychain: KeychainStatus; warning?: string }>;
  /** connectWithCredentials: the keychain's password when none is typed, recent host recorded, password saved when asked. */
  connect(request: ConnectRequest): Promise<Session>;
  /** Asks the server for a new account (the login dialog's register mode). */
  register?(account: RegisterValues, trust?: Omit<TrustRequest, 'hostPort'>): Promise<{ status: 'active' | 'pending' }>;
}


/** The real one: ~/.config/ferry/hosts.json and the OS keychain. */
export function defaultLoginService(): LoginService {
  const hosts = new HostBook();
  return {
    async load() {
      const [data, keychain] = await Promise.all([hosts.load(), keychainStatus()]);
      return { recent: data.recent, bookmarks: data.bookmarks, keychain, ...(data.warning ? { warning: data.warning } : {}) };
    },
    connect: (request) => connectWithCredentials({ hosts, ...request }),
    register: registerFromDialog,
  };
}

/** Opens the login dialog (Ctrl-O, or at the start when not connected). */
export function openLogin(ctx: CommandContext, initial?: LoginOverlay['initial']): void {
  ctx.store.dispatch({ type: 'overlay', overlay: { kind: 'login', busy: false, ...(initial ? { initial } : {}) } });
}

/**
 * The login dialog's answer: logs in (the dialog shows it is busy, and the place in the server's
 * queue if there is one; an unknown TLS server is first shown in the trust dialog), then shows
 * the remote home in the right pane and offers to resume unfinished copies. A failure stays in
 * the dialog as one readable line (a changed server identity first raises its alarm).
 */
export async function submitLogin(
  ctx: CommandContext,
  service: LoginService,
  values: { host: string; port: number; user: string; password: string; save: boolean; tls: boolean },
  options: { journalDir?: string } = {},
): Promise<void> {
  const initial = { host: values.host, port: values.port, user: values.user, tls: values.tls };
  const still = () => ctx.store.getState().overlay?.kind === 'login';
  ctx.store.dispatch({ type: 'overlay', overlay: { kind: 'login', initial, busy: true } });
  let session: Session;
  try {
    session = await service.connect({
      host: values.host,
      port: values.port,
      user: values.user,
      ...(values.password === '' ? {} : { password: values.password }),
      save: values.save,
      tls: values.tls,
      // An unknown TLS server is asked about (the trust dialog) before the password is sent.
      trust: { ask: (peer, hostPort) => askTrust(ctx, peer, hostPort) },
      onQueue: (position) => {
        if (still()) ctx.store.dispatch({ type: 'overlay', overlay: { kind: 'login', initial, busy: true, queuePosition: position } });
      },
      onNotice: (message) => ctx.store.dispatch({ type: 'message', text: message, tone: 'error' }),
    });
  } catch (error) {
    if (still()) showLoginFailure(ctx, initial, error);
    return;
  }
  // Esc while logging in: the user gave up on this login, so its late success is dropped.
  if (!still()) {
    await session.close();
    return;
  }
  ctx.store.dispatch({ type: 'overlay', overlay: null });
  attachSession(ctx, session);
  await offerResume(ctx, options.journalDir);
}

/**
 * A failed login in the login dialog, as its one-line error; a pinned server that presented
 * another certificate first gets the identity-changed alarm, which goes back to that dialog.
 */
export function showLoginFailure(ctx: CommandContext, initial: NonNullable<LoginOverlay['initial']>, error: unknown): void {
  const login: LoginOverlay = { kind: 'login', initial, busy: false, error: errorText(error) };
  const hostPort = hostPortOf(webSocketUrl(initial.host, initial.port, true));
  ctx.store.dispatch({ type: 'overlay', overlay: identityChangedOverlay(error, hostPort, login) ?? login });
}

/** Shows the resume dialog when earlier runs left unfinished copies (and nothing else is open). */
export async function offerResume(ctx: CommandContext, journalDir?: string): Promise<void> {
  const journals = await findUnfinished(journalDir);
  const mine = ctx.journal?.file;
  const others = journals.filter((journal) => journal.file !== mine);
  if (others.length > 0 && ctx.store.getState().overlay === null) ctx.store.dispatch({ type: 'overlay', overlay: { kind: 'resume', journals: others } });
}

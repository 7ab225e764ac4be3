import { Session, type SessionOptions } from '../client/session.js';
import { defaultTls, hostPortOf, webSocketUrl } from '../client/url.js';
import { FerryError, type ErrorCode } from '../protocol/index.js';
import { HostBook } from './host-book.js';
import { KEYCHAIN_SERVICE, keychain as osKeychain, keychainAccount, type Keychain } from './keychain.js';
import { decideTrust, type TrustRequest } from './server-trust.js';

/**
 * The login cannot go on without the user typing a password: none was given and none is saved
 * (EINVAL), the keychain could not be read (its code), or the saved one was refused (EAUTH).
 * The login dialog answers this by asking for the password; the saved one is never deleted.
 */
export class PasswordNeededError extends FerryError {
  readonly account: string;
  readonly why: 'none-saved' | 'keychain-failed' | 'saved-refused';

  constructor(code: ErrorCode, message: string, account: string, why: PasswordNeededError['why']) {
    super(code, message);
    this.name = 'PasswordNeededError';
    this.account = account;
    this.why = why;
  }
}

export interface ConnectRequest {
  host: string;
  port: number;
  user: string;
  /** TLS (wss://) or plain ws://. Default: TLS unless the host is loopback (what ferry:// means). */
  tls?: boolean;
  /**
   * For TLS: known_hosts, a fingerprint given for this login, and who to ask about a server
   * neither pinned nor CA-verified (the TUI's trust dialog). See decideTrust.
   */
  trust?: Omit<TrustRequest, 'hostPort'>;
  /** Empty or absent: the password saved in the keychain for `user@host:port` is used. */
  password?: string;
  /** Save the typed password in the keychain after a successful login. Default false. */
  save?: boolean;
  /** Default: the OS keychain (Secret Service on Linux). */
  keychain?: Keychain;
  /** Where the recent host is recorded. Default: hosts.json in configDir(). */
  hosts?: HostBook;
  /** Position in the server's queue while it has no free session slot (1 = next). */
  onQueue?: (position: number) => void;
  /**
   * Things that went wrong without failing the login, as one readable line each: the password
   * could not be saved (and why), the host list could not be written or was set aside.
   */
  onNotice?: (message: string) => void;
  /** Passed on to Session.connect (reconnect, timeouts). */
  session?: Omit<SessionOptions, 'url' | 'user' | 'password' | 'onQueue' | 'identity' | 'onIdentity'>;
}

/**
 * Logs in to `user@host:port` and returns the ready Session.
 * - No password given: the keychain's password for the account is used; when there is none, or
 *   the keychain cannot be read, PasswordNeededError (nothing is sent to the server).
 * - A saved password the server refuses: PasswordNeededError EAUTH "the saved password … was
 *   refused"; it stays in the keychain (the user may have typed the wrong one elsewhere).
 * - Success: the login goes on top of the recent hosts; with `save` a typed password is stored in
 *   the keychain. Neither failing fails the login: each is reported through `onNotice`.
 * Other failures are the Session's FerryErrors (EAUTH, ETHROTTLE, EPENDING, EBUSY, ENETWORK…);
 * bad fields are EINVAL.
 */
export async function connectWithCredentials(request: ConnectRequest): Promise<Session> {
  const host = request.host.trim();
  const user = request.user.trim();
  const { port } = request;
  if (host === '' || /[\s/@]/.test(host)) throw new FerryError('EINVAL', `bad host name ${JSON.stringify(request.host)}`);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) throw new FerryError('EINVAL', `bad port ${port} (1–65535)`);
  if (user === '') throw new FerryError('EINVAL', 'a user name is needed');

  const keychain = request.keychain ?? osKeychain;
  const account = keychainAccount({ user, host, port });
  const notice = (message: string) => request.onNotice?.(message);

  let password = request.password ?? '';
  const typed = password !== '';
  if (!typed) {
    let saved: string | null;
    try {
      saved = await keychain.getPassword(KEYCHAIN_SERVICE, account);
    } catch (error) {
      const cause = error instanceof FerryError ? error : new FerryError('ENOTSUP', String(error));
      throw new PasswordNeededError(cause.code, `a password is needed for ${account}: ${cause.message}`, account, 'keychain-failed');
    }
    if (saved === null) throw new PasswordNeededError('EINVAL', `a password is needed for ${account} (none is saved)`, account, 'none-saved');
    password = saved;
  }

  const tls = request.tls ?? defaultTls(host);
  const url = webSocketUrl(host, port, tls);
  // The server's identity is settled (maybe by asking) before the password leaves this machine.
  const trust = tls ? await decideTrust({ ...request.trust, hostPort: hostPortOf(url) }) : undefined;
  let session: Session;
  try {
    session = await Session.connect({
      ...request.session,
      url,
      user,
      password,
      ...(request.onQueue ? { onQueue: request.onQueue } : {}),
      ...(trust
        ? {
            identity: trust.policy,
            onIdentity: (peer) =>
              void trust.accepted(peer).catch((error: unknown) => notice(`the server's identity was not saved in ${trust.knownHosts.file}: ${(error as Error).message}`)),
          }
        : {}),
    });
  } catch (error) {
    if (!typed && error instanceof FerryError && error.code === 'EAUTH') {
      throw new PasswordNeededError('EAUTH', `the saved password for ${account} was refused: ${error.message}`, account, 'saved-refused');
    }
    throw error;
  }

  const hosts = request.hosts ?? new HostBook();
  try {
    const data = await hosts.addRecent({ host, port, user, tls });
    if (data.warning) notice(data.warning);
  } catch (error) {
    notice(`the host list was not updated: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (request.save && typed) {
    try {
      await keychain.setPassword(KEYCHAIN_SERVICE, account, password);
    } catch (error) {
      notice(`the password was not saved: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return session;
}

import { randomBytes } from 'node:crypto';
import { AsyncEntry, type EntryOptions } from '@napi-rs/keyring';
import { FerryError, type ErrorCode } from '../protocol/index.js';

/** The keychain service every ferry password is saved under. */
export const KEYCHAIN_SERVICE = 'ferry';

/** Whether passwords can be saved, and if not, a plain sentence saying why. */
export type KeychainStatus = { available: true } | { available: false; reason: string };

/**
 * The keytar API shape (service, account), so the rest of ferry does not depend on the binding.
 * Every failure is a FerryError: ENOTSUP when there is no usable keychain, EACCES when it is
 * locked, with a message fit for the status line.
 */
export interface Keychain {
  /** The saved password, or null when there is none. */
  getPassword(service: string, account: string): Promise<string | null>;
  setPassword(service: string, account: string, password: string): Promise<void>;
  /** True when a password was deleted, false when there was none. */
  deletePassword(service: string, account: string): Promise<boolean>;
  /** Probes whether passwords can be saved right now (see keychainStatus). */
  status(): Promise<KeychainStatus>;
}

/**
 * On Linux the binding would fall back to the kernel keyring when the Secret Service is missing:
 * that store forgets everything at logout, so a "saved" password would silently vanish. Pinned,
 * a missing Secret Service is an error we can tell the user about. Ignored on other platforms.
 */
const ENTRY_OPTIONS: EntryOptions = { linux: { store: 'secret-service' } };

/** The keychain account of a login: `user@host:port` (an IPv6 host in brackets). */
export function keychainAccount(login: { user: string; host: string; port: number }): string {
  const host = login.host.includes(':') ? `[${login.host}]` : login.host;
  return `${login.user}@${host}:${login.port}`;
}

/**
 * Turns a binding error (its messages come from the Rust keyring and zbus crates) into a plain
 * reason. The raw text is kept as the fallback so an unforeseen failure still says something.
 */
export function describeKeychainError(error: unknown): { code: ErrorCode; reason: string } {
  const text = error instanceof Error ? error.message : String(error);
  if (/DBUS_SESSION_BUS_ADDRESS|autolaunch|failed to connect to (the )?(session )?bus/i.test(text)) {
    return { code: 'ENOTSUP', reason: 'there is no D-Bus session to reach a keychain through' };
  }
  if (/org\.freedesktop\.secrets|ServiceUnknown|not provided by any \.service files/i.test(text)) {
    return { code: 'ENOTSUP', reason: 'no Secret Service (gnome-keyring, KWallet…) is running in this session' };
  }
  if (/locked|prompt was dismissed|unlock/i.test(text)) {
    return { code: 'EACCES', reason: 'the keyring is locked' };
  }
  if (/no result found|no such (collection|object)|NoSuchObject/i.test(text)) {
    return { code: 'ENOTSUP', reason: 'the Secret Service has no default keyring to save into' };
  }
  if (/aborted|AbortError/i.test(text)) {
    return { code: 'ETIMEDOUT', reason: 'the keychain did not answer in time' };
  }
  const cleaned = text.replace(/^(Platform failure|Couldn't access platform storage):\s*/i, '').replace(/^DBus error:\s*/i, '');
  return { code: 'ENOTSUP', reason: `the keychain failed: ${cleaned}` };
}

function keychainError(error: unknown): FerryError {
  if (error instanceof FerryError) return error;
  const { code, reason } = describeKeychainError(error);
  return new FerryError(code, `cannot use the keychain: ${reason}`);
}

export interface SecretServiceOptions {
  /** The environment to judge (DBUS_SESSION_BUS_ADDRESS). Default process.env. */
  env?: Readonly<Record<string, string | undefined>>;
  /** How long one keychain call may take before it counts as unavailable. Default 10 s. */
  timeoutMs?: number;
  /** Default process.platform. */
  platform?: NodeJS.Platform;
}

/**
 * The OS keychain through @napi-rs/keyring's AsyncEntry, pinned to the Secret Service on Linux.
 * Without a D-Bus session nothing is attempted at all: the binding would otherwise try an X11
 * autolaunch of its own.
 */
export function createSecretServiceKeychain(options: SecretServiceOptions = {}): Keychain {
  const env = options.env ?? process.env;
  const timeoutMs = options.timeoutMs ?? 10_000;
  const platform = options.platform ?? process.platform;

  function noSessionBus(): string | undefined {
    if (platform !== 'linux' && platform !== 'freebsd' && platform !== 'openbsd') return undefined;
    const address = env.DBUS_SESSION_BUS_ADDRESS;
    return address === undefined || address === '' ? 'there is no D-Bus session to reach a keychain through' : undefined;
  }

  async function withEntry<T>(service: string, account: string, use: (entry: AsyncEntry, signal: AbortSignal) => Promise<T>): Promise<T> {
    const missing = noSessionBus();
    if (missing) throw new FerryError('ENOTSUP', `cannot use the keychain: ${missing}`);
    try {
      // The constructor already talks to D-Bus when the store is pinned, so it throws too.
      const entry = new AsyncEntry(service, account, ENTRY_OPTIONS);
      return await use(entry, AbortSignal.timeout(timeoutMs));
    } catch (error) {
      throw keychainError(error);
    }
  }

  return {
    getPassword: (service, account) => withEntry(service, account, (entry, signal) => entry.getPassword(signal)),
    setPassword: (service, account, password) => withEntry(service, account, (entry, signal) => entry.setPassword(password, signal)),
    deletePassword: (service, account) => withEntry(service, account, (entry, signal) => entry.deletePassword(signal)),
    async status() {
      const missing = noSessionBus();
      if (missing) return { available: false, reason: missing };
      // Reading succeeds even when the keyring is locked or has no default collection (it just
      // finds nothing), so only a real write tells whether a password could be saved. The probe
      // entry is removed again at once.
      const probe = `.probe-${randomBytes(6).toString('hex')}`;
      try {
        const entry = new AsyncEntry(KEYCHAIN_SERVICE, probe, ENTRY_OPTIONS);
        const signal = AbortSignal.timeout(timeoutMs);
        await entry.setPassword(randomBytes(12).toString('base64url'), signal);
        await entry.deletePassword(signal);
        return { available: true };
      } catch (error) {
        return { available: false, reason: describeKeychainError(error).reason };
      }
    },
  };
}

/** The default keychain: the OS one, configured from process.env. */
export const keychain: Keychain = createSecretServiceKeychain();

/** keytar's getPassword on the default keychain. */
export function getPassword(service: string, account: string): Promise<string | null> {
  return keychain.getPassword(service, account);
}

/** keytar's setPassword on the default keychain. */
export function setPassword(service: string, account: string, password: string): Promise<void> {
  return keychain.setPassword(service, account, password);
}

/** keytar's deletePassword on the default keychain. */
export function deletePassword(service: string, account: string): Promise<boolean> {
  return keychain.deletePassword(service, account);
}

/**
 * Probes the default keychain: no D-Bus session, no Secret Service, a locked keyring or one
 * without a default collection all give `{ available: false, reason }` with a plain reason.
 * It writes and deletes a throwaway entry (service 'ferry', account '.probe-…'), because only a
 * write shows whether saving would work; on a desktop a locked keyring may ask to be unlocked.
 */
export function keychainStatus(): Promise<KeychainStatus> {
  return keychain.status();
}

import type { Session } from '../client/session.js';
import { isRemoteUrl } from '../client/url.js';
import type { FileSystem } from '../fs/file-system.js';
import { RemoteFileSystem } from '../fs/remote-file-system.js';
import { isSftpUrl } from '../fs/sftp/sftp-url.js';
import { UsageError } from './cli-errors.js';
import { Connections, parseRemoteArg, type RemoteArg } from './remote.js';
import { openSftpLocation } from './sftp-login.js';

export interface RemoteFlags {
  passwordStdin?: boolean;
  /** --fingerprint: the TLS server's certificate fingerprint, or an SSH server's host key fingerprint. */
  fingerprint?: string;
}

/** --fingerprint's help, the same on every command that connects. */
export const FINGERPRINT_HELP =
  "the server's fingerprint (SHA256:…): a ferry TLS certificate's (ferry serve --fingerprint), pinned in known_hosts once shown, or an SSH host key's (ssh-keygen -lf), accepted once";

/** A place on a server as a command argument: `ferry://…` (ferry's own server) or `sftp://…` (any SSH server). */
export function isLocation(text: string): boolean {
  return isRemoteUrl(text) || isSftpUrl(text);
}

/**
 * Connects for one remote argument, runs `body` with the session, and closes it whatever
 * happens.
 */
export async function withSession<T>(url: string, flags: RemoteFlags, body: (session: Session, arg: RemoteArg) => Promise<T>): Promise<T> {
  const arg = parseRemoteArg(url);
  const connections = new Connections({ passwordStdin: flags.passwordStdin === true, ...(flags.fingerprint ? { fingerprint: flags.fingerprint } : {}) });
  try {
    return await body(await connections.session(arg), arg);
  } finally {
    await connections.closeAll();
  }
}

/**
 * Connects for one `ferry://` or `sftp://` argument, runs `body` with its file system and path,
 * and closes the connection whatever happens.
 */
export async function withLocation<T>(url: string, flags: RemoteFlags, body: (fs: FileSystem, path: string) => Promise<T>): Promise<T> {
  if (isSftpUrl(url)) {
    const { fs, path } = await openSftpLocation(url, { passwordStdin: flags.passwordStdin === true, ...(flags.fingerprint ? { fingerprint: flags.fingerprint } : {}) });
    try {
      return await body(fs, path);
    } finally {
      fs.close();
    }
  }
  if (!isRemoteUrl(url)) throw new UsageError(`not a remote URL: ${JSON.stringify(url)} (expected ferry://user@host:port/path or sftp://user@host/path)`);
  return withSession(url, flags, (session, arg) => body(new RemoteFileSystem(session), arg.url.path));
}

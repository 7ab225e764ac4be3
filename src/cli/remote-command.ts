import type { Session } from '../client/session.js';
import { Connections, parseRemoteArg, type RemoteArg } from './remote.js';

export interface RemoteFlags {
  passwordStdin?: boolean;
  /** --fingerprint: the TLS server's expected certificate fingerprint. */
  fingerprint?: string;
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

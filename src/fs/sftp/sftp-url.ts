import { posix } from 'node:path';
import { FerryError } from '../../protocol/index.js';

/**
 * `sftp://[user@]host[:port][/path]` as curl and most file managers read it: the path is absolute
 * on the server, `/~` and `/~/…` are in the login directory, and no path at all is the login
 * directory. `host` may be an ~/.ssh/config alias.
 */
export interface SftpUrl {
  user?: string;
  host: string;
  port?: number;
  /** Absolute, or undefined for the login directory; `~/…` for a path inside it. */
  path?: string;
}

export function isSftpUrl(text: string): boolean {
  return /^sftp:\/\//i.test(text);
}

export function parseSftpUrl(text: string): SftpUrl {
  const match = /^sftp:\/\/([^/?#]*)([^?#]*)$/i.exec(text);
  if (!match) throw new FerryError('EINVAL', `not an sftp URL: ${JSON.stringify(text)} (expected sftp://user@host:port/path)`);
  const authority = match[1]!;
  const at = authority.lastIndexOf('@');
  const userInfo = at >= 0 ? decode(authority.slice(0, at), text) : undefined;
  if (userInfo?.includes(':')) throw new FerryError('EINVAL', 'an sftp URL must not carry a password; use FERRY_PASSWORD, --password-stdin or the prompt');
  const hostPort = at >= 0 ? authority.slice(at + 1) : authority;
  const hp = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(hostPort);
  if (!hp) throw new FerryError('EINVAL', `no host in ${JSON.stringify(text)}`);
  const host = hp[1]!.replace(/^\[|\]$/g, '');
  const port = hp[2] === undefined ? undefined : Number(hp[2]);
  if (port !== undefined && (port < 1 || port > 65535)) throw new FerryError('EINVAL', `bad port in ${JSON.stringify(text)}`);
  const raw = decode(match[2]!, text);
  const path = raw === '' ? undefined : raw === '/~' ? '~' : raw.startsWith('/~/') ? `~/${raw.slice(3)}` : raw;
  return { ...(userInfo ? { user: userInfo } : {}), host, ...(port !== undefined ? { port } : {}), ...(path !== undefined ? { path } : {}) };
}

/** A parsed URL's path on the server, absolute: the login directory `home` for none or `~`. */
export function absoluteSftpPath(path: string | undefined, home: string): string {
  if (path === undefined || path === '~') return home;
  return path.startsWith('~/') ? posix.join(home, path.slice(2)) : path;
}

function decode(part: string, text: string): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new FerryError('EINVAL', `bad percent-encoding in ${JSON.stringify(text)}`);
  }
}

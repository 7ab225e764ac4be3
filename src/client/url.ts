import { DEFAULT_PORT, FerryError } from '../protocol/index.js';
import { isLoopback } from '../util/loopback.js';

/*
 * Remote locations as people type them:  ferry://alice@files.example:7070/photos/2024
 * The scheme maps onto the WebSocket URL the Session dials:
 *   ferry://      TLS (wss://), except to a loopback address (ws://: those bytes never leave the
 *                 machine, and a ferry server takes plain ws:// over loopback even with TLS on);
 *   ferrys://     TLS always (also ferry+wss://);
 *   ferry+ws://   plain ws:// always, for a server started with --insecure on a trusted network.
 * The path is the home-relative wire path, percent-decoded.
 */

/** A parsed `ferry://` URL. `path` is decoded and always starts with '/'. */
export interface RemoteUrl {
  user?: string;
  /** Host name or IP; an IPv6 address without its brackets. */
  host: string;
  port: number;
  path: string;
  /** Whether the connection is TLS (from the scheme and, for ferry://, the host). */
  tls: boolean;
  /** Where the Session connects: `wss://host:port` or `ws://host:port` (IPv6 in brackets). */
  wsUrl: string;
}

/** Per scheme: TLS always, never, or unless the host is loopback. */
const SCHEMES: Record<string, 'tls' | 'plain' | 'auto'> = { 'ferry:': 'auto', 'ferrys:': 'tls', 'ferry+wss:': 'tls', 'ferry+ws:': 'plain' };

/** True when `s` looks like a remote URL (a ferry://, ferrys:// or ferry+ws:// prefix) rather than a local path. */
export function isRemoteUrl(s: string): boolean {
  return /^ferry(?:s|\+wss?)?:\/\//i.test(s);
}

/** Whether ferry:// means TLS for this host: everywhere but loopback. */
export function defaultTls(host: string): boolean {
  return !isLoopback(host);
}

/**
 * Parses `ferry://[user@]host[:port][/path]`. The port defaults to DEFAULT_PORT (7070) and the
 * path to '/'; the user and path are percent-decoded; IPv6 hosts are written `[::1]`.
 * Throws FerryError EINVAL for any other scheme, a password in the URL (it would end up in shell
 * history), a bad port, or bad percent-encoding.
 */
export function parseRemoteUrl(s: string): RemoteUrl {
  const match = /^([a-z][a-z0-9+.-]*:)\/\/([^/?#]*)([^?#]*)(.*)$/i.exec(s);
  const scheme = match?.[1]?.toLowerCase();
  if (!match || scheme === undefined || !(scheme in SCHEMES)) {
    throw new FerryError('EINVAL', `not a ferry URL: ${JSON.stringify(s)} (expected ferry://user@host:port/path; ferrys:// or ferry+ws:// to choose TLS or plain)`);
  }
  const authority = match[2] ?? '';
  const rawPath = match[3] ?? '';
  if (match[4]) throw new FerryError('EINVAL', `a ferry URL takes no query or fragment: ${JSON.stringify(s)}`);

  const at = authority.lastIndexOf('@');
  const userInfo = at >= 0 ? authority.slice(0, at) : undefined;
  const hostPort = at >= 0 ? authority.slice(at + 1) : authority;
  if (userInfo !== undefined && userInfo.includes(':')) {
    throw new FerryError('EINVAL', 'a ferry URL must not carry a password; use FERRY_PASSWORD, --password-stdin or the prompt');
  }
  const user = userInfo === undefined ? undefined : decode(userInfo, 'user name');
  if (user !== undefined && user.length === 0) throw new FerryError('EINVAL', `empty user name in ${JSON.stringify(s)}`);

  const hp = /^(?:\[([0-9a-f:.]+(?:%[\w.~-]+)?)\]|([^:[\]]+))(?::(\d*))?$/i.exec(hostPort);
  if (!hp) throw new FerryError('EINVAL', `bad host in ${JSON.stringify(s)}`);
  const ipv6 = hp[1];
  const host = ipv6 ?? hp[2] ?? '';
  const portText = hp[3];
  const port = portText === undefined || portText === '' ? DEFAULT_PORT : Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    throw new FerryError('EINVAL', `bad port ${JSON.stringify(portText)} in ${JSON.stringify(s)}`);
  }

  const decodedPath = decode(rawPath, 'path');
  const path = decodedPath === '' ? '/' : decodedPath;
  if (path.includes('\0')) throw new FerryError('EINVAL', 'NUL byte in path');
  const mode = SCHEMES[scheme]!;
  const tls = mode === 'auto' ? defaultTls(host) : mode === 'tls';
  return {
    ...(user === undefined ? {} : { user }),
    host,
    port,
    path,
    tls,
    wsUrl: webSocketUrl(host, port, tls),
  };
}

/** `wss://host:port` or `ws://host:port`, IPv6 in brackets. */
export function webSocketUrl(host: string, port: number, tls: boolean): string {
  return `${tls ? 'wss' : 'ws'}://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/**
 * Formats a remote location back into a URL, percent-encoding what needs it: ferry:// when `tls`
 * is what ferry:// means for the host (or not given), else ferrys:// or ferry+ws://. The port is
 * always written so the text is unambiguous; `path` defaults to '/'.
 */
export function formatRemote(remote: { user?: string; host: string; port?: number; path?: string; tls?: boolean }): string {
  const scheme = remote.tls === undefined || remote.tls === defaultTls(remote.host) ? 'ferry' : remote.tls ? 'ferrys' : 'ferry+ws';
  const user = remote.user === undefined ? '' : `${encodeURIComponent(remote.user)}@`;
  const host = remote.host.includes(':') ? `[${remote.host}]` : remote.host;
  const port = remote.port ?? DEFAULT_PORT;
  const rawPath = remote.path ?? '/';
  const path = (rawPath.startsWith('/') ? rawPath : `/${rawPath}`).split('/').map(encodeURIComponent).join('/');
  return `${scheme}://${user}${host}:${port}${path}`;
}

/** `host:port` of a ws:// or wss:// URL, for messages and labels. */
export function hostPortOf(wsUrl: string): string {
  try {
    const url = new URL(wsUrl);
    const port = url.port === '' ? (url.protocol === 'wss:' ? '443' : '80') : url.port;
    return `${url.hostname}:${port}`;
  } catch {
    return wsUrl;
  }
}

function decode(text: string, what: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    throw new FerryError('EINVAL', `bad percent-encoding in the ${what}: ${JSON.stringify(text)}`);
  }
}

import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** A host key as it comes off the wire: the SSH wire-format blob (its first field is the type). */
export interface HostKey {
  type: string;
  /** The key blob, base64 as known_hosts writes it. */
  base64: string;
}

/** What the known_hosts files say about a host and the key it presented. */
export type HostKeyVerdict =
  | { status: 'known'; file: string; line: number }
  | { status: 'unknown' }
  /** The host is known with another key of the same type: ssh's "REMOTE HOST IDENTIFICATION HAS CHANGED". */
  | { status: 'changed'; file: string; line: number; known: HostKey }
  | { status: 'revoked'; file: string; line: number };

interface KnownLine {
  file: string;
  line: number;
  marker: '' | '@revoked' | '@cert-authority';
  hosts: string;
  key: HostKey;
}

/** The key's type and base64 blob, from the raw blob a server sends (string type, then the key). */
export function hostKeyOf(blob: Buffer): HostKey {
  const length = blob.readUInt32BE(0);
  return { type: blob.subarray(4, 4 + length).toString('latin1'), base64: blob.toString('base64') };
}

/** `SHA256:` and the unpadded base64 of the blob's digest, as ssh prints host key fingerprints. */
export function fingerprintOf(key: HostKey): string {
  return `SHA256:${createHash('sha256').update(Buffer.from(key.base64, 'base64')).digest('base64').replace(/=+$/, '')}`;
}

/** How known_hosts names a host: `host` on port 22, `[host]:port` elsewhere. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/**
 * Checks `key` for `host:port` against OpenSSH known_hosts files (plain, `[host]:port`, hashed
 * `|1|salt|hmac`, comma lists, `*`/`?` patterns and `!` negations, `@revoked`; `@cert-authority`
 * lines are skipped: ferry does not verify host certificates yet). A file that does not exist
 * says nothing. The first file with a match of the same key type decides, as ssh does.
 */
export async function checkHostKey(files: string[], host: string, port: number, key: HostKey): Promise<HostKeyVerdict> {
  const name = knownHostsName(host, port);
  const lines = (await Promise.all(files.map(readKnownHosts))).flat();
  const forHost = lines.filter((entry) => entry.marker !== '@cert-authority' && hostMatches(entry.hosts, name));
  const revoked = lines.find((entry) => entry.marker === '@revoked' && sameKey(entry.key, key));
  if (revoked) return { status: 'revoked', file: revoked.file, line: revoked.line };
  const match = forHost.find((entry) => entry.marker === '' && sameKey(entry.key, key));
  if (match) return { status: 'known', file: match.file, line: match.line };
  const other = forHost.find((entry) => entry.marker === '' && entry.key.type === key.type);
  if (other) return { status: 'changed', file: other.file, line: other.line, known: other.key };
  return { status: 'unknown' };
}

/** Appends `host:port key` to `file` (made with its directory if need be), in OpenSSH's format. */
export async function addKnownHost(file: string, host: string, port: number, key: HostKey): Promise<void> {
  await mkdir(dirname(file), { recursive: true, mode: 0o700 });
  let prefix = '';
  try {
    const existing = await readFile(file, 'utf8');
    if (existing.length > 0 && !existing.endsWith('\n')) prefix = '\n';
  } catch {
    // A new file.
  }
  await appendFile(file, `${prefix}${knownHostsName(host, port)} ${key.type} ${key.base64}\n`, { mode: 0o600 });
}

async function readKnownHosts(file: string): Promise<KnownLine[]> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    return [];
  }
  const entries: KnownLine[] = [];
  text.split('\n').forEach((raw, index) => {
    const fields = raw.trim().split(/\s+/);
    if (fields[0] === '' || fields[0]!.startsWith('#')) return;
    const marker = fields[0] === '@revoked' || fields[0] === '@cert-authority' ? (fields.shift() as KnownLine['marker']) : '';
    const [hosts, type, base64] = fields;
    if (!hosts || !type || !base64) return;
    entries.push({ file, line: index + 1, marker, hosts, key: { type, base64 } });
  });
  return entries;
}

function sameKey(a: HostKey, b: HostKey): boolean {
  return a.type === b.type && a.base64 === b.base64;
}

/** Whether a known_hosts host field names `name` (already in `[host]:port` form when not port 22). */
function hostMatches(hosts: string, name: string): boolean {
  if (hosts.startsWith('|1|')) return hashedMatches(hosts, name);
  let matched = false;
  for (const pattern of hosts.split(',')) {
    const negated = pattern.startsWith('!');
    if (!globMatches(negated ? pattern.slice(1) : pattern, name)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

/** `|1|base64(salt)|base64(HMAC-SHA1(salt, name))`: ssh's HashKnownHosts form. */
function hashedMatches(field: string, name: string): boolean {
  const [, , salt, hash] = field.split('|');
  if (!salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const actual = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest();
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}

function globMatches(pattern: string, name: string): boolean {
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.');
  return new RegExp(`^${source}$`, 'i').test(name);
}

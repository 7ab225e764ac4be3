import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { FerryError } from '../src/protocol/errors.js';
import { parseDuration, parseSize } from '../src/util/units.js';
import { normalizeExecOptions } from './exec/allowlist.js';
import { DEFAULT_SERVER_OPTIONS, type ExecOptions, type ServerOptions } from './options.js';

type Kind = 'string' | 'port' | 'count' | 'size' | 'duration' | 'exec' | 'registration' | 'tls';

/** How each key of a config file is read. `logger` cannot come from a file. */
const KEYS: Record<Exclude<keyof ServerOptions, 'logger'>, Kind> = {
  root: 'string',
  host: 'string',
  port: 'port',
  maxSessions: 'count',
  maxSessionsPerUser: 'count',
  maxConnectionsPerIp: 'count',
  maxUnauthenticated: 'count',
  upgradeTimeoutMs: 'duration',
  queueTimeoutMs: 'duration',
  handshakeTimeoutMs: 'duration',
  idleTimeoutMs: 'duration',
  partialTtlMs: 'duration',
  syncEveryBytes: 'size',
  defaultQuotaBytes: 'size',
  maxFailedLogins: 'count',
  throttleWindowMs: 'duration',
  sessionBufferBytes: 'size',
  serverBufferBytes: 'size',
  exec: 'exec',
  tls: 'tls',
  tlsCert: 'string',
  tlsKey: 'string',
  registration: 'registration',
  maxRegistrationsPerIp: 'count',
  registrationWindowMs: 'duration',
};

/** Keys of the `exec` object and how each is read. */
const EXEC_KEYS: Record<keyof ExecOptions, Kind | 'list'> = {
  allow: 'list',
  timeoutMs: 'duration',
  maxOutputBytes: 'size',
  maxPerSession: 'count',
  isolation: 'string',
  uidBase: 'count',
};

/** Options that must be at least 1 (a zero would lock everyone out or spin). */
const AT_LEAST_ONE = new Set<string>([
  'maxSessions',
  'maxSessionsPerUser',
  'maxConnectionsPerIp',
  'maxUnauthenticated',
  'upgradeTimeoutMs',
  'maxFailedLogins',
  'syncEveryBytes',
  'sessionBufferBytes',
  'serverBufferBytes',
  'maxRegistrationsPerIp',
  'exec.timeoutMs',
  'exec.maxOutputBytes',
  'exec.maxPerSession',
]);

/**
 * Builds the server's options: DEFAULT_SERVER_OPTIONS, then the JSON config `file` (if given),
 * then `overrides` (CLI flags; undefined values are ignored). In the file, sizes may be numbers
 * or strings like "8MiB", durations numbers of ms or strings like "30s", "24h"; a relative
 * `root` is taken relative to the file's directory. `exec` is an object whose fields (allow,
 * timeoutMs, maxOutputBytes, maxPerSession) are merged one by one, so a flag giving only
 * `exec.allow` keeps the file's timeout. Unknown keys, bad values and a missing root throw
 * FerryError EINVAL with a message that names the file and the key.
 */
export function loadServerConfig(file?: string, overrides: Partial<Omit<ServerOptions, 'exec'>> & { exec?: Partial<ExecOptions> } = {}): ServerOptions {
  const fromFile = file === undefined ? {} : readConfigFile(file);
  const { logger, ...flags } = overrides;
  const merged: Record<string, unknown> = { ...DEFAULT_SERVER_OPTIONS, ...fromFile };
  for (const [key, value] of Object.entries(flags)) {
    if (value === undefined) continue;
    if (!(key in KEYS)) throw new FerryError('EINVAL', `unknown server option "${key}"`);
    const read = readValue(key, KEYS[key as keyof typeof KEYS], value, 'option');
    merged[key] = key === 'exec' ? { ...(merged.exec as ExecOptions), ...(read as Partial<ExecOptions>) } : read;
  }
  merged.exec = normalizeExecOptions(merged.exec as Partial<ExecOptions>, DEFAULT_SERVER_OPTIONS.exec);
  if (typeof merged.root !== 'string' || merged.root === '') {
    throw new FerryError('EINVAL', `no data root given: pass --root DIR${file ? ` or set "root" in ${file}` : ' or set "root" in a config file'}`);
  }
  merged.root = resolve(merged.root);
  const options = merged as unknown as ServerOptions;
  return logger ? { ...options, logger } : options;
}

function readConfigFile(file: string): Partial<ServerOptions> {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new FerryError(code === 'ENOENT' ? 'ENOENT' : 'EACCES', `cannot read config file ${file}: ${(error as Error).message}`);
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new FerryError('EINVAL', `config file ${file} is not valid JSON: ${(error as Error).message}`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw new FerryError('EINVAL', `config file ${file} must hold a JSON object of server options`);
  }
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(raw)) {
    if (!(key in KEYS)) {
      throw new FerryError('EINVAL', `unknown key "${key}" in config file ${file}; known keys: ${Object.keys(KEYS).join(', ')}`);
    }
    out[key] = readValue(key, KEYS[key as keyof typeof KEYS], value, `key in ${file}`);
  }
  // Paths in the file are the file's: relative to its directory.
  for (const key of ['root', 'tlsCert', 'tlsKey'] as const) {
    if (typeof out[key] === 'string') out[key] = resolve(dirname(file), out[key] as string);
  }
  return out as Partial<ServerOptions>;
}

function readValue(key: string, kind: Kind | 'list', value: unknown, where: string): string | number | string[] | Partial<ExecOptions> {
  const bad = (expected: string): FerryError => new FerryError('EINVAL', `"${key}" (${where}): expected ${expected}, got ${JSON.stringify(value)}`);
  let result: string | number;
  switch (kind) {
    case 'registration':
      if (value !== 'off' && value !== 'approval' && value !== 'open') throw bad('off, approval or open');
      return value;
    case 'tls':
      if (value !== 'auto' && value !== 'on' && value !== 'off') throw bad('auto, on or off');
      return value;
    case 'list':
      if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) throw bad('a list of strings');
      return [...(value as string[])];
    case 'exec': {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) throw bad('an object {allow, timeoutMs, maxOutputBytes, maxPerSession}');
      const out: Record<string, unknown> = {};
      for (const [field, fieldValue] of Object.entries(value)) {
        if (!(field in EXEC_KEYS)) throw new FerryError('EINVAL', `unknown key "exec.${field}" (${where}); known keys: ${Object.keys(EXEC_KEYS).join(', ')}`);
        if (fieldValue === undefined) continue;
        out[field] = readValue(`exec.${field}`, EXEC_KEYS[field as keyof ExecOptions], fieldValue, where);
      }
      try {
        // Checks the allowlist entries now, so the error names the file.
        normalizeExecOptions(out as Partial<ExecOptions>, DEFAULT_SERVER_OPTIONS.exec);
      } catch (error) {
        throw new FerryError('EINVAL', `${(error as Error).message} (${where})`);
      }
      return out as Partial<ExecOptions>;
    }
    case 'string':
      if (typeof value !== 'string' || value === '') throw bad('a non-empty string');
      return value;
    case 'port':
      if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > 65535) throw bad('a port number 0-65535');
      return value;
    case 'count':
      if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) throw bad('a whole number');
      result = value;
      break;
    case 'size':
    case 'duration':
      if (typeof value !== 'number' && typeof value !== 'string') throw bad(kind === 'size' ? 'a size like 8MiB' : 'a duration like 30s');
      try {
        result = kind === 'size' ? parseSize(value) : parseDuration(value);
      } catch (error) {
        throw new FerryError('EINVAL', `"${key}" (${where}): ${(error as Error).message}`);
      }
      break;
  }
  if (AT_LEAST_ONE.has(key) && result < 1) throw bad('at least 1');
  return result;
}

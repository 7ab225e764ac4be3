import os from 'node:os';
import path from 'node:path';

/**
 * Where ferry keeps things on the client and (by default) the server, following the XDG base
 * directory spec. Each function takes the environment as a parameter so tests can point it at a
 * temp dir without touching process.env. A relative XDG_* value is ignored, as the spec says.
 */
type Env = Readonly<Record<string, string | undefined>>;

function xdg(env: Env, variable: string, fallback: string[]): string {
  const value = env[variable];
  const base = value !== undefined && path.isAbsolute(value) ? value : path.join(homeDir(env), ...fallback);
  return path.join(base, 'ferry');
}

function homeDir(env: Env): string {
  const home = env.HOME;
  return home !== undefined && home !== '' ? home : os.homedir();
}

/** `$XDG_CONFIG_HOME/ferry`, default `~/.config/ferry`: config, bookmarks, known_hosts. */
export function configDir(env: Env = process.env): string {
  return xdg(env, 'XDG_CONFIG_HOME', ['.config']);
}

/** `$XDG_STATE_HOME/ferry`, default `~/.local/state/ferry`: transfer journals. */
export function stateDir(env: Env = process.env): string {
  return xdg(env, 'XDG_STATE_HOME', ['.local', 'state']);
}

/** `$XDG_DATA_HOME/ferry`, default `~/.local/share/ferry`: the server's default data root. */
export function dataDir(env: Env = process.env): string {
  return xdg(env, 'XDG_DATA_HOME', ['.local', 'share']);
}

/** Where transfer journals live: `<stateDir>/journal`. */
export function journalDir(env: Env = process.env): string {
  return path.join(stateDir(env), 'journal');
}

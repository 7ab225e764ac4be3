import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NODE_FLAGS } from '../../src/cli/node-flags.js';

const repo = fileURLToPath(new URL('../..', import.meta.url));
const distMain = join(repo, 'dist', 'src', 'cli', 'main.js');
const srcMain = join(repo, 'src', 'cli', 'main.ts');

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) newest = Math.max(newest, newestSource(full));
    else if (entry.name.endsWith('.ts')) newest = Math.max(newest, statSync(full).mtimeMs);
  }
  return newest;
}

/**
 * How to start the `ferry` command: the compiled dist/src/cli/main.js when a build exists that is
 * newer than every source file (as after `npm test`, which builds first), else the TypeScript
 * source through tsx. Either way it is the real bin in a real process.
 */
function command(): string[] {
  if (existsSync(distMain)) {
    const built = statSync(distMain).mtimeMs;
    if (built >= Math.max(newestSource(join(repo, 'src')), newestSource(join(repo, 'server')))) return [distMain];
  }
  return ['--import', import.meta.resolve('tsx'), srcMain];
}

/** node's options, then the program: what bin/ferry runs. */
const COMMAND = [...NODE_FLAGS, ...command()];

/** The argv that runs `ferry` (node and its arguments), for wrapping in script(1) or nsenter. */
export function ferryArgv(): string[] {
  return [process.execPath, ...COMMAND];
}

export interface CliOptions {
  env?: Record<string, string | undefined>;
  /** Written to stdin, then stdin is closed (stdin is always a pipe, never a terminal). */
  input?: string;
  cwd?: string;
  /** A command that runs ferry for us, e.g. ['nsenter', '-t', PID, '-n'] for another network namespace. */
  wrapper?: string[];
}

export interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Starts `ferry ...args` as a child process with pipes for stdio. */
export function spawnCli(args: string[], options: CliOptions = {}): ChildProcess {
  const env: Record<string, string | undefined> = { ...process.env, FERRY_PASSWORD: undefined, FERRY_USER: undefined, ...options.env };
  for (const key of Object.keys(env)) if (env[key] === undefined) delete env[key];
  const [program, ...rest] = [...(options.wrapper ?? []), process.execPath, ...COMMAND, ...args];
  const child = spawn(program!, rest, { cwd: options.cwd ?? repo, env, stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin!.end(options.input ?? '');
  return child;
}

/** Runs `ferry ...args` to the end and collects its output. */
export function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  const child = spawnCli(args, options);
  return collect(child);
}

/** Waits for a child started by spawnCli and gathers stdout and stderr. */
export function collect(child: ChildProcess): Promise<CliResult> {
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

import { spawn, type ChildProcess } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import { delimiter, join } from 'node:path';

/** How much of a child's stderr is kept for error messages: the end is where the reason is. */
const STDERR_KEEP = 16 * 1024;
/** sshd and vsftpd live in sbin, which a non-login root shell may lack on its PATH. */
const EXTRA_DIRS = ['/usr/sbin', '/sbin'];

/** The absolute path of `name` on PATH (or in sbin), or undefined when it is not installed. */
export async function findExecutable(name: string): Promise<string | undefined> {
  const dirs = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...EXTRA_DIRS];
  for (const dir of dirs) {
    const path = join(dir, name);
    try {
      await access(path, constants.X_OK);
      return path;
    } catch {
      // Not in this directory; try the next.
    }
  }
  return undefined;
}

/** A port on 127.0.0.1 that was free a moment ago: bound with port 0, then released. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('could not pick a free port'))));
    });
  });
}

/** Keeps the last STDERR_KEEP characters a stream wrote, for the error message when the child fails. */
export function tailOf(child: ChildProcess): () => string {
  let tail = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (chunk: string) => {
    tail = (tail + chunk).slice(-STDERR_KEEP);
  });
  return () => tail.trim();
}

/**
 * The end of a child: its exit code (or the signal that ended it), once its stdio has closed too,
 * so a stderr tail read afterwards is complete. Call it right after spawn: 'close' is not replayed.
 */
export function exitOf(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal }));
  });
}

/**
 * Runs a client command to its end, its stdout discarded (the transfers write files, not stdout),
 * and throws with the command and the end of its stderr when it exits non-zero or by a signal.
 * It is killed after `timeoutMs` (default 20 minutes: far beyond a slow 1 GiB transfer), so a
 * hung client fails the run instead of the bench.
 */
export async function runCommand(command: string, args: string[], timeoutMs = 20 * 60_000): Promise<void> {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const stderr = tailOf(child);
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill('SIGKILL');
  }, timeoutMs);
  try {
    const { code, signal } = await exitOf(child);
    const how = timedOut ? `was killed after ${timeoutMs / 1000} s` : signal ? `was killed by ${signal}` : `exited with code ${code}`;
    if (code !== 0) throw new Error(`${commandLine(command, args)} ${how}${stderr() ? `:\n${stderr()}` : ' (no stderr)'}`);
  } finally {
    clearTimeout(timer);
  }
}

/** Runs a command and returns its stdout and stderr together, whatever its exit code (for `-V` banners). */
export async function outputOf(command: string, args: string[]): Promise<string> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let text = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
  await exitOf(child);
  return text;
}

/** The command as one could paste it into a shell, for error messages. */
export function commandLine(command: string, args: string[]): string {
  return [command, ...args].map((word) => (/^[\w@%+=:,./-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`)).join(' ');
}

/**
 * Stops a child we started, by its ChildProcess (so by PID, never by name): SIGTERM, then SIGKILL
 * when it has not exited after `graceMs` (default 5 s).
 */
export async function stopChild(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  // 'exit', not 'close': a daemon's leftover session process could hold the stderr pipe open.
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
  await exited;
  clearTimeout(timer);
}

/** A daemon we started in the foreground: its PID, and a stop by that PID. */
export interface Daemon {
  readonly pid: number;
  stop(): Promise<void>;
}

/**
 * Spawns `command args` as a foreground daemon (stdin and stdout closed, stderr kept for errors)
 * and resolves once 127.0.0.1:`port` accepts connections; stops it again when it does not.
 */
export async function startDaemon(name: string, command: string, args: string[], port: number): Promise<Daemon> {
  const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const stderr = tailOf(child);
  try {
    await waitForPort(port, child, stderr, name);
  } catch (error) {
    await stopChild(child);
    throw error;
  }
  return { pid: child.pid!, stop: () => stopChild(child) };
}

/**
 * Waits until 127.0.0.1:`port` accepts a TCP connection, failing early when `child` exits (its
 * stderr tail in the message) and after `timeoutMs` (default 15 s).
 */
async function waitForPort(port: number, child: ChildProcess, stderr: () => string, name: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new Error(`${name} exited (${child.exitCode ?? child.signalCode}) before listening on 127.0.0.1:${port}${stderr() ? `:\n${stderr()}` : ''}`);
    }
    if (await accepts(port)) return;
    if (Date.now() > deadline) throw new Error(`${name} did not listen on 127.0.0.1:${port} within ${timeoutMs / 1000} s${stderr() ? `:\n${stderr()}` : ''}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

function accepts(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ServerOptions } from '../../server/options.js';
import type { TestUser } from './server.js';
import { NODE_FLAGS } from '../../src/cli/node-flags.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const PROJECT = resolve(HERE, '..', '..');
const MAIN = join(HERE, 'server-main.ts');

/** A ferry server in a child process, so a test can SIGKILL it and start it again. */
export interface ServerProcess {
  /** `ws://127.0.0.1:PORT`; the same across restarts. */
  readonly url: string;
  readonly port: number;
  /** The data root; the same across restarts. */
  readonly root: string;
  /** The current process id (changes with each restart). */
  readonly pid: number | undefined;
  /** Sends `signal` (default SIGKILL) and waits until the process is gone. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts the server again on the same port over the same root (after kill). */
  restart(): Promise<void>;
  /** Stops the server (SIGTERM, then SIGKILL after 5 s) and removes the root if it made it. */
  close(): Promise<void>;
}

/**
 * Starts `test/helpers/server-main.ts` in a child node process (through tsx) on 127.0.0.1,
 * port 0 the first time, over `root` or a fresh temp dir. Resolves once it listens.
 */
export async function startServerProcess(config: { users?: TestUser[]; options?: Partial<ServerOptions>; root?: string } = {}): Promise<ServerProcess> {
  const ownRoot = config.root === undefined;
  const root = config.root ?? (await mkdtemp(join(tmpdir(), 'ferry-test-proc-')));
  let child: ChildProcess | undefined;
  let port = 0;

  const launch = async () => {
    const { logger: _logger, ...options } = config.options ?? {};
    const argument = JSON.stringify({ root, port, users: config.users ?? [], options });
    const proc = spawn(process.execPath, ['--import', 'tsx', ...NODE_FLAGS, MAIN, argument], {
      cwd: PROJECT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child = proc;
    let stderr = '';
    proc.stderr!.on('data', (chunk: Buffer) => {
      stderr = (stderr + chunk.toString()).slice(-8_000);
      if (process.env.FERRY_TEST_LOG) process.stderr.write(chunk);
    });
    port = await new Promise<number>((resolvePort, reject) => {
      let stdout = '';
      const timer = setTimeout(() => {
        proc.kill('SIGKILL');
        reject(new Error(`server process did not start within 30 s: ${stderr}`));
      }, 30_000);
      proc.stdout!.on('data', (chunk: Buffer) => {
        stdout += chunk.toString();
        const line = stdout.split('\n').find((l) => l.startsWith('{'));
        if (!line) return;
        clearTimeout(timer);
        resolvePort((JSON.parse(line) as { port: number }).port);
      });
      proc.once('exit', (code, signal) => {
        clearTimeout(timer);
        reject(new Error(`server process exited (${code ?? signal}) before listening: ${stderr}`));
      });
    });
  };

  const waitExit = (proc: ChildProcess) =>
    new Promise<void>((resolveExit) => {
      if (proc.exitCode !== null || proc.signalCode !== null) return resolveExit();
      proc.once('exit', () => resolveExit());
    });

  await launch();
  return {
    get url() {
      return `ws://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    root,
    get pid() {
      return child?.pid;
    },
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      const proc = child;
      if (!proc) return;
      proc.kill(signal);
      await waitExit(proc);
    },
    async restart() {
      if (child && child.exitCode === null && child.signalCode === null) throw new Error('server process still running');
      // The port is free once the old process is gone, but another test's outgoing connection may
      // be given it as its ephemeral local port meanwhile (many tests run at once); that passes.
      for (let attempt = 1; ; attempt++) {
        try {
          await launch();
          return;
        } catch (error) {
          if (attempt >= 50 || !String((error as Error).message).includes('EADDRINUSE')) throw error;
          await new Promise((resolveWait) => setTimeout(resolveWait, 200));
        }
      }
    },
    async close() {
      const proc = child;
      if (proc && proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        const timer = setTimeout(() => proc.kill('SIGKILL'), 5_000);
        await waitExit(proc);
        clearTimeout(timer);
      }
      if (ownRoot) await rm(root, { recursive: true, force: true });
    },
  };
}

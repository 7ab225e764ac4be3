import { spawn, type ChildProcess } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { NODE_FLAGS } from '../src/cli/node-flags.js';

/** A `ferry serve` process started from the build, so its memory can be read apart from ours. */
export interface ServerChild {
  readonly port: number;
  readonly pid: number;
  /** Peak resident set size so far (VmHWM), in bytes. */
  peakRss(): Promise<number>;
  /** Current resident set size (VmRSS), in bytes. */
  rss(): Promise<number>;
  /** Starts a new peak: VmHWM is reset to the current RSS (Linux clear_refs 5). */
  resetPeak(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Starts `node NODE_FLAGS [nodeArgs] <cliMain> serve --root <root> --port 0 [extraArgs]` and waits for its
 * 'listening' log line.
 */
export async function startServerChild(cliMain: string, root: string, extraArgs: string[] = [], nodeArgs: string[] = []): Promise<ServerChild> {
  const child: ChildProcess = spawn(process.execPath, [...NODE_FLAGS, ...nodeArgs, cliMain, 'serve', '--root', root, '--port', '0', '--log-level', 'info', ...extraArgs], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const lines = createInterface({ input: child.stdout! });
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the server did not start within 30 s')), 30_000);
    child.once('exit', (code) => reject(new Error(`the server exited with ${code} before listening`)));
    lines.on('line', (line) => {
      try {
        const record = JSON.parse(line) as { msg?: string; port?: number };
        if (record.msg === 'listening' && typeof record.port === 'number') {
          clearTimeout(timer);
          resolve(record.port);
        }
      } catch {
        // Not a log line; the server prints only JSON, so ignore stray output.
      }
    });
  });
  // Keep draining stdout so the server never blocks on a full pipe.
  lines.on('line', () => {});
  const pid = child.pid!;
  const statusField = async (field: string) => {
    const status = await readFile(`/proc/${pid}/status`, 'utf8');
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(status);
    return match ? Number(match[1]) * 1024 : 0;
  };
  return {
    port,
    pid,
    peakRss: () => statusField('VmHWM'),
    rss: () => statusField('VmRSS'),
    resetPeak: () => writeFile(`/proc/${pid}/clear_refs`, '5'),
    stop: () =>
      new Promise<void>((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once('exit', () => resolve());
        child.kill('SIGTERM');
        setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
      }),
  };
}

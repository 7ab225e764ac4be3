import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from '../../server/index.js';
import { createLogger } from '../../server/log.js';
import { homeDir } from '../../server/storage/usage.js';
import { formatRemote } from '../client/url.js';
import { FerryError } from '../protocol/index.js';

/** A running demo: an in-process server on loopback over a throwaway data root. */
export interface DemoServer {
  host: string;
  port: number;
  user: string;
  password: string;
  /** `ferry://demo@127.0.0.1:PORT/` */
  url: string;
  /** The temporary data root (removed by close()). */
  root: string;
  /** The server's JSON log. */
  logFile: string;
  close(): Promise<void>;
}

export interface DemoOptions {
  /** Default 0: a free port. */
  port?: number;
  /** Default: a random one. */
  password?: string;
  /** The tree copied into the demo user's home. Default: fixtures/demo of this package. */
  fixtures?: string;
}

/** What runs while the demo server is up: the TUI once it exists; until then waitForInterrupt. */
export type DemoLauncher = (demo: DemoServer) => Promise<void>;

/** Finds fixtures/demo by walking up from this file (works from src/ and from dist/src/). */
export function defaultDemoFixtures(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  for (;;) {
    const candidate = path.join(dir, 'fixtures', 'demo');
    const pkg = path.join(dir, 'package.json');
    if (existsSync(candidate) && existsSync(pkg) && (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'ferry') return candidate;
    const parent = path.dirname(dir);
    if (parent === dir) throw new FerryError('ENOENT', 'cannot find fixtures/demo next to the ferry package');
    dir = parent;
  }
}

/**
 * Starts the demo: a temp data root, user `demo` whose home is a copy of the fixtures, a server
 * on 127.0.0.1. The fixtures themselves are never touched.
 */
export async function startDemo(options: DemoOptions = {}): Promise<DemoServer> {
  const fixtures = options.fixtures ?? defaultDemoFixtures();
  const root = await mkdtemp(path.join(os.tmpdir(), 'ferry-demo-'));
  const logFile = path.join(root, 'server.log');
  const user = 'demo';
  const password = options.password ?? randomBytes(9).toString('base64url');
  const server = createServer({ root, host: '127.0.0.1', port: options.port ?? 0, logger: createLogger({ level: 'info', destination: logFile }) });
  try {
    await server.users.add(user, password);
    await cp(fixtures, homeDir(root, user), { recursive: true });
    const { host, port } = await server.listen();
    return {
      host,
      port,
      user,
      password,
      url: formatRemote({ user, host, port, path: '/' }),
      root,
      logFile,
      async close() {
        await server.close();
        await rm(root, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await server.close().catch(() => undefined);
    await rm(root, { recursive: true, force: true });
    throw error;
  }
}

/** How to reach the demo from another terminal. */
export function demoInstructions(demo: DemoServer): string {
  return [
    `ferry demo server running on ${demo.host}:${demo.port}`,
    `  user: ${demo.user}   password: ${demo.password}`,
    '',
    'Try, in another terminal:',
    `  export FERRY_PASSWORD='${demo.password}'`,
    `  ferry ls -l ${demo.url}`,
    `  ferry get -r ${demo.url}notes .          # → ./notes`,
    `  ferry put ./some-file ${demo.url}`,
    '(in the ferry checkout, `npx ferry` runs the ferry command)',
    '',
    `Server log: ${demo.logFile}`,
    'Press Ctrl-C to stop (the demo data is deleted).',
    '',
  ].join('\n');
}

/** The launcher until the TUI exists: print how to connect, wait for Ctrl-C or SIGTERM. */
export const waitForInterrupt: DemoLauncher = async (demo) => {
  process.stdout.write(demoInstructions(demo));
  await new Promise<void>((resolve) => {
    const stop = () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
};

/** Starts the demo, hands it to `launcher`, and cleans up when the launcher returns. */
export async function runDemo(options: DemoOptions = {}, launcher: DemoLauncher = waitForInterrupt): Promise<void> {
  const demo = await startDemo(options);
  try {
    await launcher(demo);
  } finally {
    await demo.close();
  }
}

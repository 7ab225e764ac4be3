import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer, type FerryServer, type ServerParts } from '../../server/index.js';
import { createLogger } from '../../server/log.js';
import type { ServerOptions } from '../../server/options.js';

export interface TestUser {
  name: string;
  password: string;
  /** Bytes; 0 or absent = unlimited. */
  quota?: number;
}

export interface TestServer {
  /** 'ws://127.0.0.1:PORT', or 'wss://…' for a server with TLS */
  url: string;
  port: number;
  /** The server's data root (a fresh temp dir, removed by close()). */
  root: string;
  server: FerryServer;
  /** Stops the server and removes the temp dir. */
  close(): Promise<void>;
}

/**
 * Starts a real ferry server on 127.0.0.1, port 0, over a fresh temp dir, with the given users
 * created through the server's own user store. Logging is silent unless FERRY_TEST_LOG names a
 * pino level (e.g. FERRY_TEST_LOG=debug), then it goes to stderr.
 * `parts` go to createServer as they are (e.g. `{ heartbeatMs: 100 }`).
 * `options.root` may point at an existing root (e.g. to restart a server over the same data);
 * that root is then left in place by close().
 */
export async function startTestServer(
  config: { users?: TestUser[]; options?: Partial<ServerOptions>; parts?: ServerParts } = {},
): Promise<TestServer> {
  const ownRoot = config.options?.root === undefined;
  const root = config.options?.root ?? (await mkdtemp(join(tmpdir(), 'ferry-test-server-')));
  const level = process.env.FERRY_TEST_LOG;
  const logger = config.options?.logger ?? createLogger(level ? { level: level as 'debug', destination: 2 } : { level: 'silent' });
  const server = createServer({ host: '127.0.0.1', port: 0, ...config.options, root, logger }, config.parts);
  try {
    for (const user of config.users ?? []) {
      if (!server.users.get(user.name)) await server.users.add(user.name, user.password, { quota: user.quota ?? 0 });
    }
    const { port } = await server.listen();
    return {
      url: `${server.tls ? 'wss' : 'ws'}://127.0.0.1:${port}`,
      port,
      root,
      server,
      async close() {
        await server.close();
        if (ownRoot) await rm(root, { recursive: true, force: true });
      },
    };
  } catch (error) {
    await server.close().catch(() => {});
    if (ownRoot) await rm(root, { recursive: true, force: true });
    throw error;
  }
}

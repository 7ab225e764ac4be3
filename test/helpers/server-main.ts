/*
 * Runs a ferry server in its own process for tests that kill it (SIGKILL) and start it again.
 * argv[2] is JSON: {root, port, users?: [{name, password, quota?}], options?}. Prints one line
 * of JSON, {"port": N}, on stdout once listening. SIGTERM closes the server cleanly.
 */
import { createServer } from '../../server/index.js';
import { createLogger } from '../../server/log.js';
import type { ServerOptions } from '../../server/options.js';

interface Config {
  root: string;
  port: number;
  users?: Array<{ name: string; password: string; quota?: number }>;
  options?: Partial<ServerOptions>;
}

const config = JSON.parse(process.argv[2] ?? '{}') as Config;
const level = process.env.FERRY_TEST_LOG;
const logger = createLogger(level ? { level: level as 'debug', destination: 2 } : { level: 'silent' });
const server = createServer({ ...config.options, host: '127.0.0.1', port: config.port, root: config.root, logger });
for (const user of config.users ?? []) {
  if (!server.users.get(user.name)) await server.users.add(user.name, user.password, { quota: user.quota ?? 0 });
}
const { port } = await server.listen();
process.stdout.write(`${JSON.stringify({ port })}\n`);
process.once('SIGTERM', () => {
  void server.close().then(() => process.exit(0));
});

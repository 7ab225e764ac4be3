import type { Command } from 'commander';
import { runDemo } from './demo.js';
import { parsePort } from './serve-command.js';

/** `ferry demo` (what `npm start` runs). */
export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .summary('start a throwaway demo server with sample files')
    .description('Start a server on 127.0.0.1 over a temporary data root with user "demo" whose home holds sample files; prints how to connect. Everything is deleted on Ctrl-C.')
    .option('--port <port>', 'port (default: a free one)', parsePort)
    .option('--password <password>', 'password of the demo user (default: random)')
    .action(async (flags: { port?: number; password?: string }) => {
      await runDemo({ ...(flags.port === undefined ? {} : { port: flags.port }), ...(flags.password === undefined ? {} : { password: flags.password }) });
    });
}

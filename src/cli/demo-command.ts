import type { Command } from 'commander';
import { runDemo, waitForInterrupt } from './demo.js';
import { parsePort } from './serve-command.js';
import { hasTerminal, tuiDemoLauncher } from './tui-command.js';

/** `ferry demo` (what `npm start` runs). */
export function registerDemoCommand(program: Command): void {
  program
    .command('demo')
    .summary('try ferry: a throwaway server with sample files, opened in the file manager')
    .description(
      'Start a server on 127.0.0.1 over a temporary data root with user "demo" whose home holds sample files, and open the file manager logged in (your current directory on the left, the demo home on the right). With --no-tui, or when not on a terminal, it only serves and prints how to connect. Everything is deleted when it ends.',
    )
    .option('--port <port>', 'port (default: a free one)', parsePort)
    .option('--password <password>', 'password of the demo user (default: random)')
    .option('--no-tui', 'only run the server and print how to connect (until Ctrl-C)')
    .action(async (flags: { port?: number; password?: string; tui: boolean }) => {
      const launcher = flags.tui && hasTerminal() ? tuiDemoLauncher : waitForInterrupt;
      await runDemo({ ...(flags.port === undefined ? {} : { port: flags.port }), ...(flags.password === undefined ? {} : { password: flags.password }) }, launcher);
    });
}

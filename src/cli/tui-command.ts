import os from 'node:os';
import type { Command } from 'commander';
import { Session } from '../client/session.js';
import { isRemoteUrl, parseRemoteUrl } from '../client/url.js';
import { LocalFileSystem } from '../fs/local-file-system.js';
import { FerryError } from '../protocol/index.js';
import type { RunTuiOptions } from '../../ui/run-tui.js';
import { isSftpUrl } from '../fs/sftp/sftp-url.js';
import { UsageError } from './cli-errors.js';
import { openSftpLocation } from './sftp-login.js';
import type { DemoLauncher } from './demo.js';

/** True when both ends of the terminal are a terminal: the TUI needs one to draw on and read keys from. */
export function hasTerminal(): boolean {
  return process.stdin.isTTY === true && process.stdout.isTTY === true;
}

/**
 * Loads the TUI (React and ink only load when it runs, so the other commands start fast, and
 * React in its production build unless NODE_ENV says otherwise) and runs it. Ink stops drawing frames when it believes it runs in CI (CI or CONTINUOUS_INTEGRATION
 * set): on a real terminal that would leave a blank screen, so the check is switched off while
 * ink loads and the variables are put back for the processes we start (the editor).
 */
export async function launchTui(options: RunTuiOptions): Promise<void> {
  if (!hasTerminal()) throw new UsageError('the file manager needs a terminal (stdin and stdout must be a TTY); see ferry --help for the commands');
  // React picks its development or production build when it first loads: the development one
  // checks every render and is several times slower on big directories.
  process.env.NODE_ENV ??= 'production';
  const saved = { CI: process.env.CI, CONTINUOUS_INTEGRATION: process.env.CONTINUOUS_INTEGRATION };
  for (const key of Object.keys(saved) as (keyof typeof saved)[]) if (saved[key] !== undefined) process.env[key] = 'false';
  let runTui: (options: RunTuiOptions) => Promise<void>;
  try {
    ({ runTui } = await import('../../ui/run-tui.js'));
  } finally {
    for (const key of Object.keys(saved) as (keyof typeof saved)[]) {
      if (saved[key] === undefined) delete process.env[key];
      else process.env[key] = saved[key];
    }
  }
  await runTui(options);
}

/**
 * `user@host[:port]` or a ferry URL of any scheme (ferry://, ferrys://, ferry+wss://, ferry+ws://,
 * without a path) as the login dialog's fields. `tls` is what the scheme says; a bare target
 * means what ferry:// does (TLS, except to loopback). The user defaults to FERRY_USER, then the
 * login name, as for URLs.
 */
export function parseConnectTarget(text: string, env: NodeJS.ProcessEnv = process.env): { host: string; port: number; user: string; tls: boolean } {
  let url;
  try {
    // Another scheme (https://…) goes to the parser too, which names it, rather than becoming a host.
    url = parseRemoteUrl(isRemoteUrl(text) || /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `ferry://${text}`);
  } catch (error) {
    throw new UsageError(error instanceof FerryError ? error.message : String(error));
  }
  if (url.path !== '/') throw new UsageError(`connect takes user@host[:port], without a path: ${JSON.stringify(text)}`);
  return { host: url.host, port: url.port, user: url.user ?? (env.FERRY_USER || os.userInfo().username), tls: url.tls };
}

/** The demo launcher that opens the TUI logged in as the demo user: the cwd on the left, the demo home on the right. */
export const tuiDemoLauncher: DemoLauncher = async (demo) => {
  const session = await Session.connect({ url: `ws://${demo.host}:${demo.port}`, user: demo.user, password: demo.password });
  try {
    await launchTui({ session, left: new LocalFileSystem() });
  } finally {
    await session.close();
  }
};

/** `ferry` with no arguments (the TUI with the login dialog) and `ferry connect user@host[:port]`. */
export function registerTuiCommands(program: Command): void {
  program.action(async () => {
    await launchTui({ connect: true });
  });
  program
    .command('connect')
    .summary('open the file manager logged in to a server')
    .description(
      'Open the file manager with the local disk on the left and your home on the server on the right. The password saved in the keychain is used when there is one; otherwise the login dialog asks (and can save it).',
    )
    .argument(
      '<user@host[:port]>',
      'the server, e.g. alice@files.example:7070 (port 7070 by default; TLS except to loopback), or a URL: ferrys://… for TLS, ferry+ws://… for plain, sftp://[user@]host[/path] for any SSH server (an ~/.ssh/config alias too)',
    )
    .option('--fingerprint <sha256>', "an SSH server's host key fingerprint (SHA256:…, from ssh-keygen -lf), accepted without asking")
    .action(async (target: string, flags: { fingerprint?: string }) => {
      if (isSftpUrl(target)) {
        if (!hasTerminal()) throw new UsageError('the file manager needs a terminal (stdin and stdout must be a TTY); see ferry --help for the commands');
        // The host key question and the password are asked on the terminal before the panes draw, as ssh does.
        const { fs, path } = await openSftpLocation(target, { passwordStdin: false, ...(flags.fingerprint ? { fingerprint: flags.fingerprint } : {}) });
        try {
          await launchTui({ right: fs, rightPath: path });
        } finally {
          fs.close();
        }
        return;
      }
      await launchTui({ initialConnect: parseConnectTarget(target) });
    });
}

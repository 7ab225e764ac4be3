import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { registerDemoCommand } from './demo-command.js';
import { reportError } from './cli-errors.js';
import { registerExecCommand } from './exec-command.js';
import { EXIT, exitCodesHelp, type ExitCode } from './exit-codes.js';
import { registerFileCommands } from './file-commands.js';
import { registerLsCommand } from './ls-command.js';
import { registerRegisterCommand } from './register-command.js';
import { registerServeCommand } from './serve-command.js';
import { registerTransferCommands } from './transfer-command.js';
import { registerTuiCommands } from './tui-command.js';
import { registerUserCommand } from './user-command.js';

const MORE_HELP = `
Without a command, ferry opens the file manager (local disk | server) with the login dialog;
\`ferry connect alice@files.example\` opens it logged in. F1 inside lists the keys.

Remote paths are URLs: ferry://[user@]host[:port]/path (port 7070 by default; the user defaults
to $FERRY_USER, then your login name). The path is relative to your home on the server.
ferry:// is encrypted (TLS) to every host but loopback; ferrys:// is TLS always, ferry+ws://
plain always (a server started with --insecure). The first time a TLS server's certificate is
neither pinned nor from a trusted CA, its fingerprint is shown and you are asked (on a terminal;
else pass --fingerprint SHA256:… or FERRY_FINGERPRINT); accepted ones are kept in
$XDG_CONFIG_HOME/ferry/known_hosts, and a changed one is refused.

Password: --password-stdin, else $FERRY_PASSWORD, else asked on the terminal.
Transfers resume by default: run the same get/put again after an interruption and it continues
(journal in $XDG_STATE_HOME/ferry, partial files next to the destination).

Examples:
  ferry serve --root /srv/ferry --host 0.0.0.0      # TLS, with its own certificate
  ferry user add alice --quota 10GiB
  FERRY_PASSWORD=... ferry ls -l ferry://alice@files.example:7070/
  ferry get -r -j 8 ferry://alice@files.example/photos ./photos
  ferry put report.pdf ferry://alice@files.example/docs/

${exitCodesHelp()}
`;

function version(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version?: string };
    if (pkg.version) return pkg.version;
  } catch {
    // From dist/ the package file is one level further up.
  }
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version?: string };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

/** The whole `ferry` command line. `setExit` lets an action choose a non-zero status without throwing. */
export function buildProgram(setExit: (code: ExitCode) => void): Command {
  const program = new Command('ferry')
    .description('A dual-pane file manager and its multi-user file server, with transfers that resume byte for byte.')
    .version(version(), '-V, --version')
    .exitOverride()
    .configureOutput({
      outputError: (message, write) => write(`ferry: ${message.replace(/^error: /, '')}`),
    })
    .showSuggestionAfterError(true)
    .addHelpText('after', MORE_HELP);
  registerLsCommand(program);
  registerTransferCommands(program, setExit);
  registerFileCommands(program);
  registerServeCommand(program);
  registerExecCommand(program, setExit);
  registerRegisterCommand(program);
  registerUserCommand(program);
  registerDemoCommand(program);
  registerTuiCommands(program);
  return program;
}

/**
 * Runs the command line `argv` (as process.argv: node, script, args…) and returns the exit
 * status (see exit-codes.ts). Errors are reported on stderr, never thrown.
 */
export async function runCli(argv: string[]): Promise<ExitCode> {
  let status: ExitCode = EXIT.OK;
  const program = buildProgram((code) => {
    status = code;
  });
  try {
    await program.parseAsync(argv);
    return status;
  } catch (error) {
    if (error instanceof CommanderError) {
      if (error.exitCode === 0) return EXIT.OK;
      // Commander has printed its message already; say where to look.
      process.stderr.write("Try 'ferry --help'.\n");
      return EXIT.USAGE;
    }
    return reportError(error);
  }
}

import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import { loadServerConfig } from '../../server/config.js';
import { createServer } from '../../server/index.js';
import { createLogger } from '../../server/log.js';
import { loadTlsIdentity } from '../../server/tls/server-identity.js';
import { isLoopback, wantsTls } from '../../server/tls/transport.js';
import { dataDir } from '../util/paths.js';
import { UsageError } from './cli-errors.js';
import { NODE_FLAGS, hasNodeFlags } from './node-flags.js';

interface ServeFlags {
  root?: string;
  host?: string;
  port?: number;
  maxSessions?: number;
  maxSessionsPerUser?: number;
  config?: string;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  insecure?: boolean;
  execAllow?: string[];
  registration?: 'off' | 'approval' | 'open';
  tls?: boolean;
  tlsCert?: string;
  tlsKey?: string;
  fingerprint?: boolean;
}

/** `--exec-allow uname,wc --exec-allow /usr/local/bin/report`: the lists, joined. */
function collectPrograms(value: string, previous: string[] | undefined): string[] {
  const programs = value
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
  if (programs.length === 0) throw new InvalidArgumentError('expected program names or absolute paths, separated by commas');
  return [...(previous ?? []), ...programs];
}

export function parseCount(value: string): number {
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('expected a whole number ≥ 1');
  return n;
}

export function parsePort(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('expected a port number 0-65535');
  return n;
}


/** `ferry serve`: the file server, in the foreground, JSON logs on stdout. */
export function registerServeCommand(program: Command): void {
  program
    .command('serve')
    .summary('run a ferry server')
    .description(
      'Run the server in the foreground, logging JSON lines to stdout. Ctrl-C or SIGTERM stop it cleanly (partial uploads ' +
        'are kept for resuming); SIGHUP reads the TLS certificate again without dropping anyone. Off loopback (e.g. ' +
        '--host 0.0.0.0) it speaks TLS (wss://): with --tls-cert/--tls-key, or else with a self-signed certificate it makes ' +
        'once under ROOT/tls/ and whose fingerprint it prints for you to hand out (clients pin it on first use). On loopback ' +
        'it speaks plain ws:// unless --tls; a TLS server still takes plain ws:// from this machine. --insecure: plain ws:// ' +
        'off loopback (only on a network you trust).',
    )
    .option('--root <dir>', 'data root: users.db, homes/, partials/ (default: $XDG_DATA_HOME/ferry or ~/.local/share/ferry)')
    .option('--host <host>', 'address to listen on (default 127.0.0.1)')
    .option('--port <port>', 'port; 0 picks a free one (default 7070)', parsePort)
    .option('--max-sessions <n>', 'logged-in sessions at once; later clients wait in a queue (default 64)', parseCount)
    .option('--max-sessions-per-user <n>', 'sessions per user at once (default 8)', parseCount)
    .option('--config <file>', 'JSON file of server options (flags win over it)')
    .option(
      '--exec-allow <programs>',
      'programs users with the exec permission may run (ferry exec): names looked up in the system dirs, or absolute paths; comma-separated, repeatable (default: none, remote commands off)',
      collectPrograms,
    )
    .addOption(new Option('--registration <mode>', 'self-registration (ferry register): off, approval (an admin approves each account) or open (default off)').choices(['off', 'approval', 'open']))
    .addOption(new Option('--log-level <level>', 'log level').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'))
    .option('--tls', 'speak TLS (wss://) on loopback too (off loopback it always does, unless --insecure)')
    .option('--tls-cert <file>', 'PEM certificate (the chain may follow it) for TLS; implies --tls')
    .option('--tls-key <file>', 'PEM private key of --tls-cert (not encrypted)')
    .option('--fingerprint', "print the TLS certificate's SHA-256 fingerprint (making the self-signed one if there is none yet) and exit")
    .option('--insecure', 'plain ws:// off loopback, without TLS (passwords and files cross the network unencrypted)')
    .action(async (flags: ServeFlags) => {
      await serve(flags);
    });
}

async function serve(flags: ServeFlags): Promise<void> {
  const logger = createLogger({ level: flags.logLevel });
  const root = flags.root ?? (configNamesRoot(flags.config) ? undefined : dataDir());
  const options = loadServerConfig(flags.config, {
    root,
    host: flags.host,
    port: flags.port,
    maxSessions: flags.maxSessions,
    maxSessionsPerUser: flags.maxSessionsPerUser,
    exec: flags.execAllow === undefined ? undefined : { allow: flags.execAllow },
    registration: flags.registration,
    tls: flags.tls || flags.fingerprint ? 'on' : flags.insecure ? 'off' : undefined,
    tlsCert: flags.tlsCert === undefined ? undefined : resolve(flags.tlsCert),
    tlsKey: flags.tlsKey === undefined ? undefined : resolve(flags.tlsKey),
    logger,
  } as Parameters<typeof loadServerConfig>[1]);
  if (flags.fingerprint) {
    const identity = await loadTlsIdentity(options.root, { certFile: options.tlsCert, keyFile: options.tlsKey }, [options.host]);
    process.stdout.write(`${identity.fingerprint}\n${identity.fingerprintHex}\n`);
    return;
  }
  if (flags.insecure && (flags.tls || flags.tlsCert !== undefined || flags.tlsKey !== undefined)) {
    throw new UsageError('--insecure (plain ws://) contradicts --tls, --tls-cert and --tls-key: drop one of them');
  }
  if (!wantsTls(options) && !isLoopback(options.host) && !flags.insecure) {
    throw new UsageError(
      `refusing to listen on ${options.host} without TLS ("tls": "off" in the config): passwords and files would cross the network in clear text. ` +
        'Drop "tls": "off" (the server then makes its own certificate), listen on 127.0.0.1, or pass --insecure if you accept that.',
    );
  }
  const server = createServer(options);
  if (!hasNodeFlags()) {
    logger.warn({ missing: NODE_FLAGS }, 'node was started without ferry\'s V8 options (bin/ferry passes them): receiving costs up to twice the CPU');
  }
  // The handlers go in before listening: a SIGTERM that arrives just after the 'listening' line
  // (a supervisor, a test) must still stop the server cleanly, not kill it with the default action.
  let requestStop!: () => void;
  const stopRequested = new Promise<void>((resolve) => {
    requestStop = resolve;
  });
  const onSignal = () => requestStop();
  // Certificate rotation (a renewed Let's Encrypt certificate): new handshakes get the new one.
  const onHangup = () => {
    if (server.tls === undefined) return;
    server.reloadTls().catch((error: unknown) => logger.error({ err: error }, 'tls reload failed; the previous certificate stays'));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  process.on('SIGHUP', onHangup);
  try {
    const address = await server.listen();
    if (server.tls !== undefined) {
      // For the person starting it: what clients will be asked to compare (also in the JSON log).
      process.stderr.write(
        `ferry: listening on ${address.host}:${address.port} with TLS, fingerprint ${server.tls.fingerprint}\n` +
          '       clients see it on first contact; hand it out (ferry serve --fingerprint prints it again)\n',
      );
    }
    await stopRequested;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('SIGHUP', onHangup);
    await server.close();
  }
  logger.flush();
}

/** Whether a config file sets "root" (so the default data root must not override it). */
function configNamesRoot(file: string | undefined): boolean {
  if (file === undefined) return false;
  try {
    const raw = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    return typeof raw === 'object' && raw !== null && 'root' in raw;
  } catch {
    // loadServerConfig reads it again and reports the problem properly.
    return false;
  }
}

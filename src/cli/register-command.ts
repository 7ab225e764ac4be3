import type { Command } from 'commander';
import { registerAccount } from '../client/register.js';
import { hostPortOf, isRemoteUrl, parseRemoteUrl, type RemoteUrl } from '../client/url.js';
import { UsageError } from './cli-errors.js';
import { cliTrust } from './remote.js';
import { promptPassword, readPasswordFromStdin } from './password.js';

interface RegisterFlags {
  passwordStdin?: boolean;
  fingerprint?: string;
}

/**
 * Parses `user@host[:port]` (or the same as a ferry:// URL, whose path is ignored). The user is
 * required: it is the name being asked for.
 */
export function parseAccount(text: string): RemoteUrl & { user: string } {
  let url: RemoteUrl;
  try {
    url = parseRemoteUrl(isRemoteUrl(text) ? text : `ferry://${text}`);
  } catch (error) {
    throw new UsageError(`${(error as Error).message.replace(/ \(expected .*\)$/, '')} (expected NAME@HOST[:PORT])`);
  }
  if (url.user === undefined || url.user === '') throw new UsageError(`no account name in ${JSON.stringify(text)} (expected NAME@HOST[:PORT])`);
  return { ...url, user: url.user };
}

/** The password for a new account: from stdin, or typed twice on the terminal. */
async function chosenPassword(flags: RegisterFlags, account: string): Promise<string> {
  if (flags.passwordStdin) return readPasswordFromStdin();
  if (!process.stdin.isTTY) throw new UsageError('no terminal to ask for the password on: pass --password-stdin and write it to standard input');
  const first = await promptPassword(`Choose a password for ${account}: `);
  const second = await promptPassword('Again: ');
  if (first !== second) throw new UsageError('the two passwords differ');
  return first;
}

/** `ferry register NAME@HOST[:PORT]`: asks a server for an account. */
export function registerRegisterCommand(program: Command): void {
  program
    .command('register')
    .summary('ask a server for an account')
    .description(
      'Create an account on a server that accepts registrations. Depending on the server, the account works at once or ' +
        'waits until its administrator approves it (ferry user approve on the server).',
    )
    .argument('<account>', 'NAME@HOST[:PORT], e.g. alice@files.example:7070')
    .option('--password-stdin', 'read the password from standard input instead of asking twice')
    .option('--fingerprint <sha256>', "the TLS server's certificate fingerprint (SHA256:…), when it is not pinned yet; else FERRY_FINGERPRINT")
    .action(async (text: string, flags: RegisterFlags) => {
      const account = parseAccount(text);
      const where = `${account.host}:${account.port}`;
      // The server's identity is settled before a password is chosen or sent.
      const trust = account.tls ? await cliTrust(hostPortOf(account.wsUrl), { passwordStdin: flags.passwordStdin === true, ...(flags.fingerprint ? { fingerprint: flags.fingerprint } : {}) }) : undefined;
      const password = await chosenPassword(flags, `${account.user}@${where}`);
      const result = await registerAccount({
        url: account.wsUrl,
        user: account.user,
        password,
        ...(trust ? { identity: trust.policy, onIdentity: trust.accepted } : {}),
      });
      if (result.status === 'pending') {
        process.stdout.write(`account ${result.user} created on ${where}; it is waiting for the administrator's approval before you can log in\n`);
      } else {
        process.stdout.write(`account ${result.user} created on ${where}; log in with ferry ls ferry://${result.user}@${where}/\n`);
      }
    });
}

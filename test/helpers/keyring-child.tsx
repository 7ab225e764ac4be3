import { connectWithCredentials, PasswordNeededError } from '../../src/credentials/connect.js';
import { HostBook } from '../../src/credentials/host-book.js';
import { KEYCHAIN_SERVICE, deletePassword, getPassword, keychainStatus, setPassword } from '../../src/credentials/keychain.js';
import { FerryError } from '../../src/protocol/index.js';
import { RESULT_MARK, type KeyringResult, type KeyringStep } from './keyring-session.js';

/*
 * The process a keyring test starts inside a keyring session (see keyring-session.ts): it runs
 * the steps given as JSON in argv[2] against the real OS keychain and the real host book of its
 * HOME, and prints their results as one JSON line. A failing step records its error and the
 * next step still runs.
 */

function describe(error: unknown): NonNullable<KeyringResult['error']> {
  if (error instanceof PasswordNeededError) return { code: error.code, message: error.message, name: error.name, why: error.why };
  if (error instanceof FerryError) return { code: error.code, message: error.message, name: error.name };
  return { code: 'UNEXPECTED', message: error instanceof Error ? (error.stack ?? error.message) : String(error), name: 'Error' };
}

async function runStep(step: KeyringStep): Promise<KeyringResult> {
  switch (step.op) {
    case 'status':
      return { op: step.op, status: await keychainStatus() };
    case 'set':
      await setPassword(KEYCHAIN_SERVICE, step.account, step.password);
      return { op: step.op };
    case 'get':
      return { op: step.op, value: await getPassword(KEYCHAIN_SERVICE, step.account) };
    case 'delete':
      return { op: step.op, deleted: await deletePassword(KEYCHAIN_SERVICE, step.account) };
    case 'hosts':
      return { op: step.op, data: await new HostBook().load() };
    case 'connect': {
      const notices: string[] = [];
      const session = await connectWithCredentials({
        host: step.host,
        port: step.port,
        user: step.user,
        ...(step.password === undefined ? {} : { password: step.password }),
        ...(step.save === undefined ? {} : { save: step.save }),
        onNotice: (message) => notices.push(message),
        session: { reconnect: false },
      });
      // A request proves the session is really logged in, not just connected.
      const listing = await session.request('list', { path: '/' });
      await session.close();
      return { op: step.op, user: session.user, entries: listing.entries.length, notices };
    }
  }
}

const steps = JSON.parse(process.argv[2] ?? '[]') as KeyringStep[];
const results: KeyringResult[] = [];
for (const step of steps) {
  try {
    results.push(await runStep(step));
  } catch (error) {
    results.push({ op: step.op, error: describe(error) });
  }
}
process.stdout.write(`${RESULT_MARK}${JSON.stringify(results)}\n`);

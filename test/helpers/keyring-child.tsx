import { render } from 'ink-testing-library';
import { connectWithCredentials, PasswordNeededError } from '../../src/credentials/connect.js';
import { HostBook } from '../../src/credentials/host-book.js';
import { KEYCHAIN_SERVICE, deletePassword, getPassword, keychainStatus, setPassword } from '../../src/credentials/keychain.js';
import { FerryError } from '../../src/protocol/index.js';
import { LoginDialog, type LoginValues } from '../../ui/dialogs/login-dialog.js';
import { RESULT_MARK, type KeyringResult, type KeyringStep } from './keyring-session.js';
import { inAct } from './ink-act.js';

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

/** Logs in with a fresh session, proves it with a listing, closes it. */
async function logIn(values: { host: string; port: number; user: string; password?: string; save?: boolean }): Promise<KeyringResult> {
  const notices: string[] = [];
  const session = await connectWithCredentials({ ...values, onNotice: (message) => notices.push(message), session: { reconnect: false } });
  const listing = await session.request('list', { path: '/' });
  await session.close();
  return { op: 'connect', user: session.user, entries: listing.entries.length, notices };
}

/**
 * What the TUI does at its start: the host book and the keychain's status feed the login dialog,
 * the user types, and the dialog's answer goes to connectWithCredentials.
 */
async function dialogLogin(keys: string[]): Promise<KeyringResult> {
  const [book, keychain] = await Promise.all([new HostBook().load(), keychainStatus()]);
  let submitted: LoginValues | undefined;
  let app!: ReturnType<typeof render>;
  await inAct(() => {
    app = render(
      <LoginDialog isActive recent={book.recent} bookmarks={book.bookmarks} keychain={keychain} onSubmit={(values) => (submitted = values)} onCancel={() => {}} />,
    );
  });
  const opened = app.lastFrame() ?? '';
  for (const key of keys) await inAct(() => app.stdin.write(key));
  const before = app.lastFrame() ?? '';
  await inAct(() => app.unmount());
  if (!submitted) return { op: 'dialog-login', opened, before, submitted: null };
  const { password, ...shown } = submitted;
  const result = await logIn({ ...shown, ...(password === '' ? {} : { password }) });
  return { ...result, op: 'dialog-login', opened, before, submitted: { ...shown, typedPassword: password !== '' } };
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
      const { op: _op, ...values } = step;
      return logIn(values);
    }
    case 'dialog-login':
      return dialogLogin(step.keys);
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

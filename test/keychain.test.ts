import test from 'ava';
import { readFile, readdir } from 'node:fs/promises';
import path from 'node:path';
import { describeKeychainError, keychainAccount } from '../src/credentials/keychain.js';
import { createKeyringHome, keyringUnavailable, type KeyringResult } from './helpers/keyring-session.js';
import { startTestServer } from './helpers/server.js';
import { flatFrame as flat } from './helpers/ink-act.js';

/*
 * The real keychain: gnome-keyring's Secret Service on a private D-Bus session in a temp HOME,
 * driven through child processes (each one is "ferry started again"). Nothing here touches the
 * keychain of the machine.
 */

const skip = keyringUnavailable === undefined ? '' : ` (skipped: ${keyringUnavailable})`;
const keyringTest = keyringUnavailable === undefined ? test.serial : test.serial.skip;

/** Every file under `dir` whose bytes contain `needle`. */
async function filesContaining(dir: string, needle: string): Promise<string[]> {
  const found: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const file = path.join(entry.parentPath, entry.name);
    if ((await readFile(file)).includes(needle)) found.push(file);
  }
  return found;
}

keyringTest(`set, get and delete round-trip through the Secret Service${skip}`, async (t) => {
  const home = await createKeyringHome();
  t.teardown(() => home.close());
  const account = 'alice@files.example:7070';
  const results = await home.run('unlocked', [
    { op: 'status' },
    { op: 'get', account },
    { op: 'set', account, password: 'first secret' },
    { op: 'get', account },
    { op: 'set', account, password: 'second secret' },
    { op: 'get', account },
    { op: 'delete', account },
    { op: 'get', account },
    { op: 'delete', account },
  ]);
  t.deepEqual(results, [
    { op: 'status', status: { available: true } },
    { op: 'get', value: null },
    { op: 'set' },
    { op: 'get', value: 'first secret' },
    { op: 'set' },
    { op: 'get', value: 'second secret' },
    { op: 'delete', deleted: true },
    { op: 'get', value: null },
    { op: 'delete', deleted: false },
  ]);
});

keyringTest(`a password saved at login is used by the next start without typing it; a refused one is kept${skip}`, async (t) => {
  const server = await startTestServer({ users: [{ name: 'alice', password: 'correct horse' }] });
  t.teardown(() => server.close());
  const home = await createKeyringHome();
  t.teardown(() => home.close());
  const login = { host: '127.0.0.1', port: server.port, user: 'alice' };
  const account = keychainAccount(login);

  // First start: nothing saved yet, so no password means the user must type one.
  const first = await home.run('unlocked', [
    { op: 'connect', ...login },
    { op: 'connect', ...login, password: 'correct horse', save: true },
    { op: 'get', account },
  ]);
  t.like(first[0], { op: 'connect', error: { name: 'PasswordNeededError', code: 'EINVAL', why: 'none-saved' } });
  t.deepEqual(first[1], { op: 'connect', user: 'alice', entries: 0, notices: [] });
  t.deepEqual(first[2], { op: 'get', value: 'correct horse' });

  // Quit and start again: a new process, a new D-Bus session, the keyring daemon started anew
  // and unlocked as at a desktop login. No password is typed.
  const second = await home.run('unlocked', [{ op: 'connect', ...login }, { op: 'hosts' }]);
  t.deepEqual(second[0], { op: 'connect', user: 'alice', entries: 0, notices: [] });
  const hosts = second[1] as KeyringResult & { data: { recent: { host: string; port: number; user: string }[] } };
  t.like(hosts.data.recent[0], login);
  t.false(JSON.stringify(hosts.data).includes('correct horse'));
  t.false((await readFile(path.join(home.configHome, 'ferry', 'hosts.json'), 'utf8')).includes('correct horse'));

  // The password changed on the server: the saved one is refused, reported as such, and kept.
  await server.server.users.setPassword('alice', 'battery staple');
  const third = await home.run('unlocked', [{ op: 'connect', ...login }, { op: 'get', account }]);
  t.like(third[0], { op: 'connect', error: { name: 'PasswordNeededError', code: 'EAUTH', why: 'saved-refused' } });
  t.regex(third[0]!.error!.message, /saved password for alice@127\.0\.0\.1:\d+ was refused/);
  t.deepEqual(third[1], { op: 'get', value: 'correct horse' });
});

keyringTest(`through the login dialog: save the password, quit, start again and log in with Enter alone${skip}`, async (t) => {
  const server = await startTestServer({ users: [{ name: 'alice', password: 'correct horse' }] });
  t.teardown(() => server.close());
  const home = await createKeyringHome();
  t.teardown(() => home.close());
  const TAB = '\t';
  const CLEAR = '\u0015';

  // First start: an empty host book, so the form is empty; the checkbox can be ticked.
  const [first] = await home.run('unlocked', [
    { op: 'dialog-login', keys: ['127.0.0.1', TAB, CLEAR, String(server.port), TAB, 'alice', TAB, 'correct horse', TAB, ' ', '\r'] },
  ]);
  t.true(flat(first!.opened).includes('[ ] Save password in the keychain'));
  t.false(flat(first!.opened).includes('cannot be saved'));
  t.true(flat(first!.before).includes('[x] Save password in the keychain'));
  t.false(String(first!.before).includes('correct horse'));
  t.like(first, {
    op: 'dialog-login',
    submitted: { host: '127.0.0.1', port: server.port, user: 'alice', save: true, typedPassword: true },
    user: 'alice',
    notices: [],
  });

  // Second start: the last host fills the form and the focus is on the empty password: Enter.
  const [second] = await home.run('unlocked', [{ op: 'dialog-login', keys: ['\r'] }]);
  t.true(flat(second!.opened).includes(`Recent alice@127.0.0.1:${server.port}`));
  t.like(second, {
    op: 'dialog-login',
    submitted: { host: '127.0.0.1', port: server.port, user: 'alice', save: false, typedPassword: false },
    user: 'alice',
    notices: [],
  });

  // Started where there is no keychain: the dialog says so plainly and wants the password typed.
  const [third] = await home.run('no-dbus', [{ op: 'dialog-login', keys: ['\r'] }]);
  t.true(flat(third!.opened).includes('[-] Save password in the keychain'));
  t.true(
    flat(third!.opened).includes(
      'Passwords cannot be saved: there is no D-Bus session to reach a keychain through. The password is used for this login only and is not stored anywhere.',
    ),
  );
  t.true(flat(third!.before).includes('enter the password (there is no keychain to take a saved one from)'));
  t.is(third!.submitted, null);
});

keyringTest(`without a D-Bus session: a plain reason, the login works, the password is saved nowhere${skip}`, async (t) => {
  const server = await startTestServer({ users: [{ name: 'bob', password: 'hunter2-but-longer' }] });
  t.teardown(() => server.close());
  const home = await createKeyringHome();
  t.teardown(() => home.close());
  const login = { host: '127.0.0.1', port: server.port, user: 'bob' };
  const account = keychainAccount(login);

  const results = await home.run('no-dbus', [
    { op: 'status' },
    { op: 'connect', ...login, password: 'hunter2-but-longer', save: true },
    { op: 'get', account },
    { op: 'connect', ...login },
  ]);
  t.deepEqual(results[0], { op: 'status', status: { available: false, reason: 'there is no D-Bus session to reach a keychain through' } });
  t.deepEqual(results[1], {
    op: 'connect',
    user: 'bob',
    entries: 0,
    notices: ['the password was not saved: cannot use the keychain: there is no D-Bus session to reach a keychain through'],
  });
  t.like(results[2], { op: 'get', error: { code: 'ENOTSUP' } });
  t.like(results[3], { op: 'connect', error: { name: 'PasswordNeededError', why: 'keychain-failed', code: 'ENOTSUP' } });

  // Saved nowhere: no file of the HOME holds it (hosts.json was written: the login is recorded)…
  t.deepEqual(await filesContaining(home.home, 'hunter2-but-longer'), []);
  t.true((await readFile(path.join(home.configHome, 'ferry', 'hosts.json'), 'utf8')).includes('"bob"'));
  // …and a keychain that appears later does not have it either.
  const later = await home.run('unlocked', [{ op: 'get', account }]);
  t.deepEqual(later, [{ op: 'get', value: null }]);
});

keyringTest(`a D-Bus session without a Secret Service gives a plain reason${skip}`, async (t) => {
  const home = await createKeyringHome();
  t.teardown(() => home.close());
  const results = await home.run('no-secret-service', [
    { op: 'status' },
    { op: 'set', account: 'carol@h:1', password: 'x' },
    { op: 'connect', host: '127.0.0.1', port: 1, user: 'carol' },
  ]);
  t.deepEqual(results[0], { op: 'status', status: { available: false, reason: 'no Secret Service (gnome-keyring, KWallet…) is running in this session' } });
  t.like(results[1], { op: 'set', error: { code: 'ENOTSUP', message: 'cannot use the keychain: no Secret Service (gnome-keyring, KWallet…) is running in this session' } });
  t.like(results[2], { op: 'connect', error: { name: 'PasswordNeededError', why: 'keychain-failed' } });
});

keyringTest(`a locked keyring is reported as locked and nothing is saved${skip}`, async (t) => {
  const home = await createKeyringHome();
  t.teardown(() => home.close());
  // The first run creates the login keyring; the second starts the daemon without unlocking it.
  await home.run('unlocked', [{ op: 'status' }]);
  const results = await home.run('locked', [{ op: 'status' }, { op: 'set', account: 'dave@h:1', password: 'locked-out-secret' }]);
  t.deepEqual(results[0], { op: 'status', status: { available: false, reason: 'the keyring is locked' } });
  t.like(results[1], { op: 'set', error: { code: 'EACCES', message: 'cannot use the keychain: the keyring is locked' } });
  const after = await home.run('unlocked', [{ op: 'get', account: 'dave@h:1' }]);
  t.deepEqual(after, [{ op: 'get', value: null }]);
});

test('binding errors read as plain reasons', (t) => {
  t.like(describeKeychainError(new Error('Platform failure: DBus error: Using X11 for dbus-daemon autolaunch was disabled at compile time, set your DBUS_SESSION_BUS_ADDRESS instead')), {
    code: 'ENOTSUP',
    reason: 'there is no D-Bus session to reach a keychain through',
  });
  t.like(describeKeychainError(new Error('Platform failure: DBus error: The name org.freedesktop.secrets was not provided by any .service files')), {
    reason: 'no Secret Service (gnome-keyring, KWallet…) is running in this session',
  });
  t.like(describeKeychainError(new Error("Couldn't access platform storage: Secret Service: unlock prompt was dismissed")), { code: 'EACCES', reason: 'the keyring is locked' });
  t.like(describeKeychainError(new Error("Couldn't access platform storage: Secret Service: no result found")), {
    reason: 'the Secret Service has no default keyring to save into',
  });
  t.like(describeKeychainError(new Error('Platform failure: something new')), { code: 'ENOTSUP', reason: 'the keychain failed: something new' });
  t.is(keychainAccount({ user: 'eve', host: '::1', port: 7070 }), 'eve@[::1]:7070');
});

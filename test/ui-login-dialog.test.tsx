import test from 'ava';
import { Text } from 'ink';
import { render } from 'ink-testing-library';
import { act } from 'react';
import type { HostEntry } from '../src/credentials/host-book.js';
import type { KeychainStatus } from '../src/credentials/keychain.js';
import { FerryError } from '../src/protocol/index.js';
import { editText, TextField, useTextField, type TextEditState } from '../ui/components/text-field.js';
import { LoginDialog, type LoginDialogProps, type LoginValues, type RegisterValues } from '../ui/dialogs/login-dialog.js';
import { focusStops, validateRegister } from '../ui/dialogs/login-form.js';
import { wrapWords } from '../ui/model/text-width.js';
import { matchKey, parseKeySequence } from '../ui/keymap.js';
import { errorText } from '../ui/model/error-text.js';
import { useKeypress } from '../ui/use-keypress.js';
import { registerFromDialog } from '../ui/commands/register.js';
import { Session } from '../src/client/session.js';
import type { ServerOptions } from '../server/options.js';
import { startTestServer } from './helpers/server.js';
import { flatFrame as flat, inAct } from './helpers/ink-act.js';

const KEY = {
  tab: '\t',
  shiftTab: '\u001B[Z',
  enter: '\r',
  escape: '\u001B',
  space: ' ',
  backspace: '\u007F',
  left: '\u001B[D',
  right: '\u001B[C',
  up: '\u001B[A',
  down: '\u001B[B',
  home: '\u001B[H',
  delete: '\u001B[3~',
  ctrlU: '\u0015',
  ctrlR: '\u0012',
} as const;

const AVAILABLE: KeychainStatus = { available: true };
const NO_DBUS: KeychainStatus = { available: false, reason: 'there is no D-Bus session to reach a keychain through' };

const RECENT: HostEntry[] = [
  { host: 'files.example', port: 7070, user: 'alice', lastUsed: '2026-01-01T12:00:00.000Z' },
  { host: '10.0.0.2', port: 9000, user: 'bob', lastUsed: '2026-01-01T11:00:00.000Z' },
];
const BOOKMARKS: HostEntry[] = [{ host: 'work.example', port: 7443, user: 'carol', name: 'work' }];

// act() keeps one global queue (test/helpers/ink-act.ts), so these tests run serially.
const dialogTest = test.serial;

async function open(props: Partial<LoginDialogProps> = {}) {
  const submitted: LoginValues[] = [];
  let canceled = 0;
  const base: LoginDialogProps = {
    isActive: true,
    recent: [],
    bookmarks: [],
    keychain: AVAILABLE,
    onSubmit: (values) => submitted.push(values),
    onCancel: () => canceled++,
    ...props,
  };
  let app!: ReturnType<typeof render>;
  await inAct(() => {
    app = render(<LoginDialog {...base} />);
  });
  return {
    app,
    submitted,
    canceled: () => canceled,
    frame: () => app.lastFrame() ?? '',
    rerender: (more: Partial<LoginDialogProps>) => inAct(() => app.rerender(<LoginDialog {...base} {...more} />)),
    async keys(...sequences: string[]) {
      for (const sequence of sequences) await inAct(() => app.stdin.write(sequence));
    },
    unmount: () => inAct(() => app.unmount()),
  };
}

/** The text between the brackets of a field's row, trailing blanks dropped. */
function fieldText(frame: string, label: string): string | undefined {
  const line = frame.split('\n').find((text) => text.includes(`${label.padEnd(10)}[`));
  return line?.slice(line.indexOf('[') + 1, line.lastIndexOf(']')).trimEnd();
}

// ---- the text field's editing ----

function typeInto(state: TextEditState, ...sequences: string[]): TextEditState {
  let current = state;
  for (const sequence of sequences) current = editText(current, parseKeySequence(sequence)) ?? current;
  return current;
}

test('editText: typing, cursor moves, Backspace, Delete and clear act where the cursor is', (t) => {
  const empty = { value: '', cursor: 0 };
  t.deepEqual(typeInto(empty, 'a', 'b', 'c'), { value: 'abc', cursor: 3 });
  t.deepEqual(typeInto(empty, 'a', 'c', KEY.left, 'b'), { value: 'abc', cursor: 2 });
  t.deepEqual(typeInto({ value: 'abc', cursor: 3 }, KEY.left, KEY.left, KEY.backspace), { value: 'bc', cursor: 0 });
  t.deepEqual(typeInto({ value: 'abc', cursor: 0 }, KEY.backspace), { value: 'abc', cursor: 0 });
  t.deepEqual(typeInto({ value: 'abc', cursor: 3 }, KEY.home, KEY.delete), { value: 'bc', cursor: 0 });
  t.deepEqual(typeInto({ value: 'abc', cursor: 1 }, KEY.ctrlU), { value: '', cursor: 0 });
  t.deepEqual(typeInto({ value: 'ab', cursor: 2 }, KEY.right, KEY.right), { value: 'ab', cursor: 2 });
  // A character outside the BMP is one character for the cursor and for Backspace.
  t.deepEqual(typeInto({ value: 'a😀', cursor: 2 }, KEY.backspace), { value: 'a', cursor: 1 });
  // Keys that are the dialog's are not the field's.
  for (const sequence of [KEY.enter, KEY.tab, KEY.shiftTab, KEY.escape, KEY.up, KEY.down]) {
    t.is(editText({ value: 'x', cursor: 1 }, parseKeySequence(sequence)), undefined, JSON.stringify(sequence));
  }
});

test('editText: a paste loses its control characters; accept and maxLength filter what is typed', (t) => {
  t.deepEqual(typeInto({ value: '', cursor: 0 }, 'pass\u0007word\r\n'), { value: 'password', cursor: 8 });
  const digits = (char: string) => /\d/.test(char);
  t.deepEqual(editText({ value: '70', cursor: 2 }, parseKeySequence('7a0x'), { accept: digits }), { value: '7070', cursor: 4 });
  t.deepEqual(editText({ value: '7070', cursor: 4 }, parseKeySequence('12'), { maxLength: 5 }), { value: '70701', cursor: 5 });
});

// ---- the dialog ----

dialogTest('typing into the fields in Tab order submits exactly what was typed; the password is never shown', async (t) => {
  const d = await open();
  t.is(fieldText(d.frame(), 'Port'), '7070');
  await d.keys('files.example', KEY.tab, KEY.ctrlU, '90x00', KEY.tab, 'alice', KEY.tab, 's3cr', 'et!');
  t.is(fieldText(d.frame(), 'Host'), 'files.example');
  t.is(fieldText(d.frame(), 'Port'), '9000');
  t.is(fieldText(d.frame(), 'User'), 'alice');
  t.is(fieldText(d.frame(), 'Password'), '•••••••');
  t.false(d.app.frames.some((frame) => frame.includes('s3cr')));
  await d.keys(KEY.enter);
  t.deepEqual(d.submitted, [{ host: 'files.example', port: 9000, user: 'alice', password: 's3cret!', save: false, tls: true }]);
  await d.unmount();
});

dialogTest('Tab and Shift-Tab (and the arrows) walk host, port, user, password, save, TLS, then the host rows, and wrap', async (t) => {
  const d = await open({ initial: { host: 'h', port: 7070, user: '' }, recent: RECENT });
  // Focus starts on the first empty field (user); Shift-Tab goes back to port, Tab twice to password.
  await d.keys('u', KEY.shiftTab, '1', KEY.tab, KEY.tab, 'p');
  t.is(fieldText(d.frame(), 'User'), 'u');
  t.is(fieldText(d.frame(), 'Port'), '70701');
  t.is(fieldText(d.frame(), 'Password'), '•');
  // Down to the save box, Space ticks it; on past the TLS box to the rows and around to the host field.
  await d.keys(KEY.down, KEY.space);
  t.regex(d.frame(), /\[x\] Save password/);
  await d.keys(KEY.tab, KEY.tab, KEY.tab, KEY.tab, 'x');
  t.is(fieldText(d.frame(), 'Host'), 'hx');
  // Shift-Tab from the first stop lands on the last host row: Enter there fills the form.
  await d.keys(KEY.up, KEY.enter);
  t.is(fieldText(d.frame(), 'Host'), '10.0.0.2');
  t.deepEqual(
    focusStops(2, true),
    ['host', 'port', 'user', 'password', 'save', 'tls', 'row:0', 'row:1'],
  );
  t.deepEqual(focusStops(1, false), ['host', 'port', 'user', 'password', 'tls', 'row:0']);
  await d.unmount();
});

dialogTest('the most recent host fills the form; picking another fills the fields, moves to the password and submits with it', async (t) => {
  const d = await open({ recent: RECENT, bookmarks: BOOKMARKS });
  t.is(fieldText(d.frame(), 'Host'), 'files.example');
  t.is(fieldText(d.frame(), 'User'), 'alice');
  t.true(flat(d.frame()).includes('Recent alice@files.example:7070 TLS bob@10.0.0.2:9000 TLS Bookmarks work carol@work.example:7443 TLS'));
  // The focus starts on the password; save, TLS, then the rows: the second recent host.
  await d.keys(KEY.tab, KEY.tab, KEY.tab, KEY.tab);
  t.regex(d.frame(), /> bob@10\.0\.0\.2:9000/);
  await d.keys(KEY.enter);
  t.is(fieldText(d.frame(), 'Host'), '10.0.0.2');
  t.is(fieldText(d.frame(), 'Port'), '9000');
  t.is(fieldText(d.frame(), 'User'), 'bob');
  t.deepEqual(d.submitted, []);
  await d.keys('pw', KEY.enter);
  t.deepEqual(d.submitted, [{ host: '10.0.0.2', port: 9000, user: 'bob', password: 'pw', save: false, tls: true }]);

  // A bookmark is picked with Space the same way; an empty password asks for the saved one.
  await d.keys(KEY.tab, KEY.tab, KEY.tab, KEY.tab, KEY.tab);
  t.regex(d.frame(), /> work {2}carol@work\.example:7443/);
  await d.keys(KEY.space);
  t.is(fieldText(d.frame(), 'Host'), 'work.example');
  await d.keys(KEY.enter);
  t.deepEqual(d.submitted[1], { host: 'work.example', port: 7443, user: 'carol', password: '', save: false, tls: true });
  await d.unmount();
});

dialogTest('a host list that arrives after the dialog opened fills the untouched form', async (t) => {
  const d = await open();
  t.is(fieldText(d.frame(), 'Host'), '');
  await d.rerender({ recent: RECENT });
  await d.keys();
  t.is(fieldText(d.frame(), 'Host'), 'files.example');
  t.is(fieldText(d.frame(), 'User'), 'alice');
  await d.unmount();
});

dialogTest('Esc cancels without submitting', async (t) => {
  const d = await open({ recent: RECENT });
  await d.keys('abc', KEY.escape);
  t.is(d.canceled(), 1);
  t.deepEqual(d.submitted, []);
  await d.unmount();
});

dialogTest('with the keychain available, the ticked checkbox is submitted as save', async (t) => {
  const d = await open({ recent: RECENT });
  t.regex(d.frame(), /\[ \] Save password in the keychain/);
  t.notRegex(d.frame(), /cannot be saved/);
  await d.keys('pw', KEY.tab, KEY.space);
  t.regex(d.frame(), /\[x\] Save password in the keychain/);
  await d.keys(KEY.enter);
  t.deepEqual(d.submitted, [{ host: 'files.example', port: 7070, user: 'alice', password: 'pw', save: true, tls: true }]);
  await d.unmount();
});

dialogTest('without a keychain the checkbox is disabled, skipped by Tab, and a plain note says why', async (t) => {
  const d = await open({ recent: RECENT, keychain: NO_DBUS });
  const frame = flat(d.frame());
  t.regex(d.frame(), /\[-\] Save password in the keychain/);
  t.true(frame.includes('Passwords cannot be saved: there is no D-Bus session to reach a keychain through. The password is used for this login only and is not stored anywhere.'));
  // From the password, Tab goes past the TLS box straight to the first host row; Space there picks it.
  await d.keys('pw', KEY.tab, KEY.tab, KEY.space);
  t.is(fieldText(d.frame(), 'Password'), '');
  t.regex(d.frame(), /\[-\] Save password/);
  // An empty password cannot be taken from a keychain that is not there.
  await d.keys(KEY.enter);
  t.deepEqual(d.submitted, []);
  t.true(flat(d.frame()).includes('enter the password (there is no keychain to take a saved one from)'));
  await d.keys('pw', KEY.enter);
  t.deepEqual(d.submitted, [{ host: 'files.example', port: 7070, user: 'alice', password: 'pw', save: false, tls: true }]);
  await d.unmount();
});

dialogTest('while the keychain is being checked the checkbox waits and says so', async (t) => {
  const d = await open({ keychain: undefined });
  t.regex(d.frame(), /\[-\] Save password/);
  t.regex(d.frame(), /checking the keychain…/);
  await d.unmount();
});

dialogTest('missing fields are named before anything is submitted', async (t) => {
  const d = await open();
  await d.keys(KEY.enter);
  t.regex(d.frame(), /enter the host name of the server/);
  await d.keys('h', KEY.tab, KEY.ctrlU, KEY.enter);
  t.regex(d.frame(), /the port must be a number from 1 to 65535/);
  await d.keys('99999', KEY.enter);
  t.regex(d.frame(), /the port must be a number from 1 to 65535/);
  await d.keys(KEY.ctrlU, '1', KEY.enter);
  t.regex(d.frame(), /enter your user name/);
  t.deepEqual(d.submitted, []);
  await d.unmount();
});

dialogTest('an error is shown as one readable line, and replaced by the next problem', async (t) => {
  const d = await open({ recent: RECENT, error: errorText(new FerryError('EAUTH')) });
  t.regex(d.frame(), /invalid user name or password \(EAUTH\)/);
  t.notRegex(d.frame(), /at .*\.ts:\d+/);
  await d.rerender({ recent: RECENT, error: errorText(new FerryError('ENETWORK', 'cannot reach 10.0.0.2:9000: connection refused')) });
  await d.keys();
  t.regex(d.frame(), /cannot reach 10\.0\.0\.2:9000: connection refused \(ENETWORK\)/);
  await d.unmount();
});

dialogTest('busy: "connecting…" with the queue position; fields are locked, Enter does nothing, Esc still cancels', async (t) => {
  const d = await open({ recent: RECENT, busy: true });
  t.regex(d.frame(), /connecting to alice@files\.example:7070…/);
  t.notRegex(d.frame(), /in line/);
  await d.rerender({ recent: RECENT, busy: true, queuePosition: 2, error: 'old error (EAUTH)' });
  await d.keys('typed', KEY.enter);
  t.regex(flat(d.frame()), /connecting to alice@files\.example:7070… waiting for a free session slot \(2nd in line\)/);
  t.notRegex(d.frame(), /old error/);
  t.is(fieldText(d.frame(), 'Password'), 'empty: use the saved password');
  t.deepEqual(d.submitted, []);
  await d.keys(KEY.escape);
  t.is(d.canceled(), 1);
  await d.unmount();
});

dialogTest('an inactive dialog takes no keys', async (t) => {
  const d = await open({ recent: RECENT, isActive: false });
  await d.keys('pw', KEY.enter, KEY.escape);
  t.is(fieldText(d.frame(), 'Password'), 'empty: use the saved password');
  t.deepEqual(d.submitted, []);
  t.is(d.canceled(), 0);
  await d.unmount();
});

// ---- the TLS box ----

dialogTest('the TLS box follows the host (on, but off for loopback) until it is toggled; then it keeps what was chosen', async (t) => {
  const d = await open();
  t.regex(d.frame(), /\[x\] Encrypted \(TLS\)/, 'an empty host means what ferry:// means elsewhere');
  await d.keys('127.0.0.1');
  t.regex(d.frame(), /\[ \] Encrypted \(TLS\)/, 'loopback: plain, the bytes never leave the machine');
  t.notRegex(d.frame(), /Not encrypted/);
  await d.keys(KEY.ctrlU, 'files.example');
  t.regex(d.frame(), /\[x\] Encrypted \(TLS\)/);
  // Toggled off by hand (password, save, then the box): a plain login to another machine is warned about.
  await d.keys(KEY.tab, KEY.tab, 'alice', KEY.tab, 'pw', KEY.tab, KEY.tab, KEY.space);
  t.regex(d.frame(), /\[ \] Encrypted \(TLS\)/);
  t.true(flat(d.frame()).includes('Not encrypted: the password and the files cross the network readable by anyone on the way.'));
  // Chosen now: another host no longer moves it.
  await d.keys(KEY.tab, KEY.ctrlU, 'other.example');
  t.is(fieldText(d.frame(), 'Host'), 'other.example');
  t.regex(d.frame(), /\[ \] Encrypted \(TLS\)/);
  await d.keys(KEY.enter);
  t.deepEqual(d.submitted, [{ host: 'other.example', port: 7070, user: 'alice', password: 'pw', save: false, tls: false }]);
  await d.unmount();
});

dialogTest('host rows are marked TLS or plain, and picking one brings back its setting (or the host default for an old entry)', async (t) => {
  const recent: HostEntry[] = [
    { host: 'files.example', port: 7070, user: 'alice', tls: false },
    { host: '127.0.0.1', port: 7071, user: 'bob', tls: true },
    { host: 'localhost', port: 7072, user: 'carol' },
  ];
  const d = await open({ recent, keychain: NO_DBUS });
  t.regex(d.frame(), /alice@files\.example:7070 +plain/);
  t.regex(d.frame(), /bob@127\.0\.0\.1:7071 +TLS/);
  t.regex(d.frame(), /carol@localhost:7072 +plain/);
  // The first recent host filled the form with its own setting: plain, though the host says TLS.
  t.regex(d.frame(), /\[ \] Encrypted \(TLS\)/);
  // password → TLS box → row 0 → row 1: bob's TLS to loopback comes back.
  await d.keys(KEY.tab, KEY.tab, KEY.down, KEY.enter);
  t.is(fieldText(d.frame(), 'Host'), '127.0.0.1');
  t.regex(d.frame(), /\[x\] Encrypted \(TLS\)/);
  await d.keys('pw', KEY.enter);
  t.like(d.submitted[0], { host: '127.0.0.1', port: 7071, tls: true });
  // A box set by hand (off and on again) gives way to the next row picked: carol, no setting
  // recorded, loopback.
  await d.keys(KEY.tab, KEY.space);
  t.regex(d.frame(), /\[ \] Encrypted \(TLS\)/);
  await d.keys(KEY.space);
  t.regex(d.frame(), /\[x\] Encrypted \(TLS\)/);
  await d.keys(KEY.tab, KEY.tab, KEY.tab, KEY.enter);
  t.is(fieldText(d.frame(), 'Host'), 'localhost');
  t.regex(d.frame(), /\[ \] Encrypted \(TLS\)/);
  await d.unmount();
});

dialogTest('initial may carry tls: ferrys:// to a loopback host starts ticked and stays so as the host is edited', async (t) => {
  const d = await open({ initial: { host: '127.0.0.1', port: 7443, user: 'alice', tls: true } });
  t.regex(d.frame(), /\[x\] Encrypted \(TLS\)/);
  await d.keys(KEY.shiftTab, KEY.shiftTab, KEY.shiftTab, KEY.backspace, '2');
  t.is(fieldText(d.frame(), 'Host'), '127.0.0.2');
  t.regex(d.frame(), /\[x\] Encrypted \(TLS\)/);
  await d.unmount();
  const plain = await open({ initial: { host: 'files.example', port: 7070, user: 'alice' } });
  t.regex(plain.frame(), /\[x\] Encrypted \(TLS\)/, 'no tls given: what ferry:// means for the host');
  await plain.unmount();
});

// ---- the text field on its own ----

function OneField({ onSubmit }: { onSubmit: (value: string) => void }) {
  const field = useTextField('ab');
  useKeypress((key) => {
    if (field.handle(key)) return;
    if (matchKey('dialog', key) === 'dialog.confirm') onSubmit(field.current().value);
  });
  return <TextField {...field.view} isActive width={8} />;
}

dialogTest('useTextField: keys edit the latest state, so Enter right after typing submits what was typed', async (t) => {
  const submitted: string[] = [];
  let app!: ReturnType<typeof render>;
  await inAct(() => {
    app = render(<OneField onSubmit={(value) => submitted.push(value)} />);
  });
  // Several keys inside one act: no render happens between them.
  await inAct(() => {
    for (const sequence of ['c', KEY.left, KEY.backspace, 'X', KEY.enter]) app.stdin.write(sequence);
  });
  t.deepEqual(submitted, ['aXc']);
  t.is(app.lastFrame(), 'aXc');
  await inAct(() => app.unmount());
});

dialogTest('TextField: exactly width columns; a long value scrolls to keep the cursor in view; masks and placeholders', async (t) => {
  const frame = async (element: React.JSX.Element) => {
    let app!: ReturnType<typeof render>;
    await inAct(() => {
      app = render(
        <Text>
          |{element}|
        </Text>,
      );
    });
    const text = app.lastFrame() ?? '';
    await inAct(() => app.unmount());
    return text;
  };
  t.is(await frame(<TextField value="abc" isActive={false} width={6} />), '|abc   |');
  t.is(await frame(<TextField value="abcdefghij" isActive={false} width={6} />), '|abcdef|');
  // Focused, the cursor takes a column: the end of a long value shows, the cursor after it.
  t.is(await frame(<TextField value="abcdefghij" isActive width={6} />), '|fghij |');
  t.is(await frame(<TextField value="abcdefghij" cursor={2} isActive width={6} />), '|abcdef|');
  t.is(await frame(<TextField value="secret" isActive={false} mask="•" width={8} />), '|••••••  |');
  t.is(await frame(<TextField value="" isActive={false} placeholder="type here" width={6} />), '|type h|');
  t.is(await frame(<TextField value="" isActive placeholder="type here" width={6} />), '|      |');
  // Wide characters take two columns; one cut in half is left out rather than overflowing.
  t.is(await frame(<TextField value="日本語" isActive={false} width={5} />), '|日本 |');
  t.is(await frame(<TextField value="日本語" isActive width={5} />), '|本語 |');
  t.is(await frame(<TextField value="日本語" cursor={0} isActive width={5} />), '|日本 |');
});

test('wrapWords breaks at spaces within the width and cuts a word longer than a line', (t) => {
  t.deepEqual(wrapWords('the keyring is locked right now', 12), ['the keyring', 'is locked', 'right now']);
  t.deepEqual(wrapWords('a abcdefghijklmnop b', 6), ['a', 'abcde…', 'b']);
  t.deepEqual(wrapWords('', 6), ['']);
});

// ---- register mode (against a real server, through registerAccount) ----

/** Waits, letting React flush inside act(), until `check()` holds (a server answers in real time). */
async function until(check: () => boolean, what: string, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await act(async () => {
      await new Promise((resolve) => setTimeout(resolve, 10));
    });
  }
}

/** onRegister as the App wires it (registerFromDialog), recording each call. */
function registerThrough(calls: RegisterValues[]) {
  return (values: RegisterValues) => {
    calls.push(values);
    return registerFromDialog(values);
  };
}

dialogTest('register mode: Ctrl-R switches, the password is typed twice and must match; "waiting for approval" with approval on', async (t) => {
  const ts = await startTestServer({ options: { registration: 'approval' } as Partial<ServerOptions> });
  t.teardown(() => ts.close());
  const calls: RegisterValues[] = [];
  const d = await open({ initial: { host: '127.0.0.1', port: ts.port, user: '' }, onRegister: registerThrough(calls) });
  t.regex(d.frame(), /Ctrl-R register a new account/);
  await d.keys(KEY.ctrlR);
  t.regex(d.frame(), /Register a new account/);
  t.notRegex(d.frame(), /Save password/);
  t.is(fieldText(d.frame(), 'Again'), 'the same password again');
  // Focus starts on the user; the password twice, differing: refused before anything is sent.
  await d.keys('newbie', KEY.tab, 'pass-word-1', KEY.tab, 'pass-word-2');
  t.is(fieldText(d.frame(), 'Password'), '•••••••••••');
  t.is(fieldText(d.frame(), 'Again'), '•••••••••••');
  t.false(d.app.frames.some((frame) => frame.includes('pass-word')));
  await d.keys(KEY.enter);
  t.true(flat(d.frame()).includes('the two passwords differ: type the same password twice'));
  t.deepEqual(calls, []);
  await d.keys(KEY.ctrlU, 'pass-word-1', KEY.enter);
  t.deepEqual(calls, [{ host: '127.0.0.1', port: ts.port, user: 'newbie', password: 'pass-word-1', tls: false }]);
  await until(() => flat(d.frame()).includes('waiting for approval'), 'the outcome', 10_000);
  t.true(flat(d.frame()).includes(`account newbie@127.0.0.1:${ts.port} created and waiting for approval: an administrator must approve it before you can log in`));
  // Back in the login form; the server has the pending account.
  t.regex(d.frame(), /Connect to a ferry server/);
  t.deepEqual(ts.server.users.get('newbie')?.status, 'pending');
  t.deepEqual(d.submitted, []);
  // The same name again: the server's refusal, as one readable line.
  await d.keys(KEY.ctrlR, 'pass-word-1', KEY.tab, 'pass-word-1', KEY.enter);
  await until(() => /\(EEXIST\)/.test(flat(d.frame())), `the refusal in ${d.frame()}`, 10_000);
  t.regex(d.frame(), /Register a new account/);
  t.notRegex(d.frame(), /at .*\.ts:\d+/);
  await d.unmount();
});

dialogTest('register mode with registration open: "account created", then Enter logs in with the new account', async (t) => {
  const ts = await startTestServer({ options: { registration: 'open' } as Partial<ServerOptions> });
  t.teardown(() => ts.close());
  const calls: RegisterValues[] = [];
  const d = await open({ initial: { host: '127.0.0.1', port: ts.port, user: 'fresh' }, onRegister: registerThrough(calls) });
  await d.keys(KEY.ctrlR, 'open-sesame-1', KEY.tab, 'open-sesame-1', KEY.enter);
  await until(() => flat(d.frame()).includes('created: press Enter to log in'), 'the outcome', 10_000);
  t.regex(d.frame(), /Connect to a ferry server/);
  await d.keys(KEY.enter);
  t.deepEqual(d.submitted, [{ host: '127.0.0.1', port: ts.port, user: 'fresh', password: 'open-sesame-1', save: false, tls: false }]);
  // The account is real: a session logs in with it.
  const session = await Session.connect({ url: ts.url, user: 'fresh', password: 'open-sesame-1', reconnect: false });
  await session.close();
  t.pass();
  await d.unmount();
});

dialogTest('register mode: Esc goes back to logging in, a second Esc cancels; without onRegister Ctrl-R does nothing', async (t) => {
  const calls: RegisterValues[] = [];
  const d = await open({ recent: RECENT, onRegister: async (values) => (calls.push(values), { status: 'active' }) });
  await d.keys(KEY.ctrlR);
  t.regex(d.frame(), /Register a new account/);
  await d.keys(KEY.escape);
  t.regex(d.frame(), /Connect to a ferry server/);
  t.is(d.canceled(), 0);
  await d.keys(KEY.escape);
  t.is(d.canceled(), 1);
  await d.unmount();
  const plain = await open({ recent: RECENT });
  t.notRegex(plain.frame(), /register/i);
  await plain.keys(KEY.ctrlR);
  t.regex(plain.frame(), /Connect to a ferry server/);
  await plain.unmount();
  t.deepEqual(calls, []);
});

test('validateRegister: the login checks, then a password, typed the same twice', (t) => {
  const form = { host: 'h', port: '7070', user: 'u', password: 'pw', confirm: 'pw', tls: true };
  t.deepEqual(validateRegister(form), { host: 'h', port: 7070, user: 'u', password: 'pw', tls: true });
  t.is(validateRegister({ ...form, user: ' ' }), 'enter your user name');
  t.is(validateRegister({ ...form, password: '', confirm: '' }), 'choose a password for the new account');
  t.is(validateRegister({ ...form, confirm: 'pW' }), 'the two passwords differ: type the same password twice');
  t.deepEqual(focusStops(1, true, 'register'), ['host', 'port', 'user', 'password', 'confirm', 'tls', 'row:0']);
});

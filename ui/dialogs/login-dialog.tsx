import { useEffect, useRef, useState, type ReactNode } from 'react';
import { Box, Text } from 'ink';
import type { HostEntry } from '../../src/credentials/host-book.js';
import { keychainAccount, type KeychainStatus } from '../../src/credentials/keychain.js';
import { DEFAULT_PORT } from '../../src/protocol/index.js';
import { DialogFrame, DialogLine, useDialogColors } from '../components/dialog-frame.js';
import { editText, TextField, type TextEditOptions } from '../components/text-field.js';
import { commandById, formatKey, matchKey, type CommandId } from '../keymap.js';
import { errorText } from '../model/error-text.js';
import { fitColumns, textWidth } from '../model/text-width.js';
import { useKeypress } from '../use-keypress.js';

/** What the dialog hands to connectWithCredentials. An empty password means "the saved one". */
export interface LoginValues {
  host: string;
  port: number;
  user: string;
  password: string;
  save: boolean;
}

/** What the register mode hands over: the new account (the password was typed twice and matched). */
export interface RegisterValues {
  host: string;
  port: number;
  user: string;
  password: string;
}

export interface LoginDialogProps {
  isActive: boolean;
  /** Most recent first; the first one fills the form when there is no `initial`. */
  recent: HostEntry[];
  bookmarks: HostEntry[];
  initial?: { host: string; port: number; user: string };
  /** Whether passwords can be saved; undefined while that is still being found out. */
  keychain: KeychainStatus | undefined;
  /** A login is under way: fields are locked, only Esc (onCancel) still works. */
  busy?: boolean;
  /** While busy: the position in the server's queue for a session slot (1 = next). */
  queuePosition?: number;
  /** The last failure, as one readable line (errorText from ui/model/error-text.ts). */
  error?: string;
  onSubmit: (values: LoginValues) => void;
  onCancel: () => void;
  /**
   * Asks the server for a new account (registerAccount). When given, Ctrl-R switches the dialog
   * to register mode; the dialog shows the outcome itself: 'active' → "account created" and back
   * to logging in with it, 'pending' → "waiting for approval", a rejection → its readable line.
   */
  onRegister?: (values: RegisterValues) => Promise<{ status: 'active' | 'pending' }>;
  /** Columns, border included. Default 64. */
  width?: number;
  /** Host rows shown at once (the list scrolls). Default 6. */
  listRows?: number;
}

type TextFieldName = 'host' | 'port' | 'user' | 'password' | 'confirm';
export type LoginMode = 'login' | 'register';
/** A focus stop: a text field, the checkbox, or the n-th host row (recent first, then bookmarks). */
export type LoginFocus = TextFieldName | 'save' | `row:${number}`;

interface FormState {
  host: string;
  port: string;
  user: string;
  password: string;
  /** The password again (register mode). */
  confirm: string;
  mode: LoginMode;
  /** A registration is under way. */
  registering: boolean;
  /** The outcome of the last registration, as a sentence (shown until the next edit). */
  notice?: string;
  cursors: Record<TextFieldName, number>;
  save: boolean;
  focus: LoginFocus;
  /** A problem found before submitting ("the port must be …"); cleared by the next edit. */
  problem?: string;
  /** Nothing typed or picked yet: a late `recent` list may still fill the form. */
  pristine: boolean;
}

/**
 * The focus stops in Tab order. The checkbox is left out while saving is impossible and in
 * register mode, which has the second password field instead. Default mode 'login'.
 */
export function focusStops(rowCount: number, canSave: boolean, mode: LoginMode = 'login'): LoginFocus[] {
  const stops: LoginFocus[] = ['host', 'port', 'user', 'password'];
  if (mode === 'register') stops.push('confirm');
  else if (canSave) stops.push('save');
  for (let i = 0; i < rowCount; i++) stops.push(`row:${i}`);
  return stops;
}

/**
 * Checks the form before it is sent: a host, a port in 1–65535, a user, and a password unless
 * one may be saved. Returns the values or the first problem as a sentence.
 */
export function validateLogin(form: { host: string; port: string; user: string; password: string; save: boolean }, canUseSaved: boolean): LoginValues | string {
  const host = form.host.trim();
  const user = form.user.trim();
  if (host === '') return 'enter the host name of the server';
  const port = Number(form.port);
  if (form.port === '' || !Number.isInteger(port) || port < 1 || port > 65_535) return 'the port must be a number from 1 to 65535';
  if (user === '') return 'enter your user name';
  if (form.password === '' && !canUseSaved) return 'enter the password (there is no keychain to take a saved one from)';
  return { host, port, user, password: form.password, save: form.save };
}

/**
 * Checks the register form: host, port and user as for a login, a password, typed the same
 * twice. Returns the values or the first problem as a sentence.
 */
export function validateRegister(form: { host: string; port: string; user: string; password: string; confirm: string }): RegisterValues | string {
  const checked = validateLogin({ ...form, save: false }, true);
  if (typeof checked === 'string') return checked;
  if (form.password === '') return 'choose a password for the new account';
  if (form.confirm !== form.password) return 'the two passwords differ: type the same password twice';
  return { host: checked.host, port: checked.port, user: checked.user, password: form.password };
}

function initialForm(props: Pick<LoginDialogProps, 'initial' | 'recent'>): FormState {
  const from = props.initial ?? props.recent[0];
  const host = from?.host ?? '';
  const user = from?.user ?? '';
  const port = String(from?.port ?? DEFAULT_PORT);
  return {
    host,
    port,
    user,
    password: '',
    confirm: '',
    mode: 'login',
    registering: false,
    cursors: { host: [...host].length, port: port.length, user: [...user].length, password: 0, confirm: 0 },
    save: false,
    focus: host === '' ? 'host' : user === '' ? 'user' : 'password',
    pristine: true,
  };
}

const FIELD_OPTIONS: Record<TextFieldName, TextEditOptions> = {
  host: { maxLength: 255 },
  port: { accept: (char) => char >= '0' && char <= '9', maxLength: 5 },
  user: { maxLength: 255 },
  password: { maxLength: 1024 },
  confirm: { maxLength: 1024 },
};

const isTextField = (focus: LoginFocus): focus is TextFieldName => focus === 'host' || focus === 'port' || focus === 'user' || focus === 'password' || focus === 'confirm';

function ordinal(n: number): string {
  const teen = n % 100 >= 11 && n % 100 <= 13;
  const suffix = teen ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${n}${suffix}`;
}

/**
 * The login dialog: host, port, user, password (masked) and "save password", with the recent
 * hosts and bookmarks listed below. Tab / Shift-Tab (and the arrows) go from field to field and
 * on through the host rows; Enter or Space on a row fills the form from it and moves to the
 * password, which may stay empty to use the saved one. Enter elsewhere submits, Esc cancels.
 * When the keychain is unavailable the checkbox is disabled and a note says why, plainly.
 */
export function LoginDialog(props: LoginDialogProps) {
  const { isActive, recent, bookmarks, keychain, busy = false, queuePosition, error, onSubmit, onCancel, onRegister, width = 64, listRows = 6 } = props;
  const rows = [...recent, ...bookmarks];
  const canSave = keychain?.available === true;

  const [form, setForm] = useState<FormState>(() => initialForm(props));
  const stops = focusStops(rows.length, canSave, form.mode);
  // Each registration gets a number; an answer for one the user walked away from is dropped.
  const registration = useRef(0);
  // Key presses can come faster than renders; every handler works on the latest form.
  const live = useRef(form);
  const update = (change: (current: FormState) => FormState) => {
    live.current = change(live.current);
    setForm(live.current);
  };

  // The App may load the host list after opening the dialog: fill the form if untouched.
  const firstRecent = recent[0];
  useEffect(() => {
    if (live.current.pristine && props.initial === undefined && firstRecent !== undefined) {
      const next = initialForm({ recent: [firstRecent] });
      if (next.host !== live.current.host || next.user !== live.current.user) update(() => ({ ...next, mode: live.current.mode }));
    }
  }, [firstRecent?.host, firstRecent?.port, firstRecent?.user]);

  // A stop that went away (the checkbox got disabled, the list got shorter) hands focus to the
  // password field.
  const focusOf = (state: FormState): LoginFocus => (stops.includes(state.focus) ? state.focus : 'password');
  const focus = focusOf(form);

  const pick = (index: number) => {
    const entry = rows[index];
    if (!entry) return;
    const port = String(entry.port);
    update((current) => ({
      ...current,
      host: entry.host,
      port,
      user: entry.user,
      password: '',
      confirm: '',
      cursors: { host: [...entry.host].length, port: port.length, user: [...entry.user].length, password: 0, confirm: 0 },
      focus: 'password',
      problem: undefined,
      notice: undefined,
      pristine: false,
    }));
  };

  const setMode = (mode: LoginMode, extra: Partial<FormState> = {}) => {
    registration.current++;
    update((state) => ({ ...state, mode, registering: false, confirm: '', cursors: { ...state.cursors, confirm: 0 }, focus: state.user.trim() === '' ? 'user' : 'password', problem: undefined, notice: undefined, ...extra }));
  };

  const register = async (values: RegisterValues) => {
    if (!onRegister) return;
    const ticket = ++registration.current;
    update((state) => ({ ...state, registering: true, problem: undefined, notice: undefined }));
    try {
      const { status } = await onRegister(values);
      if (ticket !== registration.current) return;
      const who = `${values.user}@${values.host}:${values.port}`;
      // Back to logging in: an active account can log in at once with the password just chosen.
      if (status === 'active') setMode('login', { password: values.password, cursors: { ...live.current.cursors, password: [...values.password].length }, notice: `account ${who} created: press Enter to log in` });
      else setMode('login', { password: '', cursors: { ...live.current.cursors, password: 0 }, notice: `account ${who} created and waiting for approval: an administrator must approve it before you can log in` });
    } catch (failure) {
      if (ticket !== registration.current) return;
      update((state) => ({ ...state, registering: false, problem: errorText(failure) }));
    }
  };

  useKeypress(
    (key) => {
      const command = matchKey('dialog', key);
      const mode = live.current.mode;
      // Esc leaves register mode first (dropping a registration under way), then the dialog.
      if (command === 'dialog.cancel') return mode === 'register' ? setMode('login') : onCancel();
      if (busy || live.current.registering) return;
      if (command === 'login.register' && onRegister) return setMode(mode === 'login' ? 'register' : 'login');
      const current = live.current;
      const now = focusOf(current);
      // The focused field edits first: one handler for the whole dialog, working on the latest
      // state, so keys arriving between renders land in the field that had the focus for them.
      if (isTextField(now)) {
        const edited = editText({ value: current[now], cursor: current.cursors[now] }, key, FIELD_OPTIONS[now]);
        if (edited) {
          const changed = edited.value !== current[now];
          return update((state) => ({
            ...state,
            [now]: edited.value,
            cursors: { ...state.cursors, [now]: edited.cursor },
            ...(changed ? { problem: undefined, notice: undefined, pristine: false } : {}),
          }));
        }
      }
      const row = now.startsWith('row:') ? Number(now.slice(4)) : undefined;
      const move = (delta: number) => {
        const at = stops.indexOf(now);
        update((state) => ({ ...state, focus: stops[(at + delta + stops.length) % stops.length]! }));
      };
      switch (command) {
        case 'dialog.next-field':
          return move(1);
        case 'dialog.prev-field':
          return move(-1);
        case 'dialog.toggle':
          if (row !== undefined) return pick(row);
          if (now === 'save') update((state) => ({ ...state, save: !state.save, pristine: false }));
          return;
        case 'dialog.confirm': {
          if (row !== undefined) return pick(row);
          if (current.mode === 'register') {
            const values = validateRegister(current);
            if (typeof values === 'string') return update((state) => ({ ...state, problem: values }));
            return void register(values);
          }
          const checked = validateLogin(current, keychain?.available !== false);
          if (typeof checked === 'string') return update((state) => ({ ...state, problem: checked }));
          return onSubmit({ ...checked, save: checked.save && canSave });
        }
      }
    },
    { isActive },
  );

  // Inside the frame: one blank column either side of every line.
  const inner = width - 2;
  const text = inner - 2;
  const label = 10;
  const fieldWidth = Math.max(8, text - label - 2);
  const locked = busy || form.registering;
  const registerMode = form.mode === 'register';
  const fieldActive = (field: TextFieldName) => isActive && !locked && focus === field;
  const line = (content: string) => <DialogLine width={inner}>{` ${content}`}</DialogLine>;
  const lines = (content: string) => wrapWords(content, text).map((part, i) => <DialogLine key={i} width={inner}>{` ${part}`}</DialogLine>);

  const field = (name: TextFieldName, title: string, extra: { mask?: string; width?: number; placeholder?: string } = {}) => {
    const columns = extra.width ?? fieldWidth;
    return (
      <Row>
        {' '}
        <Text bold={focus === name}>{title.padEnd(label)}</Text>[
        <TextField value={form[name]} cursor={form.cursors[name]} isActive={fieldActive(name)} width={columns} {...extra} />]
        {' '.repeat(Math.max(0, text - label - columns - 2 + 1))}
      </Row>
    );
  };

  // A window of the host rows around the focused one.
  const focusedRow = focus.startsWith('row:') ? Number(focus.slice(4)) : 0;
  const first = Math.min(Math.max(0, focusedRow - listRows + 1), Math.max(0, rows.length - listRows));
  const shown = rows.slice(first, first + listRows).map((entry, i) => ({ entry, index: first + i }));
  const rowText = (entry: HostEntry) => (entry.name ? `${entry.name}  ${keychainAccount(entry)}` : keychainAccount(entry));

  // The first key of each command keeps the hint on one line; F1 lists them all.
  const keyHint = (id: CommandId) => formatKey(commandById(id).keys[0]!);
  const where = keychainAccount({ host: form.host.trim() || '?', port: Number(form.port) || DEFAULT_PORT, user: form.user.trim() || '?' });
  const status = busy
    ? `connecting to ${where}…${queuePosition !== undefined ? ` waiting for a free session slot (${ordinal(queuePosition)} in line)` : ''}`
    : form.registering
      ? `registering ${where}…`
      : (form.problem ?? form.notice ?? (registerMode ? '' : (error ?? '')));

  const saveText = `${canSave ? (form.save ? '[x]' : '[ ]') : '[-]'} Save password in the keychain`;

  return (
    <DialogFrame title={registerMode ? 'Register a new account' : 'Connect to a ferry server'} width={width}>
      {line('')}
      {field('host', 'Host')}
      {field('port', 'Port', { width: 6 })}
      {field('user', 'User')}
      {field('password', 'Password', { mask: '•', ...(keychain?.available && !registerMode ? { placeholder: 'empty: use the saved password' } : {}) })}
      {registerMode && field('confirm', 'Again', { mask: '•', placeholder: 'the same password again' })}
      {!registerMode && (
        <Row>
          {' '}
          <Text inverse={isActive && !locked && focus === 'save'} dimColor={!canSave}>
            {saveText}
          </Text>
          {' '.repeat(Math.max(0, text + 1 - textWidth(saveText)))}
        </Row>
      )}
      {!registerMode && keychain === undefined && line('checking the keychain…')}
      {!registerMode && keychain?.available === false &&
        lines(`Passwords cannot be saved: ${keychain.reason}. The password is used for this login only and is not stored anywhere.`)}
      {rows.length > 0 && line('')}
      {shown.map(({ entry, index }) => {
        const heading = index === 0 && recent.length > 0 ? 'Recent' : index === recent.length ? 'Bookmarks' : undefined;
        const focused = focus === `row:${index}`;
        return (
          <Box key={`${index}:${rowText(entry)}`} flexDirection="column">
            {heading !== undefined && line(heading)}
            <Row>
              {' '}
              <Text inverse={isActive && !locked && focused}>{fitColumns(`${focused ? '> ' : '  '}${rowText(entry)}`, text)}</Text>{' '}
            </Row>
          </Box>
        );
      })}
      {rows.length > listRows && line(`  ${first + 1}–${first + shown.length} of ${rows.length}`)}
      {line('')}
      {status !== '' && lines(status)}
      {status !== '' && line('')}
      {line(
        `${keyHint('dialog.confirm')} ${focus.startsWith('row:') ? 'use this host' : registerMode ? 'register' : 'connect'} · ${keyHint('dialog.next-field')} next · ${keyHint('dialog.prev-field')} back · ${keyHint('dialog.cancel')} ${registerMode ? 'back to login' : 'cancel'}`,
      )}
      {onRegister && line(`${keyHint('login.register')} ${registerMode ? 'back to logging in' : 'register a new account'}`)}
    </DialogFrame>
  );
}

/** One line of the dialog, in its colours, cut at its width. */
function Row({ children }: { children: ReactNode }) {
  const colors = useDialogColors();
  return (
    <Text {...colors} wrap="truncate">
      {children}
    </Text>
  );
}

/** `text` broken at spaces into lines of at most `width` columns (a longer word is cut). */
export function wrapWords(text: string, width: number): string[] {
  const out: string[] = [];
  let current = '';
  for (const word of text.split(/\s+/).filter((w) => w !== '')) {
    const candidate = current === '' ? word : `${current} ${word}`;
    if (textWidth(candidate) <= width) {
      current = candidate;
      continue;
    }
    if (current !== '') out.push(current);
    current = textWidth(word) <= width ? word : fitColumns(word, width);
  }
  if (current !== '' || out.length === 0) out.push(current);
  return out;
}

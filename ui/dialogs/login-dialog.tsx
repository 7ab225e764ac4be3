import { useEffect, useRef, useState } from 'react';
import { Text } from 'ink';
import { defaultTls } from '../../src/client/url.js';
import type { HostEntry } from '../../src/credentials/host-book.js';
import { keychainAccount, type KeychainStatus } from '../../src/credentials/keychain.js';
import { DEFAULT_PORT } from '../../src/protocol/index.js';
import { DialogFrame, DialogLine, DialogRow } from '../components/dialog-frame.js';
import { editText, TextField } from '../components/text-field.js';
import { commandById, formatKey, matchKey, type CommandId } from '../keymap.js';
import { errorText } from '../model/error-text.js';
import { textWidth, wrapWords } from '../model/text-width.js';
import { useKeypress } from '../use-keypress.js';
import {
  editField,
  FIELD_OPTIONS,
  focusStops,
  initialForm,
  isTextField,
  pickEntry,
  toggleBox,
  validateLogin,
  validateRegister,
  type CheckboxName,
  type FormState,
  type LoginFocus,
  type LoginMode,
  type LoginStart,
  type LoginValues,
  type RegisterValues,
  type TextFieldName,
} from './login-form.js';
import { HostList } from './login-host-list.js';

export type { LoginValues, RegisterValues } from './login-form.js';

export interface LoginDialogProps {
  isActive: boolean;
  /** Most recent first; the first one fills the form when there is no `initial`. */
  recent: HostEntry[];
  bookmarks: HostEntry[];
  /** What to fill the form with (`ferry connect`'s target, the login that just failed); its `tls` sets the TLS box. */
  initial?: LoginStart;
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

function ordinal(n: number): string {
  const teen = n % 100 >= 11 && n % 100 <= 13;
  const suffix = teen ? 'th' : (['th', 'st', 'nd', 'rd'][n % 10] ?? 'th');
  return `${n}${suffix}`;
}

/**
 * The login dialog: host, port, user, password (masked), "save password" and "Encrypted (TLS)",
 * with the recent hosts and bookmarks listed below (each marked TLS or plain). The TLS box
 * follows the host (on, except for loopback) until it is toggled; a host row brings back its own. Tab / Shift-Tab (and the arrows) go from field to field and
 * on through the host rows; Enter or Space on a row fills the form from it and moves to the
 * password, which may stay empty to use the saved one. Enter elsewhere submits, Esc cancels.
 * When the keychain is unavailable the checkbox is disabled and a note says why, plainly.
 */
export function LoginDialog(props: LoginDialogProps) {
  const { isActive, recent, bookmarks, keychain, busy = false, queuePosition, error, onSubmit, onCancel, onRegister, width = 64, listRows = 6 } = props;
  const rows = [...recent, ...bookmarks];
  const canSave = keychain?.available === true;

  const [form, setForm] = useState<FormState>(() => initialForm(props.initial ?? recent[0]));
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
      const next = initialForm(firstRecent);
      if (next.host !== live.current.host || next.user !== live.current.user) update(() => ({ ...next, mode: live.current.mode }));
    }
  }, [firstRecent?.host, firstRecent?.port, firstRecent?.user]);

  // A stop that went away (the checkbox got disabled, the list got shorter) hands focus to the
  // password field.
  const focusOf = (state: FormState): LoginFocus => (stops.includes(state.focus) ? state.focus : 'password');
  const focus = focusOf(form);

  const pick = (index: number) => {
    const entry = rows[index];
    if (entry) update((current) => pickEntry(current, entry));
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
        if (edited) return update((state) => editField(state, now, edited));
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
          if (now === 'save' || now === 'tls') update((state) => toggleBox(state, now));
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
      <DialogRow>
        {' '}
        <Text bold={focus === name}>{title.padEnd(label)}</Text>[
        <TextField value={form[name]} cursor={form.cursors[name]} isActive={fieldActive(name)} width={columns} {...extra} />]
        {' '.repeat(Math.max(0, text - label - columns - 2 + 1))}
      </DialogRow>
    );
  };
  const checkbox = (name: CheckboxName, content: string, enabled = true) => (
    <DialogRow>
      {' '}
      <Text inverse={isActive && !locked && focus === name} dimColor={!enabled}>
        {content}
      </Text>
      {' '.repeat(Math.max(0, text + 1 - textWidth(content)))}
    </DialogRow>
  );

  // The first key of each command keeps the hint on one line; F1 lists them all.
  const keyHint = (id: CommandId) => formatKey(commandById(id).keys[0]!);
  const where = keychainAccount({ host: form.host.trim() || '?', port: Number(form.port) || DEFAULT_PORT, user: form.user.trim() || '?' });
  const status = busy
    ? `connecting to ${where}…${queuePosition !== undefined ? ` waiting for a free session slot (${ordinal(queuePosition)} in line)` : ''}`
    : form.registering
      ? `registering ${where}…`
      : (form.problem ?? form.notice ?? (registerMode ? '' : (error ?? '')));
  // Plain ws:// is only harmless where the bytes never leave the machine.
  const exposed = !form.tls && form.host.trim() !== '' && defaultTls(form.host.trim());
  const focusedRow = focus.startsWith('row:') ? Number(focus.slice(4)) : undefined;

  return (
    <DialogFrame title={registerMode ? 'Register a new account' : 'Connect to a ferry server'} width={width}>
      {line('')}
      {field('host', 'Host')}
      {field('port', 'Port', { width: 6 })}
      {field('user', 'User')}
      {field('password', 'Password', { mask: '•', ...(keychain?.available && !registerMode ? { placeholder: 'empty: use the saved password' } : {}) })}
      {registerMode && field('confirm', 'Again', { mask: '•', placeholder: 'the same password again' })}
      {!registerMode && checkbox('save', `${canSave ? (form.save ? '[x]' : '[ ]') : '[-]'} Save password in the keychain`, canSave)}
      {!registerMode && keychain === undefined && line('checking the keychain…')}
      {!registerMode && keychain?.available === false &&
        lines(`Passwords cannot be saved: ${keychain.reason}. The password is used for this login only and is not stored anywhere.`)}
      {checkbox('tls', `${form.tls ? '[x]' : '[ ]'} Encrypted (TLS)`)}
      {exposed && lines('Not encrypted: the password and the files cross the network readable by anyone on the way.')}
      {rows.length > 0 && line('')}
      <HostList rows={rows} recentCount={recent.length} focused={focusedRow} showFocus={isActive && !locked} width={inner} visible={listRows} />
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

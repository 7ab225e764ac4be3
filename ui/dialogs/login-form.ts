import { defaultTls } from '../../src/client/url.js';
import type { HostEntry } from '../../src/credentials/host-book.js';
import { DEFAULT_PORT } from '../../src/protocol/index.js';
import type { TextEditOptions, TextEditState } from '../components/text-field.js';

/*
 * The login dialog's form as data: the fields, the checkboxes, the focus, and the steps that
 * change them (typing, picking a host row, toggling). No drawing and no I/O here; the dialog
 * (login-dialog.tsx) turns keys into these steps and draws the result.
 */

/** What the dialog hands to connectWithCredentials. An empty password means "the saved one". */
export interface LoginValues {
  host: string;
  port: number;
  user: string;
  password: string;
  save: boolean;
  /** wss:// (true) or plain ws://. */
  tls: boolean;
}

/** What the register mode hands over: the new account (the password was typed twice and matched). */
export interface RegisterValues {
  host: string;
  port: number;
  user: string;
  password: string;
  tls: boolean;
}

/** What the form may start from: `ferry connect`'s target, the last login, a host row. */
export interface LoginStart {
  host: string;
  port: number;
  user: string;
  /** Absent: what ferry:// means for the host (TLS unless loopback). */
  tls?: boolean;
}

export type TextFieldName = 'host' | 'port' | 'user' | 'password' | 'confirm';
export type LoginMode = 'login' | 'register';
export type CheckboxName = 'tls' | 'save';
/** A focus stop: a text field, a checkbox, or the n-th host row (recent first, then bookmarks). */
export type LoginFocus = TextFieldName | CheckboxName | `row:${number}`;

export interface FormState {
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
  tls: boolean;
  /**
   * The TLS box says what someone chose, not what the host implies: set by toggling it, or by a
   * start whose setting differs from the host's default. Until then it follows the host field.
   */
  tlsChosen: boolean;
  focus: LoginFocus;
  /** A problem found before submitting ("the port must be …"); cleared by the next edit. */
  problem?: string;
  /** Nothing typed or picked yet: a late `recent` list may still fill the form. */
  pristine: boolean;
}

/**
 * The focus stops in Tab order: the text fields, the save box (left out while saving is
 * impossible and in register mode, which has the second password field instead), the TLS box,
 * the host rows. Default mode 'login'.
 */
export function focusStops(rowCount: number, canSave: boolean, mode: LoginMode = 'login'): LoginFocus[] {
  const stops: LoginFocus[] = ['host', 'port', 'user', 'password'];
  if (mode === 'register') stops.push('confirm');
  else if (canSave) stops.push('save');
  stops.push('tls');
  for (let i = 0; i < rowCount; i++) stops.push(`row:${i}`);
  return stops;
}

/**
 * Checks the form before it is sent: a host, a port in 1–65535, a user, and a password unless
 * one may be saved. Returns the values or the first problem as a sentence.
 */
export function validateLogin(form: { host: string; port: string; user: string; password: string; save: boolean; tls: boolean }, canUseSaved: boolean): LoginValues | string {
  const host = form.host.trim();
  const user = form.user.trim();
  if (host === '') return 'enter the host name of the server';
  const port = Number(form.port);
  if (form.port === '' || !Number.isInteger(port) || port < 1 || port > 65_535) return 'the port must be a number from 1 to 65535';
  if (user === '') return 'enter your user name';
  if (form.password === '' && !canUseSaved) return 'enter the password (there is no keychain to take a saved one from)';
  return { host, port, user, password: form.password, save: form.save, tls: form.tls };
}

/**
 * Checks the register form: host, port and user as for a login, a password, typed the same
 * twice. Returns the values or the first problem as a sentence.
 */
export function validateRegister(form: { host: string; port: string; user: string; password: string; confirm: string; tls: boolean }): RegisterValues | string {
  const checked = validateLogin({ ...form, save: false }, true);
  if (typeof checked === 'string') return checked;
  if (form.password === '') return 'choose a password for the new account';
  if (form.confirm !== form.password) return 'the two passwords differ: type the same password twice';
  return { host: checked.host, port: checked.port, user: checked.user, password: form.password, tls: checked.tls };
}

/** The TLS box for a start: its own setting, else the host's default; chosen when they differ. */
function tlsFor(start: { host: string; tls?: boolean | undefined }): { tls: boolean; tlsChosen: boolean } {
  const implied = defaultTls(start.host.trim());
  const tls = start.tls ?? implied;
  return { tls, tlsChosen: tls !== implied };
}

/** The form at opening: from `start` (or empty), focus on the first field still to fill. */
export function initialForm(start: LoginStart | undefined): FormState {
  const host = start?.host ?? '';
  const user = start?.user ?? '';
  const port = String(start?.port ?? DEFAULT_PORT);
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
    ...tlsFor({ host, tls: start?.tls }),
    focus: host === '' ? 'host' : user === '' ? 'user' : 'password',
    pristine: true,
  };
}

/** The form filled from a host row: its host, port, user and TLS setting; the password to type next. */
export function pickEntry(state: FormState, entry: HostEntry): FormState {
  const port = String(entry.port);
  return {
    ...state,
    host: entry.host,
    port,
    user: entry.user,
    password: '',
    confirm: '',
    cursors: { host: [...entry.host].length, port: port.length, user: [...entry.user].length, password: 0, confirm: 0 },
    ...tlsFor(entry),
    focus: 'password',
    problem: undefined,
    notice: undefined,
    pristine: false,
  };
}

/** A text field after an edit; a new host moves the TLS box with it unless someone chose. */
export function editField(state: FormState, name: TextFieldName, edited: TextEditState): FormState {
  const changed = edited.value !== state[name];
  const next: FormState = { ...state, [name]: edited.value, cursors: { ...state.cursors, [name]: edited.cursor } };
  if (!changed) return next;
  const follow = name === 'host' && !state.tlsChosen ? { tls: defaultTls(edited.value.trim()) } : {};
  return { ...next, ...follow, problem: undefined, notice: undefined, pristine: false };
}

/** A checkbox flipped; the TLS box keeps what was chosen from then on. */
export function toggleBox(state: FormState, box: CheckboxName): FormState {
  if (box === 'save') return { ...state, save: !state.save, pristine: false };
  return { ...state, tls: !state.tls, tlsChosen: true, pristine: false };
}

export const FIELD_OPTIONS: Record<TextFieldName, TextEditOptions> = {
  host: { maxLength: 255 },
  port: { accept: (char) => char >= '0' && char <= '9', maxLength: 5 },
  user: { maxLength: 255 },
  password: { maxLength: 1024 },
  confirm: { maxLength: 1024 },
};

export const isTextField = (focus: LoginFocus): focus is TextFieldName =>
  focus === 'host' || focus === 'port' || focus === 'user' || focus === 'password' || focus === 'confirm';

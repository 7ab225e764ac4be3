import { z } from 'zod';
import { FerryError, type WireError } from './errors.js';
import { CLIENT_STREAM_BASE, LIMITS } from './limits.js';

/*
 * Control messages are JSON text frames.
 *   request  {id, op, ...params}
 *   reply    {id, ok: true, ...result} | {id, ok: false, error: {code, message}}
 *   event    {event, ...}            (server → client, unsolicited)
 * Every inbound message is checked against these schemas; unknown fields are refused so that a
 * typo never silently means "default".
 */

const path = z
  .string()
  .min(1)
  .refine((value) => Buffer.byteLength(value) <= LIMITS.maxPathBytes, `a path of at most ${LIMITS.maxPathBytes} bytes`);
const size = z.number().int().min(0).max(LIMITS.maxFileSize);
const mtime = z.number().int().min(0).max(LIMITS.maxFileSize);
const streamId = z.number().int().min(1).max(0xffff_ffff);
const clientStreamId = z.number().int().min(CLIENT_STREAM_BASE).max(0xffff_ffff);
const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'a lowercase hex SHA-256');
const id = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);
/** One argument of a remote command: any text but NUL, which no program can receive. */
const execArg = z
  .string()
  .max(LIMITS.maxExecArgBytes)
  .refine((value) => !value.includes('\0'), 'no NUL bytes in arguments')
  .refine((value) => Buffer.byteLength(value) <= LIMITS.maxExecArgBytes, `an argument of at most ${LIMITS.maxExecArgBytes} bytes`);

function op<const Name extends string, Shape extends z.ZodRawShape>(name: Name, shape: Shape) {
  return z.strictObject({ id, op: z.literal(name), ...shape });
}

export const requestSchema = z.discriminatedUnion('op', [
  op('login', { user: z.string().min(1).max(64), password: z.string().max(1024) }),
  op('logout', {}),
  op('ping', {}),
  op('list', { path }),
  op('stat', { path }),
  op('mkdir', { path, parents: z.boolean().optional() }),
  op('remove', { path, recursive: z.boolean().optional() }),
  op('rename', { from: path, to: path, overwrite: z.boolean().optional() }),
  op('quota', {}),
  /** SHA-256 of the first `length` bytes (the whole file when absent). */
  op('hash', { path, length: size.optional() }),
  op('upload.open', {
    path,
    size,
    mtime,
    /** Replace an existing file at `path` once the upload completes. */
    overwrite: z.boolean().optional(),
    /** Drop any partial the server holds for this path and start at 0. */
    restart: z.boolean().optional(),
    /** Take the existing (shorter) file at `path` as the partial to resume: mc's "append". */
    adopt: z.boolean().optional(),
  }),
  op('upload.finish', { stream: streamId, sha256 }),
  /**
   * A whole small file at once: this request, then (without waiting) one DATA frame on `stream`,
   * offset 0, carrying all `size` bytes (no frame when size is 0). The stream id is the client's
   * pick (CLIENT_STREAM_BASE and up), so the frame needs no reply first. Nothing is kept if it
   * fails: the file is small enough to send again.
   */
  op('upload.put', {
    path,
    size: z.number().int().min(0).max(LIMITS.maxPutBytes),
    mtime,
    sha256,
    stream: clientStreamId,
    overwrite: z.boolean().optional(),
  }),
  op('upload.cancel', { stream: streamId, discard: z.boolean().optional() }),
  op('download.open', {
    path,
    offset: size,
    /** Size and mtime the client saw; if the file no longer matches, ECHANGED. */
    expectSize: size.optional(),
    expectMtime: mtime.optional(),
    /** SHA-256 of the client's kept prefix [0, offset); if the server's differs, EINTEGRITY. */
    prefixSha256: sha256.optional(),
  }),
  op('download.cancel', { stream: streamId }),
  /** Runs an allowlisted program (argv[0]) with these arguments, never through a shell, in `cwd`. */
  op('exec.start', { argv: z.array(execArg).min(1).max(LIMITS.maxExecArgs), cwd: path }),
  op('exec.cancel', { stream: streamId }),
  /** Self-registration, before login; what it does depends on the server's `registration` setting. */
  op('register', { user: z.string().min(1).max(64), password: z.string().max(1024) }),
]);

export type Request = z.infer<typeof requestSchema>;
export type Op = Request['op'];
export type RequestOf<O extends Op> = Extract<Request, { op: O }>;
export type ParamsOf<O extends Op> = Omit<RequestOf<O>, 'id' | 'op'>;

export type EntryType = 'file' | 'dir' | 'symlink' | 'other';

export interface Entry {
  name: string;
  type: EntryType;
  size: number;
  /** Milliseconds since the epoch. */
  mtime: number;
  /** Permission bits (e.g. 0o644). */
  mode: number;
  /** For a symlink that resolves inside the home: what it points at. */
  target?: 'file' | 'dir';
}

export interface Quota {
  used: number;
  /** Bytes allowed; 0 means unlimited. */
  total: number;
}

/** What each op answers on success (besides `id` and `ok`). */
export interface Results {
  login: { user: string; quota: Quota; session: string };
  logout: Record<string, never>;
  ping: Record<string, never>;
  list: { entries: Entry[]; truncated?: boolean };
  stat: { entry: Entry };
  mkdir: Record<string, never>;
  remove: Record<string, never>;
  rename: Record<string, never>;
  quota: Quota;
  hash: { sha256: string; length: number };
  'upload.open': { stream: number; offset: number; prefixSha256?: string };
  'upload.finish': { size: number; sha256: string; mtime: number };
  'upload.put': { size: number; sha256: string; mtime: number };
  'upload.cancel': Record<string, never>;
  'download.open': { stream: number; size: number; mtime: number; offset: number };
  'download.cancel': Record<string, never>;
  'exec.start': { stream: number };
  'exec.cancel': Record<string, never>;
  /** `pending`: an administrator must approve the account before it can log in. */
  register: { user: string; status: 'active' | 'pending' };
}

/** Why the server ended a remote command itself (absent when the program ended on its own). */
export type ExecEndReason = 'timeout' | 'output-limit' | 'canceled';

export type ReplyOf<O extends Op> = { id: number; ok: true } & Results[O];
export type ErrorReply = { id: number; ok: false; error: WireError };

/** Unsolicited server → client messages. */
export type ServerEvent =
  | { event: 'hello'; server: string; version: string; protocol: number; maxFramePayload: number }
  /** Waiting for a session slot; position 1 is next. Sent again whenever it changes. */
  | { event: 'queue'; position: number }
  /** Bytes of `stream` up to `offset` are on the server's disk (fdatasync'd). */
  | { event: 'ack'; stream: number; offset: number }
  /** A frame was refused; nothing was written. For EOFFSET, `error.expected` says where to go on. */
  | { event: 'upload.error'; stream: number; error: WireError }
  /** The last frame of a download has been sent; `sha256` covers the whole file. */
  | { event: 'download.end'; stream: number; size: number; sha256: string }
  | { event: 'download.error'; stream: number; error: WireError }
  /**
   * A remote command ended, after its last output frame. `code` is its exit status (null when a
   * signal ended it), `signal` the signal's name; `reason` says when the server killed it.
   */
  | { event: 'exec.exit'; stream: number; code: number | null; signal: string | null; reason?: ExecEndReason }
  /** The server is about to close the connection, and why. */
  | { event: 'closing'; error: WireError };

/**
 * Parses and validates one inbound control message (server side). Never throws: a bad message
 * becomes a FerryError, carrying the request id when one could be read so that the error can be
 * answered rather than only logged.
 */
export function parseRequest(text: string): { ok: true; request: Request } | { ok: false; id?: number; error: FerryError } {
  if (Buffer.byteLength(text) > LIMITS.maxControlBytes) {
    return { ok: false, error: new FerryError('ELIMIT', `control message larger than ${LIMITS.maxControlBytes} bytes`) };
  }
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { ok: false, error: new FerryError('EPROTO', 'control message is not valid JSON') };
  }
  const rawId = typeof raw === 'object' && raw !== null ? (raw as { id?: unknown }).id : undefined;
  const knownId = typeof rawId === 'number' && Number.isSafeInteger(rawId) && rawId >= 0 ? rawId : undefined;
  const parsed = requestSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue && issue.path.length > 0 ? `${issue.path.join('.')}: ` : '';
    const rawOp = typeof raw === 'object' && raw !== null ? (raw as { op?: unknown }).op : undefined;
    const unknownOp = typeof rawOp === 'string' && issue?.path.length === 1 && issue.path[0] === 'op';
    return {
      ok: false,
      ...(knownId === undefined ? {} : { id: knownId }),
      error: new FerryError(unknownOp ? 'ENOTSUP' : 'EINVAL', unknownOp ? `unknown op: ${rawOp}` : `${where}${issue?.message ?? 'invalid message'}`),
    };
  }
  return { ok: true, request: parsed.data };
}

/**
 * Parses a server → client control message. The client trusts the server's shapes less than a
 * schema would but still refuses oversize or non-object input.
 */
export function parseServerMessage(text: string): { ok: true; message: ServerMessage } | { ok: false; error: FerryError } {
  if (Buffer.byteLength(text) > LIMITS.maxServerMessageBytes) {
    return { ok: false, error: new FerryError('ELIMIT', 'server message too large') };
  }
  try {
    const raw = JSON.parse(text) as unknown;
    if (typeof raw !== 'object' || raw === null) throw new Error('not an object');
    const message = raw as ServerMessage;
    if ('event' in message ? typeof message.event !== 'string' : typeof (message as { id?: unknown }).id !== 'number') {
      throw new Error('neither a reply nor an event');
    }
    return { ok: true, message };
  } catch (error) {
    return { ok: false, error: new FerryError('EPROTO', `bad server message: ${(error as Error).message}`) };
  }
}

export type ServerMessage = ServerEvent | ErrorReply | ({ id: number; ok: true } & Record<string, unknown>);

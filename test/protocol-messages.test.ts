import test from 'ava';
import {
  CLIENT_STREAM_BASE,
  CLOSE,
  ERRORS,
  FerryError,
  LIMITS,
  isErrorCode,
  parseRequest,
  parseServerMessage,
  requestSchema,
  type ErrorCode,
  type Op,
  type WireError,
} from '../src/protocol/index.js';
import { prng } from './helpers/prng.js';

/*
 * Control messages: every op accepted with minimal and full params, every kind of bad input
 * refused with the right code (and the request id when one could be read), never a throw.
 */

function pick<T>(rand: () => number, items: readonly T[]): T {
  return items[Math.floor(rand() * items.length)]!;
}

const SHA = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

/** Minimal and full params for every op. The test below checks this table covers the schema. */
const OPS: Record<Op, { minimal: Record<string, unknown>; full: Record<string, unknown> }> = {
  login: { minimal: { user: 'alice', password: '' }, full: { user: 'a'.repeat(64), password: 'p'.repeat(1024) } },
  logout: { minimal: {}, full: {} },
  ping: { minimal: {}, full: {} },
  list: { minimal: { path: '/' }, full: { path: '/a/b' } },
  stat: { minimal: { path: '/' }, full: { path: 'x'.repeat(LIMITS.maxPathBytes) } },
  mkdir: { minimal: { path: '/d' }, full: { path: '/d/e/f', parents: true } },
  remove: { minimal: { path: '/d' }, full: { path: '/d', recursive: false } },
  rename: { minimal: { from: '/a', to: '/b' }, full: { from: '/a', to: '/b', overwrite: true } },
  quota: { minimal: {}, full: {} },
  hash: { minimal: { path: '/f' }, full: { path: '/f', length: LIMITS.maxFileSize } },
  'upload.open': {
    minimal: { path: '/f', size: 0, mtime: 0 },
    full: { path: '/f', size: LIMITS.maxFileSize, mtime: 1_700_000_000_000, overwrite: true, restart: false, adopt: true },
  },
  'upload.finish': { minimal: { stream: 1, sha256: SHA }, full: { stream: 0xffff_ffff, sha256: SHA } },
  'upload.put': {
    minimal: { path: '/f', size: 0, mtime: 0, sha256: SHA, stream: CLIENT_STREAM_BASE },
    full: { path: '/f', size: LIMITS.maxPutBytes, mtime: 1_700_000_000_000, sha256: SHA, stream: 0xffff_ffff, overwrite: true },
  },
  'upload.cancel': { minimal: { stream: 1 }, full: { stream: 2, discard: true } },
  'download.open': {
    minimal: { path: '/f', offset: 0 },
    full: { path: '/f', offset: 1 << 20, expectSize: 2 << 20, expectMtime: 1_700_000_000_000, prefixSha256: SHA },
  },
  'download.cancel': { minimal: { stream: 1 }, full: { stream: 1 } },
  'exec.start': {
    minimal: { argv: ['uname'], cwd: '/' },
    full: { argv: ['ls', '-la', '; rm -rf / $(id) `id` | & > *', 'x'.repeat(LIMITS.maxExecArgBytes)], cwd: '/a/b' },
  },
  'exec.cancel': { minimal: { stream: 1 }, full: { stream: 0xffff_ffff } },
  register: { minimal: { user: 'alice', password: '' }, full: { user: 'a'.repeat(64), password: 'p'.repeat(1024) } },
};

function schemaOps(): string[] {
  return requestSchema.options.map((option) => option.shape.op.value);
}

function refused(text: string): { id?: number; code: ErrorCode; message: string } {
  const result = parseRequest(text);
  if (result.ok) throw new Error(`accepted: ${text.slice(0, 200)}`);
  return { ...(result.id === undefined ? {} : { id: result.id }), code: result.error.code, message: result.error.message };
}

// ---------------------------------------------------------------------------------------------
// parseRequest: what it accepts

test('the OPS table names exactly the ops the schema knows', (t) => {
  t.deepEqual(Object.keys(OPS).sort(), schemaOps().sort());
});

for (const [op, { minimal, full }] of Object.entries(OPS)) {
  test(`parseRequest accepts ${op} with minimal and with full params, unchanged`, (t) => {
    for (const params of [minimal, full]) {
      const message = { id: 42, op, ...params };
      const result = parseRequest(JSON.stringify(message));
      if (!result.ok) return t.fail(`${op}: ${result.error.code} ${result.error.message}`);
      t.deepEqual(result.request, message, 'no defaults are filled in, nothing is dropped');
    }
  });

  test(`parseRequest refuses ${op} with an extra field, answering its id`, (t) => {
    t.like(refused(JSON.stringify({ id: 7, op, ...full, colour: 'blue' })), { id: 7, code: 'EINVAL' });
  });
}

test('exec.start: argv needs a program, refuses NUL bytes, too many or too long arguments (EINVAL with the id)', (t) => {
  const bad: unknown[] = [
    [],
    ['ls', 'a\0b'],
    Array.from({ length: LIMITS.maxExecArgs + 1 }, () => 'x'),
    ['ls', 'é'.repeat(LIMITS.maxExecArgBytes / 2 + 1)],
    'uname -a',
    [1],
  ];
  for (const argv of bad) {
    t.like(refused(JSON.stringify({ id: 5, op: 'exec.start', argv, cwd: '/' })), { id: 5, code: 'EINVAL' }, JSON.stringify(argv).slice(0, 60));
  }
  t.like(refused(JSON.stringify({ id: 6, op: 'exec.start', argv: ['ls'] })), { id: 6, code: 'EINVAL' }, 'cwd is required');
});

test('upload.put: only small files, only client stream ids (EINVAL with the id)', (t) => {
  const ok = { path: '/f', size: 1, mtime: 0, sha256: SHA, stream: CLIENT_STREAM_BASE };
  t.true(parseRequest(JSON.stringify({ id: 1, op: 'upload.put', ...ok })).ok);
  const bad = [
    { ...ok, size: LIMITS.maxPutBytes + 1 },
    { ...ok, stream: CLIENT_STREAM_BASE - 1 },
    { ...ok, stream: 1 },
    { ...ok, stream: 0x1_0000_0000 },
    { ...ok, sha256: SHA.toUpperCase() },
  ];
  for (const params of bad) t.like(refused(JSON.stringify({ id: 9, op: 'upload.put', ...params })), { id: 9, code: 'EINVAL' }, JSON.stringify(params));
});

test('request ids: 0 and MAX_SAFE_INTEGER are fine; negative, fractional, unsafe or non-numeric are not', (t) => {
  t.true(parseRequest('{"id":0,"op":"ping"}').ok);
  t.true(parseRequest(`{"id":${Number.MAX_SAFE_INTEGER},"op":"ping"}`).ok);
  for (const id of ['-1', '1.5', '9007199254740992', '"1"', 'null', 'true', '[]']) {
    const result = refused(`{"id":${id},"op":"ping"}`);
    t.is(result.code, 'EINVAL', id);
    t.is(result.id, undefined, `${id}: an unusable id is not echoed`);
  }
  t.like(refused('{"op":"ping"}'), { code: 'EINVAL' });
});

// ---------------------------------------------------------------------------------------------
// parseRequest: what it refuses

test('an unknown op is ENOTSUP and keeps the id so it can be answered', (t) => {
  for (const op of ['"nope"', '"LIST"', '"upload"', '"__proto__"', '"constructor"', '""']) {
    const result = refused(`{"id":3,"op":${op}}`);
    t.is(result.code, 'ENOTSUP', op);
    t.is(result.id, 3);
    t.regex(result.message, /unknown op/);
  }
});

test('a missing op, or one that is not a string, is a bad field (EINVAL), with the id', (t) => {
  for (const message of ['{"id":4}', '{"id":4,"op":5}', '{"id":4,"op":null}']) {
    const result = refused(message);
    t.like(result, { id: 4, code: 'EINVAL' }, message);
    t.regex(result.message, /^op: /, message);
  }
});

/** [op, bad params, the field the message must name]. */
const BAD_FIELDS: Array<[Op, Record<string, unknown>, string]> = [
  ['login', { user: '', password: 'x' }, 'user'],
  ['login', { user: 'a'.repeat(65), password: 'x' }, 'user'],
  ['login', { user: 'alice', password: 'p'.repeat(1025) }, 'password'],
  ['login', { user: 7, password: 'x' }, 'user'],
  ['login', { user: 'alice' }, 'password'],
  ['list', {}, 'path'],
  ['list', { path: '' }, 'path'],
  ['list', { path: 5 }, 'path'],
  ['list', { path: ['a'] }, 'path'],
  ['stat', { path: 'x'.repeat(LIMITS.maxPathBytes + 1) }, 'path'],
  ['mkdir', { path: '/d', parents: 'yes' }, 'parents'],
  ['remove', { path: '/d', recursive: 1 }, 'recursive'],
  ['rename', { from: '/a' }, 'to'],
  ['rename', { from: '/a', to: '/b', overwrite: null }, 'overwrite'],
  ['hash', { path: '/f', length: -1 }, 'length'],
  ['hash', { path: '/f', length: 2 ** 53 }, 'length'],
  ['upload.open', { path: '/f', size: -1, mtime: 0 }, 'size'],
  ['upload.open', { path: '/f', size: 1.5, mtime: 0 }, 'size'],
  ['upload.open', { path: '/f', size: 2 ** 53, mtime: 0 }, 'size'],
  ['upload.open', { path: '/f', size: 1e300, mtime: 0 }, 'size'],
  ['upload.open', { path: '/f', size: '10', mtime: 0 }, 'size'],
  ['upload.open', { path: '/f', size: 1, mtime: -5 }, 'mtime'],
  ['upload.open', { path: '/f', size: 1 }, 'mtime'],
  ['upload.open', { path: '/f', size: 1, mtime: 0, restart: 'true' }, 'restart'],
  ['upload.finish', { stream: 1, sha256: SHA.toUpperCase() }, 'sha256'],
  ['upload.finish', { stream: 1, sha256: SHA.slice(1) }, 'sha256'],
  ['upload.finish', { stream: 1, sha256: `${SHA}0` }, 'sha256'],
  ['upload.finish', { stream: 1, sha256: `${SHA.slice(1)}g` }, 'sha256'],
  ['upload.finish', { stream: 0, sha256: SHA }, 'stream'],
  ['upload.finish', { stream: 2 ** 32, sha256: SHA }, 'stream'],
  ['upload.finish', { stream: '1', sha256: SHA }, 'stream'],
  ['upload.cancel', { stream: -1 }, 'stream'],
  ['download.open', { path: '/f' }, 'offset'],
  ['download.open', { path: '/f', offset: -1 }, 'offset'],
  ['download.open', { path: '/f', offset: 0, expectSize: -1 }, 'expectSize'],
  ['download.open', { path: '/f', offset: 0, expectMtime: 0.25 }, 'expectMtime'],
  ['download.open', { path: '/f', offset: 0, prefixSha256: 'abc' }, 'prefixSha256'],
  ['download.cancel', {}, 'stream'],
];

test('bad fields are EINVAL with the id and a message naming the field', (t) => {
  for (const [op, params, field] of BAD_FIELDS) {
    const result = refused(JSON.stringify({ id: 11, op, ...params }));
    t.is(result.code, 'EINVAL', `${op} ${JSON.stringify(params).slice(0, 80)}`);
    t.is(result.id, 11);
    t.true(result.message.startsWith(`${field}: `), `${op}: "${result.message}" should name ${field}`);
  }
});

test('non-JSON is EPROTO, without an id', (t) => {
  for (const text of ['', ' ', '{', '{"id":1,"op":"ping"', "{'id':1}", 'ping', '{"id":1,"op":"ping"}}', '\u0000', 'NaN', '{"id":1,}']) {
    const result = refused(text);
    t.is(result.code, 'EPROTO', JSON.stringify(text));
    t.is(result.id, undefined);
  }
});

test('JSON that is not an object is EINVAL', (t) => {
  for (const text of ['null', '1', '"ping"', 'true', '[]', '[{"id":1,"op":"ping"}]']) {
    t.like(refused(text), { code: 'EINVAL' }, text);
  }
});

test('the control message limit is counted in UTF-8 bytes and checked before parsing', (t) => {
  const base = '{"id":1,"op":"ping"}';
  // JSON allows trailing whitespace, so the limit can be hit exactly with a valid message.
  t.true(parseRequest(base + ' '.repeat(LIMITS.maxControlBytes - base.length)).ok);
  t.like(refused(base + ' '.repeat(LIMITS.maxControlBytes - base.length + 1)), { code: 'ELIMIT' });
  // Under the limit in UTF-16 units, over it in bytes: must be ELIMIT, not a schema error.
  const wide = `{"id":1,"op":"ping","x":"${'é'.repeat(LIMITS.maxControlBytes / 2)}"}`;
  t.true(wide.length < LIMITS.maxControlBytes);
  const result = refused(wide);
  t.is(result.code, 'ELIMIT');
  t.is(result.id, undefined, 'an oversize message is not parsed, so no id');
});

test('a prototype-pollution attempt is refused and pollutes nothing', (t) => {
  const text = '{"id":1,"op":"ping","__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}';
  t.like(refused(text), { id: 1, code: 'EINVAL' });
  t.is((({}) as Record<string, unknown>).polluted, undefined);
});

// ---------------------------------------------------------------------------------------------
// Fuzz: never a throw, always a known code

const FUZZ_VALUES: unknown[] = [
  0, 1, -1, 1.5, 2 ** 53, 2 ** 32, Number.MAX_SAFE_INTEGER, 1e308, '', 'x', '/', '/a/b', '..', '\u0000', SHA,
  true, false, null, [], [1], {}, { a: 1 }, 'é'.repeat(10),
];

function randomMessage(rand: () => number): string {
  const kind = rand();
  if (kind < 0.3) {
    // Random characters, biased towards JSON punctuation.
    const alphabet = '{}[]",:0123456789.-eE truefalsnul\\/abc\u00e9\u0000\n';
    let out = '';
    const n = Math.floor(rand() * 80);
    for (let i = 0; i < n; i++) out += alphabet[Math.floor(rand() * alphabet.length)];
    return out;
  }
  const ops = [...Object.keys(OPS), 'nope', ''];
  const op = pick(rand, ops);
  const message: Record<string, unknown> = rand() < 0.9 ? { id: pick(rand, [1, 0, -1, 'a', 2 ** 53, 99]) } : {};
  if (rand() < 0.95) message.op = op;
  const known = (OPS as Record<string, { full: Record<string, unknown> } | undefined>)[op]?.full ?? {};
  for (const [key, value] of Object.entries(known)) {
    const roll = rand();
    if (roll < 0.6) message[key] = value;
    else if (roll < 0.9) message[key] = pick(rand, FUZZ_VALUES);
  }
  if (rand() < 0.1) message[pick(rand, ['extra', 'path', 'stream', 'ok'])] = pick(rand, FUZZ_VALUES);
  const text = JSON.stringify(message);
  // Now and then truncate it, so that half-JSON is covered too.
  return rand() < 0.1 ? text.slice(0, Math.floor(rand() * text.length)) : text;
}

test('fuzz: parseRequest never throws; every refusal carries a known code; every acceptance a known op', (t) => {
  const seed = 0xc0ffee;
  const rand = prng(seed);
  const ops = new Set(schemaOps());
  const seen = new Set<string>();
  for (let i = 0; i < 3000; i++) {
    const text = randomMessage(rand);
    let result: ReturnType<typeof parseRequest> | undefined;
    try {
      result = parseRequest(text);
    } catch (error) {
      return t.fail(`seed ${seed} case ${i} threw ${String(error)} on ${text}`);
    }
    if (result.ok) {
      t.true(ops.has(result.request.op));
      seen.add('ok');
    } else {
      t.true(result.error instanceof FerryError);
      t.true(isErrorCode(result.error.code), `case ${i}: ${result.error.code}`);
      t.true(['EPROTO', 'EINVAL', 'ENOTSUP', 'ELIMIT'].includes(result.error.code), `case ${i}: ${result.error.code}`);
      if (result.id !== undefined) t.true(Number.isSafeInteger(result.id) && result.id >= 0);
      seen.add(result.error.code);
    }
  }
  // The generator must actually reach every branch, or the loop proves little.
  t.deepEqual([...seen].sort(), ['EINVAL', 'ENOTSUP', 'EPROTO', 'ok']);
});

// ---------------------------------------------------------------------------------------------
// parseServerMessage

test('parseServerMessage accepts replies, error replies and every event', (t) => {
  const error: WireError = { code: 'EOFFSET', message: 'unexpected offset', expected: 4096 };
  const messages: unknown[] = [
    { id: 1, ok: true },
    { id: 2, ok: true, entries: [], truncated: true },
    { id: 3, ok: false, error: { code: 'ENOENT', message: 'no such file or directory' } },
    { event: 'hello', server: 'ferry', version: '0.1.0', protocol: 1, maxFramePayload: LIMITS.maxFramePayload },
    { event: 'queue', position: 1 },
    { event: 'ack', stream: 1, offset: 8 << 20 },
    { event: 'upload.error', stream: 1, error },
    { event: 'download.end', stream: 2, size: 10, sha256: SHA },
    { event: 'download.error', stream: 2, error: { code: 'ECHANGED', message: 'changed' } },
    { event: 'closing', error: { code: 'EBUSY', message: 'busy', retryAfterMs: 1000 } },
    { event: 'exec.exit', stream: 3, code: 0, signal: null },
    { event: 'exec.exit', stream: 3, code: null, signal: 'SIGKILL', reason: 'timeout' },
  ];
  for (const message of messages) {
    const result = parseServerMessage(JSON.stringify(message));
    if (!result.ok) return t.fail(`${JSON.stringify(message)}: ${result.error.message}`);
    t.deepEqual(result.message, message);
  }
});

test('parseServerMessage refuses non-JSON, non-objects and messages that are neither reply nor event', (t) => {
  for (const text of ['', '{', 'null', '1', '"x"', 'true', '[]', '{}', '{"id":"1","ok":true}', '{"event":5}', '{"ok":true}']) {
    const result = parseServerMessage(text);
    t.false(result.ok, text);
    if (!result.ok) t.is(result.error.code, 'EPROTO', text);
  }
});

test('parseServerMessage refuses a message over maxServerMessageBytes with ELIMIT before parsing', (t) => {
  const huge = `{"id":1,"ok":true,"x":"${'a'.repeat(LIMITS.maxServerMessageBytes)}"}`;
  const result = parseServerMessage(huge);
  t.false(result.ok);
  if (!result.ok) t.is(result.error.code, 'ELIMIT');
});

test('fuzz: parseServerMessage never throws on garbage', (t) => {
  const rand = prng(77);
  for (let i = 0; i < 2000; i++) {
    const text = rand() < 0.5 ? randomMessage(rand) : JSON.stringify(pick(rand, FUZZ_VALUES));
    t.notThrows(() => {
      const result = parseServerMessage(text);
      if (!result.ok) t.true(isErrorCode(result.error.code));
    }, `case ${i}`);
  }
});

// ---------------------------------------------------------------------------------------------
// Errors and close codes

test('every error code has a non-empty default message, and codes look like errno names', (t) => {
  const codes = Object.keys(ERRORS) as ErrorCode[];
  t.true(codes.length >= 20);
  for (const code of codes) {
    t.regex(code, /^E[A-Z]+$/);
    t.true(ERRORS[code].length > 3, code);
    t.is(new FerryError(code).message, ERRORS[code]);
    t.true(isErrorCode(code));
  }
  for (const notCode of ['', 'enoent', 'toString', '__proto__', 'hasOwnProperty', 5, null, undefined]) t.false(isErrorCode(notCode));
});

test('FerryError round-trips through toWire/fromWire with its details', (t) => {
  const cases = [
    new FerryError('EOFFSET', undefined, { expected: 12345 }),
    new FerryError('ETHROTTLE', 'slow down', { retryAfterMs: 30_000 }),
    new FerryError('ENOENT', 'no such file: /a'),
    new FerryError('EBUSY', undefined, { retryAfterMs: 0 }),
  ];
  for (const original of cases) {
    const wire = original.toWire();
    t.deepEqual(JSON.parse(JSON.stringify(wire)), wire, 'the wire form is plain JSON');
    const back = FerryError.fromWire(JSON.parse(JSON.stringify(wire)) as WireError);
    t.true(back instanceof FerryError);
    t.true(back instanceof Error);
    t.is(back.name, 'FerryError');
    t.is(back.code, original.code);
    t.is(back.message, original.message);
    t.deepEqual(back.details, original.details);
    t.deepEqual(back.toWire(), wire);
  }
  t.deepEqual(new FerryError('EOFFSET', undefined, { expected: 5 }).toWire(), { code: 'EOFFSET', message: 'unexpected offset', expected: 5 });
});

test('fromWire maps a code it does not know to EINTERNAL and keeps the message', (t) => {
  const error = FerryError.fromWire({ code: 'EWHAT' as ErrorCode, message: 'from a newer server' });
  t.is(error.code, 'EINTERNAL');
  t.is(error.message, 'from a newer server');
});

test('close codes are unique and either RFC 6455 codes or in the application range 4000-4999', (t) => {
  const values = Object.values(CLOSE);
  t.is(new Set(values).size, values.length);
  for (const [name, code] of Object.entries(CLOSE)) {
    t.true((code >= 1000 && code <= 1011) || (code >= 4000 && code <= 4999), name);
  }
});

import test from 'ava';
import {
  ERRORS,
  FRAME_HEADER_BYTES,
  FerryError,
  FrameDecoder,
  FrameKind,
  LIMITS,
  decodeFrame,
  encodeFrame,
  readFrameHeader,
  writeFrameHeader,
  type Frame,
  type FrameHeader,
} from '../src/protocol/index.js';
import { prng } from './helpers/prng.js';

/*
 * The data-frame codec: round trips, fixed hex fixtures, a decoder fed any chunking, and malformed
 * input that must come back as an error result with a code (never a throw).
 */

function randInt(rand: () => number, maxExclusive: number): number {
  return Math.floor(rand() * maxExclusive);
}

function randBytes(rand: () => number, n: number): Buffer {
  const out = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) out[i] = randInt(rand, 256);
  return out;
}

const KINDS = Object.values(FrameKind);

/** Offsets from every magnitude: small, around 2^32, and up to 2^53 - 1. */
function randOffset(rand: () => number): number {
  switch (randInt(rand, 4)) {
    case 0:
      return randInt(rand, 1 << 20);
    case 1:
      return 0xffff_ffff + randInt(rand, 3) - 1;
    case 2:
      return randInt(rand, 0x20_0000) * 0x1_0000_0000 + randInt(rand, 0x1_0000_0000);
    default:
      return Number.MAX_SAFE_INTEGER - randInt(rand, 3);
  }
}

function randFrame(rand: () => number, maxPayload = 300): { header: Omit<FrameHeader, 'length' | 'flags'>; payload: Buffer } {
  return {
    header: {
      kind: KINDS[randInt(rand, KINDS.length)]!,
      stream: randInt(rand, 0x1_0000_0000),
      offset: randOffset(rand),
    },
    payload: randBytes(rand, randInt(rand, maxPayload + 1)),
  };
}

function hex(text: string): Buffer {
  return Buffer.from(text.replace(/\s+/g, ''), 'hex');
}

/** Copies payloads out: the decoder hands out views that a later push may not keep valid. */
function plain(frames: Frame[]): Array<Omit<Frame, 'payload'> & { payload: string }> {
  return frames.map((f) => ({ kind: f.kind, flags: f.flags, stream: f.stream, offset: f.offset, length: f.length, payload: f.payload.toString('hex') }));
}

function feed(decoder: FrameDecoder, chunks: Buffer[]): { frames: Frame[]; error?: FerryError } {
  const frames: Frame[] = [];
  for (const chunk of chunks) {
    const result = decoder.push(chunk);
    frames.push(...result.frames.map((f) => ({ ...f, payload: Buffer.from(f.payload) })));
    if (result.error) return { frames, error: result.error };
  }
  return { frames };
}

/** A header with arbitrary raw field values, for building frames the encoder would refuse. */
function rawHeader(fields: { version?: number; kind?: number; flags?: number; stream?: number; high?: number; low?: number; length?: number }): Buffer {
  const buf = Buffer.alloc(FRAME_HEADER_BYTES);
  buf.writeUInt8(fields.version ?? 1, 0);
  buf.writeUInt8(fields.kind ?? FrameKind.DATA, 1);
  buf.writeUInt16BE(fields.flags ?? 0, 2);
  buf.writeUInt32BE(fields.stream ?? 1, 4);
  buf.writeUInt32BE(fields.high ?? 0, 8);
  buf.writeUInt32BE(fields.low ?? 0, 12);
  buf.writeUInt32BE(fields.length ?? 0, 16);
  return buf;
}

// ---------------------------------------------------------------------------------------------
// Fixed bytes

/*
 * DATA frame, stream 7, offset 2^32 + 5 (so both offset words are non-zero), payload "hi!".
 *   01 | 01 | 0000 | 00000007 | 00000001 00000005 | 00000003 | 68 69 21
 */
const FIXTURE_HEX = '01 01 0000 00000007 00000001 00000005 00000003 686921';
const FIXTURE = { kind: FrameKind.DATA, flags: 0, stream: 7, offset: 0x1_0000_0005, length: 3 };

test('a fixed frame written out as hex decodes to its fields', (t) => {
  const result = decodeFrame(hex(FIXTURE_HEX));
  if (!result.ok) return t.fail(result.error.message);
  const { payload, ...header } = result.frame;
  t.deepEqual(header, FIXTURE);
  t.is(payload.toString('latin1'), 'hi!');
});

test('encodeFrame writes exactly the fixture bytes', (t) => {
  const encoded = encodeFrame({ kind: FrameKind.DATA, stream: 7, offset: 0x1_0000_0005 }, Buffer.from('hi!'));
  t.is(encoded.toString('hex'), hex(FIXTURE_HEX).toString('hex'));
});

test('the worked example of docs/protocol.md §3 is what the encoder writes and the decoder reads', (t) => {
  const documented = hex(`
    01 01 00 00 00 00 00 03  00 00 00 01 2a 05 f2 00
    00 00 00 0d 68 65 6c 6c  6f 2c 20 66 65 72 72 79
    0a`);
  const encoded = encodeFrame({ kind: FrameKind.DATA, stream: 3, offset: 5_000_000_000 }, Buffer.from('hello, ferry\n'));
  t.is(encoded.toString('hex'), documented.toString('hex'));
  const result = decodeFrame(documented);
  if (!result.ok) return t.fail(result.error.message);
  t.like(result.frame, { kind: FrameKind.DATA, flags: 0, stream: 3, offset: 5_000_000_000, length: 13 });
  t.is(result.frame.payload.toString(), 'hello, ferry\n');
});

test('the header is big-endian and 20 bytes; extreme fields land where the table says', (t) => {
  t.is(FRAME_HEADER_BYTES, 20);
  const encoded = encodeFrame({ kind: FrameKind.EXEC_STDERR, stream: 0xffff_ffff, offset: Number.MAX_SAFE_INTEGER }, Buffer.alloc(0));
  t.is(encoded.toString('hex'), hex('01 03 0000 ffffffff 001fffff ffffffff 00000000').toString('hex'));
});

test('writeFrameHeader fills a preallocated buffer and leaves the payload area alone', (t) => {
  const buf = Buffer.alloc(FRAME_HEADER_BYTES + 3, 0xaa);
  writeFrameHeader(buf, { ...FIXTURE });
  t.is(buf.subarray(0, FRAME_HEADER_BYTES).toString('hex'), hex(FIXTURE_HEX).subarray(0, FRAME_HEADER_BYTES).toString('hex'));
  t.is(buf.subarray(FRAME_HEADER_BYTES).toString('hex'), 'aaaaaa');
  t.deepEqual(readFrameHeader(buf), FIXTURE);
});

// ---------------------------------------------------------------------------------------------
// Round trips

test('edge frames round-trip: empty payload, largest offset, largest stream, largest payload', (t) => {
  const cases: Array<[Omit<FrameHeader, 'length' | 'flags'>, Buffer]> = [
    [{ kind: FrameKind.DATA, stream: 1, offset: 0 }, Buffer.alloc(0)],
    [{ kind: FrameKind.DATA, stream: 0, offset: Number.MAX_SAFE_INTEGER }, Buffer.from([0])],
    [{ kind: FrameKind.EXEC_STDOUT, stream: 0xffff_ffff, offset: 0xffff_ffff }, Buffer.from('x')],
    [{ kind: FrameKind.DATA, stream: 2, offset: 0x1_0000_0000 }, Buffer.alloc(LIMITS.maxFramePayload, 0x5a)],
  ];
  for (const [header, payload] of cases) {
    const encoded = encodeFrame(header, payload);
    t.is(encoded.length, FRAME_HEADER_BYTES + payload.length);
    const result = decodeFrame(encoded);
    if (!result.ok) return t.fail(result.error.message);
    t.like(result.frame, { ...header, flags: 0, length: payload.length });
    t.true(result.frame.payload.equals(payload));
  }
});

test('decodeFrame hands out a view into the message, not a copy', (t) => {
  const message = encodeFrame({ kind: FrameKind.DATA, stream: 1, offset: 0 }, Buffer.from('abc'));
  const result = decodeFrame(message);
  if (!result.ok) return t.fail(result.error.message);
  message[FRAME_HEADER_BYTES] = 0x7a;
  t.is(result.frame.payload.toString(), 'zbc');
});

test('property: 500 random frames round-trip through encodeFrame/decodeFrame', (t) => {
  const seed = 0xfe55;
  const rand = prng(seed);
  for (let i = 0; i < 500; i++) {
    const { header, payload } = randFrame(rand);
    const result = decodeFrame(encodeFrame(header, payload));
    if (!result.ok) return t.fail(`seed ${seed} case ${i}: ${result.error.message}`);
    const { payload: decoded, ...fields } = result.frame;
    t.deepEqual(fields, { ...header, flags: 0, length: payload.length }, `seed ${seed} case ${i}`);
    t.true(decoded.equals(payload), `seed ${seed} case ${i}`);
  }
});

// ---------------------------------------------------------------------------------------------
// FrameDecoder on a byte stream

function sampleStream(seed: number, count: number, maxPayload: number): { bytes: Buffer; frames: ReturnType<typeof plain> } {
  const rand = prng(seed);
  const parts: Buffer[] = [];
  const frames: Frame[] = [];
  for (let i = 0; i < count; i++) {
    // An empty payload now and then: a frame that is only a header must not stall the decoder.
    const { header, payload } = randFrame(rand, i % 3 === 1 ? 0 : maxPayload);
    parts.push(encodeFrame(header, payload));
    frames.push({ ...header, flags: 0, length: payload.length, payload });
  }
  return { bytes: Buffer.concat(parts), frames: plain(frames) };
}

test('FrameDecoder yields the same frames whatever single position the stream is split at', (t) => {
  const { bytes, frames } = sampleStream(1, 4, 12);
  for (let cut = 0; cut <= bytes.length; cut++) {
    const decoder = new FrameDecoder();
    const result = feed(decoder, [bytes.subarray(0, cut), bytes.subarray(cut)]);
    t.is(result.error, undefined);
    t.deepEqual(plain(result.frames), frames, `cut at ${cut}`);
    t.is(decoder.buffered, 0);
  }
});

test('FrameDecoder yields the same frames for every pair of split positions', (t) => {
  const { bytes, frames } = sampleStream(2, 3, 6);
  for (let a = 0; a <= bytes.length; a++) {
    for (let b = a; b <= bytes.length; b++) {
      const result = feed(new FrameDecoder(), [bytes.subarray(0, a), bytes.subarray(a, b), bytes.subarray(b)]);
      if (result.error || JSON.stringify(plain(result.frames)) !== JSON.stringify(frames)) {
        return t.fail(`cuts at ${a}, ${b}`);
      }
    }
  }
  t.pass();
});

test('FrameDecoder fed one byte at a time', (t) => {
  const { bytes, frames } = sampleStream(3, 6, 40);
  const chunks = [...bytes].map((byte) => Buffer.from([byte]));
  const decoder = new FrameDecoder();
  const result = feed(decoder, chunks);
  t.is(result.error, undefined);
  t.deepEqual(plain(result.frames), frames);
});

test('property: random chunkings (with empty chunks) of back-to-back frames', (t) => {
  for (let seed = 100; seed < 160; seed++) {
    const rand = prng(seed);
    const { bytes, frames } = sampleStream(seed, 1 + randInt(rand, 8), 500);
    const chunks: Buffer[] = [];
    for (let at = 0; at < bytes.length; ) {
      const n = randInt(rand, 4) === 0 ? 0 : 1 + randInt(rand, 64);
      chunks.push(bytes.subarray(at, at + n));
      at += n;
    }
    const decoder = new FrameDecoder();
    const result = feed(decoder, chunks);
    t.is(result.error, undefined, `seed ${seed}`);
    t.deepEqual(plain(result.frames), frames, `seed ${seed}`);
    t.is(decoder.buffered, 0, `seed ${seed}`);
  }
});

test('FrameDecoder holds a partial frame and reports how many bytes it buffers', (t) => {
  const bytes = hex(FIXTURE_HEX);
  const decoder = new FrameDecoder();
  t.deepEqual(decoder.push(bytes.subarray(0, 10)), { frames: [] });
  t.is(decoder.buffered, 10);
  t.deepEqual(decoder.push(bytes.subarray(10, 21)).frames, []);
  t.is(decoder.buffered, 1);
  const last = decoder.push(bytes.subarray(21));
  t.is(last.frames.length, 1);
  t.is(last.frames[0]!.payload.toString(), 'hi!');
  t.is(decoder.buffered, 0);
});

test('FrameDecoder carries a maximum-size payload split into uneven chunks', (t) => {
  const payload = randBytes(prng(9), LIMITS.maxFramePayload);
  const bytes = encodeFrame({ kind: FrameKind.DATA, stream: 3, offset: 12345 }, payload);
  const chunks = [bytes.subarray(0, 7), bytes.subarray(7, 65_543), bytes.subarray(65_543, bytes.length - 1), bytes.subarray(bytes.length - 1)];
  const result = feed(new FrameDecoder(), chunks);
  t.is(result.error, undefined);
  t.is(result.frames.length, 1);
  t.true(result.frames[0]!.payload.equals(payload));
});

// ---------------------------------------------------------------------------------------------
// Malformed input: an error result with a code, never a throw

const BAD_HEADERS: Array<{ name: string; bytes: Buffer; code: keyof typeof ERRORS; pattern: RegExp }> = [
  { name: 'version 0', bytes: rawHeader({ version: 0 }), code: 'EPROTO', pattern: /version 0/ },
  { name: 'version 2', bytes: rawHeader({ version: 2 }), code: 'EPROTO', pattern: /version 2/ },
  { name: 'kind 0', bytes: rawHeader({ kind: 0 }), code: 'EPROTO', pattern: /kind 0/ },
  { name: 'kind 4', bytes: rawHeader({ kind: 4 }), code: 'EPROTO', pattern: /kind 4/ },
  { name: 'kind 255', bytes: rawHeader({ kind: 255 }), code: 'EPROTO', pattern: /kind 255/ },
  { name: 'reserved flag 0x0001', bytes: rawHeader({ flags: 1 }), code: 'EPROTO', pattern: /flags/ },
  { name: 'reserved flag 0x8000', bytes: rawHeader({ flags: 0x8000 }), code: 'EPROTO', pattern: /flags/ },
  { name: 'offset exactly 2^53', bytes: rawHeader({ high: 0x20_0000, low: 0 }), code: 'EPROTO', pattern: /offset/ },
  { name: 'offset 2^64 - 1', bytes: rawHeader({ high: 0xffff_ffff, low: 0xffff_ffff }), code: 'EPROTO', pattern: /offset/ },
  { name: 'length maxFramePayload + 1', bytes: rawHeader({ length: LIMITS.maxFramePayload + 1 }), code: 'ELIMIT', pattern: /exceeds/ },
  { name: 'length 2^32 - 1', bytes: rawHeader({ length: 0xffff_ffff }), code: 'ELIMIT', pattern: /exceeds/ },
];

for (const bad of BAD_HEADERS) {
  test(`decodeFrame refuses ${bad.name} with ${bad.code}`, (t) => {
    const result = decodeFrame(bad.bytes);
    t.false(result.ok);
    if (result.ok) return;
    t.true(result.error instanceof FerryError);
    t.is(result.error.code, bad.code);
    t.regex(result.error.message, bad.pattern);
  });

  test(`FrameDecoder refuses ${bad.name} as soon as the header is in, before any payload`, (t) => {
    const decoder = new FrameDecoder();
    t.deepEqual(decoder.push(bad.bytes.subarray(0, FRAME_HEADER_BYTES - 1)), { frames: [] });
    const result = decoder.push(bad.bytes.subarray(FRAME_HEADER_BYTES - 1));
    t.is(result.error?.code, bad.code);
    t.is(decoder.error, result.error);
    t.is(decoder.buffered, 0, 'a failed decoder drops what it held');
  });
}

test('decodeFrame: a message shorter than the header is a truncated header', (t) => {
  const full = hex(FIXTURE_HEX);
  for (let n = 0; n < FRAME_HEADER_BYTES; n++) {
    const result = decodeFrame(full.subarray(0, n));
    t.false(result.ok);
    if (!result.ok) {
      t.is(result.error.code, 'EPROTO');
      t.regex(result.error.message, /truncated frame header/);
    }
  }
});

test('decodeFrame: a message shorter or longer than its length field', (t) => {
  const full = hex(FIXTURE_HEX);
  for (const message of [full.subarray(0, FRAME_HEADER_BYTES), full.subarray(0, full.length - 1), Buffer.concat([full, Buffer.from([0])])]) {
    const result = decodeFrame(message);
    t.false(result.ok);
    if (!result.ok) {
      t.is(result.error.code, 'EPROTO');
      t.regex(result.error.message, /says 3 payload bytes, message holds \d+/);
    }
  }
});

test('FrameDecoder returns the frames before a bad header, then stays failed', (t) => {
  const good = hex(FIXTURE_HEX);
  const decoder = new FrameDecoder();
  const first = decoder.push(Buffer.concat([good, rawHeader({ kind: 9 }), good]));
  t.is(first.frames.length, 1);
  t.is(first.error?.code, 'EPROTO');
  // The stream is out of sync: later bytes, however good, are not decoded.
  const again = decoder.push(good);
  t.deepEqual(again.frames, []);
  t.is(again.error, first.error);
  t.is(decoder.push(Buffer.alloc(0)).error, first.error);
  t.is(decoder.buffered, 0);
});

test('FrameDecoder turns down a huge length after only the 20 header bytes', (t) => {
  const decoder = new FrameDecoder();
  const result = decoder.push(rawHeader({ length: 0x8000_0000 }));
  t.deepEqual(result.frames, []);
  t.is(result.error?.code, 'ELIMIT');
});

test('a length of exactly maxFramePayload is accepted at header time', (t) => {
  const decoder = new FrameDecoder();
  const result = decoder.push(rawHeader({ length: LIMITS.maxFramePayload }));
  t.deepEqual(result, { frames: [] });
  t.is(decoder.buffered, 0, 'the header was consumed; the decoder now waits for payload');
});

test('the encoder refuses fields it cannot represent, with a FerryError code', (t) => {
  const bad: Array<[Omit<FrameHeader, 'length' | 'flags'>, Buffer, keyof typeof ERRORS]> = [
    [{ kind: FrameKind.DATA, stream: -1, offset: 0 }, Buffer.alloc(0), 'EINVAL'],
    [{ kind: FrameKind.DATA, stream: 0x1_0000_0000, offset: 0 }, Buffer.alloc(0), 'EINVAL'],
    [{ kind: FrameKind.DATA, stream: 1.5, offset: 0 }, Buffer.alloc(0), 'EINVAL'],
    [{ kind: FrameKind.DATA, stream: 1, offset: -1 }, Buffer.alloc(0), 'EINVAL'],
    [{ kind: FrameKind.DATA, stream: 1, offset: 2 ** 53 }, Buffer.alloc(0), 'EINVAL'],
    [{ kind: FrameKind.DATA, stream: 1, offset: 0.5 }, Buffer.alloc(0), 'EINVAL'],
    [{ kind: 7 as FrameKind, stream: 1, offset: 0 }, Buffer.alloc(0), 'EINVAL'],
    [{ kind: FrameKind.DATA, stream: 1, offset: 0 }, Buffer.alloc(LIMITS.maxFramePayload + 1), 'ELIMIT'],
  ];
  for (const [header, payload, code] of bad) {
    const error = t.throws(() => encodeFrame(header, payload), { instanceOf: FerryError });
    t.is(error?.code, code, JSON.stringify(header));
  }
  for (const flags of [1, 0x8000, 0x1_0000]) {
    const error = t.throws(() => encodeFrame({ kind: FrameKind.DATA, stream: 1, offset: 0, flags }, Buffer.alloc(0)), { instanceOf: FerryError });
    t.is(error?.code, 'EINVAL', `reserved flags ${flags} are refused by the encoder as by the decoder`);
  }
});

test('property: garbage and mutated streams never throw; errors carry a known code', (t) => {
  for (let seed = 1000; seed < 1300; seed++) {
    const rand = prng(seed);
    let bytes: Buffer;
    if (seed % 2 === 0) {
      bytes = randBytes(rand, randInt(rand, 200));
      // Often a plausible first two bytes, so the fuzz gets past the version/kind checks.
      if (bytes.length >= 2 && rand() < 0.7) {
        bytes[0] = 1;
        bytes[1] = KINDS[randInt(rand, KINDS.length)]!;
      }
    } else {
      bytes = Buffer.from(sampleStream(seed, 3, 30).bytes);
      for (let flips = 1 + randInt(rand, 3); flips > 0; flips--) bytes[randInt(rand, bytes.length)] = randInt(rand, 256);
    }
    let single: ReturnType<typeof decodeFrame> | undefined;
    t.notThrows(() => {
      single = decodeFrame(bytes);
    }, `seed ${seed}`);
    if (single && !single.ok) t.true(Object.hasOwn(ERRORS, single.error.code), `seed ${seed}`);

    const decoder = new FrameDecoder();
    let at = 0;
    t.notThrows(() => {
      while (at < bytes.length) {
        const n = 1 + randInt(rand, 40);
        const result = decoder.push(bytes.subarray(at, at + n));
        at += n;
        for (const frame of result.frames) t.is(frame.payload.length, frame.length);
        if (result.error) {
          t.true(Object.hasOwn(ERRORS, result.error.code), `seed ${seed}`);
          t.is(decoder.push(Buffer.from([1])).error, result.error, `seed ${seed}: stays failed`);
          break;
        }
      }
    }, `seed ${seed}`);
  }
});

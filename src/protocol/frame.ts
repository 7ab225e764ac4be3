import { FerryError } from './errors.js';
import { LIMITS, PROTOCOL_VERSION } from './limits.js';

/**
 * Binary data frame: a 20-byte header, then the payload. All integers big-endian.
 *
 *   0  u8   version   (1)
 *   1  u8   kind      (FrameKind)
 *   2  u16  flags     (reserved, must be 0)
 *   4  u32  stream    (id from the open reply)
 *   8  u64  offset    (byte offset of the payload in the file; < 2^53)
 *  16  u32  length    (payload bytes; ≤ maxFramePayload)
 *  20  ...  payload
 *
 * Inside one WebSocket message the length is redundant, and is checked against the message
 * size; it is there so that the same frames can be cut out of a plain byte stream.
 */
export const FRAME_HEADER_BYTES = 20;

export const FrameKind = {
  DATA: 1,
  EXEC_STDOUT: 2,
  EXEC_STDERR: 3,
} as const;
export type FrameKind = (typeof FrameKind)[keyof typeof FrameKind];

const KNOWN_KINDS = new Set<number>(Object.values(FrameKind));
const TWO_POW_32 = 0x1_0000_0000;
/** The high word of a safe integer fits in 21 bits. */
const MAX_OFFSET_HIGH = 0x1f_ffff;

export interface FrameHeader {
  kind: FrameKind;
  flags: number;
  stream: number;
  offset: number;
  length: number;
}

export interface Frame extends FrameHeader {
  /** A view into the received buffer, not a copy. */
  payload: Buffer;
}

export type DecodeResult = { ok: true; frame: Frame } | { ok: false; error: FerryError };

function checkHeaderFields(h: FrameHeader): void {
  if (h.flags !== 0) throw new FerryError('EINVAL', `reserved flags must be 0, got ${h.flags}`);
  if (!Number.isInteger(h.stream) || h.stream < 0 || h.stream > 0xffff_ffff) {
    throw new FerryError('EINVAL', `stream id out of range: ${h.stream}`);
  }
  if (!Number.isSafeInteger(h.offset) || h.offset < 0) {
    throw new FerryError('EINVAL', `offset out of range: ${h.offset}`);
  }
  if (!Number.isInteger(h.length) || h.length < 0 || h.length > LIMITS.maxFramePayload) {
    throw new FerryError('ELIMIT', `payload length out of range: ${h.length}`);
  }
  if (!KNOWN_KINDS.has(h.kind)) throw new FerryError('EINVAL', `unknown frame kind: ${h.kind}`);
}

/**
 * Writes a header into the first 20 bytes of `target`. Senders allocate one buffer of
 * header + payload and read file data straight into it after the header, so a frame costs
 * no copy on the way out.
 */
export function writeFrameHeader(target: Buffer, header: FrameHeader): void {
  checkHeaderFields(header);
  target.writeUInt8(PROTOCOL_VERSION, 0);
  target.writeUInt8(header.kind, 1);
  target.writeUInt16BE(header.flags, 2);
  target.writeUInt32BE(header.stream, 4);
  target.writeUInt32BE(Math.floor(header.offset / TWO_POW_32), 8);
  target.writeUInt32BE(header.offset % TWO_POW_32, 12);
  target.writeUInt32BE(header.length, 16);
}

/** Builds a whole frame (header + a copy of the payload). For small frames and tests. */
export function encodeFrame(header: Omit<FrameHeader, 'length' | 'flags'> & { flags?: number }, payload: Uint8Array): Buffer {
  const buf = Buffer.allocUnsafe(FRAME_HEADER_BYTES + payload.byteLength);
  writeFrameHeader(buf, { flags: 0, ...header, length: payload.byteLength });
  buf.set(payload, FRAME_HEADER_BYTES);
  return buf;
}

/**
 * Reads and validates a header from the first 20 bytes of `buf` (which must hold at least that
 * many). Limits are checked here, before any payload is looked at or buffered.
 */
export function readFrameHeader(buf: Buffer): FrameHeader {
  const version = buf.readUInt8(0);
  if (version !== PROTOCOL_VERSION) throw new FerryError('EPROTO', `unsupported frame version ${version}`);
  const kind = buf.readUInt8(1);
  if (!KNOWN_KINDS.has(kind)) throw new FerryError('EPROTO', `unknown frame kind ${kind}`);
  const flags = buf.readUInt16BE(2);
  if (flags !== 0) throw new FerryError('EPROTO', `reserved flags set: 0x${flags.toString(16)}`);
  const stream = buf.readUInt32BE(4);
  const high = buf.readUInt32BE(8);
  if (high > MAX_OFFSET_HIGH) throw new FerryError('EPROTO', 'offset beyond 2^53');
  const offset = high * TWO_POW_32 + buf.readUInt32BE(12);
  const length = buf.readUInt32BE(16);
  if (length > LIMITS.maxFramePayload) {
    throw new FerryError('ELIMIT', `frame payload of ${length} bytes exceeds ${LIMITS.maxFramePayload}`);
  }
  return { kind: kind as FrameKind, flags, stream, offset, length };
}

/** Decodes one frame that fills a whole WebSocket message. Never throws. */
export function decodeFrame(message: Buffer): DecodeResult {
  try {
    if (message.length < FRAME_HEADER_BYTES) {
      throw new FerryError('EPROTO', `truncated frame header: ${message.length} of ${FRAME_HEADER_BYTES} bytes`);
    }
    const header = readFrameHeader(message);
    const actual = message.length - FRAME_HEADER_BYTES;
    if (actual !== header.length) {
      throw new FerryError('EPROTO', `frame says ${header.length} payload bytes, message holds ${actual}`);
    }
    return { ok: true, frame: { ...header, payload: message.subarray(FRAME_HEADER_BYTES) } };
  } catch (error) {
    return { ok: false, error: asFerryError(error) };
  }
}

function asFerryError(error: unknown): FerryError {
  return error instanceof FerryError ? error : new FerryError('EPROTO', String(error));
}

const enum DecoderState {
  HEADER,
  PAYLOAD,
  FAILED,
}

/**
 * Cuts frames out of a byte stream that may arrive split at any point. A state machine in the
 * manner of ws's Receiver: each step returns early when too few bytes are buffered. After an
 * error the decoder stays failed; the stream it reads is no longer in sync.
 */
export class FrameDecoder {
  #chunks: Buffer[] = [];
  #buffered = 0;
  #state = DecoderState.HEADER;
  #header: FrameHeader | undefined;
  #error: FerryError | undefined;

  get error(): FerryError | undefined {
    return this.#error;
  }

  /** Bytes held waiting for the rest of a frame. */
  get buffered(): number {
    return this.#buffered;
  }

  /** Feeds bytes; returns the frames they complete. On malformed input returns the error. */
  push(chunk: Buffer): { frames: Frame[]; error?: FerryError } {
    const frames: Frame[] = [];
    if (this.#state === DecoderState.FAILED) return { frames, error: this.#error };
    if (chunk.length > 0) {
      this.#chunks.push(chunk);
      this.#buffered += chunk.length;
    }
    try {
      for (;;) {
        if (this.#state === DecoderState.HEADER) {
          if (this.#buffered < FRAME_HEADER_BYTES) break;
          this.#header = readFrameHeader(this.#consume(FRAME_HEADER_BYTES));
          this.#state = DecoderState.PAYLOAD;
        }
        const header = this.#header!;
        if (this.#buffered < header.length) break;
        frames.push({ ...header, payload: this.#consume(header.length) });
        this.#header = undefined;
        this.#state = DecoderState.HEADER;
      }
      return { frames };
    } catch (error) {
      this.#state = DecoderState.FAILED;
      this.#error = asFerryError(error);
      this.#chunks = [];
      this.#buffered = 0;
      return { frames, error: this.#error };
    }
  }

  /** Takes n bytes off the front, copying only when they span chunks. */
  #consume(n: number): Buffer {
    this.#buffered -= n;
    const first = this.#chunks[0];
    if (n === 0) return Buffer.alloc(0);
    if (first && first.length >= n) {
      if (first.length === n) this.#chunks.shift();
      else this.#chunks[0] = first.subarray(n);
      return first.subarray(0, n);
    }
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const head = this.#chunks[0]!;
      const take = Math.min(head.length, n - filled);
      head.copy(out, filled, 0, take);
      filled += take;
      if (take === head.length) this.#chunks.shift();
      else this.#chunks[0] = head.subarray(take);
    }
    return out;
  }
}

/** WebSocket subprotocol; a peer speaking another version is refused at the handshake. */
export const SUBPROTOCOL = 'ferry.1';
export const PROTOCOL_VERSION = 1;
export const DEFAULT_PORT = 7070;
/**
 * Stream ids from here up are the client's to pick (for `upload.put`, whose frame follows the
 * request without waiting for a reply); the server numbers its own streams from 1 below it.
 */
export const CLIENT_STREAM_BASE = 0x8000_0000;

const KiB = 1024;
const MiB = 1024 * KiB;

export const LIMITS = {
  /** Largest JSON control message either side accepts, in bytes. */
  maxControlBytes: 64 * KiB,
  /** Largest server → client control message (a big directory listing) the client accepts. */
  maxServerMessageBytes: 64 * MiB,
  /** Largest data-frame payload either side accepts. Checked when the header is read. */
  maxFramePayload: 4 * MiB,
  /** Payload size a sender uses when it can choose. */
  chunkSize: 1 * MiB,
  /** Longest path accepted in any message (bytes of UTF-8). */
  maxPathBytes: 4096,
  /** Longest single path component. */
  maxNameBytes: 255,
  /**
   * Largest file sent whole with `upload.put` (one request, one frame, one reply). Bigger files
   * go through upload.open/finish, which can resume.
   */
  maxPutBytes: 1 * MiB,
  /** `upload.put` streams in flight on one session at once. */
  maxOpenPuts: 256,
  /** Transfers one session may have open at once. */
  maxOpenStreams: 64,
  /** Entries returned by one `list` reply before it is cut (and `truncated: true` is set). */
  maxListEntries: 200_000,
  /** Arguments (argv[0] included) one remote command may have. */
  maxExecArgs: 1024,
  /** Longest single argument of a remote command (bytes of UTF-8). */
  maxExecArgBytes: 4096,
  /** Largest file size a peer may declare (2^53 - 1: exact in a JS number and in the u64 header). */
  maxFileSize: Number.MAX_SAFE_INTEGER,
} as const;

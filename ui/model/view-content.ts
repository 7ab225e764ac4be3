/*
 * What the F3 viewer shows, made from the bytes of a file: text lines (tabs expanded, control
 * characters made visible) or, for binary data, a hex dump. Pure, so it is tested on buffers.
 */

export interface ViewContent {
  lines: string[];
  binary: boolean;
  /** Bytes of the file. */
  size: number;
  /** Bytes shown (less than `size` when only the start was read). */
  shown: number;
}

const TAB = 8;
/** A NUL in the first 8 KB means binary, as git and diff decide. */
const SNIFF_BYTES = 8000;

function isBinary(bytes: Buffer): boolean {
  return bytes.subarray(0, SNIFF_BYTES).includes(0);
}

function expandTabs(line: string): string {
  if (!line.includes('\t')) return line;
  let out = '';
  for (const char of line) {
    if (char === '\t') out += ' '.repeat(TAB - (out.length % TAB));
    else out += char;
  }
  return out;
}

function visible(line: string): string {
  // Escape sequences in a file must not reach the terminal.
  return expandTabs(line).replace(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/g, (c) => (c === '\u001b' ? '␛' : '·'));
}

function hexLine(bytes: Buffer, offset: number): string {
  const hex: string[] = [];
  let ascii = '';
  for (let i = 0; i < 16; i++) {
    const byte = bytes[offset + i];
    if (byte === undefined) {
      hex.push('  ');
      continue;
    }
    hex.push(byte.toString(16).padStart(2, '0'));
    ascii += byte >= 0x20 && byte < 0x7f ? String.fromCharCode(byte) : '.';
  }
  return `${offset.toString(16).padStart(8, '0')}  ${hex.slice(0, 8).join(' ')}  ${hex.slice(8).join(' ')}  |${ascii}|`;
}

/** The viewer's content for the first `bytes` of a file of `size` bytes. */
export function viewContentOf(bytes: Buffer, size: number): ViewContent {
  if (isBinary(bytes)) {
    const lines: string[] = [];
    for (let offset = 0; offset < bytes.length; offset += 16) lines.push(hexLine(bytes, offset));
    return { lines, binary: true, size, shown: bytes.length };
  }
  let text = bytes.toString('utf8');
  // A cut in the middle of a multi-byte character shows as one replacement character; drop it.
  if (bytes.length < size && text.endsWith('\uFFFD')) text = text.slice(0, -1);
  const lines = text.split('\n').map((line) => visible(line.endsWith('\r') ? line.slice(0, -1) : line));
  if (lines.length > 1 && lines.at(-1) === '') lines.pop();
  return { lines, binary: false, size, shown: bytes.length };
}

/*
 * Terminal columns of text, so names in CJK or with emoji keep the columns of a file list
 * aligned. Combining marks and zero-width characters take no column; East Asian wide and
 * full-width characters and emoji take two. (A compact version of what wcwidth does; the rare
 * characters it misjudges only shift their own row.)
 */

const ZERO_WIDTH = /^[\p{Mn}\p{Me}\p{Cf}\u200B-\u200F\uFE00-\uFE0F]$/u;
const EMOJI = /^\p{Extended_Pictographic}$/u;

function isWide(cp: number): boolean {
  return (
    (cp >= 0x1100 && cp <= 0x115f) ||
    (cp >= 0x2e80 && cp <= 0x303e) ||
    (cp >= 0x3041 && cp <= 0x33ff) ||
    (cp >= 0x3400 && cp <= 0x4dbf) ||
    (cp >= 0x4e00 && cp <= 0x9fff) ||
    (cp >= 0xa000 && cp <= 0xa4cf) ||
    (cp >= 0xac00 && cp <= 0xd7a3) ||
    (cp >= 0xf900 && cp <= 0xfaff) ||
    (cp >= 0xfe30 && cp <= 0xfe4f) ||
    (cp >= 0xff00 && cp <= 0xff60) ||
    (cp >= 0xffe0 && cp <= 0xffe6) ||
    (cp >= 0x1f300 && cp <= 0x1f64f) ||
    (cp >= 0x1f900 && cp <= 0x1f9ff) ||
    (cp >= 0x20000 && cp <= 0x3fffd)
  );
}

/** Columns one character takes: 0, 1 or 2. */
export function charWidth(char: string): number {
  const cp = char.codePointAt(0) ?? 0;
  if (cp < 0x20 || (cp >= 0x7f && cp < 0xa0)) return 0;
  if (cp < 0x300) return 1;
  if (ZERO_WIDTH.test(char)) return 0;
  if (isWide(cp) || (cp >= 0x1f000 && EMOJI.test(char))) return 2;
  return 1;
}

/** Columns `text` takes on a terminal. */
export function textWidth(text: string): number {
  let width = 0;
  for (const char of text) width += charWidth(char);
  return width;
}

/** The longest prefix of `text` that fits in `width` columns. */
export function takeColumns(text: string, width: number): string {
  let used = 0;
  let out = '';
  for (const char of text) {
    const w = charWidth(char);
    if (used + w > width) break;
    used += w;
    out += char;
  }
  return out;
}

/** The longest suffix of `text` that fits in `width` columns. */
function takeColumnsFromEnd(text: string, width: number): string {
  const chars = [...text];
  let used = 0;
  let start = chars.length;
  while (start > 0) {
    const w = charWidth(chars[start - 1]!);
    if (used + w > width) break;
    used += w;
    start--;
  }
  return chars.slice(start).join('');
}

/**
 * `text` in exactly `width` columns: padded with spaces, or cut with `…` (at the end, or in the
 * middle so both ends stay readable, as for file names with extensions).
 */
export function fitColumns(text: string, width: number, options: { align?: 'left' | 'right'; cut?: 'end' | 'middle' } = {}): string {
  if (width <= 0) return '';
  const printable = text.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
  const w = textWidth(printable);
  let fitted = printable;
  if (w > width) {
    if (width === 1) fitted = '…';
    else if (options.cut === 'middle') {
      const head = Math.ceil((width - 1) / 2);
      fitted = `${takeColumns(printable, head)}…${takeColumnsFromEnd(printable, width - 1 - head)}`;
    } else fitted = `${takeColumns(printable, width - 1)}…`;
  }
  const pad = ' '.repeat(Math.max(0, width - textWidth(fitted)));
  return options.align === 'right' ? pad + fitted : fitted + pad;
}

/** The part of `text` from column `from` on, at most `width` columns (a wide character cut in half is dropped). */
export function sliceColumns(text: string, from: number, width: number): string {
  if (from <= 0) return takeColumns(text, width);
  let skipped = 0;
  let index = 0;
  const chars = [...text];
  while (index < chars.length && skipped < from) {
    skipped += charWidth(chars[index]!);
    index++;
  }
  return takeColumns(chars.slice(index).join(''), width);
}

/**
 * `text` broken at spaces into lines of at most `width` columns. A word longer than a line is
 * cut with `…`, or with `long: 'break'` carried on over as many lines as it needs (for what must
 * be read whole: a fingerprint, a file's path). Default 'cut'.
 */
export function wrapWords(text: string, width: number, options: { long?: 'cut' | 'break' } = {}): string[] {
  const out: string[] = [];
  let current = '';
  for (const word of text.split(/\s+/).filter((w) => w !== '')) {
    const candidate = current === '' ? word : `${current} ${word}`;
    if (textWidth(candidate) <= width) {
      current = candidate;
      continue;
    }
    if (current !== '') out.push(current);
    if (textWidth(word) <= width) current = word;
    else if (options.long === 'break') {
      let rest = word;
      while (textWidth(rest) > width) {
        // At least one character per line, so a width below a wide character still ends.
        const head = takeColumns(rest, width) || [...rest][0]!;
        out.push(head);
        rest = rest.slice(head.length);
      }
      current = rest;
    } else current = fitColumns(word, width);
  }
  if (current !== '' || out.length === 0) out.push(current);
  return out;
}

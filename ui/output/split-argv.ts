import { FerryError } from '../../src/protocol/errors.js';

/*
 * The command line is split into argv the way a shell splits words, so `grep 'a b' "x y"` does
 * what people expect, but nothing else of a shell happens: no variables, globs, pipes,
 * redirections or `;`. Those characters reach the program as literal text; the server runs it
 * with argv only, never through a shell.
 */

const SPACE = /\s/;

/**
 * Splits a command line into words: blanks separate them; '…' keeps everything literally;
 * "…" keeps everything except that a backslash escapes `"` and `\`; outside quotes a backslash
 * takes the next character literally. `''` is an empty argument. Throws EINVAL for an
 * unterminated quote or a trailing backslash. A blank line gives [].
 */
export function splitArgv(line: string): string[] {
  const words: string[] = [];
  let word = '';
  // A word exists once anything (even an empty quote) was seen since the last blank.
  let inWord = false;
  let quote: "'" | '"' | null = null;
  const chars = [...line];
  for (let i = 0; i < chars.length; i++) {
    const char = chars[i]!;
    if (quote === "'") {
      if (char === "'") quote = null;
      else word += char;
      continue;
    }
    if (quote === '"') {
      if (char === '"') quote = null;
      else if (char === '\\' && (chars[i + 1] === '"' || chars[i + 1] === '\\')) word += chars[++i]!;
      else word += char;
      continue;
    }
    if (char === "'" || char === '"') {
      quote = char;
      inWord = true;
    } else if (char === '\\') {
      if (i + 1 >= chars.length) throw new FerryError('EINVAL', 'the command line ends with a backslash (nothing follows to take literally)');
      word += chars[++i]!;
      inWord = true;
    } else if (SPACE.test(char)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += char;
      inWord = true;
    }
  }
  if (quote !== null) throw new FerryError('EINVAL', `unterminated ${quote === "'" ? 'single' : 'double'} quote in the command line`);
  if (inWord) words.push(word);
  return words;
}

const PLAIN = /^[\w@%+=:,./-]+$/u;

/**
 * The argv written back as a command line splitArgv reads into the same argv: plain words as
 * they are, others in single quotes (a quote inside as '\''). For headers and history.
 */
export function joinArgv(argv: readonly string[]): string {
  return argv.map((arg) => (PLAIN.test(arg) ? arg : `'${arg.replaceAll("'", `'\\''`)}'`)).join(' ');
}

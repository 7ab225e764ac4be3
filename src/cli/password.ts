import { FerryError } from '../protocol/index.js';
import { UsageError } from './cli-errors.js';

/**
 * Reads a password from standard input, for `--password-stdin`: the first line, without its
 * line ending. Empty input is refused.
 */
export async function readPasswordFromStdin(stdin: NodeJS.ReadableStream = process.stdin): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  const text = Buffer.concat(chunks).toString('utf8');
  const line = text.split(/\r?\n/, 1)[0] ?? '';
  if (line === '') throw new UsageError('--password-stdin: no password on standard input');
  return line;
}

/**
 * Asks for a password on the terminal without echo (raw mode, so nothing is shown), writing the
 * prompt to stderr. Backspace edits, Ctrl-C and Ctrl-D abort with ECANCELED.
 */
export function promptPassword(prompt: string): Promise<string> {
  return readTerminalLine(prompt, { echo: false, what: 'password entry', noTerminal: 'no terminal to ask for a password on' });
}

/**
 * Asks a question on the terminal and reads one line with echo, writing the question to stderr.
 * Resolves with the answer, trimmed and lower-cased; Ctrl-C or Ctrl-D is ECANCELED.
 */
export async function promptLine(question: string): Promise<string> {
  return (await readTerminalLine(question, { echo: true, what: 'the question', noTerminal: 'no terminal to ask on' })).trim().toLowerCase();
}

/** One line typed on the terminal, in raw mode so that echo is ours to give or not. */
function readTerminalLine(prompt: string, options: { echo: boolean; what: string; noTerminal: string }): Promise<string> {
  const stdin = process.stdin;
  if (!stdin.isTTY) return Promise.reject(new UsageError(options.noTerminal));
  return new Promise((resolve, reject) => {
    let value = '';
    const wasRaw = stdin.isRaw;
    // Echo goes off before the prompt shows: whatever is typed (or pasted) the moment the prompt
    // appears must never reach the screen unless we show it.
    stdin.setRawMode(true);
    process.stderr.write(prompt);
    stdin.resume();
    stdin.setEncoding('utf8');
    const done = (error?: Error) => {
      stdin.off('data', onData);
      stdin.setRawMode(wasRaw);
      stdin.pause();
      process.stderr.write('\n');
      if (error) reject(error);
      else resolve(value);
    };
    const onData = (data: string) => {
      for (const ch of data) {
        if (ch === '\r' || ch === '\n') return done();
        if (ch === '\u0003' || ch === '\u0004') return done(new FerryError('ECANCELED', `${options.what} canceled`));
        if (ch === '\u007f' || ch === '\b') {
          if (options.echo && value.length > 0) process.stderr.write('\b \b');
          value = value.slice(0, -1);
        } else if (ch >= ' ') {
          value += ch;
          if (options.echo) process.stderr.write(ch);
        }
      }
    };
    stdin.on('data', onData);
  });
}

export interface PasswordSources {
  /** --password-stdin was given. */
  stdin: boolean;
  env?: NodeJS.ProcessEnv;
  /** What the prompt says, e.g. "Password for alice@host:7070: ". */
  prompt: string;
}

/**
 * The password for a remote command: `--password-stdin`, else FERRY_PASSWORD, else a prompt on the
 * terminal. Without any of them (a script with no terminal) a usage error says how to pass one.
 */
export async function resolvePassword(sources: PasswordSources): Promise<string> {
  if (sources.stdin) return readPasswordFromStdin();
  const fromEnv = (sources.env ?? process.env).FERRY_PASSWORD;
  if (fromEnv !== undefined && fromEnv !== '') return fromEnv;
  if (process.stdin.isTTY) return promptPassword(sources.prompt);
  throw new UsageError('no password: set FERRY_PASSWORD, pass --password-stdin, or run on a terminal to be asked');
}

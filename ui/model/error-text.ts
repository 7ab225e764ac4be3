import { FerryError } from '../../src/protocol/index.js';

/** Any error as the one readable line the TUI shows: `message (CODE)`, never a stack trace. */
export function errorText(error: unknown): string {
  if (error instanceof FerryError) return `${firstLine(error.message)} (${error.code})`;
  if (error instanceof Error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code ? `${firstLine(error.message)} (${code})` : firstLine(error.message);
  }
  return firstLine(String(error));
}

function firstLine(text: string): string {
  return text.split('\n')[0] ?? '';
}

import { FerryError } from '../../src/protocol/errors.js';
import type { DirectoryHandle } from '../storage/storage.js';

/** Shown in a refusal: enough of an argument to recognise it. */
const SHOWN_ARGUMENT_CHARS = 80;

/**
 * Every way an argument may carry a path to the program, as far as a server can tell without
 * knowing the program: the whole argument; what follows '=' (`--files0-from=PATH`, dd's
 * `if=PATH`), ':' or ','; and for an option (`-fPATH`, `-xzfPATH`) what follows its letters.
 * Programs that read names from elsewhere (a file, stdin, `@file`) are beyond this: the
 * administrator should not allow them (README, "Remote commands").
 */
export function pathCandidates(arg: string): string[] {
  const candidates = new Set<string>([arg]);
  for (let i = 0; i < arg.length; i++) {
    const c = arg[i];
    if (c === '=' || c === ':' || c === ',') candidates.add(arg.slice(i + 1));
  }
  const option = /^-+[A-Za-z0-9]*/.exec(arg);
  if (option !== null && option[0].length < arg.length) candidates.add(arg.slice(option[0].length));
  candidates.delete('');
  return [...candidates];
}

/**
 * EACCES when an argument of `argv` (past argv[0]) names a path outside the home, read from the
 * command's working directory `dir` the way the program would read it (see
 * DirectoryHandle.reachesOnlyInside).
 */
export async function checkArguments(dir: DirectoryHandle, argv: readonly string[]): Promise<void> {
  for (const arg of argv.slice(1)) {
    for (const candidate of pathCandidates(arg)) {
      if (!(await dir.reachesOnlyInside(candidate))) {
        const shown = arg.length > SHOWN_ARGUMENT_CHARS ? `${arg.slice(0, SHOWN_ARGUMENT_CHARS)}…` : arg;
        throw new FerryError('EACCES', `argument ${JSON.stringify(shown)} names a path outside your home; remote commands may only use paths inside it`);
      }
    }
  }
}

import type { Entry } from '../protocol/index.js';
import type { ResolvedPolicy } from './types.js';

/** What to do with one file whose destination exists. */
export type ConflictAction =
  | { action: 'transfer'; overwrite: boolean; adopt: boolean }
  | { action: 'up-to-date' }
  | { action: 'skip'; reason: string }
  | { action: 'rename' }
  | { action: 'fail'; code: 'EISDIR'; message: string };

/**
 * Mtimes are compared with this much slack: the wire carries whole milliseconds while local
 * file systems keep fractions, and setting then reading a time back may round either way.
 */
const MTIME_SLACK_MS = 2;

export function sameMtime(a: number, b: number): boolean {
  return Math.abs(a - b) < MTIME_SLACK_MS;
}

/**
 * Decides what `policy` does with `source` when `target` exists. Pure; the queue does the I/O.
 * A directory in the way of a file is never replaced (EISDIR) unless the policy skips or renames.
 */
export function decideConflict(policy: ResolvedPolicy, source: Entry, target: Entry): ConflictAction {
  if (policy === 'skip') return { action: 'skip', reason: 'target exists' };
  if (policy === 'rename') return { action: 'rename' };
  if (target.type === 'dir') return { action: 'fail', code: 'EISDIR', message: `a directory is in the way: ${target.name}` };
  switch (policy) {
    case 'overwrite':
      return { action: 'transfer', overwrite: true, adopt: false };
    case 'resume':
      if (target.size === source.size && sameMtime(target.mtime, source.mtime)) return { action: 'up-to-date' };
      // A shorter target is probably an interrupted copy: keep its bytes if the engine's prefix
      // check agrees, otherwise the engine starts over.
      if (target.size < source.size) return { action: 'transfer', overwrite: true, adopt: true };
      return { action: 'transfer', overwrite: true, adopt: false };
    case 'newer':
      return source.mtime > target.mtime + MTIME_SLACK_MS
        ? { action: 'transfer', overwrite: true, adopt: false }
        : { action: 'skip', reason: 'target is not older' };
    case 'size-differs':
      return source.size !== target.size ? { action: 'transfer', overwrite: true, adopt: false } : { action: 'skip', reason: 'same size' };
  }
}

/**
 * The n-th alternative name for a copy: `report.pdf` → `report (1).pdf`; a leading dot is not an
 * extension (`.bashrc` → `.bashrc (1)`), nor is a trailing one.
 */
export function numberedName(name: string, n: number): string {
  const dot = name.lastIndexOf('.');
  if (dot <= 0 || dot === name.length - 1) return `${name} (${n})`;
  return `${name.slice(0, dot)} (${n})${name.slice(dot)}`;
}

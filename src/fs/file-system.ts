import type { Entry, Quota } from '../protocol/index.js';

/**
 * What panes and the transfer queue see of a place that holds files. LocalFileSystem (node:fs)
 * and RemoteFileSystem (over a Session) implement it, so planning a copy, checking conflicts and
 * browsing are one code path whichever side is remote.
 *
 * Paths are the file system's own: OS paths locally, '/'-separated home-relative paths remotely.
 * Use `join`/`dirname`/`basename` from the instance, never node:path directly, when a path may
 * belong to either side.
 */
export interface FileSystem {
  readonly kind: 'local' | 'remote' | 'sftp';
  /** For people: "local" or "alice@host:7070". */
  readonly label: string;
  /** Where a pane starts: the cwd locally, '/' (the home) remotely. */
  readonly home: string;
  list(path: string): Promise<Entry[]>;
  /** null when nothing is there. Follows symlinks that stay allowed (Entry.type is the target's). */
  stat(path: string): Promise<Entry | null>;
  mkdir(path: string, options?: { parents?: boolean }): Promise<void>;
  remove(path: string, options?: { recursive?: boolean }): Promise<void>;
  rename(from: string, to: string, options?: { overwrite?: boolean }): Promise<void>;
  /** Free space / quota where the side knows it. */
  quota(): Promise<Quota | null>;
  join(dir: string, name: string): string;
  dirname(path: string): string;
  basename(path: string): string;
}

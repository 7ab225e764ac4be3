import type { Hash } from 'node:crypto';
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
  /**
   * The byte-level ends of a copy, for backends that have no transfer protocol of their own
   * (the ferry server's upload and download streams stay the fast path between local and ferry).
   */
  openSource?(path: string): Promise<FileSource>;
  openSink?(path: string, request: SinkRequest): Promise<FileSink>;
}

/** One file being read for a copy (FileSystem.openSource). */
export interface FileSource {
  readonly size: number;
  /** Milliseconds since the epoch. */
  readonly mtime: number;
  /** Up to `length` bytes at `position` into `buffer` from its start; 0 at the end of the file. */
  read(buffer: Buffer, length: number, position: number): Promise<number>;
  /**
   * The SHA-256 of the whole file computed where it lies (an SSH server running sha256sum), or
   * undefined when that side cannot say; a local source has nothing to add to the copy's own.
   */
  hashAtSource?(): Promise<string | undefined>;
  close(): Promise<void>;
}

/** What a copy asks of its target (FileSystem.openSink). */
export interface SinkRequest {
  size: number;
  mtime: number;
  /** Who the bytes come from ("label:path"): a partial left for another source is not resumed. */
  origin: string;
  overwrite: boolean;
  /** Drop any partial and start at 0. */
  restart?: boolean;
}

/**
 * One file being written by a copy: into a partial beside the destination, moved into place by
 * finish() only when complete, kept by close() for the next attempt.
 */
export interface FileSink {
  /** Bytes kept from an earlier attempt of the same copy; writing goes on from here. */
  readonly offset: number;
  /** SHA-256 state of the kept bytes when the sink can read them back cheaply (a local partial). */
  keptHash?(): Promise<Hash>;
  /** Appends at `offset`. */
  write(data: Uint8Array): Promise<void>;
  /**
   * Makes the bytes durable, checks them where it can (EINTEGRITY, the partial dropped, when the
   * SHA-256 computed where they landed differs), gives the file `mtime` and moves it into place
   * (EEXIST when a file appeared there meanwhile and overwrite is off). Resolves with the SHA-256
   * computed at the target, when the target could compute one.
   */
  finish(expected: { sha256: string }): Promise<{ sha256AtTarget?: string }>;
  /** Drops the partial (it does not match its source). */
  discard(): Promise<void>;
  /** Stops, keeping the partial. */
  close(): Promise<void>;
}

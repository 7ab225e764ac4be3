import type { Entry } from '../../src/protocol/index.js';

/**
 * One user's view of the disk. Every path is a wire path: '/'-separated and relative to the
 * user's home ('/' or '' is the home itself). Implementations resolve it through the jail and
 * throw FerryError (EACCES for anything that would leave the home, ENOENT, EEXIST, ...).
 * The session validates protocol-level things (offsets in frames, stream ids); the storage does
 * the filesystem work and enforces the jail and the quota.
 */
export interface UserSpace {
  readonly user: string;
  list(path: string): Promise<{ entries: Entry[]; truncated: boolean }>;
  stat(path: string): Promise<Entry>;
  mkdir(path: string, options: { parents: boolean }): Promise<void>;
  /** A non-empty directory needs `recursive`; symlinks are removed, never followed. */
  remove(path: string, options: { recursive: boolean }): Promise<void>;
  rename(from: string, to: string, options: { overwrite: boolean }): Promise<void>;
  /** SHA-256 of the first `length` bytes of a file (whole file when undefined). */
  hash(path: string, length?: number): Promise<{ sha256: string; length: number }>;
  /** Bytes used by the home plus this user's partial uploads, and the quota (0 = unlimited). */
  quota(): Promise<{ used: number; total: number }>;
  /**
   * Opens (or re-opens) the partial upload for `path`. A partial with the same size and mtime is
   * resumed from the bytes it holds; one with another identity is dropped. Refuses up front with
   * EQUOTA when the declared size cannot fit, EEXIST when the target exists and !overwrite.
   * If another handle (another session) holds the same path, this open takes the partial over and
   * the older handle's write/sync/finish throw ECANCELED: a client reconnecting after a cut the
   * server has not noticed yet must not be told EBUSY.
   */
  openUpload(path: string, options: UploadOptions): Promise<PartialUpload>;
  /**
   * Stores a whole small file at once (upload.put). `data` must hash to `sha256` (EINTEGRITY
   * otherwise, nothing written); it is written beside the partials, fsync'd with its mtime and
   * moved into place like a finished upload. EEXIST without `overwrite`, EQUOTA when it cannot
   * fit. No partial is left behind whatever happens: a failed put is simply sent again.
   */
  putFile(path: string, data: Uint8Array, options: PutOptions): Promise<{ size: number; sha256: string; mtime: number }>;
  /** Opens a file for reading from the server side (downloads). ECHANGED when expectations fail. */
  openRead(path: string, options?: { expectSize?: number; expectMtime?: number }): Promise<FileReader>;
  /**
   * Holds a directory of the home open ('/' is the home itself), for running a remote command
   * there. ENOENT, ENOTDIR, or EACCES for anything outside the home.
   */
  openDirectory(path: string): Promise<DirectoryHandle>;
  /** The session is over: what the space holds open is let go; later calls fail (ECANCELED). */
  close(): Promise<void>;
}

/** A directory of a home held open: what was checked is what a command runs in. */
export interface DirectoryHandle {
  /** The normalised wire path. */
  readonly wire: string;
  /** Names the directory by descriptor (/proc/self/fd/N): a working directory no rename can redirect. */
  readonly path: string;
  /** Where the home is on the server (for a command's HOME), never for access. */
  readonly home: string;
  /**
   * False when `text`, taken as a path by a program working in this directory, would reach
   * outside the home: an absolute path elsewhere, '..' above the home (as the kernel reads it,
   * through links), a link that points outside. A path that does not exist stays inside.
   */
  reachesOnlyInside(text: string): Promise<boolean>;
  /** The home was just given to another OS owner: what the server creates in it from now on goes to them. */
  ownerChanged(): void;
  close(): Promise<void>;
}

export interface UploadOptions {
  size: number;
  mtime: number;
  overwrite: boolean;
  restart: boolean;
  /** Take the existing shorter file at the target as the partial (mc's "append"). */
  adopt: boolean;
}

export interface PutOptions {
  mtime: number;
  sha256: string;
  overwrite: boolean;
}

export interface PartialUpload {
  readonly path: string;
  readonly size: number;
  readonly mtime: number;
  /** Bytes received in order and written (maybe not yet durable). */
  readonly offset: number;
  /** Bytes known to be on disk (fdatasync'd). */
  readonly durableOffset: number;
  /** SHA-256 of [0, offset), from the running hash (no re-read). */
  prefixSha256(): string;
  /**
   * Writes `data` at `offset`. Throws EOFFSET (details.expected = this.offset) without touching
   * the disk when offset !== this.offset; EQUOTA / ENOSPC when the bytes cannot be stored;
   * ELIMIT when the write would pass the declared size.
   */
  write(offset: number, data: Uint8Array): Promise<void>;
  /** fdatasync; returns the durable offset. */
  sync(): Promise<number>;
  /**
   * Verifies the whole file against `sha256`, then atomically renames it into place and sets its
   * mtime. EINTEGRITY (and the partial is dropped) on mismatch; ELIMIT if offset !== size.
   */
  finish(sha256: string): Promise<{ size: number; sha256: string; mtime: number }>;
  /** Releases the writer but keeps the partial (and its running hash) for a later resume. */
  release(): Promise<void>;
  /** Deletes the partial. */
  discard(): Promise<void>;
}

export interface FileReader {
  readonly size: number;
  readonly mtime: number;
  /** Like fs.read: fills buffer[bufferOffset, bufferOffset+length) from file position `position`. */
  read(buffer: Buffer, bufferOffset: number, length: number, position: number): Promise<number>;
  close(): Promise<void>;
}

/** The whole disk side of a server: homes, partials, quotas. */
export interface Storage {
  /** `quotaBytes` is asked each time it is needed, so quota changes by the admin apply at once. */
  forUser(user: string, quotaBytes: () => number): UserSpace;
  /** Deletes partials older than ttlMs; returns how many were removed. */
  sweepExpired(ttlMs: number): Promise<number>;
  close(): Promise<void>;
}

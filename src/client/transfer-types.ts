/** Bytes of one transfer that are done (acknowledged by the server, or written locally). */
export interface TransferProgress {
  done: number;
  total: number;
}

export interface TransferOptions {
  /** Aborting rejects with ECANCELED; the partial (server-side or local) is kept for a resume. */
  signal?: AbortSignal;
  onProgress?: (progress: TransferProgress) => void;
  /** Replace an existing destination (default false: EEXIST). */
  overwrite?: boolean;
  /** Take an existing shorter destination as the partial to resume, after checking its prefix. */
  adopt?: boolean;
  /** Drop any partial and start at 0. */
  restart?: boolean;
  /**
   * Told when kept bytes are thrown away and the transfer starts over, and why (ECHANGED: the
   * source changed; EINTEGRITY: the kept prefix or the result did not match).
   */
  onRestart?: (reason: { code: 'ECHANGED' | 'EINTEGRITY'; message: string; discarded: number }) => void;
}

export interface TransferResult {
  size: number;
  /** Lowercase hex SHA-256 of the whole file, checked by both ends. */
  sha256: string;
  /** Bytes already in place when the last (re)open of this transfer began: 0 for a fresh copy. */
  resumedFrom: number;
}

/** The workloads a peer takes part in: the big file and the many-file tree, each both ways. */
export type WorkloadKind = 'big-up' | 'big-down' | 'tree-up' | 'tree-down';

/**
 * One peer tool on one workload. The harness calls prepare() (untimed), times run(), then calls
 * verify() (untimed), for each run.
 */
export interface PeerCase {
  /** Short name for the table, e.g. `scp aes128-gcm`. */
  readonly tool: string;
  readonly kind: WorkloadKind;
  /** The client command and anything that qualifies the number (protocol mode, buffers), for the docs. */
  readonly detail: string;
  /** Removes the previous run's result, puts the download source in place and warms it, starts a one-shot listener. */
  prepare(): Promise<void>;
  /** The transfer alone: the client launched and awaited (and, for socat, the listener's exit too). Throws with stderr on a non-zero exit. */
  run(): Promise<void>;
  /** Checks the result (size and SHA-256; for a tree: file count, bytes and sample hashes), throws when it is wrong, then deletes it so the disk does not fill up across tools. */
  verify(): Promise<void>;
}

/** What the harness has made, and where the peers may write. */
export interface PeerInputs {
  /** A temp dir for the peers' own config files, keys, served directories and uploads (created by the caller). */
  work: string;
  /** The big source file, already read once by the harness. */
  bigPath: string;
  bigSha256: string;
  bigSize: number;
  /** The tree source: `treeFiles` files of `treeFileSize` bytes (in subdirectories). */
  treePath: string;
  treeFiles: number;
  treeFileSize: number;
  /** Where downloads go (one subdirectory per tool). */
  downloadDir: string;
}

export interface Peers {
  /** The cases of every peer whose tools are installed, in a stable order. */
  readonly cases: PeerCase[];
  /** The version line of each tool, keyed by its name (OpenSSH, vsftpd, curl, lftp, socat). */
  readonly versions: Record<string, string>;
  /** The cipher ssh, scp and sftp negotiate when none is asked for (chacha20-poly1305@openssh.com on Debian 12). */
  readonly sshDefaultCipher?: string;
  /** Debian packages not installed, whose cases are left out (`npm run bench -- --peers` installs them). */
  readonly missing: string[];
  /** PIDs of the daemons running now (sshd, vsftpd, and a socat listener between prepare and run), so a caller can check none is left. */
  pids(): number[];
  /** Stops every daemon and listener we started, by PID. */
  stop(): Promise<void>;
}

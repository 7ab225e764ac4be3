import path from 'node:path';
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { FileSystem } from '../fs/file-system.js';
import { LocalFileSystem } from '../fs/local-file-system.js';
import { FerryError } from '../protocol/index.js';
import { toFerryError } from '../transfer/errors.js';
import { describeRequest, journalKey, TransferJournal } from '../transfer/journal.js';
import type { QueueState } from '../transfer/progress.js';
import { TransferQueue } from '../transfer/transfer-queue.js';
import { CONFLICT_POLICIES, type ConflictPolicy, type TransferRequest } from '../transfer/types.js';
import { journalDir } from '../util/paths.js';
import { UsageError, reportError } from './cli-errors.js';
import { EXIT, exitCodeFor, type ExitCode } from './exit-codes.js';
import { formatElapsed, formatSize, formatSpeed } from './format.js';
import { ProgressBar } from './progress-bar.js';
import { Connections, parseRemoteArg } from './remote.js';
import { FINGERPRINT_HELP, isLocation } from './remote-command.js';
import { openSftpLocation } from './sftp-login.js';
import type { SftpFileSystem } from '../fs/sftp/sftp-file-system.js';
import { absoluteSftpPath, isSftpUrl, parseSftpUrl } from '../fs/sftp/sftp-url.js';

interface TransferFlags {
  recursive?: boolean;
  jobs: number;
  conflict: ConflictPolicy;
  quiet?: boolean;
  passwordStdin?: boolean;
  fingerprint?: string;
}

/** The policies a script can choose ('ask' needs the TUI). */
const CLI_POLICIES = CONFLICT_POLICIES.filter((p) => p !== 'ask');

function parseJobs(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > 64) throw new InvalidArgumentError('expected a whole number from 1 to 64');
  return n;
}

function addTransferOptions(command: Command): Command {
  return command
    .option('-r, --recursive', 'copy directories and everything in them')
    .option('-j, --jobs <n>', 'files transferred at once (1-64)', parseJobs, 4)
    .addOption(new Option('--conflict <policy>', 'when the destination exists').choices(CLI_POLICIES).default('resume'))
    .option('-q, --quiet', 'no progress and no summary')
    .option('--password-stdin', 'read the password from standard input')
    .option('--fingerprint <sha256>', FINGERPRINT_HELP);
}

/** `ferry get` and `ferry put`. */
export function registerTransferCommands(program: Command, setExit: (code: ExitCode) => void): void {
  addTransferOptions(
    program
      .command('get')
      .summary('download files or trees from a server')
      .description(
        'Download from a server. A directory URL/dir is copied to LOCAL/dir (LOCAL is created); URL/dir/ with a trailing ' +
          'slash merges its contents into LOCAL. A file goes into LOCAL when LOCAL is a directory (or ends with /), else it ' +
          'is saved as LOCAL. Running the same command again continues an interrupted run and skips files already there ' +
          '(journal + partial files).',
      )
      .argument('<paths...>', 'URL... LOCAL: one or more ferry:// or sftp:// URLs, then a local path'),
  ).action(async (paths: string[], flags: TransferFlags) => {
    setExit(await runTransfer('get', paths, flags));
  });

  addTransferOptions(
    program
      .command('put')
      .summary('upload files or trees to a server')
      .description(
        'Upload to a server. A directory dir is copied to URL/dir (URL is created); dir/ with a trailing slash merges ' +
          'its contents into URL. A file goes into URL when that is a directory (or ends with /), else it is saved under ' +
          'that name. Running the same command again continues an interrupted run and skips files already there.',
      )
      .argument('<paths...>', 'LOCAL... URL: one or more local paths, then a ferry:// or sftp:// URL'),
  ).action(async (paths: string[], flags: TransferFlags) => {
    setExit(await runTransfer('put', paths, flags));
  });
}

async function runTransfer(direction: 'get' | 'put', paths: string[], flags: TransferFlags): Promise<ExitCode> {
  if (paths.length < 2) {
    throw new UsageError(direction === 'get' ? 'get needs at least one URL and a local path' : 'put needs at least one local path and a URL');
  }
  const sources = paths.slice(0, -1);
  const destination = paths[paths.length - 1]!;
  const connections = new Connections({ passwordStdin: flags.passwordStdin === true, notices: !flags.quiet, ...(flags.fingerprint ? { fingerprint: flags.fingerprint } : {}) });
  const opened = new OpenedLocations(connections, flags);
  const local = new LocalFileSystem();
  let queue: TransferQueue | undefined;
  let bar: ProgressBar | undefined;
  let stopping = false;

  const interrupted = () => {
    if (stopping) return;
    stopping = true;
    bar?.stop();
    process.stderr.write('\nferry: interrupted; run the same command again to continue\n');
    void (async () => {
      await queue?.close().catch(() => undefined);
      await connections.closeAll();
      process.exit(130);
    })();
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);

  try {
    let endpoints: { sources: Endpoint[]; target: Endpoint & { slash: boolean } };
    if (direction === 'get') {
      if (isLocation(destination)) throw new UsageError('get downloads to a local path: the last argument must not be a URL');
      for (const s of sources) if (!isLocation(s)) throw new UsageError(`get downloads from servers: ${s} is not a ferry:// or sftp:// URL`);
      endpoints = {
        sources: await Promise.all(sources.map((s) => opened.open(s))),
        target: { fs: local, path: path.resolve(destination), slash: endsWithSlash(destination) },
      };
    } else {
      if (!isLocation(destination)) throw new UsageError('put uploads to a server: the last argument must be a ferry:// or sftp:// URL');
      for (const s of sources) if (isLocation(s)) throw new UsageError(`put uploads local files: ${s} is a URL`);
      const remote = await opened.open(destination);
      endpoints = {
        sources: sources.map((s) => ({ fs: local, path: endsWithSlash(s) ? `${path.resolve(s)}/` : path.resolve(s) })),
        target: { ...remote, slash: endsWithSlash(destination) },
      };
    }
    const requests = await planRequests(endpoints.sources, endpoints.target, flags.recursive === true);

    const described = requests.map((r) => describeRequest({ ...r, conflict: flags.conflict }, flags.conflict));
    const journal = await TransferJournal.open({ key: journalKey(described), dir: journalDir() });
    queue = new TransferQueue({ concurrency: flags.jobs, conflict: flags.conflict, journal, reopen: connections.reopen });
    const started = Date.now();
    if (process.stderr.isTTY && !flags.quiet) {
      bar = new ProgressBar(queue);
      bar.start();
    }
    const planned = await Promise.allSettled(requests.map((r) => queue!.add({ ...r, conflict: flags.conflict })));
    const state = await queue.whenIdle();
    // On Ctrl-C the handler reports and exits; the canceled jobs are not failures to list.
    if (stopping) await new Promise<never>(() => {});
    bar?.stop();
    await journal.close();

    const planningErrors = planned.flatMap((p) => (p.status === 'rejected' ? [toFerryError(p.reason)] : []));
    for (const error of planningErrors) process.stderr.write(`ferry: ${error.message} (${error.code})\n`);
    const failures = [...state.jobs.values()].filter((job) => job.state === 'failed');
    for (const job of failures) process.stderr.write(`ferry: ${job.source}: ${job.error?.message ?? 'failed'} (${job.error?.code ?? 'EINTERNAL'})\n`);
    const sizeOnly = [...state.jobs.values()].filter((job) => job.sizeOnly).length;
    if (sizeOnly > 0) process.stderr.write(`ferry: ${sizeOnly} file${sizeOnly === 1 ? '' : 's'} checked by size only: the SSH server would not run sha256sum for this account\n`);
    if (!flags.quiet) process.stderr.write(`${summary(state, Date.now() - started)}\n`);
    if (failures.length > 0 && !flags.quiet) process.stderr.write('ferry: run the same command again to retry what failed\n');

    const firstCode = planningErrors[0]?.code ?? failures[0]?.error?.code;
    return firstCode === undefined ? EXIT.OK : exitCodeFor(firstCode);
  } catch (error) {
    bar?.stop();
    return reportError(error);
  } finally {
    process.off('SIGINT', interrupted);
    process.off('SIGTERM', interrupted);
    await queue?.close().catch(() => undefined);
    await connections.closeAll();
    opened.closeAll();
  }
}

/** The servers of one command: a ferry session per user@server (Connections), an SSH connection per sftp:// authority. */
class OpenedLocations {
  readonly #ssh = new Map<string, Promise<SftpFileSystem>>();

  constructor(
    private readonly connections: Connections,
    private readonly flags: TransferFlags,
  ) {}

  async open(url: string): Promise<Endpoint> {
    if (!isSftpUrl(url)) {
      const arg = parseRemoteArg(url);
      return { fs: await this.connections.fileSystem(arg), path: arg.url.path };
    }
    const parsed = parseSftpUrl(url);
    const key = `${parsed.user ?? ''}@${parsed.host}:${parsed.port ?? ''}`;
    let fs = this.#ssh.get(key);
    if (fs === undefined) {
      fs = openSftpLocation(url, { passwordStdin: this.flags.passwordStdin === true, ...(this.flags.fingerprint ? { fingerprint: this.flags.fingerprint } : {}) }).then((o) => o.fs);
      this.#ssh.set(key, fs);
    }
    const system = await fs;
    return { fs: system, path: absoluteSftpPath(parsed.path, system.home) };
  }

  closeAll(): void {
    for (const pending of this.#ssh.values()) void pending.then((fs) => fs.close(), () => undefined);
    this.#ssh.clear();
  }
}

interface Endpoint {
  fs: FileSystem;
  path: string;
}

function endsWithSlash(p: string): boolean {
  return p.endsWith('/') || p.endsWith(path.sep);
}

/** A path without its trailing slashes (the root stays '/'). */
function trimSlash(p: string): string {
  const trimmed = p.replace(/\/+$/, '');
  return trimmed === '' ? '/' : trimmed;
}

/**
 * Turns the command line into queue requests, with rsync's rules so that running a command again
 * lands in the same place: a directory `dir` is copied to TARGET/dir (TARGET is created), `dir/`
 * (trailing slash) merges its contents into TARGET; a file goes into TARGET when that is a
 * directory (or written with a trailing slash, or there are several sources), else becomes it.
 * Every source is checked first: a missing one (ENOENT) or a directory without -r (EISDIR) stops
 * the command before anything is transferred.
 */
async function planRequests(sources: Endpoint[], target: Endpoint & { slash: boolean }, recursive: boolean): Promise<TransferRequest[]> {
  const requests: TransferRequest[] = [];
  let needTargetDir = target.slash || sources.length > 1;
  for (const source of sources) {
    const sourcePath = trimSlash(source.path);
    const entry = await source.fs.stat(sourcePath);
    if (entry === null) throw new FerryError('ENOENT', `no such file or directory: ${describe(source.fs, sourcePath)}`);
    if (entry.type === 'dir' && !recursive) throw new FerryError('EISDIR', `${describe(source.fs, sourcePath)} is a directory (use -r to copy it)`);
    const contents = entry.type === 'dir' && (endsWithSlash(source.path) || sourcePath === '/');
    if (entry.type === 'dir' && !contents) needTargetDir = true;
    requests.push({
      source: { fs: source.fs, path: sourcePath },
      target: { fs: target.fs, path: trimSlash(target.path) },
      ...(contents ? { exactTarget: true } : {}),
    });
  }
  if (needTargetDir) await ensureDirectory(target.fs, trimSlash(target.path));
  return requests;
}

/** mkdir -p, with a clear error when a file is in the way. */
async function ensureDirectory(fs: FileSystem, dir: string): Promise<void> {
  const existing = await fs.stat(dir);
  if (existing?.type === 'dir') return;
  if (existing !== null) throw new FerryError('ENOTDIR', `not a directory: ${describe(fs, dir)}`);
  await fs.mkdir(dir, { parents: true });
}

function describe(fs: FileSystem, p: string): string {
  return fs.kind === 'local' ? p : `${fs.label}:${p}`;
}

/**
 * The one line printed at the end: "30 files, 60.0 MiB: 25 transferred, 5 done earlier,
 * 0 up to date, 0 skipped, 0 failed in 3.2 s (18.7 MiB/s)".
 */
export function summary(state: QueueState, elapsedMs: number): string {
  const t = state.totals;
  const jobs = [...state.jobs.values()].filter((job) => job.kind === 'file');
  const failed = jobs.filter((job) => job.state === 'failed').length + [...state.jobs.values()].filter((j) => j.kind === 'dir' && j.state === 'failed').length;
  const skipped = jobs.filter((job) => job.state === 'skipped').length;
  const rate = elapsedMs > 0 ? (t.bytesTransferred * 1000) / elapsedMs : 0;
  return (
    `${t.files} ${t.files === 1 ? 'file' : 'files'}, ${formatSize(t.bytesTotal)}: ` +
    `${t.transferredFiles} transferred, ${t.fromJournal} done earlier, ${t.upToDate} up to date, ${skipped} skipped, ${failed} failed ` +
    `in ${formatElapsed(elapsedMs)} (${formatSpeed(rate)})`
  );
}

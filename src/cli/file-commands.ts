import { posix } from 'node:path';
import type { Command } from 'commander';
import { isRemoteUrl } from '../client/url.js';
import { absoluteSftpPath, isSftpUrl, parseSftpUrl } from '../fs/sftp/sftp-url.js';
import { FerryError } from '../protocol/index.js';
import { UsageError } from './cli-errors.js';
import { formatSize } from './format.js';
import { parseRemoteArg } from './remote.js';
import { FINGERPRINT_HELP, isLocation, withLocation, withSession, type RemoteFlags } from './remote-command.js';

/** `ferry mkdir`, `rm`, `mv` (on a ferry or an SSH server) and `quota` (ferry). */
export function registerFileCommands(program: Command): void {
  program
    .command('mkdir')
    .summary('create a remote directory')
    .argument('<url>', 'ferry://user@host:port/path or sftp://user@host/path')
    .option('-p, --parents', 'create missing parents too; no error if it exists')
    .option('--password-stdin', 'read the password from standard input')
    .option('--fingerprint <sha256>', FINGERPRINT_HELP)
    .action(async (url: string, flags: RemoteFlags & { parents?: boolean }) => {
      await withLocation(url, flags, (fs, path) => fs.mkdir(path, { parents: flags.parents === true }));
    });

  program
    .command('rm')
    .summary('remove a remote file or directory')
    .argument('<url>', 'ferry://user@host:port/path or sftp://user@host/path')
    .option('-r, --recursive', 'remove a directory and everything in it')
    .option('--password-stdin', 'read the password from standard input')
    .option('--fingerprint <sha256>', FINGERPRINT_HELP)
    .action(async (url: string, flags: RemoteFlags & { recursive?: boolean }) => {
      await withLocation(url, flags, async (fs, path) => {
        const normal = posix.normalize(path);
        if (normal === '/' || normal === posix.normalize(fs.home)) throw new FerryError('EACCES', 'refusing to remove the home directory itself');
        await fs.remove(path, { recursive: flags.recursive === true });
      });
    });

  program
    .command('mv')
    .summary('rename or move on the server')
    .description('Rename or move a file or directory on the server. TO is a URL on the same server or a path (/dir/name: from the home on a ferry server, from the root on an SSH server); an existing directory receives the source inside it.')
    .argument('<from>', 'ferry://user@host:port/path or sftp://user@host/path')
    .argument('<to>', 'a URL on the same server, or /path')
    .option('-f, --force', 'replace an existing file')
    .option('--password-stdin', 'read the password from standard input')
    .option('--fingerprint <sha256>', FINGERPRINT_HELP)
    .action(async (from: string, to: string, flags: RemoteFlags & { force?: boolean }) => {
      let targetPath: string | undefined;
      if (isLocation(to)) {
        if (!sameServer(from, to)) throw new UsageError('mv works within one server and account; use get/put to copy between them');
      } else if (to.startsWith('/')) {
        targetPath = to;
      } else {
        throw new UsageError(`mv: the destination must be a URL or a path starting with /: ${JSON.stringify(to)}`);
      }
      await withLocation(from, flags, async (fs, source) => {
        const destination = targetPath ?? (isSftpUrl(to) ? absoluteSftpPath(parseSftpUrl(to).path, fs.home) : parseRemoteArg(to).url.path);
        const existing = await fs.stat(destination);
        const finalPath = existing?.type === 'dir' || existing?.target === 'dir' ? fs.join(destination, fs.basename(source)) : destination;
        await fs.rename(source, finalPath, { overwrite: flags.force === true });
      });
    });

  program
    .command('quota')
    .summary('show used space and quota')
    .argument('<url>', 'ferry://user@host:port/ (the path is ignored)')
    .option('--json', '{"used": bytes, "total": bytes (0 = unlimited)}')
    .option('--password-stdin', 'read the password from standard input')
    .option('--fingerprint <sha256>', FINGERPRINT_HELP)
    .action(async (url: string, flags: RemoteFlags & { json?: boolean }) => {
      const quota = await withSession(url, flags, (session) => session.request('quota', {}));
      if (flags.json) process.stdout.write(`${JSON.stringify(quota)}\n`);
      else if (quota.total === 0) process.stdout.write(`${formatSize(quota.used)} used (no quota)\n`);
      else {
        const percent = ((quota.used / quota.total) * 100).toFixed(1);
        process.stdout.write(`${formatSize(quota.used)} of ${formatSize(quota.total)} used (${percent}%), ${formatSize(Math.max(0, quota.total - quota.used))} free\n`);
      }
    });
}

/** Whether two location arguments name the same server and account. */
function sameServer(a: string, b: string): boolean {
  if (isSftpUrl(a) && isSftpUrl(b)) {
    const [x, y] = [parseSftpUrl(a), parseSftpUrl(b)];
    return x.host === y.host && x.port === y.port && x.user === y.user;
  }
  if (isRemoteUrl(a) && isRemoteUrl(b)) return parseRemoteArg(a).key === parseRemoteArg(b).key;
  return false;
}

import { posix } from 'node:path';
import type { Command } from 'commander';
import { isRemoteUrl } from '../client/url.js';
import { FerryError } from '../protocol/index.js';
import { UsageError } from './cli-errors.js';
import { formatSize } from './format.js';
import { parseRemoteArg } from './remote.js';
import { withSession, type RemoteFlags } from './remote-command.js';

/** `ferry mkdir`, `rm`, `mv` and `quota`: one request each on the server. */
export function registerFileCommands(program: Command): void {
  program
    .command('mkdir')
    .summary('create a remote directory')
    .argument('<url>', 'ferry://user@host:port/path')
    .option('-p, --parents', 'create missing parents too; no error if it exists')
    .option('--password-stdin', 'read the password from standard input')
    .option('--fingerprint <sha256>', "the TLS server's certificate fingerprint (SHA256:…, from ferry serve --fingerprint); pinned in known_hosts once the server shows it")
    .action(async (url: string, flags: RemoteFlags & { parents?: boolean }) => {
      await withSession(url, flags, (session, arg) => session.request('mkdir', { path: arg.url.path, ...(flags.parents ? { parents: true } : {}) }));
    });

  program
    .command('rm')
    .summary('remove a remote file or directory')
    .argument('<url>', 'ferry://user@host:port/path')
    .option('-r, --recursive', 'remove a directory and everything in it')
    .option('--password-stdin', 'read the password from standard input')
    .option('--fingerprint <sha256>', "the TLS server's certificate fingerprint (SHA256:…, from ferry serve --fingerprint); pinned in known_hosts once the server shows it")
    .action(async (url: string, flags: RemoteFlags & { recursive?: boolean }) => {
      const arg = parseRemoteArg(url);
      if (posix.normalize(arg.url.path) === '/') throw new FerryError('EACCES', 'refusing to remove the home directory itself');
      await withSession(url, flags, (session) => session.request('remove', { path: arg.url.path, ...(flags.recursive ? { recursive: true } : {}) }));
    });

  program
    .command('mv')
    .summary('rename or move on the server')
    .description('Rename or move a file or directory on the server. TO is a URL on the same server or a path from the home (/dir/name); an existing directory receives the source inside it.')
    .argument('<from>', 'ferry://user@host:port/path')
    .argument('<to>', 'ferry://user@host:port/path or /path')
    .option('-f, --force', 'replace an existing file')
    .option('--password-stdin', 'read the password from standard input')
    .option('--fingerprint <sha256>', "the TLS server's certificate fingerprint (SHA256:…, from ferry serve --fingerprint); pinned in known_hosts once the server shows it")
    .action(async (from: string, to: string, flags: RemoteFlags & { force?: boolean }) => {
      const source = parseRemoteArg(from);
      let targetPath: string;
      if (isRemoteUrl(to)) {
        const target = parseRemoteArg(to);
        if (target.key !== source.key) throw new UsageError('mv works within one server and account; use get/put to copy between them');
        targetPath = target.url.path;
      } else if (to.startsWith('/')) {
        targetPath = to;
      } else {
        throw new UsageError(`mv: the destination must be a ferry:// URL or a path starting with /: ${JSON.stringify(to)}`);
      }
      await withSession(from, flags, async (session) => {
        const existing = await session.request('stat', { path: targetPath }).catch((error: unknown) => {
          if (error instanceof FerryError && error.code === 'ENOENT') return undefined;
          throw error;
        });
        const finalPath = existing?.entry.type === 'dir' ? posix.join(targetPath, posix.basename(source.url.path)) : targetPath;
        await session.request('rename', { from: source.url.path, to: finalPath, ...(flags.force ? { overwrite: true } : {}) });
      });
    });

  program
    .command('quota')
    .summary('show used space and quota')
    .argument('<url>', 'ferry://user@host:port/ (the path is ignored)')
    .option('--json', '{"used": bytes, "total": bytes (0 = unlimited)}')
    .option('--password-stdin', 'read the password from standard input')
    .option('--fingerprint <sha256>', "the TLS server's certificate fingerprint (SHA256:…, from ferry serve --fingerprint); pinned in known_hosts once the server shows it")
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

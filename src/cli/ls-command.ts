import type { Command } from 'commander';
import { RemoteFileSystem } from '../fs/remote-file-system.js';
import { FerryError, type Entry } from '../protocol/index.js';
import { formatMode, formatSize, formatTime } from './format.js';
import { FINGERPRINT_HELP, withLocation, type RemoteFlags } from './remote-command.js';

interface LsFlags extends RemoteFlags {
  json?: boolean;
  long?: boolean;
  human?: boolean;
}

/** `ferry ls URL`: a directory's entries (or the one entry of a file). */
export function registerLsCommand(program: Command): void {
  program
    .command('ls')
    .summary('list a remote directory')
    .description('List a directory on a server (or show one file). Directories are marked with a trailing /.')
    .argument('<url>', 'ferry://user@host:port/path or sftp://user@host/path')
    .option('-l, --long', 'mode, size, modification time and name')
    .option('--human', 'with -l: sizes as KiB, MiB, …')
    .option('--json', 'entries as a JSON array (name, type, size, mtime in ms, mode)')
    .option('--password-stdin', 'read the password from standard input')
    .option('--fingerprint <sha256>', FINGERPRINT_HELP)
    .action(async (url: string, flags: LsFlags) => {
      const entries = await withLocation(url, flags, async (fs, path) => {
        const entry = await fs.stat(path);
        if (entry === null) throw new FerryError('ENOENT', `${fs.label}:${path}: no such file or directory`);
        if (entry.type !== 'dir' && entry.target !== 'dir') return [entry];
        let listed: Entry[];
        if (fs instanceof RemoteFileSystem) {
          const listing = await fs.listWithTruncation(path);
          if (listing.truncated) process.stderr.write('ferry: the listing was cut short by the server (too many entries)\n');
          listed = listing.entries;
        } else {
          listed = await fs.list(path);
        }
        return [...listed].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      });
      process.stdout.write(formatListing(entries, flags));
    });
}

/** The text `ls` prints for `entries`, one per line (or a JSON array with --json). */
export function formatListing(entries: Entry[], flags: { json?: boolean; long?: boolean; human?: boolean }): string {
  if (flags.json) return `${JSON.stringify(entries, null, 2)}\n`;
  if (entries.length === 0) return '';
  const name = (e: Entry) => (e.type === 'dir' || (e.type === 'symlink' && e.target === 'dir') ? `${e.name}/` : e.name);
  if (!flags.long) return entries.map((e) => `${name(e)}\n`).join('');
  const sizes = entries.map((e) => (flags.human ? formatSize(e.size) : String(e.size)));
  const width = Math.max(...sizes.map((s) => s.length));
  return entries.map((e, i) => `${formatMode(e)}  ${sizes[i]!.padStart(width)}  ${formatTime(e.mtime)}  ${name(e)}\n`).join('');
}

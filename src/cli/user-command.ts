import { rm } from 'node:fs/promises';
import path from 'node:path';
import type { Command } from 'commander';
import { computeUsage } from '../../server/storage/usage.js';
import { SqliteUserStore } from '../../server/users/sqlite-user-store.js';
import type { NameHold, UserRecord } from '../../server/users/types.js';
import { validateUserName } from '../../server/users/validate.js';
import { FerryError } from '../protocol/index.js';
import { dataDir } from '../util/paths.js';
import { parseSize } from '../util/units.js';
import { UsageError } from './cli-errors.js';
import { formatSize } from './format.js';
import { promptPassword, readPasswordFromStdin } from './password.js';

interface RootFlag {
  root?: string;
}

function rootOption(command: Command): Command {
  return command.option('--root <dir>', 'data root (default: $XDG_DATA_HOME/ferry or ~/.local/share/ferry)');
}

/** Opens the user database of the data root; works while a server runs on it (SQLite WAL). */
async function withStore<T>(flags: RootFlag, body: (store: SqliteUserStore, root: string) => Promise<T>): Promise<T> {
  const root = path.resolve(flags.root ?? dataDir());
  const store = SqliteUserStore.open(path.join(root, 'users.db'));
  try {
    return await body(store, root);
  } finally {
    store.close();
  }
}

/** "1GiB", "500MB", "0" or "unlimited" (= 0) as bytes; a bad size is a usage error. */
export function parseQuota(text: string): number {
  if (text.trim().toLowerCase() === 'unlimited') return 0;
  try {
    return parseSize(text);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/**
 * A new password: from stdin with --password-stdin, else asked twice on the terminal. Without
 * either (a script without the flag) it is a usage error rather than a hang.
 */
async function newPassword(fromStdin: boolean | undefined, name: string): Promise<string> {
  if (fromStdin) return readPasswordFromStdin();
  if (!process.stdin.isTTY) throw new UsageError('no terminal to ask for the password on: pass --password-stdin and write it to standard input');
  const first = await promptPassword(`New password for ${name}: `);
  const second = await promptPassword('Again: ');
  if (first !== second) throw new UsageError('the two passwords differ');
  return first;
}

/** Why `ferry user add NAME` refuses a held name, and what to do about it. */
function holdMessage(name: string, hold: NameHold): string {
  if (hold.kind === 'archived') {
    return (
      `the name ${name} belonged to an account deleted on ${new Date(hold.deletedAt).toISOString()}, whose files are archived in ${hold.archive}: ` +
      'pass --reuse-name to create a new, empty account of that name anyway (the archive stays), or remove the archive first'
    );
  }
  return (
    `${hold.paths.join(' and ')} ${hold.paths.length > 1 ? 'hold' : 'holds'} files but there is no account ${name} (left by an earlier deletion?): ` +
    'pass --reuse-name to archive them and create a new, empty account, or move them away first'
  );
}

/** Deletes what `ferry user del --purge` moved aside; a failure says what is left where. */
async function deleteMovedFiles(name: string, dirs: string[]): Promise<void> {
  for (const dir of dirs) {
    try {
      await rm(dir, { recursive: true, force: true });
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new FerryError(
        code === 'EACCES' || code === 'EPERM' ? 'EACCES' : 'EINTERNAL',
        `user ${name} is deleted, but deleting their files failed: ${(error as Error).message}; what is left is in ${dir} (no account can see it; delete it by hand)`,
      );
    }
  }
}

function quotaText(bytes: number): string {
  return bytes === 0 ? 'unlimited' : formatSize(bytes);
}

/** `ferry user add|del|passwd|quota|mod|list|pending|approve|reject`: accounts of a data root. */
export function registerUserCommand(program: Command): void {
  const user = program
    .command('user')
    .summary('manage user accounts (on the server machine)')
    .description('Manage the accounts of a data root. Works while the server runs on the same root; changes apply at once.');

  rootOption(
    user
      .command('add')
      .summary('create an account')
      .description(
        'Create an account. Reserved role names (admin, support, postmaster, ...) are allowed here, though clients cannot register them; ' +
          'system names (root, ferry, nobody, ...) are refused.\n\n' +
          'A name whose earlier account left files is refused (EEXIST): while the archive of a deleted account of that name exists ' +
          '(ferry user del), or while homes/NAME or partials/NAME hold files with no account. --reuse-name creates the account anyway, ' +
          'starting empty: the archive stays where it is, and files found in homes/NAME or partials/NAME are archived first.',
      )
      .argument('<name>', "2-32 characters: lowercase letters, digits, '.', '_', '-', starting with a letter")
      .option('--quota <size>', 'space allowed, e.g. 500MiB, 1GiB, 10GB; 0 or unlimited (default)')
      .option('--exec', "may run the server's allowed programs (ferry exec); off by default")
      .option('--reuse-name', 'create the account although an earlier account of this name left files (see above); it starts empty')
      .option('--password-stdin', 'read the password from standard input instead of asking twice'),
  ).action(async (name: string, flags: RootFlag & { quota?: string; exec?: boolean; reuseName?: boolean; passwordStdin?: boolean }) => {
    validateUserName(name);
    const quota = flags.quota === undefined ? undefined : parseQuota(flags.quota);
    await withStore(flags, async (store) => {
      // Refused before asking for a password that would be thrown away.
      if (store.get(name) !== undefined) throw new FerryError('EEXIST', `user ${name} already exists`);
      const hold = store.nameHold(name);
      if (hold !== undefined && !flags.reuseName) throw new FerryError('EEXIST', holdMessage(name, hold));
      const password = await newPassword(flags.passwordStdin, name);
      const record = await store.add(name, password, { ...(quota === undefined ? {} : { quota }), reuseName: flags.reuseName === true });
      if (flags.exec) store.setExec(name, true);
      process.stdout.write(`user ${record.name} added (quota ${quotaText(record.quota)}${flags.exec ? ', may run remote commands' : ''})\n`);
      const archived = hold?.kind === 'files' ? store.nameHold(name) : undefined;
      if (hold?.kind === 'files' && archived?.kind === 'archived') {
        process.stdout.write(`files found in ${hold.paths.join(' and ')} were archived in ${archived.archive}; the new account starts empty\n`);
      }
    });
  });

  rootOption(
    user
      .command('del')
      .summary('delete an account (its files go to the archive; --purge deletes them)')
      .description(
        "Delete an account. Its home and partial uploads are moved, in one step with the deletion, into ROOT/archive/NAME-<UTC time>/ " +
          '(mode 0700, outside every home), so that no later account of the same name sees them. While that archive exists, ' +
          'clients cannot register the name and ferry user add refuses it without --reuse-name; delete the archive to free the name. ' +
          'If the files cannot be moved, nothing is deleted.',
      )
      .argument('<name>')
      .option('--purge', "delete the user's files and partial uploads instead of archiving them (the name is free at once)"),
  ).action(async (name: string, flags: RootFlag & { purge?: boolean }) => {
    validateUserName(name);
    await withStore(flags, async (store) => {
      const removed = store.remove(name, { purge: flags.purge === true });
      if (flags.purge) {
        await deleteMovedFiles(name, removed.toDelete);
        process.stdout.write(`user ${name} deleted with their files\n`);
      } else if (removed.archive !== undefined) {
        process.stdout.write(`user ${name} deleted; their files are archived in ${removed.archive}\n`);
      } else {
        process.stdout.write(`user ${name} deleted (no files)\n`);
      }
    });
  });

  rootOption(
    user
      .command('passwd')
      .summary("set an account's password")
      .argument('<name>')
      .option('--password-stdin', 'read the password from standard input instead of asking twice'),
  ).action(async (name: string, flags: RootFlag & { passwordStdin?: boolean }) => {
    validateUserName(name);
    await withStore(flags, async (store) => {
      if (store.get(name) === undefined) throw new FerryError('ENOENT', `no such user: ${name}`);
      await store.setPassword(name, await newPassword(flags.passwordStdin, name));
      process.stdout.write(`password of ${name} changed\n`);
    });
  });

  rootOption(
    user
      .command('quota')
      .summary("set an account's quota")
      .argument('<name>')
      .argument('<size>', 'e.g. 500MiB, 1GiB, 10GB; 0 or unlimited'),
  ).action(async (name: string, size: string, flags: RootFlag) => {
    validateUserName(name);
    const bytes = parseQuota(size);
    await withStore(flags, async (store) => {
      store.setQuota(name, bytes);
      process.stdout.write(`quota of ${name}: ${quotaText(bytes)}\n`);
    });
  });

  rootOption(
    user
      .command('list')
      .summary('list accounts with their usage')
      .option('--json', 'as JSON: name, status, exec, used, quota (bytes; 0 = unlimited), createdAt'),
  ).action(async (flags: RootFlag & { json?: boolean }) => {
    await withStore(flags, async (store, root) => {
      const users = await Promise.all(store.list().map(async (u) => ({ ...u, used: await computeUsage(root, u.name) })));
      if (flags.json) {
        const rows = users.map((u) => ({ name: u.name, status: u.status, exec: u.exec, used: u.used, quota: u.quota, createdAt: u.createdAt }));
        process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
        return;
      }
      if (users.length === 0) {
        process.stdout.write('no users yet: ferry user add NAME\n');
        return;
      }
      const rows = [['NAME', 'STATUS', 'USED', 'QUOTA'], ...users.map((u) => [u.name, u.status, formatSize(u.used), quotaText(u.quota)])];
      const widths = [0, 1, 2, 3].map((i) => Math.max(...rows.map((r) => r[i]!.length)));
      for (const row of rows) {
        process.stdout.write(`${row.map((cell, i) => (i >= 2 ? cell.padStart(widths[i]!) : cell.padEnd(widths[i]!))).join('  ').trimEnd()}\n`);
      }
    });
  });

  rootOption(
    user
      .command('mod')
      .summary("change an account's permissions")
      .argument('<name>')
      .option('--exec', "allow running the server's allowed programs (ferry exec)")
      .option('--no-exec', 'deny it again'),
  ).action(async (name: string, flags: RootFlag & { exec?: boolean }) => {
    validateUserName(name);
    if (flags.exec === undefined) throw new UsageError('nothing to change: pass --exec or --no-exec');
    await withStore(flags, async (store) => {
      store.setExec(name, flags.exec === true);
      process.stdout.write(`${name} ${flags.exec ? 'may' : 'may not'} run remote commands\n`);
    });
  });

  rootOption(
    user
      .command('pending')
      .summary('list accounts waiting for approval')
      .option('--json', 'as JSON: name, quota, createdAt'),
  ).action(async (flags: RootFlag & { json?: boolean }) => {
    await withStore(flags, async (store) => {
      const pending = store.list().filter((u) => u.status === 'pending');
      if (flags.json) {
        process.stdout.write(`${JSON.stringify(pending.map((u) => ({ name: u.name, quota: u.quota, createdAt: u.createdAt })), null, 2)}\n`);
        return;
      }
      if (pending.length === 0) {
        process.stdout.write('no accounts are waiting for approval\n');
        return;
      }
      for (const u of pending) process.stdout.write(`${u.name}  registered ${new Date(u.createdAt).toISOString()}\n`);
    });
  });

  rootOption(
    user
      .command('approve')
      .summary('approve a registered account')
      .argument('<name>')
      .option('--quota <size>', "space allowed; default: the quota it got when it registered (the server's default quota)"),
  ).action(async (name: string, flags: RootFlag & { quota?: string }) => {
    validateUserName(name);
    const quota = flags.quota === undefined ? undefined : parseQuota(flags.quota);
    await withStore(flags, async (store) => {
      const record = pendingAccount(store, name);
      if (quota !== undefined) store.setQuota(name, quota);
      store.setStatus(name, 'active');
      process.stdout.write(`${name} approved (quota ${quotaText(quota ?? record.quota)}); they can log in now\n`);
    });
  });

  rootOption(
    user
      .command('reject')
      .summary('refuse a registered account (deletes it)')
      .description('Refuse a pending account: it is deleted like with ferry user del (files, if a suspended account has any, go to the archive).')
      .argument('<name>'),
  ).action(async (name: string, flags: RootFlag) => {
    validateUserName(name);
    await withStore(flags, async (store) => {
      pendingAccount(store, name);
      const removed = store.remove(name);
      process.stdout.write(`${name} rejected: the account is deleted${removed.archive === undefined ? '' : `; its files are archived in ${removed.archive}`}\n`);
    });
  });
}

/** The pending account `name`: ENOENT when there is none, EINVAL when it is already active. */
function pendingAccount(store: SqliteUserStore, name: string): UserRecord {
  const record = store.get(name);
  if (record === undefined) throw new FerryError('ENOENT', `no such user: ${name}`);
  if (record.status !== 'pending') throw new FerryError('EINVAL', `${name} is not waiting for approval (it is ${record.status}); use ferry user del to delete an account`);
  return record;
}

import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { sshdForThisFile, sshdSkipNote, sshdSerialTest } from './helpers/sshd.js';
import { startTmux, tuiScratch } from './helpers/tmux.js';
import { mkdirThenDelete, quit, toRightPane, waitForPaneEntry } from './helpers/tui-screen.js';

/*
 * `ferry connect sftp://alias/dir` in a real terminal against our own sshd: the right pane is the
 * SSH server, F5 copies both ways through the shared engine, F7 makes a directory there and F8
 * removes it. The alias comes from an ssh config given as FERRY_SSH_CONFIG, its host key as
 * --fingerprint.
 */

const run = promisify(execFile);
const sshd = sshdForThisFile('ferry-e2e-sftp-');

sshdSerialTest(`an SFTP pane: browse, F5 both ways, F7 and F8${sshdSkipNote}`, async (t) => {
  const server = sshd.server()!;
  const { dir, work, env } = await tuiScratch(t, 'ferry-e2e-sftp-');
  const remote = join(dir, 'remote');
  await mkdir(remote);
  const down = randomBytes(2 * 1024 * 1024 + 3);
  await writeFile(join(remote, 'from-server.bin'), down);
  const up = randomBytes(300 * 1024);
  await writeFile(join(work, 'to-server.bin'), up);
  const config = join(dir, 'ssh_config');
  await writeFile(
    config,
    ['Host box', '  HostName 127.0.0.1', `  Port ${server.port}`, `  User ${server.user}`, `  IdentityFile ${server.clientKey}`, '  IdentitiesOnly yes', `  UserKnownHostsFile ${join(dir, 'known')}`, ''].join('\n'),
  );
  const fingerprint = /SHA256:\S+/.exec((await run('ssh-keygen', ['-lf', `${server.hostKey}.pub`])).stdout)![0];
  const tui = await startTmux({ args: ['connect', '--fingerprint', fingerprint, `sftp://box${remote}`], dir, cwd: work, env: { ...env, FERRY_SSH_CONFIG: config, SSH_AUTH_SOCK: '' } });
  t.teardown(() => tui.kill());
  await tui.waitFor(`${server.user}@box:${server.port}:${remote}`);
  await waitForPaneEntry(tui, 'right', 'from-server.bin');

  // The local pane has the input: `..`, then to-server.bin.
  await waitForPaneEntry(tui, 'left', 'to-server.bin');
  await tui.press('Down', 'F5');
  await tui.waitFor(/Transfers · all done/, 60_000);
  await waitForPaneEntry(tui, 'right', 'to-server.bin');
  t.true((await readFile(join(remote, 'to-server.bin'))).equals(up), 'uploaded byte for byte');

  // The SFTP pane: `..`, from-server.bin, to-server.bin; F5 brings the first one down.
  await toRightPane(tui);
  await tui.press('Down', 'F5');
  await waitForPaneEntry(tui, 'left', 'from-server.bin', 60_000);
  await tui.waitFor(/Transfers · all done/, 60_000);
  t.true((await readFile(join(work, 'from-server.bin'))).equals(down), 'downloaded byte for byte');

  // F7 makes a directory on the server, F8 removes it after asking.
  await mkdirThenDelete(t, tui, 'made-here', remote);
  await quit(tui);
});

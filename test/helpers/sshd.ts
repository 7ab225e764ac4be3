import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findExecutable } from '../../bench/peers/processes.js';
import { startSshd, type SshServer } from '../../bench/peers/sshd.js';

/** Whether sshd is installed (.ci/run installs openssh-server), and the title note when it is not. */
export const haveSshd = (await findExecutable('sshd')) !== undefined;
export const sshdSkipNote = haveSshd ? '' : ' (no sshd; .ci/run installs openssh-server)';

/** `test` where sshd is installed, else `test.skip`: the run reports the skip instead of a silent pass. */
export const sshdTest = haveSshd ? test : test.skip;
export const sshdSerialTest = haveSshd ? test.serial : test.serial.skip;

/**
 * One sshd of our own on 127.0.0.1 for the test file (the bench's: throwaway host and client
 * keys, its own config, stopped by PID after the last test), and a scratch directory beside it.
 */
export function sshdForThisFile(prefix: string): { server(): SshServer | undefined; work(): string } {
  let server: SshServer | undefined;
  let work = '';
  test.before(async () => {
    work = await mkdtemp(join(tmpdir(), prefix));
    if (haveSshd) server = await startSshd(join(work, 'sshd'));
  });
  test.after.always(async () => {
    await server?.stop();
    await rm(work, { recursive: true, force: true });
  });
  return { server: () => server, work: () => work };
}

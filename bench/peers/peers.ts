import type { ChildProcess } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ftpCases } from './ftp-cases.js';
import type { PeerPackage } from './install.js';
import { findExecutable, stopChild, type Daemon } from './processes.js';
import { servedSources } from './served.js';
import { socatCases } from './socat-cases.js';
import { sshCases } from './ssh-cases.js';
import { startSshd } from './sshd.js';
import type { PeerCase, PeerInputs, Peers, WorkloadKind } from './types.js';
import { toolVersions } from './versions.js';
import { startVsftpd } from './vsftpd.js';
import { ferrySftpCases } from './ferry-sftp-cases.js';

export type { PeerCase, PeerInputs, Peers, WorkloadKind } from './types.js';
export { installPeers } from './install.js';

/** The binaries each package brings that the cases use; a package counts as missing when any is not found. */
const PACKAGE_BINARIES: Record<PeerPackage, string[]> = {
  'openssh-server': ['sshd'],
  'openssh-client': ['ssh', 'scp', 'sftp', 'ssh-keygen'],
  vsftpd: ['vsftpd'],
  curl: ['curl'],
  lftp: ['lftp'],
  socat: ['socat'],
};
const KIND_ORDER: WorkloadKind[] = ['big-up', 'big-down', 'tree-up', 'tree-down'];

/**
 * Starts the peers whose tools are installed, each on 127.0.0.1 on a free port with its own
 * config in `inputs.work`/peers: sshd (scp, sftp), vsftpd (curl, lftp), and socat listeners per
 * run. Returns their cases in workload order (big-up, big-down, tree-up, tree-down), the tools'
 * versions, and the packages missing (their cases left out; this does not throw for them). Throws
 * when an installed daemon fails to start, after stopping the ones that did.
 */
export async function startPeers(inputs: PeerInputs): Promise<Peers> {
  const binaries = new Map<string, string>();
  const missing: PeerPackage[] = [];
  for (const [pkg, names] of Object.entries(PACKAGE_BINARIES) as [PeerPackage, string[]][]) {
    let complete = true;
    for (const name of names) {
      const path = await findExecutable(name);
      if (path) binaries.set(name, path);
      else complete = false;
    }
    if (!complete) missing.push(pkg);
  }
  const has = (pkg: PeerPackage) => !missing.includes(pkg);
  const versions = await toolVersions(binaries);
  const root = join(inputs.work, 'peers');

  const daemons: Daemon[] = [];
  const listeners = new Set<ChildProcess>();
  const stop = async () => {
    for (const listener of listeners) await stopChild(listener);
    for (const daemon of daemons.splice(0)) await daemon.stop();
  };
  const cases: PeerCase[] = [];
  let sshDefaultCipher: string | undefined;
  try {
    const ftp = has('vsftpd') && (has('curl') || has('lftp')) ? await startVsftpd(join(root, 'vsftpd')) : undefined;
    if (ftp) daemons.push(ftp);
    // One copy of the download sources for every tool, inside the FTP root when there is one.
    const served = servedSources(ftp ? join(ftp.pubDir, 'src') : join(root, 'served'), inputs);
    if (has('socat')) {
      const dir = join(root, 'socat');
      await mkdir(dir, { recursive: true });
      cases.push(...socatCases(served, inputs, dir, listeners));
    }
    if (has('openssh-server') && has('openssh-client')) {
      const ssh = await startSshd(join(root, 'sshd'));
      daemons.push(ssh);
      sshDefaultCipher = ssh.defaultCipher;
      const dir = join(root, 'ssh');
      await mkdir(dir, { recursive: true });
      cases.push(...sshCases(ssh, served, inputs, dir, versions.OpenSSH ?? ''));
      cases.push(...(await ferrySftpCases(ssh, served, inputs, dir)));
    }
    if (ftp) {
      const dir = join(root, 'ftp-clients');
      await mkdir(dir, { recursive: true });
      cases.push(...ftpCases(ftp, served, inputs, { curl: has('curl'), lftp: has('lftp') }, dir));
    }
  } catch (error) {
    await stop();
    throw error;
  }
  // Array.prototype.sort is stable: within a workload the tools keep the order above.
  cases.sort((a, b) => KIND_ORDER.indexOf(a.kind) - KIND_ORDER.indexOf(b.kind));
  return {
    cases,
    versions,
    sshDefaultCipher,
    missing,
    pids: () => [...daemons.map((daemon) => daemon.pid), ...[...listeners].flatMap((listener) => (listener.pid ? [listener.pid] : []))],
    stop,
  };
}

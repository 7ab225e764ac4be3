import { spawn } from 'node:child_process';
import { exitOf, outputOf } from './processes.js';

/** The Debian packages of the tools ferry is compared against. */
export const PEER_PACKAGES = ['openssh-server', 'openssh-client', 'vsftpd', 'curl', 'lftp', 'socat'] as const;
export type PeerPackage = (typeof PEER_PACKAGES)[number];

/** True when dpkg says the package is installed (not merely known or half-configured). */
async function installed(pkg: string): Promise<boolean> {
  try {
    const status = await outputOf('dpkg', ['-s', pkg]);
    return /^Status: install ok installed$/m.test(status);
  } catch {
    // No dpkg at all: not Debian, so nothing counts as installed by it.
    return false;
  }
}

/** The peer packages dpkg does not report as installed. */
export async function missingPackages(): Promise<PeerPackage[]> {
  const missing: PeerPackage[] = [];
  for (const pkg of PEER_PACKAGES) if (!(await installed(pkg))) missing.push(pkg);
  return missing;
}

/**
 * Installs the missing peer packages with apt-get (Debian), its output streamed to our stderr;
 * `apt-get update` runs first, and only when something is to be installed. Needs root.
 *
 * Installing openssh-server or vsftpd may start the system's own sshd/vsftpd service: it is left
 * alone, as the benchmark runs its own daemons on their own ports.
 */
export async function installPeers(): Promise<void> {
  const missing = await missingPackages();
  if (missing.length === 0) {
    console.error(`peers: ${PEER_PACKAGES.join(', ')} are installed`);
    return;
  }
  if (process.getuid?.() !== 0) {
    throw new Error(`peers: ${missing.join(', ')} missing; run \`npm run bench -- --peers\` as root, or install them by hand: apt-get install ${missing.join(' ')}`);
  }
  console.error(`peers: installing ${missing.join(', ')} with apt-get`);
  await apt(['update']);
  await apt(['install', '-y', '--no-install-recommends', ...missing]);
  const still = await missingPackages();
  if (still.length > 0) throw new Error(`peers: apt-get finished but ${still.join(', ')} is still not installed`);
}

async function apt(args: string[]): Promise<void> {
  // Both of apt's streams go to our stderr so the table on stdout stays clean.
  const child = spawn('apt-get', args, { stdio: ['ignore', 2, 2], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  const { code, signal } = await exitOf(child);
  if (code !== 0) throw new Error(`apt-get ${args.join(' ')} ${signal ? `was killed by ${signal}` : `exited with code ${code}`} (its output is above)`);
}

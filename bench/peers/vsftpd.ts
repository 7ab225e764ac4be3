import { chmod, chown, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { findExecutable, freePort, outputOf, startDaemon, type Daemon } from './processes.js';

/** Our own vsftpd on 127.0.0.1, serving anonymous FTP with uploads. */
export interface FtpServer extends Daemon {
  readonly port: number;
  /** The local directory behind the FTP path `/pub`: writable by the `ftp` user, so anonymous uploads land here. */
  readonly pubDir: string;
  /** The `ftp` user's uid and gid, for directories the bench creates under pubDir that uploads must write into. */
  readonly ftpUid: number;
  readonly ftpGid: number;
}

/**
 * Starts vsftpd in the foreground (listen=YES, background=NO) on a free port of 127.0.0.1 with its
 * own config file in `dir`, serving anonymous FTP (no password) rooted at `dir`/ftp, whose `pub`
 * is writable; resolves once the port accepts connections. Anonymous FTP needs no account or PAM
 * setup: the `ftp` user that Debian's vsftpd package creates is the one anonymous sessions run as.
 */
export async function startVsftpd(dir: string): Promise<FtpServer> {
  const vsftpd = await findExecutable('vsftpd');
  if (!vsftpd) throw new Error('vsftpd is not installed (apt-get install vsftpd, or npm run bench -- --peers)');
  const { uid, gid } = await ftpUser();
  const root = join(dir, 'ftp');
  const pubDir = join(root, 'pub');
  const emptyDir = join(dir, 'empty');
  // vsftpd chroots anonymous sessions into the root and refuses a root the session could write
  // to; uploads go one level down, into pub, which the ftp user owns.
  await mkdir(pubDir, { recursive: true });
  await chmod(root, 0o755);
  await chown(pubDir, uid, gid);
  await chmod(pubDir, 0o755);
  // The pre-login process is chrooted here: it must exist and be empty.
  await mkdir(emptyDir, { recursive: true, mode: 0o755 });

  const port = await freePort();
  const config = join(dir, 'vsftpd.conf');
  await writeFile(
    config,
    [
      'listen=YES',
      'listen_ipv6=NO',
      'listen_address=127.0.0.1',
      `listen_port=${port}`,
      // In the foreground, so the ChildProcess is the listener itself and we stop it by its PID.
      'background=NO',
      'anonymous_enable=YES',
      'no_anon_password=YES',
      `anon_root=${root}`,
      'local_enable=NO',
      'write_enable=YES',
      'anon_upload_enable=YES',
      'anon_mkdir_write_enable=YES',
      // Overwrite, delete and rename for anonymous sessions, so a re-run can replace its files.
      'anon_other_write_enable=YES',
      'anon_umask=022',
      // No port range: vsftpd then picks random ports above 1024 and retries one that is taken,
      // which cannot clash with other programs on this machine the way a fixed range could.
      'pasv_enable=YES',
      'pasv_address=127.0.0.1',
      `secure_chroot_dir=${emptyDir}`,
      // The seccomp filter and the network namespace vsftpd puts its pre-login process in are
      // refused in many containers; neither changes the data path.
      'seccomp_sandbox=NO',
      'isolate=NO',
      'isolate_network=NO',
      'xferlog_enable=NO',
      'dirmessage_enable=NO',
      // sendfile() for downloads is the default, stated here because it is vsftpd's fast path.
      'use_sendfile=YES',
      '',
    ].join('\n'),
  );
  await chmod(config, 0o600);
  const daemon = await startDaemon('vsftpd', vsftpd, [config], port);
  return { ...daemon, port, pubDir, ftpUid: uid, ftpGid: gid };
}

/** The `ftp` account (created by Debian's vsftpd package) that anonymous sessions run as. */
async function ftpUser(): Promise<{ uid: number; gid: number }> {
  const entry = (await outputOf('getent', ['passwd', 'ftp'])).trim();
  const fields = entry.split(':');
  const uid = Number(fields[2]);
  const gid = Number(fields[3]);
  if (fields.length < 7 || !Number.isInteger(uid) || !Number.isInteger(gid)) {
    throw new Error(`vsftpd: no 'ftp' user for anonymous sessions (getent passwd ftp printed '${entry}'); reinstall vsftpd, whose package creates it`);
  }
  return { uid, gid };
}

import { join } from 'node:path';
import { openSftp, type HostKeyAnswer, type HostKeyQuestion } from '../fs/sftp/sftp-connection.js';
import { SftpFileSystem } from '../fs/sftp/sftp-file-system.js';
import { absoluteSftpPath, parseSftpUrl } from '../fs/sftp/sftp-url.js';
import { resolveSshTarget } from '../fs/sftp/ssh-target.js';
import { configDir } from '../util/paths.js';
import { promptLine, promptPassword, readPasswordFromStdin } from './password.js';

export interface SftpLoginOptions {
  passwordStdin: boolean;
  /** --fingerprint: the host key's SHA256:… fingerprint, accepted without a question. */
  fingerprint?: string;
  env?: NodeJS.ProcessEnv;
}

/** ferry's own known_hosts for SSH host keys the user accepted in ferry (OpenSSH format). */
export function ferrySshKnownHosts(env: NodeJS.ProcessEnv = process.env): string {
  return join(configDir(env), 'ssh_known_hosts');
}

/**
 * Logs in to the SSH server of an `sftp://` URL (or an ~/.ssh/config alias in it) for a CLI
 * command; resolves with its file system and the URL's path made absolute. On a terminal an
 * unknown host key is shown and asked about, without one it is refused with its fingerprint
 * (EIDENTITY); passwords come from --password-stdin, FERRY_PASSWORD or the terminal.
 */
export async function openSftpLocation(url: string, options: SftpLoginOptions): Promise<{ fs: SftpFileSystem; path: string }> {
  const env = options.env ?? process.env;
  const parsed = parseSftpUrl(url);
  const target = await resolveSshTarget({
    host: parsed.host,
    ...(parsed.port !== undefined ? { port: parsed.port } : {}),
    ...(parsed.user !== undefined ? { user: parsed.user } : {}),
    ...(env.FERRY_SSH_CONFIG ? { configFile: env.FERRY_SSH_CONFIG } : {}),
  });
  const onTerminal = process.stdin.isTTY === true && process.stderr.isTTY === true;
  const fingerprint = options.fingerprint ?? (env.FERRY_FINGERPRINT || undefined);
  let password: Promise<string> | undefined;
  const dial = {
    target,
    ferryKnownHosts: ferrySshKnownHosts(env),
    ...(onTerminal ? { passphrase: (file: string) => promptPassword(`Passphrase for ${file}: `) } : {}),
    password: async () => {
      if (options.passwordStdin) return (password ??= readPasswordFromStdin());
      if (env.FERRY_PASSWORD) return env.FERRY_PASSWORD;
      if (onTerminal) return (password ??= promptPassword(`${target.user}@${target.host}'s password: `));
      return undefined;
    },
  };
  const connection = await openSftp({
    ...dial,
    ...(fingerprint ? { expectedFingerprint: fingerprint } : {}),
    ...(onTerminal ? { askHostKey: askOnTerminal } : {}),
  });
  // After a cut the same server must answer: the key it showed at login is the one expected.
  const reopen = () => openSftp({ ...dial, expectedFingerprint: connection.fingerprint });
  const fs = new SftpFileSystem(connection, `${target.user}@${target.alias}${target.port === 22 ? '' : `:${target.port}`}`, { reopen });
  return { fs, path: absoluteSftpPath(parsed.path, fs.home) };
}

async function askOnTerminal(question: HostKeyQuestion): Promise<HostKeyAnswer> {
  process.stderr.write(
    `The authenticity of host '${question.host}' (port ${question.port}) can't be established.\n` +
      `${question.keyType} key fingerprint is ${question.fingerprint}.\n`,
  );
  const answer = await promptLine('Trust it? (yes = remember, once = this time only, no) ');
  return answer === 'yes' || answer === 'y' ? 'save' : answer === 'once' ? 'once' : 'refuse';
}

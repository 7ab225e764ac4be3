import type { Client as SshClient } from 'ssh2';
import type { RemoteResult, RunRemoteOptions } from '../../client/exec.js';
import { FerryError } from '../../protocol/index.js';

/** `word` quoted for a POSIX shell: any bytes, one argument. */
export function shellQuote(word: string): string {
  return `'${word.replace(/'/g, `'\\''`)}'`;
}

/**
 * The program under a watcher that kills it when our end of the channel's stdin closes: OpenSSH
 * ignores the channel's "signal" request (9.2 here), and a program without a terminal never hears
 * that its channel went away. The watcher reads the channel's stdin (fd 3, since a background
 * job's stdin is /dev/null); the program reads /dev/null.
 */
const WATCHED = 'exec 3<&0; "$@" </dev/null 3<&- & c=$!; { cat <&3; kill -KILL "$c"; } >/dev/null 2>&1 & w=$!; exec 3<&-; wait "$c"; s=$?; kill "$w" 2>/dev/null; exit "$s"';

/**
 * Runs `argv` in `cwd` over an SSH exec channel: the user's own shell account on that server
 * (unlike a ferry server's allowlist, anything the account may run), each argument quoted so it
 * arrives as it was typed. Output streams to the callbacks; aborting kills the program (reason
 * 'canceled'). A program ended by a signal reports it as a shell does: exit status 128 + N.
 */
export function runSshCommand(client: SshClient, options: RunRemoteOptions): Promise<RemoteResult> {
  if (options.argv.length === 0) return Promise.reject(new FerryError('EINVAL', 'no program to run'));
  const command = `cd ${shellQuote(options.cwd ?? '.')} && exec sh -c ${shellQuote(WATCHED)} sh ${options.argv.map(shellQuote).join(' ')}`;
  return new Promise<RemoteResult>((resolve, reject) => {
    client.exec(command, (error, channel) => {
      if (error) {
        reject(new FerryError('ENOTSUP', `the SSH server refused to run a command: ${error.message}`));
        return;
      }
      options.onStart?.(0);
      let canceled = false;
      const onAbort = () => {
        canceled = true;
        // EOF on stdin: the watcher kills the program; the channel closes once it is gone.
        channel.end();
      };
      if (options.signal?.aborted) onAbort();
      options.signal?.addEventListener('abort', onAbort, { once: true });
      let exit: { code: number | null; signal: string | null } = { code: null, signal: null };
      channel.on('data', (data: Buffer) => options.onStdout?.(data));
      channel.stderr.on('data', (data: Buffer) => options.onStderr?.(data));
      channel.on('exit', (code: number | null, signal?: string) => {
        exit = { code: signal ? null : code, signal: signal ? `SIG${signal}` : null };
      });
      channel.on('close', () => {
        options.signal?.removeEventListener('abort', onAbort);
        resolve({ ...exit, ...(canceled ? { reason: 'canceled' as const } : {}) });
      });
    });
  });
}

import { outputOf } from './processes.js';

/** Each tool's name, the command that prints its version, and how to pick the line out of it. */
const VERSION_COMMANDS: { name: string; binary: string; args: (path: string) => [string, string[]]; line: RegExp }[] = [
  { name: 'OpenSSH', binary: 'ssh', args: (path) => [path, ['-V']], line: /^OpenSSH.*$/m },
  // vsftpd -v writes its version to file descriptor 0, so a shell points that at stdout.
  { name: 'vsftpd', binary: 'vsftpd', args: (path) => ['/bin/sh', ['-c', `'${path}' -v 0>&1`]], line: /^vsftpd: version .*$/m },
  { name: 'curl', binary: 'curl', args: (path) => [path, ['--version']], line: /^curl .*$/m },
  { name: 'lftp', binary: 'lftp', args: (path) => [path, ['--version']], line: /^LFTP \| Version [^|]*/m },
  { name: 'socat', binary: 'socat', args: (path) => [path, ['-V']], line: /^socat version .*$/m },
];

/**
 * The version line of each installed tool, keyed by tool name; `binaries` maps a binary name to
 * its path and lacks the ones not installed. A tool whose output has no version line gets its
 * first line, so a change of format shows instead of vanishing.
 */
export async function toolVersions(binaries: Map<string, string>): Promise<Record<string, string>> {
  const versions: Record<string, string> = {};
  for (const tool of VERSION_COMMANDS) {
    const path = binaries.get(tool.binary);
    if (!path) continue;
    const [command, args] = tool.args(path);
    const output = await outputOf(command, args);
    versions[tool.name] = (tool.line.exec(output)?.[0] ?? output.split('\n')[0] ?? '').trim();
  }
  return versions;
}

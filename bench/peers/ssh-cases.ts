import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { clientCase, quotedWord, slug } from './client-case.js';
import type { ServedSources } from './served.js';
import type { SshServer } from './sshd.js';
import type { PeerCase, PeerInputs, WorkloadKind } from './types.js';

const AES = 'aes128-gcm@openssh.com';

/** `chacha20-poly1305@openssh.com` → `chacha20-poly1305`, for table names. */
function short(cipher: string): string {
  return cipher.replace(/@openssh\.com$/, '');
}

/**
 * scp and sftp against our sshd, each with aes128-gcm and with the default cipher (no -c): the big
 * file both ways; plus scp -r with aes128-gcm for the tree both ways. Uploads land in `dir`/<tool>,
 * downloads in inputs.downloadDir/<tool>. `opensshVersion` is `ssh -V`'s line: scp from OpenSSH 9.0
 * on speaks the SFTP protocol unless given -O, and the details say which one this run used.
 */
export function sshCases(server: SshServer, served: ServedSources, inputs: PeerInputs, dir: string, opensshVersion: string): PeerCase[] {
  const major = Number(/OpenSSH_(\d+)/.exec(opensshVersion)?.[1] ?? 0);
  const scpProtocol = major >= 9 ? 'the SFTP protocol (scp’s default since OpenSSH 9.0)' : 'the legacy SCP protocol';
  const login = `${server.user}@127.0.0.1`;
  const ciphers = [{ name: short(AES), args: ['-c', AES], label: `-c ${AES}` }];
  if (server.defaultCipher !== AES) ciphers.push({ name: `${short(server.defaultCipher)} (default)`, args: [], label: `no -c, which negotiates ${server.defaultCipher}` });
  const targetDir = (tool: string, kind: WorkloadKind) => join(kind.endsWith('-up') ? dir : inputs.downloadDir, slug(tool));
  /** scp's source and target: the local source up to the result on the server, or the served source down to the result here. */
  const scpEnds = (kind: WorkloadKind, result: string) => {
    const source = kind.startsWith('big') ? { local: inputs.bigPath, served: served.bigPath } : { local: inputs.treePath, served: served.treePath };
    return kind.endsWith('-up') ? [source.local, `${login}:${result}`] : [`${login}:${source.served}`, result];
  };

  const cases: PeerCase[] = [];
  for (const kind of ['big-up', 'big-down'] as const) {
    for (const cipher of ciphers) {
      const tool = `scp ${cipher.name}`;
      const detail = `scp ${cipher.label}; ${scpProtocol}`;
      const args = (result: string) => [...server.clientOptions, '-q', '-P', String(server.port), ...cipher.args, ...scpEnds(kind, result)];
      cases.push(clientCase({ tool, kind, detail, targetDir: targetDir(tool, kind), command: 'scp', args }, inputs, served));
    }
    for (const cipher of ciphers) {
      const tool = `sftp ${cipher.name}`;
      const batch = join(dir, `${slug(tool)}-${kind}.batch`);
      cases.push(
        clientCase(
          {
            tool,
            kind,
            detail: `sftp -b BATCH ${cipher.label} (default buffer size and requests in flight)`,
            targetDir: targetDir(tool, kind),
            command: 'sftp',
            args: () => [...server.clientOptions, '-P', String(server.port), ...cipher.args, '-b', batch, login],
            setUp: (result) => writeFile(batch, kind === 'big-up' ? `put ${quotedWord(inputs.bigPath)} ${quotedWord(result)}\n` : `get ${quotedWord(served.bigPath)} ${quotedWord(result)}\n`),
          },
          inputs,
          served,
        ),
      );
    }
  }
  const tool = `scp -r ${short(AES)}`;
  for (const kind of ['tree-up', 'tree-down'] as const) {
    // The result (…/tree) does not exist when scp starts, so scp creates it with the tree's contents.
    const args = (result: string) => [...server.clientOptions, '-q', '-r', '-P', String(server.port), '-c', AES, ...scpEnds(kind, result)];
    cases.push(clientCase({ tool, kind, detail: `scp -r -c ${AES}; ${scpProtocol}`, targetDir: targetDir(tool, kind), command: 'scp', args }, inputs, served));
  }
  return cases;
}

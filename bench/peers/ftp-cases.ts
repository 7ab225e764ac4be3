import { chown, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { clientCase, quotedWord, slug, type ClientCaseSpec } from './client-case.js';
import type { ServedSources } from './served.js';
import type { PeerCase, PeerInputs, WorkloadKind } from './types.js';
import type { FtpServer } from './vsftpd.js';

/** The FTP clients that are installed; a case needs its client. */
export interface FtpClients {
  curl: boolean;
  lftp: boolean;
}

/** lftp fails fast and visibly: it otherwise retries a failed transfer forever, and it asks for TLS first, which this vsftpd does not offer. */
const LFTP_SETTINGS = ['set cmd:fail-exit yes', 'set net:max-retries 2', 'set net:timeout 30', 'set net:reconnect-interval-base 1', 'set ftp:ssl-allow no', 'set ftp:passive-mode yes', 'set xfer:clobber yes'];

/**
 * Cases against our vsftpd (anonymous, FTP paths under /pub): curl for the big file both ways,
 * lftp `pget -n 4` for the big file down, lftp `mirror --parallel=4` for the tree both ways.
 * Uploads land in server.pubDir/up/<tool>, downloads in inputs.downloadDir/<tool>, lftp's
 * scripts in `dir`; `sources` must lie under server.pubDir.
 */
export function ftpCases(server: FtpServer, sources: ServedSources, inputs: PeerInputs, clients: FtpClients, dir: string): PeerCase[] {
  const ftpRoot = join(server.pubDir, '..');
  const ftpPath = (local: string) => `/${relative(ftpRoot, local)}`;
  const url = (local: string) => `ftp://127.0.0.1:${server.port}${ftpPath(local)}`;
  const served = { big: ftpPath(sources.bigPath), tree: ftpPath(sources.treePath) };
  const cases: PeerCase[] = [];
  /** A case of `tool` on `kind`; an upload's target is made the ftp user's, like pub, so the anonymous session may write into it. */
  const add = (tool: string, kind: WorkloadKind, spec: Omit<ClientCaseSpec, 'tool' | 'kind' | 'targetDir'>) => {
    const up = kind.endsWith('-up');
    const targetDir = up ? join(server.pubDir, 'up', slug(tool)) : join(inputs.downloadDir, slug(tool));
    const owned = async () => {
      for (const path of [join(server.pubDir, 'up'), targetDir]) await chown(path, server.ftpUid, server.ftpGid);
    };
    const setUp = async (result: string) => {
      if (up) await owned();
      await spec.setUp?.(result);
    };
    cases.push(clientCase({ ...spec, tool, kind, targetDir, setUp }, inputs, sources));
  };
  /** lftp runs a script file: the settings above, the login, and the one command `command(result)`. */
  const lftp = (tool: string, kind: WorkloadKind, detail: string, command: (result: string) => string) => {
    const script = join(dir, `${slug(tool)}-${kind}.lftp`);
    add(tool, kind, {
      detail,
      command: 'lftp',
      args: () => ['-f', script],
      setUp: (result) => writeFile(script, [...LFTP_SETTINGS, `open ftp://127.0.0.1:${server.port}`, command(result), ''].join('\n')),
    });
  };

  if (clients.curl) {
    add('vsftpd + curl', 'big-up', { detail: 'curl -T FILE ftp://… (anonymous, passive)', command: 'curl', args: (result) => ['-sS', '-T', inputs.bigPath, url(result)] });
    add('vsftpd + curl', 'big-down', { detail: 'curl -o FILE ftp://… (anonymous, passive; vsftpd sends with sendfile)', command: 'curl', args: (result) => ['-sS', '-o', result, url(sources.bigPath)] });
  }
  if (clients.lftp) {
    lftp('vsftpd + lftp pget -n 4', 'big-down', 'lftp pget -n 4 (4 connections, each a range of the file)', (result) => `pget -n 4 ${quotedWord(served.big)} -o ${quotedWord(result)}`);
    const mirror = 'vsftpd + lftp mirror --parallel=4';
    // lftp's defaults otherwise, which include mirror:set-permissions: a SITE CHMOD per uploaded file.
    lftp(mirror, 'tree-up', 'lftp mirror -R --parallel=4 (lftp’s defaults, so a SITE CHMOD per file too)', (result) => `mirror -R --parallel=4 ${quotedWord(inputs.treePath)} ${quotedWord(ftpPath(result))}`);
    lftp(mirror, 'tree-down', 'lftp mirror --parallel=4', (result) => `mirror --parallel=4 ${quotedWord(served.tree)} ${quotedWord(result)}`);
  }
  return cases;
}

import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { downloadFile } from '../src/client/download.js';
import { Session } from '../src/client/session.js';
import { uploadFile } from '../src/client/upload.js';
import { LocalFileSystem } from '../src/fs/local-file-system.js';
import { RemoteFileSystem } from '../src/fs/remote-file-system.js';
import { TransferQueue } from '../src/transfer/transfer-queue.js';
import type { WorkloadKind } from './peers/peers.js';

/** ferry's side of a workload, shaped like a peer's case: prepare untimed, run timed, verify untimed. */
export interface FerryCase {
  kind: WorkloadKind;
  prepare(): Promise<void>;
  run(): Promise<void>;
  verify(): Promise<void>;
}

export interface FerryInputs {
  session: Session;
  bigPath: string;
  bigSha256: string;
  treePath: string;
  treeFiles: number;
  /** Files at once for the trees (the queue's concurrency). */
  jobs: number;
  /** Where downloads go. */
  downloadDir: string;
}

/**
 * The big file and the tree both ways, through the same engine the CLI and the TUI use: the
 * single-file transfers for the big file, the TransferQueue for the trees. Every result is
 * checked by SHA-256 on both ends as always (it cannot be turned off); verify also counts what
 * landed.
 */
export function ferryCases(inputs: FerryInputs): FerryCase[] {
  const { session, bigPath, bigSha256, treePath, downloadDir } = inputs;
  const remote = new RemoteFileSystem(session);
  const local = new LocalFileSystem();
  const bigDown = join(downloadDir, 'ferry-big.bin');
  const treeDown = join(downloadDir, 'ferry-tree');
  const countFiles = async (fs: LocalFileSystem | RemoteFileSystem, dir: string): Promise<number> => {
    let count = 0;
    for (const entry of await fs.list(dir)) {
      if (entry.type === 'dir') count += await countFiles(fs, fs.join(dir, entry.name));
      else if (entry.type === 'file') count++;
    }
    return count;
  };
  const expectFiles = async (fs: LocalFileSystem | RemoteFileSystem, dir: string) => {
    const found = await countFiles(fs, dir);
    if (found !== inputs.treeFiles) throw new Error(`ferry tree: ${found} files arrived, ${inputs.treeFiles} expected`);
  };
  const copyTree = async (request: Parameters<TransferQueue['add']>[0]) => {
    const queue = new TransferQueue({ concurrency: inputs.jobs, conflict: 'overwrite', retries: 0 });
    await queue.add(request);
    const state = await queue.whenIdle();
    await queue.close();
    if (state.totals.failed > 0) throw new Error(`ferry tree copy: ${state.totals.failed} files failed`);
  };
  return [
    {
      kind: 'big-up',
      prepare: () => remote.remove('/big.bin').catch(() => undefined),
      run: async () => {
        const result = await uploadFile(session, bigPath, '/big.bin', { overwrite: true });
        if (result.sha256 !== bigSha256) throw new Error('ferry upload: SHA-256 differs');
      },
      verify: async () => {
        const stored = await session.request('hash', { path: '/big.bin' });
        if (stored.sha256 !== bigSha256) throw new Error('ferry upload: the stored file differs');
      },
    },
    {
      kind: 'big-down',
      prepare: () => rm(bigDown, { force: true }),
      run: async () => {
        const result = await downloadFile(session, '/big.bin', bigDown, { overwrite: true });
        if (result.sha256 !== bigSha256) throw new Error('ferry download: SHA-256 differs');
      },
      verify: () => rm(bigDown, { force: true }),
    },
    {
      kind: 'tree-up',
      prepare: () => remote.remove('/tree', { recursive: true }).catch(() => undefined),
      run: () => copyTree({ source: { fs: local, path: treePath }, target: { fs: remote, path: '/' } }),
      verify: () => expectFiles(remote, '/tree'),
    },
    {
      kind: 'tree-down',
      prepare: () => rm(treeDown, { recursive: true, force: true }).then(() => local.mkdir(treeDown, { parents: true })),
      run: () => copyTree({ source: { fs: remote, path: '/tree' }, target: { fs: local, path: treeDown } }),
      verify: async () => {
        await expectFiles(local, join(treeDown, 'tree'));
        await rm(treeDown, { recursive: true, force: true });
      },
    },
  ];
}

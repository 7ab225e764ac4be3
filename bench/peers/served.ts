import { chmod, copyFile, mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { copyTree, listFiles, readThrough } from './files.js';
import type { PeerInputs } from './types.js';

/** The download sources every peer serves: one copy of the big file and of the tree, shared by all tools. */
export interface ServedSources {
  readonly bigPath: string;
  readonly treePath: string;
  /** Copies the big file in when it is missing, then reads it once so the download starts from the page cache. */
  warmBig(): Promise<void>;
  /** The same for the tree. */
  warmTree(): Promise<void>;
}

/**
 * The sources in `dir` (world-readable, as anonymous FTP requires). They are copied on first use
 * only, but read through before every download run, so each tool's run starts with them cached,
 * as the harness's own runs start from sources it read once.
 */
export function servedSources(dir: string, inputs: PeerInputs): ServedSources {
  const bigPath = join(dir, 'big.bin');
  const treePath = join(dir, 'tree');
  const placeDir = async () => {
    await mkdir(dir, { recursive: true });
    await chmod(dir, 0o755);
  };
  return {
    bigPath,
    treePath,
    async warmBig() {
      const present = await stat(bigPath).then((info) => info.size === inputs.bigSize, () => false);
      if (!present) {
        await placeDir();
        await copyFile(inputs.bigPath, bigPath);
        await chmod(bigPath, 0o644);
      }
      await readThrough(bigPath);
    },
    async warmTree() {
      const present = await listFiles(treePath).then((files) => files.length === inputs.treeFiles, () => false);
      if (!present) {
        await placeDir();
        await copyTree(inputs.treePath, treePath);
      }
      await readThrough(treePath);
    },
  };
}

import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { verifyFile, verifyTree } from './files.js';
import { runCommand } from './processes.js';
import type { ServedSources } from './served.js';
import type { PeerCase, PeerInputs, WorkloadKind } from './types.js';

/** A case whose transfer is one client command against a daemon that is already running. */
export interface ClientCaseSpec {
  tool: string;
  kind: WorkloadKind;
  detail: string;
  /** The directory the result lands in on this machine (created by prepare): the result is `big.bin` or `tree` in it. */
  targetDir: string;
  command: string;
  /** The client's arguments, given the result's path. */
  args(result: string): string[];
  /** More untimed set-up, after the target directory exists: ownership, batch files. */
  setUp?(result: string): Promise<void>;
}

/** Lowercase words joined by '-', for one directory per tool. */
export function slug(tool: string): string {
  return tool.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
}

/** True for the workloads that move the big file rather than the tree. */
export function isBig(kind: WorkloadKind): boolean {
  return kind === 'big-up' || kind === 'big-down';
}

/**
 * The PeerCase of a client command: prepare removes the previous result, creates the target
 * directory and, for a download, puts the served source in place and reads it through; run is
 * the command alone (throwing with its stderr on a non-zero exit); verify checks the result
 * against the inputs (size and SHA-256, or the tree's count, bytes and sample hashes) and then
 * deletes it.
 */
export function clientCase(spec: ClientCaseSpec, inputs: PeerInputs, served: ServedSources): PeerCase {
  const big = isBig(spec.kind);
  const result = join(spec.targetDir, big ? 'big.bin' : 'tree');
  const args = spec.args(result);
  return {
    tool: spec.tool,
    kind: spec.kind,
    detail: spec.detail,
    async prepare() {
      await rm(result, { recursive: true, force: true });
      await mkdir(spec.targetDir, { recursive: true });
      await spec.setUp?.(result);
      if (spec.kind === 'big-down') await served.warmBig();
      if (spec.kind === 'tree-down') await served.warmTree();
    },
    run: () => runCommand(spec.command, args),
    async verify() {
      if (big) await verifyFile(spec.tool, result, inputs.bigSize, inputs.bigSha256);
      else await verifyTree(spec.tool, result, inputs.treePath, inputs.treeFiles, inputs.treeFileSize);
      await rm(result, { recursive: true, force: true });
    },
  };
}

/** A path as one word of an sftp batch file or an lftp script: double quotes, backslash escapes. */
export function quotedWord(path: string): string {
  return `"${path.replace(/(["\\])/g, '\\$1')}"`;
}

import type { Request, Results } from '../../src/protocol/messages.js';
import type { UserSpace } from '../storage/storage.js';

/** The ops that are one call into the user's space and back. */
export type FileOpRequest = Extract<Request, { op: 'list' | 'stat' | 'mkdir' | 'remove' | 'rename' | 'quota' | 'hash' }>;

export function isFileOp(request: Request): request is FileOpRequest {
  return FILE_OPS.has(request.op);
}

const FILE_OPS = new Set<Request['op']>(['list', 'stat', 'mkdir', 'remove', 'rename', 'quota', 'hash']);

/** Runs a file op against `space` and shapes its result as the reply carries it. */
export async function runFileOp(space: UserSpace, request: FileOpRequest): Promise<Results[FileOpRequest['op']]> {
  switch (request.op) {
    case 'list': {
      const { entries, truncated } = await space.list(request.path);
      return truncated ? { entries, truncated } : { entries };
    }
    case 'stat':
      return { entry: await space.stat(request.path) };
    case 'mkdir':
      await space.mkdir(request.path, { parents: request.parents ?? false });
      return {};
    case 'remove':
      await space.remove(request.path, { recursive: request.recursive ?? false });
      return {};
    case 'rename':
      await space.rename(request.from, request.to, { overwrite: request.overwrite ?? false });
      return {};
    case 'quota':
      return await space.quota();
    case 'hash':
      return await space.hash(request.path, request.length);
  }
}

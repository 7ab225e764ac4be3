import path from 'node:path';
import { LocalFileSystem } from '../../src/fs/local-file-system.js';
import { fromNodeError } from '../../src/fs/node-errors.js';
import { errorText } from '../model/error-text.js';
import { viewContentOf } from '../model/view-content.js';
import type { CommandContext } from './context.js';
import { fetchHead, readHead } from './fetch.js';
import { currentFile } from './file-ops.js';

/** The viewer shows at most the first 8 MiB of a file (that is a lot of lines, and memory stays small). */
export const VIEW_LIMIT = 8 * 1024 * 1024;

/** F3 (and Enter on a file): the file under the cursor in the viewer; a remote file is fetched first. */
export async function viewCurrent(ctx: CommandContext): Promise<void> {
  const { active, sides } = ctx.store.getState();
  const { fs } = sides[active];
  const file = currentFile(ctx, active);
  if (file === undefined) return;
  try {
    let bytes: Buffer;
    if (fs instanceof LocalFileSystem) {
      const full = path.resolve(fs.home, file.path);
      bytes = await readHead(full, VIEW_LIMIT).catch((error: unknown) => {
        throw fromNodeError(error, full);
      });
    } else {
      bytes = await fetchHead(ctx, fs, file.path, VIEW_LIMIT);
    }
    const title = `${fs.kind !== 'local' ? `${fs.label}:` : ''}${file.path}`;
    ctx.store.dispatch({ type: 'clear-message' });
    ctx.store.dispatch({ type: 'overlay', overlay: { kind: 'viewer', title, content: viewContentOf(bytes, Math.max(file.size, bytes.length)) } });
  } catch (error) {
    ctx.store.dispatch({ type: 'message', text: `cannot view ${file.name}: ${errorText(error)}`, tone: 'error' });
  }
}

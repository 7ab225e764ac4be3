import { copyFile, mkdtemp } from 'node:fs/promises';
import os from 'node:os';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { LocalFileSystem } from '../../src/fs/local-file-system.js';
import { FerryError } from '../../src/protocol/index.js';
import { errorText } from '../model/error-text.js';
import type { CommandContext } from './context.js';
import { fetchWhole, scratchDir, sendBack, sha256Of } from './fetch.js';
import { currentFile } from './file-ops.js';
import { reread } from './navigate.js';

/** $VISUAL, else $EDITOR, else vi (what git and mc fall back to). */
export function editorCommand(env: NodeJS.ProcessEnv): string {
  return env.VISUAL?.trim() || env.EDITOR?.trim() || 'vi';
}

/**
 * Runs the editor on `file` with the terminal. The command goes through `sh -c` as git does, so
 * an EDITOR with arguments ("code -w") works; the file name is passed as an argument, never
 * spliced into the command line. Rejects when the editor cannot start or exits non-zero.
 */
export function runEditor(editor: string, file: string, env: NodeJS.ProcessEnv): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', `${editor} "$1"`, editor, file], { stdio: 'inherit', env });
    child.once('error', (error) => reject(new FerryError('ENOTSUP', `cannot start the editor "${editor}": ${error.message}`)));
    child.once('exit', (code, signal) => {
      if (code === 0) resolve();
      else reject(new FerryError('ECANCELED', `the editor "${editor}" ${signal ? `was killed (${signal})` : `exited with status ${code}`}`));
    });
  });
}

/**
 * F4: edits the file under the cursor in $EDITOR with the terminal handed over. A remote file is
 * downloaded to a temp file, edited there, and uploaded back only when its content changed and
 * the server's copy did not change meanwhile (else the edited copy is kept and its path shown).
 */
export async function editCurrent(ctx: CommandContext): Promise<void> {
  const { active, sides } = ctx.store.getState();
  const { fs } = sides[active];
  const file = currentFile(ctx, active);
  if (file === undefined) return;
  const editor = editorCommand(ctx.env);
  try {
    if (fs instanceof LocalFileSystem) {
      await ctx.suspend(() => runEditor(editor, path.resolve(fs.home, file.path), ctx.env));
      await reread(ctx, active);
      return;
    }
    const local = path.join(await scratchDir(ctx), file.name);
    await fetchWhole(ctx, fs, file.path, local);
    const stamp = await fs.stat(file.path);
    const before = await sha256Of(local);
    ctx.store.dispatch({ type: 'clear-message' });
    await ctx.suspend(() => runEditor(editor, local, ctx.env));
    if ((await sha256Of(local)) === before) {
      ctx.store.dispatch({ type: 'message', text: `${file.name}: not changed, nothing uploaded` });
      return;
    }
    const now = await fs.stat(file.path);
    if (stamp !== null && (now === null || now.size !== stamp.size || now.mtime !== stamp.mtime)) {
      // The TUI's temp dir goes when it ends: the edited copy is kept where it survives that.
      const kept = path.join(await mkdtemp(path.join(os.tmpdir(), 'ferry-kept-')), file.name);
      await copyFile(local, kept);
      throw new FerryError('ECHANGED', `${file.name} changed on the server while you edited it; your version is kept in ${kept}`);
    }
    await sendBack(ctx, local, fs, file.path);
    ctx.store.dispatch({ type: 'message', text: `${file.name}: saved to ${fs.label}` });
    await reread(ctx, active);
  } catch (error) {
    ctx.store.dispatch({ type: 'message', text: `cannot edit ${file.name}: ${errorText(error)}`, tone: 'error' });
  }
}

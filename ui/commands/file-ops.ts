import { sep as pathSep } from 'node:path';
import { FerryError } from '../../src/protocol/index.js';
import { otherSide, type ConfirmPurpose, type InputPurpose, type Side } from '../model/app-state.js';
import { errorText } from '../model/error-text.js';
import { currentEntry, isParentEntry, operands } from '../model/pane-state.js';
import type { CommandContext } from './context.js';
import { loadDir, reread } from './navigate.js';

/*
 * F6, F7, F8 and the pattern marks: each opens its dialog (start…), and the dialog's answer runs
 * the operation (the App calls answerInput / answerConfirm). Errors end up on the message line.
 */

function fail(ctx: CommandContext, error: unknown): void {
  ctx.store.dispatch({ type: 'message', text: errorText(error), tone: 'error' });
}

/** "1 entry", "3 entries". */
function count(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** `"name"` for one entry, "3 entries" for more. */
function naming(names: readonly string[]): string {
  return names.length === 1 ? `"${names[0]}"` : count(names.length, 'entry', 'entries');
}

/** F7: asks for the name of a new directory. */
export function startMkdir(ctx: CommandContext): void {
  const { active, sides } = ctx.store.getState();
  ctx.store.dispatch({
    type: 'overlay',
    overlay: { kind: 'input', title: 'Make directory', prompt: 'Name of the new directory:', initial: '', purpose: { type: 'mkdir', side: active, dir: sides[active].pane.path } },
  });
}

/** F8: asks before deleting the marked entries (or the one under the cursor). */
export function startDelete(ctx: CommandContext): void {
  const { active, sides } = ctx.store.getState();
  const targets = operands(sides[active].pane);
  if (targets.length === 0) return;
  const dirs = targets.filter((entry) => entry.type === 'dir').length;
  const names = targets.map((entry) => entry.name);
  const what =
    targets.length === 1
      ? `${naming(names)}${dirs === 1 ? ' and everything in it' : ''}`
      : `${naming(names)}${dirs > 0 ? ` (${count(dirs, 'directory', 'directories')} with everything in them)` : ''}`;
  ctx.store.dispatch({
    type: 'overlay',
    overlay: {
      kind: 'confirm',
      title: 'Delete',
      message: `Delete ${what}?\nOn ${sides[active].fs.label}: ${sides[active].pane.path}`,
      yes: 'Delete',
      danger: true,
      purpose: { type: 'delete', side: active, dir: sides[active].pane.path, names },
    },
  });
}

/** F6: asks where to move the marked entries (or the one under the cursor), the other pane's directory offered. */
export function startMove(ctx: CommandContext): void {
  const { active, sides } = ctx.store.getState();
  const targets = operands(sides[active].pane);
  if (targets.length === 0) return;
  const other = sides[otherSide(active)];
  const names = targets.map((entry) => entry.name);
  const prompt = names.length === 1 ? `Move or rename ${naming(names)} to:` : `Move ${naming(names)} to:`;
  ctx.store.dispatch({
    type: 'overlay',
    overlay: {
      kind: 'input',
      title: 'Rename / move',
      prompt,
      initial: other.pane.path,
      purpose: { type: 'move', side: active, dir: sides[active].pane.path, names },
    },
  });
}

/** `+` `-` `*`: asks for the pattern (`*` offered). */
export function startMark(ctx: CommandContext, mode: 'select' | 'unselect' | 'invert'): void {
  const { active } = ctx.store.getState();
  const titles = { select: 'Select', unselect: 'Unselect', invert: 'Invert selection' };
  ctx.store.dispatch({
    type: 'overlay',
    overlay: { kind: 'input', title: titles[mode], prompt: 'Names matching (e.g. *.txt; *.jpg;*.png):', initial: '*', purpose: { type: 'mark', side: active, mode } },
  });
}

/** Runs what an input dialog was opened for, with the typed value. The dialog is closed first. */
export async function answerInput(ctx: CommandContext, purpose: InputPurpose, value: string): Promise<void> {
  ctx.store.dispatch({ type: 'overlay', overlay: null });
  try {
    switch (purpose.type) {
      case 'mark':
        ctx.store.dispatch({ type: 'pane', side: purpose.side, action: { type: 'mark-pattern', pattern: value, mode: purpose.mode } });
        return;
      case 'mkdir':
        return await mkdir(ctx, purpose.side, purpose.dir, value);
      case 'move':
        return await move(ctx, purpose.side, purpose.dir, purpose.names, value);
    }
  } catch (error) {
    fail(ctx, error);
  }
}

/** Runs what a confirm dialog asked about, when the answer was yes. */
export async function answerConfirm(ctx: CommandContext, purpose: ConfirmPurpose): Promise<void> {
  ctx.store.dispatch({ type: 'overlay', overlay: null });
  try {
    switch (purpose.type) {
      case 'quit':
        ctx.exit();
        return;
      case 'delete':
        return await remove(ctx, purpose.side, purpose.dir, purpose.names);
    }
  } catch (error) {
    fail(ctx, error);
  }
}

async function mkdir(ctx: CommandContext, side: Side, dir: string, name: string): Promise<void> {
  const trimmed = name.trim();
  if (trimmed === '') return;
  const { fs } = ctx.store.getState().sides[side];
  const path = trimmed.startsWith('/') ? trimmed : fs.join(dir, trimmed);
  // "a/b/c" makes the whole chain, as mc does.
  await fs.mkdir(path, { parents: trimmed.includes('/') });
  const first = trimmed.startsWith('/') ? undefined : trimmed.split('/')[0];
  await loadDir(ctx, side, ctx.store.getState().sides[side].pane.path, first);
  ctx.store.dispatch({ type: 'message', text: `created ${path}` });
}

async function remove(ctx: CommandContext, side: Side, dir: string, names: string[]): Promise<void> {
  const { fs } = ctx.store.getState().sides[side];
  let done = 0;
  try {
    for (const name of names) {
      ctx.store.dispatch({ type: 'message', text: `deleting ${name}… (${done + 1}/${names.length})`, tone: 'progress' });
      await fs.remove(fs.join(dir, name), { recursive: true });
      done++;
    }
  } finally {
    // What was deleted before a failure is gone either way: the pane shows it.
    ctx.store.dispatch({ type: 'pane', side, action: { type: 'clear-marks' } });
    await reread(ctx, side);
  }
  ctx.store.dispatch({ type: 'message', text: `deleted ${naming(names)}` });
}

/**
 * F6's answer. A destination in the other pane's directory (the offered value, or a path under
 * it) on another file system moves through the transfer queue (copy, verify, delete the source).
 * Anything else is a rename on this side: relative to this directory, into it when it names an
 * existing directory.
 */
async function move(ctx: CommandContext, side: Side, dir: string, names: string[], destination: string): Promise<void> {
  const typed = destination.trim();
  if (typed === '') return;
  const state = ctx.store.getState();
  const here = state.sides[side];
  const there = state.sides[otherSide(side)];
  const otherDir = there.pane.path;
  const sep = there.fs.kind !== 'local' ? '/' : pathSep;
  const underOther = typed === otherDir || typed.startsWith(otherDir.endsWith(sep) ? otherDir : otherDir + sep);
  const sameStore = here.fs === there.fs || (here.fs.kind === 'local' && there.fs.kind === 'local');
  if (underOther && !sameStore) {
    for (const name of names) {
      ctx.queue.add({ source: { fs: here.fs, path: here.fs.join(dir, name) }, target: { fs: there.fs, path: typed }, move: true }).catch((error: unknown) => fail(ctx, error));
    }
    ctx.store.dispatch({ type: 'pane', side, action: { type: 'clear-marks' } });
    ctx.store.dispatch({ type: 'queue', visible: true });
    ctx.store.dispatch({ type: 'message', text: `moving ${naming(names)} to ${there.fs.label}:${typed}`, tone: 'progress' });
    return;
  }
  const fs = here.fs;
  const target = typed.startsWith('/') ? typed : fs.join(dir, typed);
  const existing = await fs.stat(target);
  const intoDir = existing?.type === 'dir';
  if (names.length > 1 && !intoDir) throw new FerryError('ENOTDIR', `to move ${names.length} entries, name an existing directory (${target} is not one)`);
  for (const name of names) {
    const to = intoDir ? fs.join(target, name) : target;
    if (to === fs.join(dir, name)) continue;
    await fs.rename(fs.join(dir, name), to);
  }
  ctx.store.dispatch({ type: 'pane', side, action: { type: 'clear-marks' } });
  const renamedHere = !intoDir && fs.dirname(target) === dir ? fs.basename(target) : undefined;
  await loadDir(ctx, side, dir, renamedHere);
  // The other pane may show the destination.
  if (there.fs === fs || (there.fs.kind === 'local' && fs.kind === 'local')) await loadDir(ctx, otherSide(side), there.pane.path);
  ctx.store.dispatch({ type: 'message', text: names.length === 1 ? `${names[0]} → ${intoDir ? fs.join(target, names[0]!) : target}` : `moved ${naming(names)} to ${target}` });
}

/** The entry under the cursor when it is a file (or a link to one), else a message why not. */
export function currentFile(ctx: CommandContext, side: Side): { path: string; name: string; size: number } | undefined {
  const { fs, pane } = ctx.store.getState().sides[side];
  const entry = currentEntry(pane);
  if (entry === undefined || isParentEntry(entry)) return undefined;
  if (entry.type === 'dir' || (entry.type === 'symlink' && entry.target !== 'file')) {
    ctx.store.dispatch({ type: 'message', text: `${entry.name} is not a file`, tone: 'error' });
    return undefined;
  }
  return { path: fs.join(pane.path, entry.name), name: entry.name, size: entry.size };
}


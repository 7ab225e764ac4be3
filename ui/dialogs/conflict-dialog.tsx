import { useReducer, useRef } from 'react';
import { Text } from 'ink';
import { formatSize, formatTime } from '../../src/cli/format.js';
import { sameMtime } from '../../src/transfer/conflict.js';
import type { Entry } from '../../src/protocol/index.js';
import type { ConflictDecision, JobInfo, ResolvedPolicy } from '../../src/transfer/types.js';
import { DialogFrame, DialogLine, useDialogColors } from '../components/dialog-frame.js';
import { commandById, formatKeys, matchKey, type CommandId } from '../keymap.js';
import { fitColumns, textWidth } from '../model/text-width.js';
import { policiesFor } from '../queue/conflict-bridge.js';
import { useKeypress } from '../use-keypress.js';

export interface ConflictDialogProps {
  isActive: boolean;
  job: JobInfo;
  /** The file being copied. */
  source: Entry;
  /** What is in the way at the destination. */
  target: Entry;
  /** Offer 'resume' (the target is a shorter file: maybe an interrupted copy). */
  canResume: boolean;
  onDecide: (decision: ConflictDecision) => void;
  /** Columns, border included. Default 72. */
  width?: number;
}

export interface Choice {
  policy: ResolvedPolicy;
  command: CommandId;
  label: string;
}

const CHOICES: readonly Choice[] = [
  { policy: 'overwrite', command: 'conflict.overwrite', label: 'Overwrite' },
  { policy: 'resume', command: 'conflict.resume', label: 'Resume' },
  { policy: 'skip', command: 'conflict.skip', label: 'Skip' },
  { policy: 'rename', command: 'conflict.rename', label: 'Keep both (rename)' },
  { policy: 'newer', command: 'conflict.newer', label: 'Overwrite if newer' },
  { policy: 'size-differs', command: 'conflict.size-differs', label: 'Overwrite if size differs' },
];

/** The dialog's own state: the focused choice and the "apply to all" box. */
export interface DialogState {
  focus: number;
  applyToAll: boolean;
}

/**
 * One command applied to the dialog: a new state, or the decision when the command picks a
 * choice. Choice keys of choices not offered do nothing; Esc answers 'skip' for this file only.
 */
export function conflictDialogStep(
  state: DialogState,
  command: CommandId,
  choices: readonly Pick<Choice, 'policy' | 'command'>[],
): { state: DialogState; decision?: ConflictDecision } {
  const picked = choices.find((choice) => choice.command === command);
  if (picked !== undefined) return { state, decision: { policy: picked.policy, applyToAll: state.applyToAll } };
  const count = Math.max(1, choices.length);
  switch (command) {
    case 'conflict.apply-all':
    case 'dialog.toggle':
      return { state: { ...state, applyToAll: !state.applyToAll } };
    case 'dialog.next-field':
      return { state: { ...state, focus: (state.focus + 1) % count } };
    case 'dialog.prev-field':
      return { state: { ...state, focus: (state.focus + count - 1) % count } };
    case 'dialog.confirm': {
      const focused = choices[Math.min(state.focus, choices.length - 1)];
      return focused === undefined ? { state } : { state, decision: { policy: focused.policy, applyToAll: state.applyToAll } };
    }
    case 'dialog.cancel':
      // Closing the question must still answer it: leaving the file alone is the safe answer.
      return { state, decision: { policy: 'skip', applyToAll: false } };
    default:
      return { state };
  }
}

/** The choices the dialog offers for a question, in order. */
export function conflictChoices(target: Entry, canResume: boolean): readonly Choice[] {
  const offered = policiesFor({ target, canResume });
  return CHOICES.filter((choice) => offered.includes(choice.policy));
}

/** How the source compares with the target: "newer, larger", "older, same size", … */
export function comparison(source: Entry, target: Entry): string {
  const time = sameMtime(source.mtime, target.mtime) ? 'same time' : source.mtime > target.mtime ? 'newer' : 'older';
  const size = source.size === target.size ? 'same size' : source.size > target.size ? 'larger' : 'smaller';
  return `${time}, ${size}`;
}

function sizeText(entry: Entry): string {
  if (entry.type === 'dir') return 'directory';
  const exact = `${entry.size.toLocaleString('en-US')} B`;
  return entry.size < 1024 ? exact : `${formatSize(entry.size)} (${exact})`;
}

/** Packs button labels into lines of at most `width` columns, in order. */
export function packButtons(labels: readonly string[], width: number, gap = 2): number[][] {
  const lines: number[][] = [];
  let line: number[] = [];
  let used = 0;
  labels.forEach((label, i) => {
    const w = textWidth(label);
    if (line.length > 0 && used + gap + w > width) {
      lines.push(line);
      line = [];
      used = 0;
    }
    used += (line.length > 0 ? gap : 0) + w;
    line.push(i);
  });
  if (line.length > 0) lines.push(line);
  return lines;
}

/**
 * The file-exists dialog (mc's "File exists", red): the target's path, the source and the
 * target (size, time) and how they compare, then the choices — overwrite, resume (only when
 * `canResume`), skip, rename, overwrite if newer, overwrite if the size differs — each on its key
 * (conflict.*) or picked with Tab and Enter, and an "apply to all" box for the rest of the copy.
 * Esc skips this file.
 */
export function ConflictDialog({ isActive, job, source, target, canResume, onDecide, width = 72 }: ConflictDialogProps) {
  const choices = conflictChoices(target, canResume);
  // Kept in a ref, not only in state: keys typed faster than a render (a paste, a script
  // driving the terminal) must see the effect of the key before them.
  const stateRef = useRef<DialogState>({ focus: 0, applyToAll: false });
  const [, redraw] = useReducer((n: number) => n + 1, 0);

  useKeypress(
    (key) => {
      const command = matchKey(['conflict', 'dialog'], key);
      if (command === undefined) return;
      const { state, decision } = conflictDialogStep(stateRef.current, command, choices);
      if (decision !== undefined) return onDecide(decision);
      if (state !== stateRef.current) {
        stateRef.current = state;
        redraw();
      }
    },
    { isActive },
  );
  const { focus, applyToAll } = stateRef.current;

  const inner = Math.max(20, width - 2);
  const text = inner - 2;
  const what = target.type === 'dir' ? 'A directory is in the way of' : 'The target already exists:';
  const row = (label: string, entry: Entry) => ` ${label.padEnd(8)}${sizeText(entry).padEnd(26)} ${formatTime(entry.mtime)}`;
  const labels = choices.map((choice) => `[ ${choice.label} (${formatKeys(commandById(choice.command))}) ]`);

  return (
    <DialogFrame title="File exists" width={width} tone="danger">
      <DialogLine width={inner}>{''}</DialogLine>
      <DialogLine width={inner}>{` ${what}`}</DialogLine>
      <DialogLine width={inner}>{` ${fitColumns(job.target, text, { cut: 'middle' })}`}</DialogLine>
      <DialogLine width={inner}>{''}</DialogLine>
      <DialogLine width={inner}>{row('source', source)}</DialogLine>
      <DialogLine width={inner}>{row('target', target)}</DialogLine>
      <DialogLine width={inner}>{target.type === 'dir' ? '' : ` The source is ${comparison(source, target).replace(', ', ' and ')}.`}</DialogLine>
      <DialogLine width={inner}>{''}</DialogLine>
      {packButtons(labels, text).map((line) => (
        <ButtonLine key={line[0]} width={inner} labels={line.map((i) => labels[i]!)} focused={isActive ? line.indexOf(focus) : -1} />
      ))}
      <DialogLine width={inner}>{''}</DialogLine>
      <DialogLine width={inner}>{` ${applyToAll ? '[x]' : '[ ]'} Apply to all remaining conflicts of this copy (${formatKeys(commandById('conflict.apply-all'))})`}</DialogLine>
      <DialogLine width={inner}>
        {` ${formatKeys(commandById('dialog.next-field'))} choose · ${formatKeys(commandById('dialog.confirm'))} confirm · ${formatKeys(commandById('dialog.cancel'))} skip this file`}
      </DialogLine>
    </DialogFrame>
  );
}

/** One line of buttons in the dialog's colours, the focused one (index, or -1) inverted. */
function ButtonLine({ width, labels, focused }: { width: number; labels: readonly string[]; focused: number }) {
  const colors = useDialogColors();
  const used = 1 + labels.reduce((sum, label, i) => sum + textWidth(label) + (i > 0 ? 2 : 0), 0);
  return (
    <Text {...colors} wrap="truncate">
      {' '}
      {labels.map((label, i) => (
        <Text key={label} {...colors} inverse={i === focused} bold={i === focused}>
          {i > 0 ? '  ' : ''}
          {label}
        </Text>
      ))}
      {fitColumns('', Math.max(0, width - used))}
    </Text>
  );
}

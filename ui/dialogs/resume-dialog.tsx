import { useReducer, useRef } from 'react';
import { Box, Text } from 'ink';
import { formatTime } from '../../src/cli/format.js';
import type { JournalEndpoint, UnfinishedJournal } from '../../src/transfer/journal.js';
import { DialogFrame, DialogLine, useDialogColors } from '../components/dialog-frame.js';
import { commandById, formatKeys, matchKey } from '../keymap.js';
import { fitColumns, textWidth } from '../model/text-width.js';
import { useKeypress } from '../use-keypress.js';

export interface ResumeDialogProps {
  isActive: boolean;
  /** From listUnfinished(), newest first. */
  journals: readonly UnfinishedJournal[];
  onResume: (journal: UnfinishedJournal) => void;
  onDiscard: (journal: UnfinishedJournal) => void;
  /** "Later": leave them all on disk and close. */
  onClose: () => void;
  /** Columns, border included. Default 76. */
  width?: number;
  /** Journals shown at once (the list scrolls). Default 4. */
  visible?: number;
}

/** A button of the dialog: one of a journal's two, or "Later". */
export type ResumeButton = { kind: 'resume' | 'discard'; journal: UnfinishedJournal } | { kind: 'later' };

/**
 * The buttons in focus order: Resume and Discard for each journal no other ferry is running,
 * then Later. A journal whose process is alive (another ferry is copying it right now) gets none:
 * resuming or deleting it under that process would copy twice or lose its record.
 */
export function resumeButtons(journals: readonly UnfinishedJournal[]): ResumeButton[] {
  const buttons: ResumeButton[] = [];
  for (const journal of journals) {
    if (journal.active) continue;
    buttons.push({ kind: 'resume', journal }, { kind: 'discard', journal });
  }
  buttons.push({ kind: 'later' });
  return buttons;
}

/** `label:path` for a remote endpoint, the path alone for a local one (as the queue shows them). */
export function endpointText(endpoint: JournalEndpoint): string {
  return endpoint.kind === 'local' ? endpoint.path : `${endpoint.label}:${endpoint.path}`;
}

/** "12 done · 30 pending · 1 failed" (zeros left out but one). */
export function journalCounts(journal: Pick<UnfinishedJournal, 'done' | 'pending' | 'failed'>): string {
  const parts = [`${journal.done} done`];
  if (journal.pending > 0) parts.push(`${journal.pending} pending`);
  if (journal.failed > 0) parts.push(`${journal.failed} failed`);
  return parts.join(' · ');
}

/** Requests listed per journal before "+ n more". */
const REQUESTS_SHOWN = 2;

/**
 * "Resume unfinished transfers?": the journals an earlier run left (when, what was being copied
 * where, files done / pending / failed), each with Resume and Discard, and Later for all. Tab /
 * arrows move between buttons, Enter presses one, Esc is Later. The dialog only reports the
 * choice; the caller resumes (resume-journal.ts) or deletes, and passes the shorter list back.
 */
export function ResumeDialog({ isActive, journals, onResume, onDiscard, onClose, width = 76, visible = 4 }: ResumeDialogProps) {
  const buttons = resumeButtons(journals);
  // A ref so keys typed faster than a render act on the focus the previous key left.
  const focusRef = useRef(0);
  const [, redraw] = useReducer((n: number) => n + 1, 0);
  const focus = Math.min(focusRef.current, buttons.length - 1);
  focusRef.current = focus;

  useKeypress(
    (key) => {
      const count = buttons.length;
      switch (matchKey('dialog', key)) {
        case 'dialog.next-field':
        case 'dialog.right':
          focusRef.current = (focusRef.current + 1) % count;
          redraw();
          break;
        case 'dialog.prev-field':
        case 'dialog.left':
          focusRef.current = (focusRef.current + count - 1) % count;
          redraw();
          break;
        case 'dialog.confirm': {
          const button = buttons[focusRef.current];
          if (button === undefined || button.kind === 'later') onClose();
          else if (button.kind === 'resume') onResume(button.journal);
          else onDiscard(button.journal);
          break;
        }
        case 'dialog.cancel':
          onClose();
          break;
      }
    },
    { isActive },
  );

  const inner = Math.max(20, width - 2);
  const text = inner - 2;
  const focused = buttons[focus];
  const focusedJournal = focused !== undefined && focused.kind !== 'later' ? journals.indexOf(focused.journal) : -1;
  // Scroll so the journal of the focused button is on screen (the last ones when Later has it).
  const shown = Math.max(1, visible);
  const first = Math.max(0, Math.min(focusedJournal < 0 ? journals.length - shown : focusedJournal - shown + 1, journals.length - shown));
  const isFocused = (kind: ResumeButton['kind'], journal?: UnfinishedJournal) =>
    isActive && focused !== undefined && focused.kind === kind && (focused.kind === 'later' || focused.journal === journal);
  const line = (content: string, key?: string) => (
    <DialogLine key={key} width={inner}>
      {content === '' ? '' : ` ${fitColumns(content, text, { cut: 'middle' }).trimEnd()}`}
    </DialogLine>
  );

  return (
    <DialogFrame title="Unfinished transfers" width={width}>
      {line('')}
      {line(`${journals.length === 1 ? 'A copy' : `${journals.length} copies`} did not finish last time. Copied bytes are kept.`)}
      {first > 0 ? line(`↑ ${first} more`) : null}
      {journals.slice(first, first + shown).map((journal) => (
        <Box key={journal.key} flexDirection="column">
          {line('')}
          {line(`${formatTime(journal.updatedAt)}  ${journalCounts(journal)}`)}
          {journal.requests.slice(0, REQUESTS_SHOWN).map((request) =>
            line(`  ${request.move ? 'move' : 'copy'} ${endpointText(request.source)} → ${endpointText(request.target)}`, request.key),
          )}
          {journal.requests.length > REQUESTS_SHOWN ? line(`  + ${journal.requests.length - REQUESTS_SHOWN} more`) : null}
          {journal.active ? (
            line('  another ferry is running this copy now')
          ) : (
            <ButtonLine width={inner} indent={3} buttons={[['[ Resume ]', isFocused('resume', journal)], ['[ Discard ]', isFocused('discard', journal)]]} />
          )}
        </Box>
      ))}
      {first + shown < journals.length ? line(`↓ ${journals.length - first - shown} more`) : null}
      {line('')}
      <ButtonLine width={inner} indent={1} buttons={[['[ Later ]', isFocused('later')]]} />
      {line(`${formatKeys(commandById('dialog.next-field'))} choose · ${formatKeys(commandById('dialog.confirm'))} press · ${formatKeys(commandById('dialog.cancel'))} later`)}
    </DialogFrame>
  );
}

/** Buttons on one line in the dialog's colours, the focused one inverted. */
function ButtonLine({ width, indent, buttons }: { width: number; indent: number; buttons: readonly (readonly [string, boolean])[] }) {
  const colors = useDialogColors();
  const used = indent + buttons.reduce((sum, [label], i) => sum + textWidth(label) + (i > 0 ? 2 : 0), 0);
  return (
    <Text {...colors} wrap="truncate">
      {' '.repeat(indent)}
      {buttons.map(([label, on], i) => (
        <Text key={label} {...colors} inverse={on} bold={on}>
          {i > 0 ? '  ' : ''}
          {label}
        </Text>
      ))}
      {' '.repeat(Math.max(0, width - used))}
    </Text>
  );
}

import { useReducer, useRef } from 'react';
import { Box, Text } from 'ink';
import type { QueueState } from '../../src/transfer/progress.js';
import { ProgressBar } from '../components/progress-bar.js';
import { commandById, formatKeys, matchKey, type CommandId } from '../keymap.js';
import { fitColumns } from '../model/text-width.js';
import { useKeypress } from '../use-keypress.js';
import { countsText, jobDetail, jobLine, totalsLine, type Tone } from './job-format.js';
import { jobRows } from './job-rows.js';
import { INITIAL_QUEUE_VIEW, moveQueueView, settleQueueView, type QueueMove } from './queue-view.js';

export interface QueuePanelProps {
  state: QueueState;
  /** Columns, border included. */
  width: number;
  /** Rows, border included (at least 6 to show a job). */
  height: number;
  /** The panel has the input (cursor keys, retry, cancel, close). */
  isActive: boolean;
  /** Retry the failed file job `jobId`. */
  onRetry: (jobId: number) => void;
  /** Cancel the queued or running job `jobId`. */
  onCancel: (jobId: number) => void;
  /** Give the input back (queue.close). */
  onClose: () => void;
}

/** Border, title line, detail line and totals line. */
const CHROME_ROWS = 5;

const TONE_COLORS: Record<Tone, string | undefined> = {
  normal: undefined,
  active: 'cyan',
  warn: 'yellow',
  ok: 'green',
  error: 'red',
  dim: undefined,
};

const MOVES: Partial<Record<CommandId, QueueMove>> = { 'queue.up': 'up', 'queue.down': 'down' };

function keyHint(id: CommandId, what: string): string {
  return `${formatKeys(commandById(id))} ${what}`;
}

/**
 * The transfer queue: one line per job (direction, name, bar, bytes, speed, ETA, state or the
 * reason it failed), the selected job's route and full error, and the totals of the whole copy.
 * Only the rows on screen are drawn, so a queue of 100,000 files costs what a short one does.
 * The cursor follows the running work until the user moves it.
 */
export function QueuePanel({ state, width, height, isActive, onRetry, onCancel, onClose }: QueuePanelProps) {
  const rows = jobRows(state.jobs);
  const bodyHeight = Math.max(1, height - CHROME_ROWS);
  // The view lives in a ref so following the work (which changes it on every frame) needs no
  // second render; keys change it and ask for one.
  const viewRef = useRef(INITIAL_QUEUE_VIEW);
  const [, redraw] = useReducer((n: number) => n + 1, 0);
  const view = settleQueueView(viewRef.current, rows, bodyHeight);
  viewRef.current = view;
  const selected = rows.at(view.cursor);

  useKeypress(
    (key) => {
      const command = matchKey('queue', key);
      if (command === undefined) return;
      const move = MOVES[command];
      if (move !== undefined) {
        viewRef.current = moveQueueView(viewRef.current, move, rows, bodyHeight);
        redraw();
        return;
      }
      const job = rows.at(viewRef.current.cursor);
      if (command === 'queue.close') onClose();
      else if (command === 'queue.retry' && job?.state === 'failed' && job.kind === 'file') onRetry(job.id);
      else if (command === 'queue.cancel' && job !== undefined && (job.state === 'queued' || job.state === 'running' || job.state === 'reconnecting')) {
        onCancel(job.id);
      }
    },
    { isActive },
  );

  const inner = Math.max(10, width - 4);
  const lineWidth = inner - 2;
  const lines = [];
  for (let i = view.offset; i < Math.min(rows.count, view.offset + bodyHeight); i++) {
    const job = rows.at(i);
    if (job === undefined) continue;
    const line = jobLine(job, lineWidth);
    const current = isActive && i === view.cursor;
    const color = TONE_COLORS[line.tone];
    lines.push(
      <Text key={job.id} wrap="truncate" inverse={current}>
        {current ? '› ' : '  '}
        {line.head}
        {line.bar > 0 ? <ProgressBar fraction={line.fraction} cells={line.bar} color={line.tone === 'warn' ? 'yellow' : 'cyan'} /> : null}
        {line.numbers}
        <Text color={color} dimColor={line.tone === 'dim'}>
          {line.status}
        </Text>
      </Text>,
    );
  }
  const title = `Transfers · ${countsText(state.totals)}`;
  const fullHints = `${keyHint('queue.retry', 'retry')}  ${keyHint('queue.cancel', 'cancel')}  ${keyHint('queue.close', 'back')}`;
  // Key hints only while the panel has the input, and only when they leave the title whole.
  const hints = isActive && [...title].length + fullHints.length + 2 <= inner ? fullHints : '';
  const totals = totalsLine(state.totals, inner - 'Total '.length);

  return (
    <Box flexDirection="column" width={width} height={height} borderStyle="round" borderColor={isActive ? 'cyan' : 'gray'} paddingX={1}>
      <Box justifyContent="space-between">
        <Text bold wrap="truncate">
          {fitColumns(title, inner).trimEnd()}
        </Text>
        <Text dimColor>{hints}</Text>
      </Box>
      <Box flexDirection="column" height={bodyHeight}>
        {rows.count === 0 ? (
          <Text dimColor wrap="truncate">
            No transfers yet: mark files and press {formatKeys(commandById('file.copy'))} to copy them to the other pane.
          </Text>
        ) : (
          lines
        )}
      </Box>
      <Text dimColor wrap="truncate">
        {selected === undefined ? ' ' : jobDetail(selected, inner)}
      </Text>
      <Text wrap="truncate">
        <Text bold>Total </Text>
        {totals.bar > 0 ? (
          <>
            <ProgressBar fraction={totals.fraction} cells={totals.bar} color="green" />{' '}
          </>
        ) : null}
        {totals.text}
      </Text>
    </Box>
  );
}

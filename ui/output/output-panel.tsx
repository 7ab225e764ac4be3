import { Box, Text } from 'ink';
import { useMemo, useRef, useState } from 'react';
import { commandById, formatKey, matchKey, type CommandId } from '../keymap.js';
import { fitColumns, textWidth } from '../model/text-width.js';
import { useKeypress } from '../use-keypress.js';
import { layoutRows, type OutputRow } from './output-rows.js';
import type { OutputSnapshot } from './output-store.js';

export interface OutputPanelProps {
  snapshot: OutputSnapshot;
  width: number;
  /** Rows, the title line included. */
  height: number;
  /** The panel has the input (scrolling, cancel, close, full screen). */
  isActive: boolean;
  /** Shown over the whole screen (the title says how to go back). */
  fullScreen?: boolean;
  /** Ctrl-C: cancel the running command. */
  onCancel: () => void;
  /** Esc: hide the panel. */
  onClose: () => void;
  /** Ctrl-O: full screen and back. */
  onToggleFullScreen: () => void;
  /** ':' : open the command line. */
  onCommandLine?: () => void;
}

/**
 * Where the view stands: `top` is the first row shown, or null while it follows the newest
 * output (the state after a run starts, and after End or scrolling to the bottom).
 */
export interface OutputScroll {
  top: number | null;
}

export type OutputScrollMove = 'up' | 'down' | 'page-up' | 'page-down' | 'home' | 'end';

/** The first row shown for `rows` rows in a view of `view` rows. */
export function scrollTop(scroll: OutputScroll, rows: number, view: number): number {
  const last = Math.max(0, rows - view);
  return scroll.top === null ? last : Math.min(Math.max(0, scroll.top), last);
}

/** One scroll key applied; reaching the bottom goes back to following the output. */
export function moveScroll(scroll: OutputScroll, move: OutputScrollMove, rows: number, view: number): OutputScroll {
  const last = Math.max(0, rows - view);
  const now = scrollTop(scroll, rows, view);
  const page = Math.max(1, view - 1);
  const target = { up: now - 1, down: now + 1, 'page-up': now - page, 'page-down': now + page, home: 0, end: last }[move];
  const top = Math.min(Math.max(0, target), last);
  return { top: top >= last ? null : top };
}

const MOVES: Partial<Record<CommandId, OutputScrollMove>> = {
  'output.up': 'up',
  'output.down': 'down',
  'output.page-up': 'page-up',
  'output.page-down': 'page-down',
  'output.home': 'home',
  'output.end': 'end',
};

const key = (id: CommandId) => formatKey(commandById(id).keys[0]!);

const TONE_COLORS = { running: 'cyan', ok: 'green', error: 'red' } as const;

function Row({ row, width }: { row: OutputRow; width: number }) {
  if (row.kind === 'header') {
    const status = ` [${row.status}]`;
    const command = fitColumns(`$ ${row.command}`, Math.max(1, width - Math.min(textWidth(status), width - 1)), { cut: 'middle' });
    return (
      <Text wrap="truncate" bold>
        {command}
        <Text color={TONE_COLORS[row.tone]}>{fitColumns(status, Math.max(0, width - textWidth(command)))}</Text>
      </Text>
    );
  }
  if (row.kind === 'note') {
    return (
      <Text wrap="truncate" dimColor>
        {fitColumns(row.text, width)}
      </Text>
    );
  }
  const used = row.segments.reduce((sum, segment) => sum + textWidth(segment.text), 0);
  return (
    <Text wrap="truncate">
      {row.segments.map((segment, i) =>
        segment.stream === 'stderr' ? (
          <Text key={i} color="red">
            {segment.text}
          </Text>
        ) : (
          segment.text
        ),
      )}
      {' '.repeat(Math.max(0, width - used))}
    </Text>
  );
}

/**
 * The output of the last remote commands: a header per run (the command and its exit code,
 * signal or the reason the server ended it), then what it printed, stderr in red, in the order
 * it arrived. It follows the newest output until scrolled; only the rows on screen are drawn.
 */
export function OutputPanel({ snapshot, width, height, isActive, fullScreen = false, onCancel, onClose, onToggleFullScreen, onCommandLine }: OutputPanelProps) {
  const rows = useMemo(() => layoutRows(snapshot.runs, width), [snapshot, width]);
  const view = Math.max(1, height - 1);
  const [scroll, setScroll] = useState<OutputScroll>({ top: null });
  // Keys may come faster than renders: each one moves from where the last one left the view.
  const live = useRef(scroll);
  live.current = scroll;
  const counts = useRef({ rows: rows.length, view });
  counts.current = { rows: rows.length, view };

  useKeypress(
    (press) => {
      const command = matchKey('output', press);
      if (command === undefined) return;
      const move = MOVES[command];
      if (move) {
        live.current = moveScroll(live.current, move, counts.current.rows, counts.current.view);
        setScroll(live.current);
        return;
      }
      if (command === 'output.cancel') onCancel();
      else if (command === 'output.close') onClose();
      else if (command === 'output.full-screen') onToggleFullScreen();
      else if (command === 'output.command-line') onCommandLine?.();
    },
    { isActive },
  );

  const top = scrollTop(scroll, rows.length, view);
  const shown = rows.slice(top, top + view);
  const running = snapshot.runs.some((run) => run.state.kind === 'running' || run.state.kind === 'starting');
  const position = rows.length > view ? ` ${top + 1}–${top + shown.length}/${rows.length}` : '';
  const hints = [running ? `${key('output.cancel')} cancel` : '', `${key('output.full-screen')} ${fullScreen ? 'panes' : 'full screen'}`, `${key('output.command-line')} command`, `${key('output.close')} hide`]
    .filter((hint) => hint !== '')
    .join(' · ');
  const title = ` Output${position} `;
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Text inverse={isActive} bold wrap="truncate">
        {fitColumns(`${title}${' '.repeat(Math.max(1, width - textWidth(title) - textWidth(hints) - 1))}${hints} `, width)}
      </Text>
      {shown.length === 0 ? (
        <Text dimColor wrap="truncate">
          {fitColumns(`no commands run yet: ${key('output.command-line')} opens the command line`, width)}
        </Text>
      ) : (
        shown.map((row, i) => <Row key={top + i} row={row} width={width} />)
      )}
    </Box>
  );
}

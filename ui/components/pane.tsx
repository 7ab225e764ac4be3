import { Box, Text } from 'ink';
import type { Quota } from '../../src/protocol/index.js';
import { columnsFor, headerText, quotaText } from '../model/pane-layout.js';
import type { PaneState } from '../model/pane-state.js';
import { fitColumns, textWidth } from '../model/text-width.js';
import { FileList } from './file-list.js';
import { StatusBar } from './status-bar.js';

/** Rows a pane uses besides its list: top border, column titles, separator, status line, bottom border. */
export const PANE_CHROME_ROWS = 5;

export interface PaneProps {
  pane: PaneState;
  /** "local" or "alice@host:7070". */
  label: string;
  kind: 'local' | 'remote' | 'sftp';
  /** Columns, frame included. */
  width: number;
  /** Rows, frame included. */
  height: number;
  active: boolean;
  quota: Quota | null;
  /** How a remote pane's connection travels: "TLS" or "plain" goes in front of its label. */
  security?: 'TLS' | 'plain';
  /** Shown in the title instead of the path's state, e.g. "reconnecting…". */
  notice?: string | null;
  now?: number;
}

const FRAMES = {
  // The pane with the input gets mc's double frame, so it stands out without colour too.
  active: { h: '═', v: '║', tl: '╔', tr: '╗', bl: '╚', br: '╝', ml: '╟', mr: '╢', m: '─' },
  idle: { h: '─', v: '│', tl: '┌', tr: '┐', bl: '└', br: '┘', ml: '├', mr: '┤', m: '─' },
};

/** `tl─ text ─…─tr` with `text` cut to fit; `at` places it left or right. */
function borderWith(text: string, inner: number, h: string, at: 'left' | 'right'): { before: string; text: string; after: string } {
  const room = inner - 4;
  if (text === '' || room < 3) return { before: h.repeat(inner), text: '', after: '' };
  const shown = ` ${fitColumns(text, Math.min(room, textWidth(text)), { cut: 'middle' })} `;
  const rest = inner - textWidth(shown);
  return at === 'left' ? { before: h, text: shown, after: h.repeat(rest - 1) } : { before: h.repeat(rest - 1), text: shown, after: h };
}

/**
 * One file pane as mc draws it: a frame whose title is the side and path (for a remote side, TLS
 * or plain and who is logged in where), the column titles, the
 * visible rows of the list, the status line, and free space or quota in the bottom border.
 */
export function Pane({ pane, label, kind, width, height, active, quota, security, notice, now }: PaneProps) {
  const frame = active ? FRAMES.active : FRAMES.idle;
  const inner = Math.max(1, width - 2);
  const columns = columnsFor(inner);
  const listHeight = Math.max(1, height - PANE_CHROME_ROWS);
  const edgeColor = active ? 'cyan' : 'gray';
  // In front, where a title cut in the middle keeps it: whether the link is encrypted, and to whom.
  const where = kind !== 'local' ? `${security ? `${security} ` : ''}${label}:${pane.path}` : pane.path;
  const state = notice ?? (pane.loading ? 'loading…' : null);
  const title = borderWith(state ? `${where} [${state}]` : where, inner, frame.h, 'left');
  const bottom = borderWith(quotaText(quota, kind), inner, frame.h, 'right');
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Text wrap="truncate">
        <Text color={edgeColor}>
          {frame.tl}
          {title.before}
        </Text>
        <Text inverse={active} bold color={notice ? 'yellow' : active ? 'cyan' : undefined}>
          {title.text}
        </Text>
        <Text color={edgeColor}>
          {title.after}
          {frame.tr}
        </Text>
      </Text>
      <Text wrap="truncate">
        <Text color={edgeColor}>{frame.v}</Text>
        <Text color="yellow">{headerText(columns, pane.sort)}</Text>
        <Text color={edgeColor}>{frame.v}</Text>
      </Text>
      <FileList
        view={pane.view}
        cursor={pane.cursor}
        offset={pane.offset}
        height={listHeight}
        columns={columns}
        marks={pane.marks}
        active={active}
        edge={frame.v}
        edgeColor={edgeColor}
        {...(now === undefined ? {} : { now })}
      />
      <Text wrap="truncate" color={edgeColor}>
        {frame.ml}
        {frame.m.repeat(inner)}
        {frame.mr}
      </Text>
      <StatusBar pane={pane} width={inner} edge={frame.v} edgeColor={edgeColor} {...(now === undefined ? {} : { now })} />
      <Text wrap="truncate">
        <Text color={edgeColor}>
          {frame.bl}
          {bottom.before}
        </Text>
        <Text>{bottom.text}</Text>
        <Text color={edgeColor}>
          {bottom.after}
          {frame.br}
        </Text>
      </Text>
    </Box>
  );
}

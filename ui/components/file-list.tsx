import { Text } from 'ink';
import { memo } from 'react';
import type { Entry } from '../../src/protocol/index.js';
import { emptyRowText, rowText, type Columns } from '../model/pane-layout.js';
import { isDirLike, isParentEntry } from '../model/pane-state.js';

export interface FileListProps {
  view: readonly Entry[];
  cursor: number;
  offset: number;
  /** Rows on screen. */
  height: number;
  columns: Columns;
  marks: ReadonlySet<string>;
  /** The pane has the input: its cursor row is highlighted. */
  active: boolean;
  /** The frame's vertical line, drawn left and right of each row. */
  edge: string;
  edgeColor: string | undefined;
  /** For the time column (recent vs old dates). Default Date.now() at render. */
  now?: number;
}

interface RowProps {
  entry: Entry | undefined;
  columns: Columns;
  marked: boolean;
  cursor: boolean;
  active: boolean;
  edge: string;
  edgeColor: string | undefined;
  now: number;
}

function colorOf(entry: Entry, marked: boolean): string | undefined {
  if (marked) return 'yellowBright';
  if (entry.type === 'symlink') return 'cyan';
  if (entry.type === 'other') return 'magenta';
  if (entry.type === 'file' && (entry.mode & 0o111) !== 0) return 'green';
  return undefined;
}

/** One row; memoised so moving the cursor redraws two rows, not the page. */
const Row = memo(function Row({ entry, columns, marked, cursor, active, edge, edgeColor, now }: RowProps) {
  const text = entry === undefined ? emptyRowText(columns) : rowText(entry, columns, now, marked);
  const highlight = cursor && entry !== undefined;
  return (
    <Text wrap="truncate">
      <Text color={edgeColor}>{edge}</Text>
      {highlight ? (
        <Text inverse={active} underline={!active} bold={entry !== undefined && isDirLike(entry)} color={active ? (marked ? 'yellowBright' : 'cyan') : colorOf(entry, marked)}>
          {text}
        </Text>
      ) : (
        <Text bold={entry !== undefined && (isDirLike(entry) || marked)} color={entry === undefined ? undefined : colorOf(entry, marked)}>
          {text}
        </Text>
      )}
      <Text color={edgeColor}>{edge}</Text>
    </Text>
  );
});

/**
 * The rows of a pane that are on screen, and only those: a directory of 100,000 entries costs
 * `height` rows of layout, whatever its size. Rows past the end keep the column lines.
 */
export function FileList({ view, cursor, offset, height, columns, marks, active, edge, edgeColor, now }: FileListProps) {
  // Minutes are enough for the time column, and a steady value keeps the memoised rows.
  const time = now ?? Math.floor(Date.now() / 60_000) * 60_000;
  const rows = [];
  for (let i = 0; i < height; i++) {
    const index = offset + i;
    const entry = view[index];
    rows.push(
      <Row
        key={i}
        entry={entry}
        columns={columns}
        marked={entry !== undefined && !isParentEntry(entry) && marks.has(entry.name)}
        cursor={index === cursor}
        active={active}
        edge={edge}
        edgeColor={edgeColor}
        now={time}
      />,
    );
  }
  return <>{rows}</>;
}

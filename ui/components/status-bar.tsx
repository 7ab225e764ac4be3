import { Text } from 'ink';
import { useMemo, type ReactNode } from 'react';
import { formatSize } from '../../src/util/units.js';
import { entryInfo } from '../model/pane-layout.js';
import { currentEntry, markSummary, type PaneState } from '../model/pane-state.js';
import { fitColumns, textWidth } from '../model/text-width.js';

export interface StatusBarProps {
  pane: PaneState;
  /** Columns between the frame's edges. */
  width: number;
  edge: string;
  edgeColor: string | undefined;
  now?: number;
}

/**
 * A pane's status line (mc's mini-status): the marked count and bytes when something is marked,
 * else the entry under the cursor; on the right the quick filter. Why the last listing failed takes
 * the whole line.
 */
export function StatusBar({ pane, width, edge, edgeColor, now }: StatusBarProps) {
  // Summing the marks walks the view: only when the view or the marks change, not per cursor move.
  const marked = useMemo(() => markSummary(pane), [pane.view, pane.marks]);
  const entry = currentEntry(pane);
  const info = entryInfo(entry, now ?? Date.now());
  if (pane.error !== null) {
    // Why the directory could not be listed matters more than the entry: it gets the whole line,
    // cut in the middle so the code at the end stays.
    return (
      <Text wrap="truncate">
        <Text color={edgeColor}>{edge}</Text>
        <Text color="red" bold>
          {fitColumns(pane.error, width, { cut: 'middle' })}
        </Text>
        <Text color={edgeColor}>{edge}</Text>
      </Text>
    );
  }
  let right = '';
  let rightColor: string | undefined;
  if (pane.filter !== null) {
    right = `filter: ${pane.filter}_`;
    rightColor = 'cyan';
  } else if (pane.truncated) {
    right = 'listing cut short by the server';
    rightColor = 'yellow';
  }
  const rightWidth = Math.min(textWidth(right), Math.floor(width / 2));
  const leftWidth = width - rightWidth - (rightWidth > 0 ? 1 : 0);
  let left: ReactNode;
  if (marked.count > 0) {
    const text = `${marked.count} marked, ${formatSize(marked.bytes)}`;
    left = (
      <Text bold color="yellowBright">
        {fitColumns(text, leftWidth)}
      </Text>
    );
  } else {
    const detailWidth = Math.min(textWidth(info.detail), Math.max(0, leftWidth - 10));
    const nameWidth = leftWidth - detailWidth - (detailWidth > 0 ? 1 : 0);
    left = (
      <Text>
        {fitColumns(info.name, nameWidth, { cut: 'middle' })}
        {detailWidth > 0 ? ` ${fitColumns(info.detail, detailWidth, { align: 'right' })}` : ''}
      </Text>
    );
  }
  return (
    <Text wrap="truncate">
      <Text color={edgeColor}>{edge}</Text>
      {left}
      {rightWidth > 0 ? (
        <Text color={rightColor}>
          {' '}
          {fitColumns(right, rightWidth)}
        </Text>
      ) : null}
      <Text color={edgeColor}>{edge}</Text>
    </Text>
  );
}

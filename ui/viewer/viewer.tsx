import { Box, Text } from 'ink';
import { useMemo, useState } from 'react';
import { formatSize } from '../../src/util/units.js';
import { matchKey, type CommandId } from '../keymap.js';
import type { ViewContent } from '../model/view-content.js';
import { fitColumns, sliceColumns, textWidth } from '../model/text-width.js';
import { useKeypress } from '../use-keypress.js';
import { INITIAL_VIEWER, moveViewer, type ViewerMotion } from './viewer-state.js';

export interface ViewerProps {
  title: string;
  content: ViewContent;
  width: number;
  height: number;
  isActive: boolean;
  onClose: () => void;
}

const MOTIONS: Partial<Record<CommandId, ViewerMotion>> = {
  'viewer.up': 'up',
  'viewer.down': 'down',
  'viewer.page-up': 'page-up',
  'viewer.page-down': 'page-down',
  'viewer.home': 'home',
  'viewer.end': 'end',
  'viewer.left': 'left',
  'viewer.right': 'right',
};

/**
 * A full-screen pager (mc's F3): a title line with the position, the lines on screen, and a
 * line of keys. Only the rows on screen are drawn.
 */
export function Viewer({ title, content, width, height, isActive, onClose }: ViewerProps) {
  const [view, setView] = useState(INITIAL_VIEWER);
  const bodyHeight = Math.max(1, height - 2);
  const longest = useMemo(() => content.lines.reduce((max, line) => Math.max(max, textWidth(line)), 0), [content]);
  const size = { lines: content.lines.length, longest, height: bodyHeight, width };

  useKeypress(
    (key) => {
      const command = matchKey('viewer', key);
      if (command === 'viewer.close') onClose();
      else if (command !== undefined) {
        const motion = MOTIONS[command];
        if (motion) setView((current) => moveViewer(current, motion, size));
      }
    },
    { isActive },
  );

  const last = Math.min(content.lines.length, view.top + bodyHeight);
  const percent = content.lines.length <= bodyHeight ? 100 : Math.round((last / content.lines.length) * 100);
  const cut = content.shown < content.size ? ` · first ${formatSize(content.shown)} of ${formatSize(content.size)}` : '';
  const where = `${view.top + 1}-${last}/${content.lines.length} ${percent}%${view.left > 0 ? ` col ${view.left + 1}` : ''}${content.binary ? ' · hex' : ''}${cut}`;
  const rows = [];
  for (let i = 0; i < bodyHeight; i++) {
    const line = content.lines[view.top + i];
    rows.push(
      <Text key={i} wrap="truncate">
        {line === undefined ? ' ' : fitColumns(sliceColumns(line, view.left, width), width)}
      </Text>,
    );
  }
  const whereWidth = Math.min(textWidth(where), Math.max(0, width - 10));
  return (
    <Box flexDirection="column" width={width} height={height}>
      <Text wrap="truncate" color="black" backgroundColor="cyan">
        {fitColumns(title, width - whereWidth - 1, { cut: 'middle' })} {fitColumns(where, whereWidth, { align: 'right' })}
      </Text>
      {rows}
      <Text wrap="truncate" dimColor>
        {fitColumns('Up/Down PgUp/PgDn Home/End scroll · Left/Right sideways · Esc/q/F3 close', width)}
      </Text>
    </Box>
  );
}

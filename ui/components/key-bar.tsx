import { Box, Text } from 'ink';
import { fkeyLabels } from '../keymap.js';
import { fitColumns } from '../model/text-width.js';

export interface KeyBarProps {
  width: number;
}

/** mc's bottom line: F1–F10, each number followed by its label from the keymap table. */
export function KeyBar({ width }: KeyBarProps) {
  const labels = fkeyLabels();
  const slot = Math.floor(width / labels.length);
  const extra = width - slot * labels.length;
  return (
    <Box width={width} height={1}>
      {labels.map((label, i) => {
        const number = String(i + 1);
        // The last slot takes the columns the division leaves over.
        const cells = slot + (i === labels.length - 1 ? extra : 0);
        return (
          <Text key={number} wrap="truncate">
            <Text>{number}</Text>
            <Text color="black" backgroundColor="cyan">
              {fitColumns(label, Math.max(0, cells - number.length))}
            </Text>
          </Text>
        );
      })}
    </Box>
  );
}

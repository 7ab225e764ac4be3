import { Text } from 'ink';
import type { QueueTotals } from '../../src/transfer/progress.js';
import { commandById, formatKey, type CommandId } from '../keymap.js';
import type { AppState } from '../model/app-state.js';
import { fitColumns } from '../model/text-width.js';
import { countsText } from '../queue/job-format.js';

export interface MessageLineProps {
  message: AppState['message'];
  totals: QueueTotals;
  /** The queue panel is on screen (then it shows the progress itself). */
  queueVisible: boolean;
  connected: boolean;
  width: number;
}

function key(id: CommandId): string {
  return formatKey(commandById(id).keys[0]!);
}

/**
 * The line above the key bar: the latest message (errors in red), else the transfers' progress
 * when the queue panel is hidden, else a few keys worth knowing.
 */
export function MessageLine({ message, totals, queueVisible, connected, width }: MessageLineProps) {
  if (message !== null) {
    const color = message.tone === 'error' ? 'red' : message.tone === 'progress' ? 'cyan' : undefined;
    return (
      <Text wrap="truncate" color={color} bold={message.tone === 'error'}>
        {fitColumns(message.text, width)}
      </Text>
    );
  }
  if (!queueVisible && totals.queued + totals.running > 0) {
    return (
      <Text wrap="truncate" color="cyan">
        {fitColumns(`transfers: ${countsText(totals)} · ${key('queue.toggle')} shows the queue`, width)}
      </Text>
    );
  }
  const hints = [`${key('app.help')} help`, `${key('pane.switch')} other pane`, `${key('pane.mark')} mark`, `${key('file.copy')} copy`, `${key('queue.toggle')} queue`];
  if (!connected) hints.push(`${key('app.connect')} connect`);
  return (
    <Text wrap="truncate" dimColor>
      {fitColumns(hints.join(' · '), width)}
    </Text>
  );
}

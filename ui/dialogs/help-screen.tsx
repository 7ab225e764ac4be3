import { useMemo } from 'react';
import { COMMANDS, LAYERS, formatKeys, type CommandSpec } from '../keymap.js';
import type { ViewContent } from '../model/view-content.js';
import { fitColumns } from '../model/text-width.js';
import { Viewer } from '../viewer/viewer.js';

/** The help text: every layer of the keymap table with its keys and descriptions (the same table as docs/keymap.md). */
export function helpLines(): string[] {
  const table = COMMANDS as readonly CommandSpec[];
  const keyWidth = Math.min(28, Math.max(...table.map((command) => formatKeys(command).length)));
  const lines: string[] = ['ferry — a dual-pane file manager with a remote side', ''];
  for (const { layer, title } of LAYERS) {
    const commands = table.filter((command) => command.layer === layer);
    if (commands.length === 0) continue;
    lines.push(title, '─'.repeat(title.length));
    for (const command of commands) lines.push(`  ${fitColumns(formatKeys(command), keyWidth)}  ${command.description}`);
    lines.push('');
  }
  lines.push(
    'Typing a character no key above is bound to starts a quick filter; while it is active every',
    'printable character goes into it. F5 and F6 to the other pane go through the transfer queue, which',
    'resumes interrupted copies byte for byte. Errors from the server are shown on the message line.',
  );
  return lines;
}

export interface HelpScreenProps {
  width: number;
  height: number;
  isActive: boolean;
  onClose: () => void;
}

/** F1: the keymap table in the viewer. */
export function HelpScreen({ width, height, isActive, onClose }: HelpScreenProps) {
  const content = useMemo<ViewContent>(() => {
    const lines = helpLines();
    return { lines, binary: false, size: 0, shown: 0 };
  }, []);
  return <Viewer title="ferry — keys" content={content} width={width} height={height} isActive={isActive} onClose={onClose} />;
}

import { Box, Text } from 'ink';
import { useRef, useState } from 'react';
import { FerryError } from '../../src/protocol/errors.js';
import { matchKey } from '../keymap.js';
import { fitColumns, textWidth } from '../model/text-width.js';
import { splitArgv } from '../output/split-argv.js';
import { useKeypress } from '../use-keypress.js';
import { TextField, useTextField } from './text-field.js';

export interface CommandLineProps {
  isActive: boolean;
  width: number;
  /** Where the command will run, shown before the prompt (the remote pane's directory). */
  where: string;
  /** Earlier command lines, oldest first (Up walks back from the newest). */
  history: readonly string[];
  /** Enter on a line that splits into at least one word: the argv, and the line as typed. */
  onRun: (argv: string[], line: string) => void;
  /** Esc. */
  onClose: () => void;
}

/** Shown while the line is empty: how the words are read. */
export const COMMAND_LINE_HINT = 'no shell: quotes and \\ group words; $ * | ; stay literal';

/**
 * mc's command line: one row at the bottom, `where$ ` and the text. Up / Down walk the history
 * (what was being typed comes back below the newest entry), Enter splits the line into argv
 * like a shell splits words (splitArgv) and hands it over, Esc closes. Always one row: a line
 * that cannot be split (an open quote) shows the reason in red in its place until the next key,
 * and the line is kept.
 */
export function CommandLine({ isActive, width, where, history, onRun, onClose }: CommandLineProps) {
  const field = useTextField('');
  const [problem, setProblem] = useState<string | null>(null);
  // Index into history while browsing it; history.length means the line being typed.
  const browse = useRef<{ index: number; draft: string }>({ index: history.length, draft: '' });
  if (browse.current.index > history.length) browse.current = { index: history.length, draft: '' };

  useKeypress(
    (key) => {
      const command = matchKey('command', key);
      if (command === 'command.close') return onClose();
      if (command === 'command.history-prev' || command === 'command.history-next') {
        const { index, draft } = browse.current;
        const next = command === 'command.history-prev' ? Math.max(0, index - 1) : Math.min(history.length, index + 1);
        if (next === index) return;
        const keep = index === history.length ? field.current().value : draft;
        browse.current = { index: next, draft: keep };
        field.set(next === history.length ? keep : history[next]!);
        setProblem(null);
        return;
      }
      if (command === 'command.run') {
        const line = field.current().value;
        let argv: string[];
        try {
          argv = splitArgv(line);
        } catch (error) {
          setProblem(error instanceof FerryError ? error.message : String(error));
          return;
        }
        if (argv.length === 0) return;
        field.set('');
        browse.current = { index: history.length + 1, draft: '' };
        setProblem(null);
        onRun(argv, line);
        return;
      }
      // The first key after a problem brings the line back (and edits it).
      setProblem(null);
      field.handle(key);
    },
    { isActive },
  );

  const prompt = `${fitColumns(where, Math.min(textWidth(where), Math.floor(width / 3)), { cut: 'middle' })}$ `;
  const fieldWidth = Math.max(4, width - textWidth(prompt));
  const empty = field.view.value === '';
  return (
    <Box width={width} height={1}>
      <Text wrap="truncate">
        <Text bold>{prompt}</Text>
        {problem !== null ? (
          <Text color="red">{fitColumns(problem, fieldWidth)}</Text>
        ) : empty && isActive ? (
          <Text>
            <Text inverse> </Text>
            <Text dimColor>{fitColumns(COMMAND_LINE_HINT, fieldWidth - 1)}</Text>
          </Text>
        ) : (
          <TextField value={field.view.value} cursor={field.view.cursor} isActive={isActive} width={fieldWidth} />
        )}
      </Text>
    </Box>
  );
}

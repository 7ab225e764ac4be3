import { Text } from 'ink';

/** The filled and empty parts of a bar of `cells` cells at `fraction` (0…1), in whole cells. */
export function barCells(fraction: number, cells: number): { filled: string; empty: string } {
  const width = Math.max(0, Math.floor(cells));
  const f = Number.isFinite(fraction) ? Math.max(0, Math.min(1, fraction)) : 0;
  // Rounded down: a bar is only full when the job is.
  const full = Math.floor(f * width);
  return { filled: '█'.repeat(full), empty: '░'.repeat(width - full) };
}

export interface ProgressBarProps {
  /** 0…1. */
  fraction: number;
  /** Cells between the brackets. */
  cells: number;
  /** Colour of the filled part (ink colour name). Default 'cyan'. */
  color?: string;
}

/** `[████░░░░]`: a bar of `cells` cells, usable inside a <Text> line. */
export function ProgressBar({ fraction, cells, color = 'cyan' }: ProgressBarProps) {
  const { filled, empty } = barCells(fraction, cells);
  return (
    <Text>
      [<Text color={color}>{filled}</Text>
      <Text dimColor>{empty}</Text>]
    </Text>
  );
}

import { Box, Text } from 'ink';
import { createContext, useContext, type ReactNode } from 'react';
import { fitColumns } from '../model/text-width.js';

export type DialogTone = 'normal' | 'danger';

const COLORS: Record<DialogTone, { color: string; backgroundColor: string; borderColor: string }> = {
  normal: { color: 'black', backgroundColor: 'white', borderColor: 'black' },
  danger: { color: 'whiteBright', backgroundColor: 'red', borderColor: 'whiteBright' },
};

const ToneContext = createContext<DialogTone>('normal');

/** The text colours of the dialog around a component (so its text sits on the dialog's background). */
export function useDialogColors(): { color: string; backgroundColor: string } {
  const { color, backgroundColor } = COLORS[useContext(ToneContext)];
  return { color, backgroundColor };
}

/** A line of dialog text, exactly `width` columns, in the dialog's colours. */
export function DialogLine({ children, width, bold }: { children: string; width: number; bold?: boolean }) {
  const colors = useDialogColors();
  return (
    <Text {...colors} bold={bold ?? false} wrap="truncate">
      {fitColumns(children, width)}
    </Text>
  );
}

/** A line of dialog text made of several parts (a field, a checkbox), in the dialog's colours, cut at its width. */
export function DialogRow({ children }: { children: ReactNode }) {
  const colors = useDialogColors();
  return (
    <Text {...colors} wrap="truncate">
      {children}
    </Text>
  );
}

export interface DialogFrameProps {
  title: string;
  /** Columns of the frame, border included. */
  width: number;
  tone?: DialogTone;
  children: ReactNode;
}

/**
 * mc's dialog box: a double frame with the title in it, filled with the dialog's background so
 * it covers what is beneath (the App places it over the panes).
 */
export function DialogFrame({ title, width, tone = 'normal', children }: DialogFrameProps) {
  const colors = COLORS[tone];
  return (
    <ToneContext.Provider value={tone}>
      <Box flexDirection="column" width={width} borderStyle="double" borderColor={colors.borderColor} backgroundColor={colors.backgroundColor}>
        <Text color={colors.color} backgroundColor={colors.backgroundColor} bold wrap="truncate">
          {fitColumns(` ${title} `, width - 2, { cut: 'middle' })}
        </Text>
        {children}
      </Box>
    </ToneContext.Provider>
  );
}

/** Centers its child over the whole screen (`width` × `height`), on top of what was drawn before. */
export function Overlay({ width, height, children }: { width: number; height: number; children: ReactNode }) {
  return (
    <Box position="absolute" width={width} height={height} alignItems="center" justifyContent="center">
      {children}
    </Box>
  );
}

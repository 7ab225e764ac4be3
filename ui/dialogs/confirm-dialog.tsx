import { Text } from 'ink';
import { useReducer, useRef } from 'react';
import { DialogFrame, DialogLine, useDialogColors } from '../components/dialog-frame.js';
import { matchKey } from '../keymap.js';
import { fitColumns, textWidth } from '../model/text-width.js';
import { useKeypress } from '../use-keypress.js';

export interface ConfirmDialogProps {
  title: string;
  /** May hold several lines. */
  message: string;
  /** Label of the yes button. Default "Yes". */
  yes?: string;
  /** Label of the no button. Default "No". */
  no?: string;
  /** Red, for deleting. */
  danger?: boolean;
  width: number;
  isActive: boolean;
  onYes: () => void;
  onNo: () => void;
}

/**
 * A question with two buttons (mc's "Delete 3 files?"). The yes button has the focus; Tab or the
 * arrows move it, Enter presses the focused one, Esc answers no.
 */
export function ConfirmDialog({ title, message, yes = 'Yes', no = 'No', danger = false, width, isActive, onYes, onNo }: ConfirmDialogProps) {
  // A ref, not state: a Tab and an Enter typed before the next render must act in order.
  const focusRef = useRef<'yes' | 'no'>('yes');
  const [, redraw] = useReducer((n: number) => n + 1, 0);
  const focus = focusRef.current;
  const inner = width - 2;
  useKeypress(
    (key) => {
      switch (matchKey('dialog', key)) {
        case 'dialog.confirm':
          if (focusRef.current === 'yes') onYes();
          else onNo();
          break;
        case 'dialog.cancel':
          onNo();
          break;
        case 'dialog.next-field':
        case 'dialog.prev-field':
        case 'dialog.left':
        case 'dialog.right':
          focusRef.current = focusRef.current === 'yes' ? 'no' : 'yes';
          redraw();
          break;
      }
    },
    { isActive },
  );
  const lines = message.split('\n');
  return (
    <DialogFrame title={title} width={width} tone={danger ? 'danger' : 'normal'}>
      <DialogLine width={inner}>{''}</DialogLine>
      {lines.map((line, i) => (
        <DialogLine key={i} width={inner}>{` ${line}`}</DialogLine>
      ))}
      <DialogLine width={inner}>{''}</DialogLine>
      <Buttons width={inner} yes={yes} no={no} focus={focus} />
    </DialogFrame>
  );
}

function Buttons({ width, yes, no, focus }: { width: number; yes: string; no: string; focus: 'yes' | 'no' }) {
  const colors = useDialogColors();
  const yesText = `[ ${yes} ]`;
  const noText = `[ ${no} ]`;
  const used = textWidth(yesText) + 2 + textWidth(noText);
  const left = Math.max(0, Math.floor((width - used) / 2));
  const right = Math.max(0, width - used - left);
  return (
    <Text {...colors} wrap="truncate">
      {' '.repeat(left)}
      <Text {...colors} inverse={focus === 'yes'} bold>
        {yesText}
      </Text>
      {'  '}
      <Text {...colors} inverse={focus === 'no'} bold>
        {noText}
      </Text>
      {fitColumns('', right)}
    </Text>
  );
}

import { Text } from 'ink';
import type { ReactNode } from 'react';
import { commandById, formatKey, matchKey } from '../keymap.js';
import { DialogFrame, DialogLine, useDialogColors } from '../components/dialog-frame.js';
import { TextField, useTextField } from '../components/text-field.js';
import { useKeypress } from '../use-keypress.js';

export interface InputDialogProps {
  title: string;
  /** The question above the field, e.g. "Create the directory:". */
  prompt: string;
  initial: string;
  /** Columns of the dialog, frame included. */
  width: number;
  isActive: boolean;
  onSubmit: (value: string) => void;
  onCancel: () => void;
  tone?: 'normal' | 'danger';
}

/** A field of `width - 2` columns with a column of dialog background either side. */
function FieldRow({ children }: { children: ReactNode }) {
  const colors = useDialogColors();
  return (
    <Text {...colors} wrap="truncate">
      {' '}
      {children}{' '}
    </Text>
  );
}

/**
 * One line of text asked for (mkdir, rename/move, select by pattern): the prompt, the field
 * (editing keys as in every dialog), Enter to accept, Esc to cancel.
 */
export function InputDialog({ title, prompt, initial, width, isActive, onSubmit, onCancel, tone = 'normal' }: InputDialogProps) {
  const field = useTextField(initial);
  const inner = width - 2;
  useKeypress(
    (key) => {
      const command = matchKey('dialog', key);
      // The field's latest state, not the last render's: Enter right after typing submits what was typed.
      if (command === 'dialog.confirm') onSubmit(field.current().value);
      else if (command === 'dialog.cancel') onCancel();
      else field.handle(key);
    },
    { isActive },
  );
  const hint = `${formatKey(commandById('dialog.confirm').keys[0]!)} OK · ${formatKey(commandById('dialog.cancel').keys[0]!)} cancel`;
  return (
    <DialogFrame title={title} width={width} tone={tone}>
      <DialogLine width={inner}>{` ${prompt}`}</DialogLine>
      <FieldRow>
        <TextField {...field.view} isActive={isActive} width={inner - 2} />
      </FieldRow>
      <DialogLine width={inner}>{''}</DialogLine>
      <DialogLine width={inner}>{` ${hint}`}</DialogLine>
    </DialogFrame>
  );
}

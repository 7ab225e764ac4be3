import { DialogFrame, DialogLine } from '../components/dialog-frame.js';
import { commandById, formatKey, matchKey } from '../keymap.js';
import { wrapWords } from '../model/text-width.js';
import { useKeypress } from '../use-keypress.js';

export interface IdentityChangedDialogProps {
  /** `host:port` as known_hosts writes it. */
  hostPort: string;
  /** The pin in known_hosts, with where it is written. */
  known: { fingerprint: string; file: string; line: number };
  /** What the server presented this time. */
  presented: string;
  isActive: boolean;
  /** Esc: back to the login dialog. */
  onClose: () => void;
  /** Columns, border included. Default 76. */
  width?: number;
}

/**
 * ssh's "REMOTE HOST IDENTIFICATION HAS CHANGED", in red: a server pinned in known_hosts
 * presented another certificate. Both fingerprints, the known_hosts line to remove should the
 * administrator confirm the change, and that nothing was sent. There is no way on from here:
 * only Esc closes it (back to the login dialog); the pin is changed by hand, deliberately.
 */
export function IdentityChangedDialog({ hostPort, known, presented, isActive, onClose, width = 76 }: IdentityChangedDialogProps) {
  useKeypress(
    (key) => {
      switch (matchKey('dialog', key)) {
        case 'dialog.cancel':
          return onClose();
        case 'dialog.confirm':
          // Ignored on purpose: Enter means "go on" everywhere else, and a reflexive Enter must
          // neither connect nor look as if the warning had been accepted.
          return;
      }
    },
    { isActive },
  );

  const inner = Math.max(24, width - 2);
  const text = inner - 2;
  const label = 11;
  const line = (content: string, key?: string, bold = true) => (
    <DialogLine key={key} width={inner} bold={bold}>
      {content === '' ? '' : ` ${content}`}
    </DialogLine>
  );
  const paragraph = (content: string, bold = true) => wrapWords(content, text, { long: 'break' }).map((part, i) => line(part, `${content.slice(0, 8)}${i}`, bold));
  const field = (title: string, value: string) =>
    wrapWords(value, text - label, { long: 'break' }).map((part, i) => line(`${(i === 0 ? title : '').padEnd(label)}${part}`, `${title}${i}`));

  return (
    <DialogFrame title="WARNING: SERVER IDENTITY HAS CHANGED" width={width} tone="danger">
      {line('')}
      {paragraph(`THE IDENTITY OF ${hostPort} HAS CHANGED!`)}
      {paragraph("Someone could be intercepting the connection (a man-in-the-middle attack), or the server's certificate was replaced.", false)}
      {line('')}
      {field('Known', known.fingerprint)}
      {field('Presented', presented)}
      {line('')}
      {paragraph('Nothing was sent to it.')}
      {paragraph(
        `If the server's administrator confirms the new fingerprint (ferry serve --fingerprint), remove line ${known.line} of ${known.file} and connect again.`,
        false,
      )}
      {line('')}
      {line(`${formatKey(commandById('dialog.cancel').keys[0]!)} close`)}
    </DialogFrame>
  );
}

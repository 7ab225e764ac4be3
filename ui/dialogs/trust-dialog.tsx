import { useReducer, useRef } from 'react';
import { Text } from 'ink';
import { describeAuthorization, type PeerIdentity } from '../../src/client/server-identity.js';
import type { TrustAnswer } from '../../src/credentials/server-trust.js';
import { DialogFrame, DialogLine, DialogRow } from '../components/dialog-frame.js';
import { commandById, formatKey, matchKey, type CommandId } from '../keymap.js';
import { textWidth, wrapWords } from '../model/text-width.js';
import { useKeypress } from '../use-keypress.js';

export interface TrustDialogProps {
  /** `host:port` as known_hosts writes it. */
  hostPort: string;
  /** What the probe handshake showed. */
  peer: PeerIdentity;
  isActive: boolean;
  onAnswer: (answer: TrustAnswer) => void;
  /** Columns, border included. Default 72. */
  width?: number;
}

/** A button: its answer, its label and its command (whose key, from ui/keymap.ts, presses it). */
export interface TrustButton {
  answer: TrustAnswer;
  label: string;
  command: CommandId;
}

export const TRUST_BUTTONS: readonly TrustButton[] = [
  { answer: 'save', label: 'Trust and remember', command: 'trust.save' },
  { answer: 'once', label: 'Trust once', command: 'trust.once' },
  { answer: 'refuse', label: 'Refuse', command: 'trust.refuse' },
];

// The focus starts on Refuse: an Enter typed out of habit (the login's Enter still in the
// fingers) must not trust a key nobody has compared; trusting takes a deliberate choice.
const INITIAL_FOCUS = TRUST_BUTTONS.findIndex((button) => button.answer === 'refuse');

/** Why the certificate proves nothing by itself, in words. */
function reasonText(peer: PeerIdentity): string {
  return peer.authorizationError === undefined ? 'no certificate authority this machine trusts vouches for it' : describeAuthorization(peer.authorizationError, peer);
}

/**
 * "Unknown server": a TLS server neither pinned in known_hosts nor vouched for by a CA, shown
 * before any password goes to it: why it is not trusted, its fingerprint in full, the names and
 * dates of its certificate, and what to compare. Trust and remember (pinned in known_hosts),
 * Trust once (this session only), or Refuse. Tab / arrows move, Enter presses the focused
 * button, a / o / r press one directly, Esc refuses.
 */
export function TrustDialog({ hostPort, peer, isActive, onAnswer, width = 72 }: TrustDialogProps) {
  // A ref so keys typed faster than a render act on the focus the previous key left.
  const focusRef = useRef(INITIAL_FOCUS);
  const [, redraw] = useReducer((n: number) => n + 1, 0);
  const count = TRUST_BUTTONS.length;
  const move = (delta: number) => {
    focusRef.current = (focusRef.current + delta + count) % count;
    redraw();
  };

  useKeypress(
    (key) => {
      const command = matchKey(['trust', 'dialog'], key);
      const pressed = TRUST_BUTTONS.find((button) => button.command === command);
      if (pressed !== undefined) return onAnswer(pressed.answer);
      switch (command) {
        case 'dialog.next-field':
        case 'dialog.right':
          return move(1);
        case 'dialog.prev-field':
        case 'dialog.left':
          return move(-1);
        case 'dialog.confirm':
          return onAnswer(TRUST_BUTTONS[focusRef.current]!.answer);
        case 'dialog.cancel':
          return onAnswer('refuse');
      }
    },
    { isActive },
  );

  const inner = Math.max(24, width - 2);
  const text = inner - 2;
  const label = 13;
  const line = (content: string, key?: string) => (
    <DialogLine key={key} width={inner}>
      {content === '' ? '' : ` ${content}`}
    </DialogLine>
  );
  const paragraph = (content: string) => wrapWords(content, text).map((part, i) => line(part, String(i)));
  // A value beside its label, carried on over more lines rather than cut: a fingerprint is
  // compared character by character.
  const field = (title: string, value: string) =>
    wrapWords(value, text - label, { long: 'break' }).map((part, i) => line(`${(i === 0 ? title : '').padEnd(label)}${part}`, `${title}${i}`));

  const buttons = TRUST_BUTTONS.map((button) => `[ ${button.label} (${formatKey(commandById(button.command).keys[0]!)}) ]`);
  const inOneRow = buttons.reduce((sum, shown) => sum + textWidth(shown) + 2, 0) <= text;
  const focus = focusRef.current;
  const keyHint = (id: 'dialog.next-field' | 'dialog.confirm' | 'dialog.cancel') => formatKey(commandById(id).keys[0]!);

  return (
    <DialogFrame title="Unknown server" width={width}>
      {line('')}
      {paragraph(`The identity of ${hostPort} is not known (${reasonText(peer)}). Nothing has been sent to it yet.`)}
      {line('')}
      {field('Fingerprint', peer.fingerprint)}
      {field('Names', peer.names.length > 0 ? peer.names.join(', ') : '(none given)')}
      {field('Valid', `${peer.validFrom.slice(0, 10)} to ${peer.validTo.slice(0, 10)}`)}
      {line('')}
      {paragraph("Compare it with the fingerprint the server's administrator gave you (ferry serve --fingerprint). Trust it only if they are the same.")}
      {line('')}
      {inOneRow ? (
        <DialogRow>
          {' '}
          {buttons.map((shown, i) => (
            <Text key={shown} inverse={isActive && focus === i} bold>
              {i > 0 ? '  ' : ''}
              {shown}
            </Text>
          ))}
          {' '.repeat(Math.max(0, inner - 1 - buttons.reduce((sum, shown, i) => sum + textWidth(shown) + (i > 0 ? 2 : 0), 0)))}
        </DialogRow>
      ) : (
        buttons.map((shown, i) => (
          <DialogRow key={shown}>
            {' '}
            <Text inverse={isActive && focus === i} bold>
              {shown}
            </Text>
            {' '.repeat(Math.max(0, inner - 1 - textWidth(shown)))}
          </DialogRow>
        ))
      )}
      {line(`${keyHint('dialog.next-field')} choose · ${keyHint('dialog.confirm')} press · ${keyHint('dialog.cancel')} refuse`)}
    </DialogFrame>
  );
}

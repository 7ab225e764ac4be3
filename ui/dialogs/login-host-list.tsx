import { Box, Text } from 'ink';
import { defaultTls } from '../../src/client/url.js';
import type { HostEntry } from '../../src/credentials/host-book.js';
import { keychainAccount } from '../../src/credentials/keychain.js';
import { DialogLine, DialogRow } from '../components/dialog-frame.js';
import { fitColumns, textWidth } from '../model/text-width.js';

export interface HostListProps {
  /** Recent hosts first, then bookmarks. */
  rows: readonly HostEntry[];
  /** How many of `rows` are recent hosts (the "Bookmarks" heading goes after them). */
  recentCount: number;
  /** The focused row, if a row has the focus. */
  focused: number | undefined;
  /** Whether the focus is drawn (the dialog takes keys and is not locked). */
  showFocus: boolean;
  /** Columns inside the frame. */
  width: number;
  /** Rows shown at once; the list scrolls to keep the focused one in view. */
  visible: number;
}

/** "TLS" or "plain": what picking the row would use (an entry from before TLS: what ferry:// means for its host). */
export function hostSecurity(entry: HostEntry): 'TLS' | 'plain' {
  return (entry.tls ?? defaultTls(entry.host)) ? 'TLS' : 'plain';
}

function rowText(entry: HostEntry): string {
  return entry.name ? `${entry.name}  ${keychainAccount(entry)}` : keychainAccount(entry);
}

/**
 * The login dialog's recent hosts and bookmarks under their headings, a window of them around the
 * focused one, each with its TLS / plain marker at the right, and "3–8 of 12" when they scroll.
 */
export function HostList({ rows, recentCount, focused, showFocus, width, visible }: HostListProps) {
  const text = width - 2;
  const line = (content: string) => <DialogLine width={width}>{` ${content}`}</DialogLine>;
  const at = focused ?? 0;
  const first = Math.min(Math.max(0, at - visible + 1), Math.max(0, rows.length - visible));
  const shown = rows.slice(first, first + visible).map((entry, i) => ({ entry, index: first + i }));
  return (
    <>
      {shown.map(({ entry, index }) => {
        const heading = index === 0 && recentCount > 0 ? 'Recent' : index === recentCount ? 'Bookmarks' : undefined;
        const isFocused = focused === index;
        const marker = hostSecurity(entry);
        const name = fitColumns(`${isFocused ? '> ' : '  '}${rowText(entry)}`, Math.max(1, text - textWidth('plain') - 1));
        return (
          <Box key={`${index}:${rowText(entry)}`} flexDirection="column">
            {heading !== undefined && line(heading)}
            <DialogRow>
              {' '}
              <Text inverse={showFocus && isFocused}>{`${name} ${fitColumns(marker, textWidth('plain'), { align: 'right' })}`}</Text>{' '}
            </DialogRow>
          </Box>
        );
      })}
      {rows.length > visible && line(`  ${first + 1}–${first + shown.length} of ${rows.length}`)}
    </>
  );
}

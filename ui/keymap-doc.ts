import { writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { COMMANDS, LAYERS, formatKeys, type CommandSpec } from './keymap.js';

/** Where `npm run docs:keymap` writes, relative to the repository root. */
export const KEYMAP_DOC_PATH = 'docs/keymap.md';

function cell(text: string): string {
  return text.replace(/\|/g, '\\|');
}

function keysCell(command: CommandSpec): string {
  return command.keys.length === 0 ? '' : formatKeys(command).split(', ').map((key) => `\`${cell(key)}\``).join(', ');
}

/**
 * docs/keymap.md as generated from the keymap table (ui/keymap.ts): one section per layer that
 * has commands, then the F-key bar. Deterministic, so a test can compare it with the committed file.
 */
export function renderKeymapMarkdown(): string {
  const lines: string[] = [
    '# ferry keys',
    '',
    '<!-- Generated from ui/keymap.ts by `npm run docs:keymap`; do not edit by hand. -->',
    '',
    'Exactly one layer takes the keys at a time: a dialog above the viewer above the queue panel above the',
    'panes. The keys of "Everywhere" work wherever the panes or the queue panel have the input. The F1',
    'help screen shows this same table.',
    '',
  ];
  for (const { layer, title } of LAYERS) {
    const commands = (COMMANDS as readonly CommandSpec[]).filter((command) => command.layer === layer);
    if (commands.length === 0) continue;
    lines.push(`## ${title}`, '', '| Keys | Command | What it does |', '| --- | --- | --- |');
    for (const command of commands) lines.push(`| ${keysCell(command)} | \`${command.id}\` | ${cell(command.description)} |`);
    lines.push('');
  }
  lines.push(
    '## Notes',
    '',
    '- Quick filter: typing a character that is not bound above (or `/`) starts a filter; while it is',
    '  active every printable character, Space included, goes into it, and only matching names are shown',
    '  (`..` stays). Insert still marks. Esc clears it; entering another directory clears it too.',
    '- In dialogs, a text field takes Space and letters as text; Space toggles only a focused checkbox.',
    '- Ctrl-H is the byte many terminals send for Ctrl-Backspace; Backspace itself sends DEL and goes to',
    '  the parent directory.',
    '- The queue panel keeps showing after Esc; `queue.toggle` hides it.',
    '',
  );
  return lines.join('\n');
}

// `npm run docs:keymap`: regenerate the committed file.
if (process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1]) {
  await writeFile(new URL(`../${KEYMAP_DOC_PATH}`, import.meta.url), renderKeymapMarkdown());
  process.stdout.write(`wrote ${KEYMAP_DOC_PATH}\n`);
}

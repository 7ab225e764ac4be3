/**
 * A shell glob as a RegExp over a whole name: `*` any run of characters, `?` one character,
 * `[abc]` / `[a-z]` / `[!abc]` a set; everything else literal. Several patterns may be given
 * separated by `;` (`*.jpg;*.png`). Case-sensitive, as the shell. An empty pattern
 * matches nothing.
 */
export function globToRegExp(pattern: string): RegExp {
  const parts = pattern
    .split(';')
    .filter((part) => part !== '')
    .map(globPart);
  return parts.length === 0 ? /(?!)/ : new RegExp(`^(?:${parts.join('|')})$`, 'u');
}

function globPart(glob: string): string {
  let out = '';
  const chars = [...glob];
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i]!;
    if (c === '*') out += '.*';
    else if (c === '?') out += '.';
    else if (c === '[') {
      const close = chars.indexOf(']', i + 2);
      if (close < 0) {
        out += '\\[';
        continue;
      }
      let body = chars.slice(i + 1, close);
      const negate = body[0] === '!' || body[0] === '^';
      if (negate) body = body.slice(1);
      // Inside a class only `\`, `]` and `^` need escaping; `-` keeps its range meaning.
      out += `[${negate ? '^' : ''}${body.map((b) => (b === '\\' || b === ']' || b === '^' ? `\\${b}` : b)).join('')}]`;
      i = close;
    } else out += c.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  }
  return out;
}

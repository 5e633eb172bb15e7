/**
 * Parses JSON with comments and trailing commas, as TypeScript reads tsconfig
 * files: `//` and `/* … *\/` comments and a comma before `}` or `]` are dropped
 * where they stand outside strings, then the text is parsed as JSON (so any other
 * error is JSON.parse's, with its message).
 */
export function parseJsonc(text: string): unknown {
  try {
    // Most files are plain JSON: no need to look for comments in them.
    return JSON.parse(text);
  } catch {
    // Comments or trailing commas, or an error JSON.parse reports again below.
  }
  let plain = '';
  let index = 0;
  while (index < text.length) {
    const character = text[index];
    if (character === '"') {
      // A string, whole, escapes included: nothing inside it is a comment.
      const end = stringEnd(text, index);
      plain += text.slice(index, end + 1);
      index = end + 1;
    } else if (character === '/' && text[index + 1] === '/') {
      while (index < text.length && text[index] !== '\n') index++;
    } else if (character === '/' && text[index + 1] === '*') {
      const end = text.indexOf('*/', index + 2);
      index = end === -1 ? text.length : end + 2;
      plain += ' ';
    } else {
      plain += character;
      index++;
    }
  }
  return JSON.parse(withoutTrailingCommas(plain));
}

/** Drops a comma followed only by whitespace and a closing `}` or `]`, outside strings. */
function withoutTrailingCommas(text: string): string {
  let result = '';
  for (let index = 0; index < text.length; index++) {
    const character = text[index];
    if (character === '"') {
      const end = stringEnd(text, index);
      result += text.slice(index, end + 1);
      index = end;
      continue;
    }
    if (character === ',') {
      let next = index + 1;
      while (next < text.length && /\s/.test(text[next])) next++;
      if (text[next] === '}' || text[next] === ']') continue;
    }
    result += character;
  }
  return result;
}

/** Where the string that opens at `start` (a `"`) closes, escapes skipped; the text's end if it never does. */
function stringEnd(text: string, start: number): number {
  let end = start + 1;
  while (end < text.length && text[end] !== '"') end += text[end] === '\\' ? 2 : 1;
  return end;
}

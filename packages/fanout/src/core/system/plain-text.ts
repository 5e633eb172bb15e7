/**
 * Terminal escape sequences, in their 7-bit (ESC …) and 8-bit (C1) forms:
 * - OSC (titles, hyperlinks), ended by BEL or ST, or cut off at the line's end;
 * - DCS, SOS, PM and APC strings, ended by ST;
 * - CSI (colours, cursor moves, erasing): parameters, intermediates, a final byte;
 * - any other escape: intermediates and a final byte (`ESC ( B`, `ESC 7`, `ESC =`).
 */
const ESCAPE_SEQUENCE = new RegExp(
  [
    '(?:\\x1b\\]|\\x9d)[^\\x07\\x1b\\x9c\\n]*(?:\\x07|\\x1b\\\\|\\x9c)?',
    '(?:\\x1b[PX^_]|[\\x90\\x98\\x9e\\x9f])[^\\x1b\\x9c]*(?:\\x1b\\\\|\\x9c)',
    '(?:\\x1b\\[|\\x9b)[\\x30-\\x3f]*[\\x20-\\x2f]*[\\x40-\\x7e]',
    '\\x1b[\\x20-\\x2f]*[\\x30-\\x7e]',
  ].join('|'),
  'g',
);

/** Control characters left once the sequences are gone: all but tab and line feed. */
// eslint-disable-next-line no-control-regex -- control characters are what it finds
const CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/g;
// eslint-disable-next-line no-control-regex -- the same, to ask whether there is one
const ANY_CONTROL = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/;

/**
 * Text written for a terminal, as a reader of a file sees it: no escape
 * sequences, and no control characters but tabs and line ends. Where a carriage
 * return redraws a line (a progress line), the line keeps what was drawn last.
 */
export function plainText(text: string): string {
  // Most text has nothing to take out (every sequence begins with a control character): it comes back as it is.
  if (!ANY_CONTROL.test(text)) return text;
  return text
    .replace(ESCAPE_SEQUENCE, '')
    .replace(/\r\n/g, '\n')
    .split('\n')
    .map((line) => {
      const drawn = line.split('\r').filter((part) => part !== '');
      return (drawn[drawn.length - 1] ?? '').replace(CONTROL, '');
    })
    .join('\n');
}

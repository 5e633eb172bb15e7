import { plainText } from '../system/plain-text';

describe('plainText: what a terminal would show, without its escape sequences', () => {
  it.each([
    ['colours (CSI SGR)', '\x1b[1m\x1b[31merror\x1b[39m\x1b[22m TS2322', 'error TS2322'],
    ['cursor moves and erasing', '\x1b[2K\x1b[1G\x1b[?25lbuilding\x1b[?25h', 'building'],
    ['8-bit CSI', '\x9b31mred\x9b0m', 'red'],
    ['a hyperlink (OSC 8, ended by BEL)', '\x1b]8;;file:///a.ts\x07a.ts\x1b]8;;\x07', 'a.ts'],
    ['a hyperlink (OSC 8, ended by ST)', '\x1b]8;;https://x\x1b\\x\x1b]8;;\x1b\\', 'x'],
    ['a window title', '\x1b]0;nx run-many\x07done', 'done'],
    ['an OSC cut off at the end of its line', 'a\x1b]0;title\nb', 'a\nb'],
    ['a DCS string', 'a\x1bPq#0;2;0;0;0\x1b\\b', 'ab'],
    ['charset and keypad escapes', '\x1b(B\x1b=\x1b7text\x1b8', 'text'],
    ['a lone escape and other control characters', 'a\x1b\x00\x07\x08b\x7f', 'ab'],
    ['a line redrawn in place keeps what was drawn last', 'compiling 10%\rcompiling 55%\rcompiling 100%\nnext', 'compiling 100%\nnext'],
    ['a redraw that ends its line', 'progress 90%\r\nnext', 'progress 90%\nnext'],
    ['CRLF line ends', 'a\r\nb\r\n', 'a\nb\n'],
    ['tabs, line ends and any printable text stay', 'a\tb\n  ✖ é 中 `x` <y>', 'a\tb\n  ✖ é 中 `x` <y>'],
  ])('%s', (_name, text, plain) => {
    expect(plainText(text)).toBe(plain);
  });
});

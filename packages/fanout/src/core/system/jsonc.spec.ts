import { parseJsonc } from './jsonc';

describe('parseJsonc', () => {
  it('reads a tsconfig with line and block comments and trailing commas', () => {
    const text = `{
      // Paths of the workspace's libraries.
      "compilerOptions": {
        /* where imports resolve */
        "baseUrl": ".",
        "paths": {
          "@ws/a": ["libs/a/src/index.ts",], // the first
          "@ws/b/*": ["libs/b/src/*"],
        },
      },
    }`;
    expect(parseJsonc(text)).toEqual({
      compilerOptions: { baseUrl: '.', paths: { '@ws/a': ['libs/a/src/index.ts'], '@ws/b/*': ['libs/b/src/*'] } },
    });
  });

  it('leaves what only looks like a comment or a trailing comma inside a string', () => {
    const text = '{ "url": "https://example.com/*x*/", "quote": "a \\" // b", "list": "a, ]", "end": "\\\\" }';
    expect(parseJsonc(text)).toEqual({ url: 'https://example.com/*x*/', quote: 'a " // b', list: 'a, ]', end: '\\' });
  });

  it('reads plain JSON as JSON.parse does, and fails as it does on what is not JSON', () => {
    expect(parseJsonc('[1, {"a": null}]')).toEqual([1, { a: null }]);
    expect(() => parseJsonc('{ "a": }')).toThrow(SyntaxError);
    expect(() => parseJsonc('{ "a": 1 /* unclosed')).toThrow(SyntaxError);
  });
});

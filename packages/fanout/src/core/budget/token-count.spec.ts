import { approxTokens } from './token-count';

describe('approxTokens', () => {
  it('counts a common English word as one token, with the space before it', () => {
    // tiktoken counts this sentence as 10 tokens.
    expect(approxTokens('The quick brown fox jumps over the lazy dog.')).toBe(10);
    expect(approxTokens('')).toBe(0);
  });

  it('cuts identifiers at their humps, and counts punctuation, line breaks and indentation', () => {
    expect(approxTokens('createNodesFromFiles')).toBe(4);
    expect(approxTokens('HTTPServer')).toBe(2);
    expect(approxTokens('export function f(a: string): number {\n    return 1;\n}')).toBe(
      // export function f ( a : string ) : number { \n "    " return 1 ; \n }
      18,
    );
  });

  it('counts code above characters / 4, where code has more punctuation per character than prose', () => {
    const code = 'if (!options.signal?.aborted) { await sleep(ms); } else { throw stopped(agent); }\n'.repeat(20);
    expect(approxTokens(code)).toBeGreaterThan(code.length / 4);
  });

  it('counts long words by the piece, digits three at a time, and a CJK character as a token', () => {
    expect(approxTokens('internationalization')).toBe(3);
    expect(approxTokens('1234567')).toBe(3);
    expect(approxTokens('東京')).toBe(2);
  });
});

import { cachedByText } from './text-cache';

describe('cachedByText', () => {
  it('computes once per text, again when the text changes, and drops the oldest key past its limit', () => {
    const computed: string[] = [];
    const length = cachedByText(2, (key, text) => {
      computed.push(`${key}:${text}`);
      return text.length;
    });
    expect(length('a.ts', 'abc')).toBe(3);
    expect(length('a.ts', 'abc')).toBe(3);
    expect(computed).toEqual(['a.ts:abc']);
    expect(length('a.ts', 'abcd')).toBe(4);
    expect(computed).toEqual(['a.ts:abc', 'a.ts:abcd']);
    length('b.ts', 'x');
    length('c.ts', 'y');
    // a.ts was the oldest of three keys with room for two: computed again.
    length('a.ts', 'abcd');
    expect(computed).toEqual(['a.ts:abc', 'a.ts:abcd', 'b.ts:x', 'c.ts:y', 'a.ts:abcd']);
  });
});

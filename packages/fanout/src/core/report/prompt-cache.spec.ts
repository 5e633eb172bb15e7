import { CACHE_READ_PRICE, describePromptCache, OUTPUT_PRICE, promptCacheFigures } from './prompt-cache';

describe("the prompt cache's figures for a run", () => {
  it('adds up the tokens read from and written to the cache, and the share of input read from it', () => {
    const figures = promptCacheFigures([
      { tokens: { input: 10_000, output: 100, cacheRead: 0, cacheWrite: 9_000 } },
      { tokens: { input: 10_000, output: 100, cacheRead: 9_000, cacheWrite: 500 } },
      { tokens: { input: 10_000, output: 100, cacheRead: 9_000, cacheWrite: 500 } },
      // A session whose CLI reports no cache tokens is left out of the figures.
      { tokens: { input: 5_000, output: 10 } },
    ]);
    expect(figures).toEqual({ sessions: 3, input: 30_000, cacheRead: 18_000, cacheWrite: 10_000, readShare: 0.6 });
    expect(describePromptCache(figures as NonNullable<typeof figures>, 4)).toBe(
      'prompt cache 60% of input tokens read from it (18,000 read, 10,000 written, reported by 3 of 4)',
    );
  });

  it("estimates the saving from each session's reported cost: reads a tenth of the price, writes a quarter more", () => {
    // One session: 1,000 uncached, 8,000 read, 1,000 written, 100 out, at $3 per million input tokens.
    const price = 3 / 1_000_000;
    const units = 1_000 + 1.25 * 1_000 + CACHE_READ_PRICE * 8_000 + OUTPUT_PRICE * 100;
    const figures = promptCacheFigures([
      { costUsd: price * units, tokens: { input: 10_000, output: 100, cacheRead: 8_000, cacheWrite: 1_000 } },
    ]);
    expect(figures?.savedUsd).toBeCloseTo(price * (0.9 * 8_000 - 0.25 * 1_000), 10);
    expect(figures?.uncachedInputUsd).toBeCloseTo(price * 10_000, 10);
    expect(describePromptCache(figures as NonNullable<typeof figures>, 1)).toMatch(
      /, saving about \$0\.0209 \(70% of the input's uncached price\)$/,
    );
  });

  it('says nothing of savings without a reported cost, and nothing at all without cache tokens', () => {
    expect(promptCacheFigures([{ tokens: { input: 100, output: 1, cacheRead: 50, cacheWrite: 0 } }])?.savedUsd).toBeUndefined();
    expect(promptCacheFigures([{ tokens: { input: 100, output: 1 } }, {}])).toBeUndefined();
  });
});

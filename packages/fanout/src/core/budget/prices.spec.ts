import { checkPrices, costOf, formatUsd, PRICE_TABLE, priceBook, priceFor } from './prices';

describe('priceFor', () => {
  it('matches a model by its own row first, then by the longest family prefix', () => {
    expect(priceFor('claude-opus-4-5', 'claude')).toMatchObject({ row: 'claude-opus-4-5', how: 'exact', price: { input: 5, output: 25 } });
    // A dated id is priced as its model; an older Opus 4 as the Opus 4 family, not as Opus 4.5.
    expect(priceFor('claude-opus-4-5-20251101', 'claude')).toMatchObject({ row: 'claude-opus-4-5', how: 'family' });
    expect(priceFor('claude-opus-4-1-20250805', 'claude')).toMatchObject({ row: 'claude-opus-4', price: { input: 15, output: 75 } });
    expect(priceFor('claude-sonnet-4-6', 'claude')).toMatchObject({ row: 'claude-sonnet-4', price: { input: 3 } });
  });

  it('never prices a model as another of the family that merely shares its first characters', () => {
    // gpt-5 is not gpt-5.4's family; gpt-5.4-mini has its own row.
    expect(priceFor('gpt-5.4-mini', 'codex')?.row).toBe('gpt-5.4-mini');
    expect(priceFor('gpt-5.9', 'codex')).toBeUndefined();
    expect(priceFor('gpt-5-codex', 'codex')?.row).toBe('gpt-5-codex');
  });

  it('reads the ids as CLIs write them: provider prefixes, context tags, upper case, and the CLI aliases', () => {
    expect(priceFor('anthropic/claude-sonnet-5-5', 'opencode')?.row).toBe('claude-sonnet-5-5');
    expect(priceFor('sonnet[1m]', 'claude')).toMatchObject({ row: 'claude-sonnet-5-5', how: 'alias' });
    expect(priceFor('Claude-Haiku-4-5-20251001', 'claude')?.row).toBe('claude-haiku-4-5');
    expect(priceFor('opus', 'claude')).toMatchObject({ row: 'claude-opus-5-5', how: 'alias' });
  });

  it("prices a session without a model as its agent's likely default, saying so, and nothing for an agent it cannot guess", () => {
    expect(priceFor(undefined, 'codex')).toMatchObject({ row: 'gpt-5.5', how: 'unnamed' });
    expect(priceFor(undefined, 'aider')).toBeUndefined();
    expect(priceFor('my-local-model', 'opencode')).toBeUndefined();
  });

  it('takes the prices option over the table, and prices models the table lacks', () => {
    const book = priceBook({
      'claude-opus-5-5': { input: 1, output: 2, cacheWrite: 1, cacheRead: 0.1 },
      'my-local-model': { input: 0, output: 0, cacheWrite: 0, cacheRead: 0 },
    });
    expect(priceFor('claude-opus-5-5-20261201', 'claude', book)).toMatchObject({ price: { input: 1, output: 2 }, overridden: true });
    expect(priceFor('my-local-model', 'opencode', book)).toMatchObject({ row: 'my-local-model', overridden: true });
    expect(priceFor('claude-opus-5', 'claude', book)).toMatchObject({ price: { input: 5 }, overridden: false });
  });

  it('marks the rows whose figures were not confirmed, with why', () => {
    const unconfirmed = PRICE_TABLE.filter((row) => !row.confirmed);
    expect(unconfirmed.length).toBeGreaterThan(0);
    for (const row of unconfirmed) expect(row.note).toBeTruthy();
    expect(priceFor('gemini-3-pro-preview', 'gemini')).toMatchObject({ row: 'gemini-3-pro', confirmed: false });
  });
});

describe('costOf', () => {
  it('prices the uncached input, the cache writes and reads, and the output, each at its own rate', () => {
    const price = { input: 3, output: 15, cacheWrite: 3.75, cacheRead: 0.3 };
    // 1M prompt tokens, of which 600k read from the cache and 100k written to it; 100k output.
    const usd = costOf({ input: 1_000_000, cacheRead: 600_000, cacheWrite: 100_000, output: 100_000 }, price);
    expect(usd).toBeCloseTo(0.3 * 3 + 0.1 * 3.75 + 0.6 * 0.3 + 0.1 * 15, 10);
    expect(costOf({}, price)).toBe(0);
  });
});

describe('checkPrices', () => {
  it('takes rows of USD per million tokens, a missing cache price at the input price', () => {
    expect(checkPrices({ 'my-model': { input: 1, output: 4 } })).toEqual({
      prices: { 'my-model': { input: 1, output: 4, cacheWrite: 1, cacheRead: 1 } },
      problems: [],
    });
  });

  it('names every bad key, and what to write instead', () => {
    const { problems, prices } = checkPrices({
      good: { input: 1, output: 2 },
      text: { input: '3', output: 15 },
      negative: { input: 1, output: -1 },
      typo: { input: 1, output: 2, cachedRead: 0.1 },
      missing: { input: 1 },
      list: [1, 2],
    });
    expect(prices).toEqual({
      good: { input: 1, output: 2, cacheWrite: 1, cacheRead: 1 },
      typo: { input: 1, output: 2, cacheWrite: 1, cacheRead: 1 },
    });
    expect(problems).toEqual([
      'nx.json (fanout plugin options): "prices.text.input" is USD per million tokens, a number of 0 or more without quotes (got "3").',
      'nx.json (fanout plugin options): "prices.negative.output" is USD per million tokens, a number of 0 or more without quotes (got -1).',
      'nx.json (fanout plugin options): "prices.typo.cachedRead" is not a price; a row takes input, output, cacheWrite, cacheRead.',
      'nx.json (fanout plugin options): "prices.missing.output" is missing: USD per million output tokens.',
      'nx.json (fanout plugin options): "prices.list" is { "input", "output", "cacheWrite", "cacheRead" } in USD per million tokens (got [1,2]).',
    ]);
    expect(checkPrices('cheap').problems[0]).toContain('"prices" maps model ids to prices in USD per million tokens');
  });
});

describe('formatUsd', () => {
  it('shows cents above a dollar and finer figures below', () => {
    expect(formatUsd(12.345)).toBe('$12.35');
    expect(formatUsd(0.4567)).toBe('$0.457');
    expect(formatUsd(0.031234)).toBe('$0.0312');
  });
});

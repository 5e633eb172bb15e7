import type { AgentTokens } from '../agents/agent';

/**
 * What the provider's prompt cache did for a run, from the tokens and costs the
 * sessions' CLIs reported. Prices are relative to an uncached input token, as
 * Anthropic publishes them for its models: a cache read costs a tenth, a cache
 * write (five-minute lifetime) 1.25 times, an output token five times.
 */
export const CACHE_READ_PRICE = 0.1;
const CACHE_WRITE_PRICE = 1.25;
export const OUTPUT_PRICE = 5;

export interface PromptCacheFigures {
  /** Sessions that reported cache tokens. */
  sessions: number;
  input: number;
  cacheRead: number;
  cacheWrite: number;
  /** cacheRead / input. */
  readShare: number;
  /**
   * What the cache saved, in dollars: each session's price of an input token
   * derived from the cost its CLI reported, times the tokens read cheaper less the
   * tokens written dearer. Undefined when no such session reported a cost.
   */
  savedUsd?: number;
  /** What the session(s) that reported a cost would have paid for input without the cache. */
  uncachedInputUsd?: number;
}

interface Reported {
  costUsd?: number;
  tokens?: AgentTokens;
}

/** The price of one uncached input token for a session, from its reported cost; undefined when it cannot be told. */
function inputPrice(cost: number, tokens: Required<Pick<AgentTokens, 'cacheRead' | 'cacheWrite'>> & AgentTokens): number | undefined {
  const uncached = Math.max(0, (tokens.input ?? 0) - tokens.cacheRead - tokens.cacheWrite);
  const units =
    uncached + CACHE_WRITE_PRICE * tokens.cacheWrite + CACHE_READ_PRICE * tokens.cacheRead + OUTPUT_PRICE * (tokens.output ?? 0);
  return units > 0 && cost > 0 ? cost / units : undefined;
}

/** The run's figures; undefined when no session reported cache tokens. */
export function promptCacheFigures(results: readonly Reported[]): PromptCacheFigures | undefined {
  const cached = results.filter(
    (result): result is Reported & { tokens: AgentTokens } =>
      result.tokens !== undefined && (result.tokens.cacheRead !== undefined || result.tokens.cacheWrite !== undefined),
  );
  if (cached.length === 0) return undefined;
  let input = 0;
  let cacheRead = 0;
  let cacheWrite = 0;
  let savedUsd: number | undefined;
  let uncachedInputUsd: number | undefined;
  for (const { tokens, costUsd } of cached) {
    const counts = { ...tokens, cacheRead: tokens.cacheRead ?? 0, cacheWrite: tokens.cacheWrite ?? 0 };
    input += tokens.input ?? 0;
    cacheRead += counts.cacheRead;
    cacheWrite += counts.cacheWrite;
    const price = costUsd === undefined ? undefined : inputPrice(costUsd, counts);
    if (price === undefined) continue;
    savedUsd = (savedUsd ?? 0) + price * ((1 - CACHE_READ_PRICE) * counts.cacheRead - (CACHE_WRITE_PRICE - 1) * counts.cacheWrite);
    uncachedInputUsd = (uncachedInputUsd ?? 0) + price * (tokens.input ?? 0);
  }
  return {
    sessions: cached.length,
    input,
    cacheRead,
    cacheWrite,
    readShare: input > 0 ? cacheRead / input : 0,
    ...(savedUsd !== undefined ? { savedUsd, uncachedInputUsd } : {}),
  };
}

/** One line for people: "prompt cache: 81% of input tokens read from it (…), saving about $0.0312 (…)". */
export function describePromptCache(figures: PromptCacheFigures, total: number): string {
  const count = (value: number) => value.toLocaleString('en-US');
  const share = `${Math.round(figures.readShare * 100)}%`;
  const saving =
    figures.savedUsd === undefined
      ? ''
      : `, saving about $${figures.savedUsd.toFixed(4)}` +
        (figures.uncachedInputUsd
          ? ` (${Math.round((figures.savedUsd / figures.uncachedInputUsd) * 100)}% of the input's uncached price)`
          : '');
  return (
    `prompt cache ${share} of input tokens read from it (${count(figures.cacheRead)} read, ${count(figures.cacheWrite)} written, ` +
    `reported by ${figures.sessions} of ${total})${saving}`
  );
}

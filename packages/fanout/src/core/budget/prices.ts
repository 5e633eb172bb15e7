import type { AgentTokens } from '../agents/agent';

/**
 * What a model's tokens cost, in USD per million tokens, for the estimate before a run and the
 * ledger during it, where a CLI reports tokens but no cost (Codex, Gemini CLI). The table ships with
 * fanout and ages: PRICES_TAKEN says when its figures were read, and the `prices` plugin option
 * overrides any row, or adds one.
 */

/** When the figures below were read from the providers' public price pages. */
export const PRICES_TAKEN = '2026-12-06';

/** USD per million tokens. `cacheWrite` is a five-minute cache write; `cacheRead` a cache hit. */
export interface ModelPrice {
  input: number;
  output: number;
  cacheWrite: number;
  cacheRead: number;
}

export interface PriceRow extends ModelPrice {
  /** The model id, or the prefix of a family of ids (`claude-sonnet-4` prices `claude-sonnet-4-5-20250929`). */
  model: string;
  provider: 'anthropic' | 'openai' | 'google';
  /** False where a figure could not be read on the provider's own page: said in the estimate's basis. */
  confirmed: boolean;
  note?: string;
}

const anthropic = (model: string, input: number, output: number, cacheWrite: number, cacheRead: number, note?: string): PriceRow => ({
  model,
  provider: 'anthropic',
  input,
  output,
  cacheWrite,
  cacheRead,
  confirmed: note === undefined,
  ...(note ? { note } : {}),
});

// OpenAI bills no cache write: a prompt the cache takes costs what uncached input costs.
const openai = (model: string, input: number, cacheRead: number, output: number, note?: string): PriceRow => ({
  model,
  provider: 'openai',
  input,
  output,
  cacheWrite: input,
  cacheRead,
  confirmed: note === undefined,
  ...(note ? { note } : {}),
});

// Gemini's implicit cache is billed like OpenAI's; its storage fee applies to explicit caches only, which no CLI here makes.
const google = (model: string, input: number, cacheRead: number, output: number, note?: string): PriceRow => ({
  model,
  provider: 'google',
  input,
  output,
  cacheWrite: input,
  cacheRead,
  confirmed: note === undefined,
  ...(note ? { note } : {}),
});

/**
 * The table as read on PRICES_TAKEN (docs/cost.md names the pages). Prompts above a long-context
 * threshold cost more on some models (Haiku 5.5 above 100k tokens, Gemini Pro above 200k): the rows
 * hold the price below it.
 */
export const PRICE_TABLE: readonly PriceRow[] = [
  anthropic('claude-fable-5-1', 10, 50, 12.5, 0.25),
  anthropic('claude-mythos-5-1', 10, 50, 12.5, 0.25),
  anthropic('claude-fable-5', 10, 50, 12.5, 1),
  anthropic('claude-mythos-5', 10, 50, 12.5, 1),
  anthropic('claude-opus-5-5', 4, 20, 5, 0.2),
  anthropic('claude-opus-5', 5, 25, 6.25, 0.5),
  anthropic('claude-opus-4-5', 5, 25, 6.25, 0.5),
  anthropic('claude-opus-4-6', 5, 25, 6.25, 0.5),
  anthropic('claude-opus-4-7', 5, 25, 6.25, 0.5),
  anthropic('claude-opus-4-8', 5, 25, 6.25, 0.5),
  anthropic('claude-opus-4', 15, 75, 18.75, 1.5),
  anthropic(
    'claude-sonnet-5-5',
    2,
    10,
    2.5,
    0.2,
    'the cache read is the model page’s $0.20; later reports say it was cut to $0.10 on 2026-10-07',
  ),
  anthropic('claude-sonnet-5', 2, 10, 2.5, 0.2),
  anthropic('claude-sonnet-4', 3, 15, 3.75, 0.3),
  anthropic('claude-haiku-5-5', 0.1, 0.5, 0.125, 0.01),
  anthropic('claude-haiku-4-5', 1, 5, 1.25, 0.1),
  anthropic('claude-3-5-haiku', 0.8, 4, 1, 0.08),
  openai('gpt-5.5', 5, 0.5, 30),
  openai('gpt-5.4-mini', 0.75, 0.075, 4.5),
  openai('gpt-5.4-nano', 0.2, 0.02, 1.25),
  openai('gpt-5.4', 2.5, 0.25, 15),
  openai('gpt-5.3-codex', 1.75, 0.175, 14),
  openai('gpt-5.2-codex', 1.75, 0.175, 14),
  openai('gpt-5.2', 1.75, 0.175, 14),
  openai('gpt-5.1-codex', 1.25, 0.125, 10),
  openai('gpt-5.1', 1.25, 0.125, 10),
  openai('gpt-5-codex', 1.25, 0.125, 10),
  openai('gpt-5-mini', 0.25, 0.025, 2),
  openai('gpt-5', 1.25, 0.125, 10),
  google('gemini-3.1-pro', 2, 0.2, 12, 'input and output from the provider; the cache read assumed at a tenth of input'),
  google('gemini-3-pro', 2, 0.2, 12, 'input and output from the provider; the cache read assumed at a tenth of input'),
  google('gemini-3-flash', 0.5, 0.05, 3),
  google('gemini-2.5-pro', 1.25, 0.125, 10, 'the cache read is a tenth of input, as Google lists it since 2026; earlier pages said $0.31'),
  google('gemini-2.5-flash', 0.3, 0.03, 2.5),
];

/**
 * The models the CLIs' aliases name (`claude --model opus`). An alias moves to each new model;
 * these are the ones it named on PRICES_TAKEN.
 */
const MODEL_ALIASES: Readonly<Record<string, string>> = {
  opus: 'claude-opus-5-5',
  sonnet: 'claude-sonnet-5-5',
  haiku: 'claude-haiku-5-5',
  opusplan: 'claude-opus-5-5',
};

/**
 * The model a session of each agent is priced as when neither fanout.md nor the run names one:
 * the CLI then picks it, by its version and the account, so this is a guess, and the estimate says so.
 */
const UNNAMED_MODEL: Readonly<Record<string, string>> = {
  claude: 'claude-sonnet-5-5',
  codex: 'gpt-5.5',
  gemini: 'gemini-3-pro',
};

/** The prices a run uses: the `prices` plugin option's rows over the table's. */
export interface PriceBook {
  rows: readonly PriceRow[];
  /** The rows the `prices` option set (their ids): said as such in the basis. */
  overridden: ReadonlySet<string>;
}

export function priceBook(overrides: Readonly<Record<string, ModelPrice>> = {}): PriceBook {
  const own: PriceRow[] = Object.entries(overrides).map(([model, price]) => ({
    ...price,
    model: model.toLowerCase(),
    provider: PRICE_TABLE.find((row) => row.model === model.toLowerCase())?.provider ?? 'anthropic',
    confirmed: true,
  }));
  const ids = new Set(own.map((row) => row.model));
  return { rows: [...own, ...PRICE_TABLE.filter((row) => !ids.has(row.model))], overridden: ids };
}

export interface PriceMatch {
  price: ModelPrice;
  /** The row's id. */
  row: string;
  /** How the model was matched: its own row, its family's, the CLI's alias, or the agent's guess for an unnamed model. */
  how: 'exact' | 'family' | 'alias' | 'unnamed';
  confirmed: boolean;
  /** Set by the `prices` plugin option. */
  overridden: boolean;
}

/**
 * The id as the table writes it: lower case, without a provider's prefix (`anthropic/…`,
 * `openai/…`, as opencode names models), a context-size tag (`sonnet[1m]`) or a Bedrock
 * version tag (`…-v1:0`).
 */
function normalized(model: string): string {
  const bare = model.trim().toLowerCase().split('/').pop() ?? '';
  return bare
    .replace(/\[[^\]]*\]$/, '')
    .replace(/-v\d+(?::\d+)?$/, '')
    .replace(/^(?:anthropic|us|eu|apac|global)\./, '');
}

/** Family boundaries: a row `claude-sonnet-4` prices `claude-sonnet-4-5`, `claude-sonnet-4@20250514`, but `gpt-5` never prices `gpt-5.4`. */
const FAMILY_SEPARATOR = /^[-@:_]/;

/**
 * The price of `model` (by its own row, else the longest row that is its family's prefix, else
 * the CLI alias it is); with no model, the agent's likely default (UNNAMED_MODEL). Undefined when
 * nothing matches: the estimate then says the session could not be priced.
 */
export function priceFor(model: string | undefined, agent: string, book: PriceBook = priceBook()): PriceMatch | undefined {
  const match = (id: string, how: PriceMatch['how']): PriceMatch | undefined => {
    const exact = book.rows.find((row) => row.model === id);
    const family = exact
      ? undefined
      : book.rows
          .filter((row) => id.startsWith(row.model) && FAMILY_SEPARATOR.test(id.slice(row.model.length)))
          .sort((a, b) => b.model.length - a.model.length)[0];
    const row = exact ?? family;
    if (!row) return undefined;
    const { input, output, cacheWrite, cacheRead } = row;
    return {
      price: { input, output, cacheWrite, cacheRead },
      row: row.model,
      how: how === 'exact' && !exact ? 'family' : how,
      confirmed: row.confirmed,
      overridden: book.overridden.has(row.model),
    };
  };
  if (model === undefined || model.trim() === '') {
    const guess = UNNAMED_MODEL[agent];
    return guess ? match(guess, 'unnamed') : undefined;
  }
  const id = normalized(model);
  const own = match(id, 'exact');
  if (own) return own;
  const alias = MODEL_ALIASES[id];
  return alias ? match(alias, 'alias') : undefined;
}

/**
 * What `tokens` cost at `price`, in USD. `input` counts every prompt token, the cache's
 * included (as every adapter reports it): the uncached part is what the cache neither read nor wrote.
 */
export function costOf(tokens: AgentTokens, price: ModelPrice): number {
  const cacheRead = tokens.cacheRead ?? 0;
  const cacheWrite = tokens.cacheWrite ?? 0;
  const uncached = Math.max(0, (tokens.input ?? 0) - cacheRead - cacheWrite);
  return (
    (uncached * price.input + cacheWrite * price.cacheWrite + cacheRead * price.cacheRead + (tokens.output ?? 0) * price.output) / 1_000_000
  );
}

const PRICE_FIELDS = ['input', 'output', 'cacheWrite', 'cacheRead'] as const;

function text(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

/**
 * The `prices` plugin option, checked: model ids (or family prefixes) mapped to
 * `{ input, output, cacheWrite?, cacheRead? }` in USD per million tokens. A missing
 * cacheWrite costs what input costs (no cache premium); a missing cacheRead as well (no
 * discount), which keeps an estimate on the high side. Every problem is said, with the key.
 */
export function checkPrices(
  value: unknown,
  where = 'nx.json (fanout plugin options)',
): { prices: Record<string, ModelPrice>; problems: string[] } {
  const problems: string[] = [];
  const prices: Record<string, ModelPrice> = {};
  if (value === undefined) return { prices, problems };
  const example = '{ "my-model": { "input": 3, "output": 15, "cacheWrite": 3.75, "cacheRead": 0.3 } }';
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    problems.push(`${where}: "prices" maps model ids to prices in USD per million tokens, e.g. ${example} (got ${text(value)}).`);
    return { prices, problems };
  }
  for (const [model, row] of Object.entries(value as Record<string, unknown>)) {
    const key = `prices.${model}`;
    if (model.trim() === '') {
      problems.push(`${where}: "prices" has an empty model id; name the model, e.g. "claude-sonnet-5-5".`);
      continue;
    }
    if (typeof row !== 'object' || row === null || Array.isArray(row)) {
      problems.push(`${where}: "${key}" is { "input", "output", "cacheWrite", "cacheRead" } in USD per million tokens (got ${text(row)}).`);
      continue;
    }
    const fields = row as Record<string, unknown>;
    const unknown = Object.keys(fields).filter((field) => !(PRICE_FIELDS as readonly string[]).includes(field));
    for (const field of unknown) {
      problems.push(`${where}: "${key}.${field}" is not a price; a row takes ${PRICE_FIELDS.join(', ')}.`);
    }
    const read: Partial<ModelPrice> = {};
    for (const field of PRICE_FIELDS) {
      const figure = fields[field];
      if (figure === undefined) {
        if (field === 'input' || field === 'output')
          problems.push(`${where}: "${key}.${field}" is missing: USD per million ${field} tokens.`);
        continue;
      }
      if (typeof figure !== 'number' || !Number.isFinite(figure) || figure < 0) {
        problems.push(`${where}: "${key}.${field}" is USD per million tokens, a number of 0 or more without quotes (got ${text(figure)}).`);
        continue;
      }
      read[field] = figure;
    }
    if (read.input !== undefined && read.output !== undefined) {
      prices[model] = {
        input: read.input,
        output: read.output,
        cacheWrite: read.cacheWrite ?? read.input,
        cacheRead: read.cacheRead ?? read.input,
      };
    }
  }
  return { prices, problems };
}

/** Dollars for people: cents above a dollar, finer below, where a session's cost usually is. */
export function formatUsd(usd: number): string {
  const digits = usd >= 1 ? 2 : usd >= 0.1 ? 3 : 4;
  return `$${usd.toFixed(digits)}`;
}

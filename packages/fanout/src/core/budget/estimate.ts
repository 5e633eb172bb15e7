import { existsSync, readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import { RESULT_FILE, SESSIONS_DIR } from '../../constants';
import type { AgentTokens } from '../agents/agent';
import { costOf, formatUsd, PRICES_TAKEN, priceBook, priceFor, type PriceBook, type PriceMatch } from './prices';

/**
 * What a run will cost, said before its first session starts: a range in USD.
 *
 * - The prompt, known now: the base context and each assignment, in tokens (approxTokens).
 *   Where the agent shares the cache prefix (the lead design), the base context is written
 *   to the provider's cache once and read from it by the other sessions; elsewhere each
 *   session writes it.
 * - The work, known only afterwards: the turns, their output, the repair rounds. It is
 *   taken from what this workspace's earlier sessions of the same agent and model cost
 *   (their result.json), else from DEFAULT_WORK.
 * - Where a CLI reports its own cost (Claude Code, opencode, aider), the earlier sessions'
 *   reported costs calibrate the price table's figures.
 */

/** The error of approxTokens, applied to the prompt's tokens: the low end counts fewer, the high end more. */
export const TOKEN_COUNT_SPREAD = { low: 0.8, high: 1.3 } as const;

/**
 * A session's work without history to go by: its output tokens, and how many more times its
 * prompt is read from the cache (once per turn of the agent's conversation), low and high.
 */
export const DEFAULT_WORK = {
  outputTokens: { low: 5_000, high: 50_000 },
  turns: { low: 5, high: 40 },
} as const;

/** A calibration beyond these bounds says the table prices another model than the one that ran: it is reported, not applied. */
const CALIBRATION_BOUNDS = { low: 0.2, high: 5 } as const;

export interface SessionToEstimate {
  project: string;
  agent: string;
  /** The model the session will ask for; undefined: the CLI's default. */
  model?: string;
  assignmentTokens: number;
  /** Whether this session's agent shares the cache prefix; the run's `sharesCachePrefix` when absent. */
  sharesCachePrefix?: boolean;
}

/** One earlier session of this workspace, as its result.json recorded it. */
export interface HistoryEntry {
  project: string;
  agent: string;
  /** Recorded by sessions that name their model; absent in older records. */
  model?: string;
  costUsd?: number;
  tokens?: AgentTokens;
  rounds: number;
}

export interface EstimateInput {
  sessions: readonly SessionToEstimate[];
  baseTokens: number;
  sharesCachePrefix: boolean;
  history?: readonly HistoryEntry[];
  prices?: PriceBook;
}

interface SessionEstimate {
  project: string;
  agent: string;
  model?: string;
  /** The price row it was priced by; undefined when none matched. */
  priced?: string;
  promptTokens: number;
  low: number;
  high: number;
  /** Where its work's range came from: how many earlier sessions, or the default. */
  work: { from: 'history'; sessions: number } | { from: 'default' } | { from: 'unknown' };
}

export interface RunEstimate {
  low: number;
  high: number;
  perSession: SessionEstimate[];
  baseTokens: number;
  /** How it was made, a line each, for people. */
  basis: string[];
  /** Sessions neither the price table nor history could price: their cost is not in the range. */
  unpriced: string[];
}

function numberOr(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

function tokensOf(value: unknown): AgentTokens | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const fields = value as Record<string, unknown>;
  const tokens: AgentTokens = {};
  for (const key of ['input', 'output', 'cacheRead', 'cacheWrite'] as const) {
    const count = numberOr(fields[key]);
    if (count !== undefined) tokens[key] = count;
  }
  return Object.keys(tokens).length > 0 ? tokens : undefined;
}

/** Every session's result.json in the workspace: `.fanout/sessions/<project>/`, a scoped `@scope/name` one folder deeper. */
export function recordedResultFiles(workspaceRoot: string): string[] {
  const sessions = join(workspaceRoot, SESSIONS_DIR);
  if (!existsSync(sessions)) return [];
  const folders = (dir: string) =>
    readdirSync(dir, { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => join(dir, entry.name));
  return folders(sessions)
    .flatMap((folder) => (folder.split('/').pop()?.startsWith('@') ? folders(folder) : [folder]))
    .map((folder) => join(folder, RESULT_FILE))
    .filter((file) => existsSync(file));
}

/**
 * The earlier sessions recorded in these result.json files that spent something. A file that
 * cannot be read or is not a session's record is passed over: history only informs the estimate.
 */
export function historyFrom(resultFiles: readonly string[]): HistoryEntry[] {
  const entries: HistoryEntry[] = [];
  for (const file of resultFiles) {
    let json: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(readFileSync(file, 'utf-8'));
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) continue;
      json = parsed as Record<string, unknown>;
    } catch {
      continue;
    }
    if (typeof json['agent'] !== 'string' || typeof json['project'] !== 'string') continue;
    const costUsd = numberOr(json['costUsd']);
    const tokens = tokensOf(json['tokens']);
    if (!costUsd && !tokens?.output && !tokens?.input) continue;
    entries.push({
      project: json['project'],
      agent: json['agent'],
      ...(typeof json['model'] === 'string' && json['model'] !== '' ? { model: json['model'] } : {}),
      ...(costUsd !== undefined ? { costUsd } : {}),
      ...(tokens ? { tokens } : {}),
      rounds: Array.isArray(json['rounds']) && json['rounds'].length > 0 ? json['rounds'].length : 1,
    });
  }
  return entries;
}

/** The earlier sessions that tell about this one: the same agent and model, else the same agent where the records name no model. */
function relevantHistory(history: readonly HistoryEntry[], agent: string, priced: PriceMatch | undefined, book: PriceBook) {
  const sameAgent = history.filter((entry) => entry.agent === agent);
  const sameModel = sameAgent.filter(
    (entry) => entry.model !== undefined && priced !== undefined && priceFor(entry.model, agent, book)?.row === priced.row,
  );
  if (sameModel.length > 0) return { entries: sameModel, modelRecorded: true };
  return { entries: sameAgent.filter((entry) => entry.model === undefined), modelRecorded: false };
}

/** Reported cost over the table's price of the same tokens, over the sessions that reported both. */
function calibration(entries: readonly HistoryEntry[], priced: PriceMatch | undefined): { factor: number; sessions: number } | undefined {
  if (!priced) return undefined;
  let reported = 0;
  let table = 0;
  let sessions = 0;
  for (const entry of entries) {
    if (entry.costUsd === undefined || !entry.tokens) continue;
    const priceOfTokens = costOf(entry.tokens, priced.price);
    if (priceOfTokens <= 0) continue;
    reported += entry.costUsd;
    table += priceOfTokens;
    sessions++;
  }
  return sessions > 0 ? { factor: reported / table, sessions } : undefined;
}

function thousands(tokens: number): string {
  return tokens >= 10_000 ? `${Math.round(tokens / 1000)}k` : tokens.toLocaleString('en-US');
}

/** A session's group for the prompt cache: the provider caches per model. */
function cacheGroup(session: SessionToEstimate, priced: PriceMatch | undefined): string {
  return `${session.agent}\0${priced?.row ?? session.model ?? ''}`;
}

export function estimateRun(input: EstimateInput): RunEstimate {
  const book = input.prices ?? priceBook();
  const history = input.history ?? [];
  const basis: string[] = [];
  const unpriced: string[] = [];
  const perSession: SessionEstimate[] = [];
  const writers = new Set<string>();
  const said = new Set<string>();
  const sayOnce = (line: string) => {
    if (said.has(line)) return;
    said.add(line);
    basis.push(line);
  };
  let readers = 0;
  let sharedWriters = 0;

  for (const session of input.sessions) {
    const priced = priceFor(session.model, session.agent, book);
    const shares = session.sharesCachePrefix ?? input.sharesCachePrefix;
    const group = cacheGroup(session, priced);
    // The lead design: the first session of a group writes the base context, the others read it.
    const readsBase = shares && writers.has(group);
    if (shares && !readsBase) {
      writers.add(group);
      sharedWriters++;
    }
    if (readsBase) readers++;
    const promptTokens = input.baseTokens + session.assignmentTokens;
    const { entries, modelRecorded } = relevantHistory(history, session.agent, priced, book);
    const calibrated = calibration(entries, priced);
    const factor =
      calibrated && calibrated.factor >= CALIBRATION_BOUNDS.low && calibrated.factor <= CALIBRATION_BOUNDS.high ? calibrated.factor : 1;
    const who = `${session.agent}${session.model ? ` (${session.model})` : ''}`;

    if (priced) {
      if (priced.how === 'unnamed')
        sayOnce(`${session.agent}: no model named, priced as ${priced.row}; the CLI picks its own default, which may cost more or less`);
      if (priced.how === 'family') sayOnce(`${session.model}: priced as its family, ${priced.row}`);
      if (priced.how === 'alias') sayOnce(`${session.model}: the alias priced as ${priced.row}, the model it named on ${PRICES_TAKEN}`);
      if (!priced.confirmed) {
        const note = book.rows.find((row) => row.model === priced.row)?.note;
        sayOnce(`${priced.row}: price not confirmed on the provider's page${note ? ` (${note})` : ''}`);
      }
    }
    if (calibrated && factor !== calibrated.factor) {
      sayOnce(
        `${who}: the ${calibrated.sessions} earlier session(s) reported ${calibrated.factor.toFixed(2)} × the table's price of their tokens: ` +
          'not applied (another model ran then, or the table is out of date: set the prices option)',
      );
    } else if (calibrated) {
      sayOnce(`${who}: table prices calibrated × ${factor.toFixed(2)} from ${calibrated.sessions} earlier session(s)' reported cost`);
    }

    // The prompt: the base context read or written, and the assignment written.
    const promptUsd = (spread: number) => {
      if (!priced) return 0;
      const { price } = priced;
      const base = input.baseTokens * spread * (readsBase ? price.cacheRead : price.cacheWrite);
      return ((base + session.assignmentTokens * spread * price.cacheWrite) / 1_000_000) * factor;
    };
    const promptLow = promptUsd(TOKEN_COUNT_SPREAD.low);
    const promptHigh = promptUsd(TOKEN_COUNT_SPREAD.high);

    // The work: each earlier session's cost beyond a prompt like this one's, at least its output.
    const works = entries.flatMap((entry) => {
      const tableCost = entry.tokens && priced ? costOf(entry.tokens, priced.price) * factor : undefined;
      const cost = entry.costUsd ?? tableCost;
      if (cost === undefined) return [];
      const output = entry.tokens?.output !== undefined && priced ? ((entry.tokens.output * priced.price.output) / 1_000_000) * factor : 0;
      return [Math.max(cost - (promptLow + promptHigh) / 2, output, 0)];
    });
    let work: SessionEstimate['work'];
    let low: number;
    let high: number;
    if (works.length > 0) {
      work = { from: 'history', sessions: works.length };
      low = promptLow + Math.min(...works);
      high = promptHigh + Math.max(...works);
      const rounds = entries.reduce((total, entry) => total + entry.rounds, 0) / entries.length;
      sayOnce(
        `${who}: the work from ${works.length} earlier session(s) of this workspace${modelRecorded ? '' : ' of that agent (their model was not recorded)'}, ` +
          `${rounds.toFixed(1)} round(s) each on average`,
      );
    } else if (priced) {
      work = { from: 'default' };
      const { price } = priced;
      const range = (end: 'low' | 'high', prompt: number) =>
        ((DEFAULT_WORK.outputTokens[end] * price.output + DEFAULT_WORK.turns[end] * prompt * price.cacheRead) / 1_000_000) * factor;
      low = promptLow + range('low', promptTokens * TOKEN_COUNT_SPREAD.low);
      high = promptHigh + range('high', promptTokens * TOKEN_COUNT_SPREAD.high);
      sayOnce(
        `${who}: no earlier session here to go by: the default work, ${thousands(DEFAULT_WORK.outputTokens.low)}–${thousands(DEFAULT_WORK.outputTokens.high)} ` +
          `output tokens and the prompt read again ${DEFAULT_WORK.turns.low}–${DEFAULT_WORK.turns.high} times (once a turn)`,
      );
    } else {
      work = { from: 'unknown' };
      low = 0;
      high = 0;
      unpriced.push(session.project);
      sayOnce(
        `${who}: no price for ${session.model ?? 'its default model'} and no earlier session to go by: not counted. ` +
          'Add the model to the prices plugin option',
      );
    }
    perSession.push({
      project: session.project,
      agent: session.agent,
      ...(session.model ? { model: session.model } : {}),
      ...(priced ? { priced: priced.row } : {}),
      promptTokens,
      low,
      high,
      work,
    });
  }

  const sharing = readers > 0 || sharedWriters > 0;
  basis.unshift(
    sharing
      ? `prompt cache: the base context written once${sharedWriters > 1 ? ' per model' : ''} and read by the ${readers} other session(s)`
      : 'prompt cache: no shared cache prefix, each session writes the base context',
    `token counts approximated from the text (${Math.round((TOKEN_COUNT_SPREAD.low - 1) * 100)} % to +${Math.round((TOKEN_COUNT_SPREAD.high - 1) * 100)} %)`,
    `prices: fanout's table of ${PRICES_TAKEN}${book.overridden.size > 0 ? `, the prices option for ${[...book.overridden].join(', ')}` : ''}`,
  );
  return {
    low: perSession.reduce((total, session) => total + session.low, 0),
    high: perSession.reduce((total, session) => total + session.high, 0),
    perSession,
    baseTokens: input.baseTokens,
    basis,
    unpriced,
  };
}

/**
 * The block printed once before a run's first session: the sessions about to run (the caller
 * leaves out those Nx replays from its cache, and says how many with `cached`), the base
 * context's size, the range, and how it was made.
 */
export function formatEstimate(estimate: RunEstimate, { cached = 0 }: { cached?: number } = {}): string {
  const count = estimate.perSession.length;
  const replayed = cached > 0 ? ` (${cached} more replayed from the cache, not counted)` : '';
  const lines = [
    `estimate: ${count} session(s) to run${replayed}, base context about ${thousands(estimate.baseTokens)} tokens: ` +
      `${formatUsd(estimate.low)} to ${formatUsd(estimate.high)}`,
  ];
  const width = Math.max(0, ...estimate.perSession.map((session) => session.project.length));
  for (const session of estimate.perSession) {
    const range = session.work.from === 'unknown' ? 'not priced' : `${formatUsd(session.low)} to ${formatUsd(session.high)}`;
    lines.push(`  ${session.project.padEnd(width)}  ${session.agent}${session.priced ? `, ${session.priced}` : ''}: ${range}`);
  }
  lines.push('  how it was made:', ...estimate.basis.map((line) => `    - ${line}`));
  return lines.join('\n');
}

/**
 * Why the run must not start: the estimate's low end is over the budget. Undefined when it fits.
 * Said before any worktree exists.
 */
export function overBudget(estimate: RunEstimate, budgetUsd: number | undefined): string | undefined {
  if (budgetUsd === undefined || estimate.low <= budgetUsd) return undefined;
  return (
    `the run does not start: its estimate is ${formatUsd(estimate.low)} to ${formatUsd(estimate.high)}, and even the low end is over ` +
    `the budget of ${formatUsd(budgetUsd)}. Raise the budget (--budget=${Math.ceil(estimate.high * 100) / 100} for the high end, or ` +
    'the budget plugin option), or run fewer sessions (nx run-many -t <target> --projects=...).'
  );
}

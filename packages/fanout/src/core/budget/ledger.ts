import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'fs';
import { dirname, join } from 'path';
import type { AgentTokens } from '../agents/agent';
import { withLock } from '../system/lock';
import { FANOUT_DIR } from '../../constants';
import { costOf, formatUsd, type ModelPrice } from './prices';

/**
 * A run's budget ledger: what the run's sessions have spent, added as each agent's usage
 * streams in. The sessions of a run may be tasks of one batch or processes of their own
 * (`--batch=false`), so the ledger is a file, `.fanout/budget/<run>.json`, read and written
 * under a lock file beside it: every addition is read, added and written whole, in turn.
 */

/** A run's budget: in USD, in tokens, or both; reached when either is. */
export interface Budget {
  usd?: number;
  /** Every token counted: input (cache reads and writes included) and output. */
  tokens?: number;
}

export interface Spend {
  usd: number;
  tokens: number;
}

interface ProjectSpend extends Spend {
  /** What the session was expected to spend at least, held against the budget until its usage arrives. */
  reserved: number;
  /** Stopped at the cap while it ran. */
  stopped?: boolean;
  /** Refused at its start: the budget was reached. */
  notStarted?: boolean;
}

/** The ledger file's content. */
export interface LedgerState {
  version: 1;
  run: string;
  budget: Budget;
  spent: Spend;
  projects: Record<string, ProjectSpend>;
  /** The run's estimate, as printed before its first session (USD). */
  estimate?: { low: number; high: number };
  updatedAt: string;
}

/** Where a run's ledger lives. */
export function ledgerFile(workspaceRoot: string, run: string): string {
  return join(workspaceRoot, FANOUT_DIR, 'budget', `${run}.json`);
}

/** How many runs' ledgers and estimate markers `.fanout/budget` keeps: the report reads the newest. */
const RUNS_KEPT = 20;

/**
 * Removes the ledgers (`<run>.json`) and estimate markers (`<run>.estimate`) of all but the newest
 * `keep` runs in the workspace's budget folder, never `current`'s. Lock files are left to their locks.
 */
export function pruneOldRuns(workspaceRoot: string, current: string, keep = RUNS_KEPT): void {
  const dir = dirname(ledgerFile(workspaceRoot, current));
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  const runs = new Map<string, { files: string[]; newest: number }>();
  for (const name of names) {
    const run = /^(.+)\.(json|estimate)$/.exec(name)?.[1];
    if (run === undefined || run === current) continue;
    let at: number;
    try {
      at = statSync(join(dir, name)).mtimeMs;
    } catch {
      continue;
    }
    const entry = runs.get(run) ?? { files: [], newest: 0 };
    entry.files.push(join(dir, name));
    entry.newest = Math.max(entry.newest, at);
    runs.set(run, entry);
  }
  const old = [...runs.values()].sort((a, b) => b.newest - a.newest).slice(Math.max(0, keep - 1));
  for (const run of old) for (const file of run.files) rmSync(file, { force: true });
}

/** The ledger in `file`, when it is one; undefined otherwise. */
export function readLedgerFile(file: string): LedgerState | undefined {
  try {
    const state = JSON.parse(readFileSync(file, 'utf-8')) as LedgerState;
    return state.version === 1 && typeof state.spent?.usd === 'number' ? state : undefined;
  } catch {
    return undefined;
  }
}

/** The ledger of the workspace's latest run under a budget (the one written last); undefined when none was. */
export function latestLedger(workspaceRoot: string): LedgerState | undefined {
  const dir = dirname(ledgerFile(workspaceRoot, 'run'));
  if (!existsSync(dir)) return undefined;
  const newest = readdirSync(dir)
    .filter((name) => name.endsWith('.json'))
    .map((name) => ({ file: join(dir, name), at: statSync(join(dir, name)).mtimeMs }))
    .sort((a, b) => b.at - a.at)[0];
  return newest ? readLedgerFile(newest.file) : undefined;
}

function text(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

const TOKEN_UNITS: Record<string, number> = { '': 1, k: 1_000, m: 1_000_000 };

/**
 * A budget as written: a number (USD); text such as `5`, `$5`, `5usd`, `2M tokens`, `500k tokens`,
 * or both, `5usd,2M tokens`; or `{ "usd": 5, "tokens": 2000000 }` (the plugin option).
 * `where` names the setting in the problem ("--budget", "nx.json (fanout plugin options): budget").
 */
export function parseBudget(value: unknown, where: string): Budget | { problem: string } {
  const how =
    `${where} is USD (--budget=5 or "$5"), tokens ("2M tokens"), both ("5usd,2M tokens"), ` +
    `or { "usd": 5, "tokens": 2000000 } in nx.json`;
  const positive = (figure: unknown) => typeof figure === 'number' && Number.isFinite(figure) && figure > 0;
  if (typeof value === 'number') return positive(value) ? { usd: value } : { problem: `${how}, above 0 (got ${text(value)}).` };
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    const fields = value as Record<string, unknown>;
    const unknown = Object.keys(fields).filter((key) => key !== 'usd' && key !== 'tokens');
    if (unknown.length > 0) return { problem: `${how}: "${unknown[0]}" is neither usd nor tokens.` };
    if (fields['usd'] === undefined && fields['tokens'] === undefined) return { problem: `${how} (got {}).` };
    for (const key of ['usd', 'tokens'] as const) {
      if (fields[key] !== undefined && !positive(fields[key])) {
        return { problem: `${how}: "${key}" is a number above 0, without quotes (got ${text(fields[key])}).` };
      }
    }
    return {
      ...(fields['usd'] !== undefined ? { usd: fields['usd'] as number } : {}),
      ...(fields['tokens'] !== undefined ? { tokens: Math.floor(fields['tokens'] as number) } : {}),
    };
  }
  if (typeof value !== 'string' || value.trim() === '') return { problem: `${how} (got ${text(value)}).` };
  const budget: Budget = {};
  for (const part of value.split(',').map((each) => each.trim().toLowerCase())) {
    const usd = /^\$?(\d+(?:\.\d+)?|\.\d+)\s*(?:usd)?$/.exec(part);
    const tokens = /^(\d+(?:\.\d+)?)\s*([km]?)\s*tokens?$/.exec(part);
    if (usd && budget.usd === undefined && Number(usd[1]) > 0) budget.usd = Number(usd[1]);
    else if (tokens && budget.tokens === undefined && Number(tokens[1]) > 0) {
      budget.tokens = Math.floor(Number(tokens[1]) * TOKEN_UNITS[tokens[2]]);
    } else return { problem: `${how} (got ${text(value)}).` };
  }
  return budget;
}

/** "$0.0312 of $0.0300", "2,104,331 of 2,000,000 tokens": what was spent against which limit. */
export function describeSpend(spent: Spend, budget: Budget): string {
  const parts: string[] = [];
  if (budget.usd !== undefined) parts.push(`${formatUsd(spent.usd)} of ${formatUsd(budget.usd)}`);
  if (budget.tokens !== undefined) {
    parts.push(`${spent.tokens.toLocaleString('en-US')} of ${budget.tokens.toLocaleString('en-US')} tokens`);
  }
  return parts.join(' and ');
}

function budgetReached(spent: Spend, budget: Budget): boolean {
  return (budget.usd !== undefined && spent.usd >= budget.usd) || (budget.tokens !== undefined && spent.tokens >= budget.tokens);
}

/** A session refused at its start, the budget being reached. */
export class BudgetReachedError extends Error {
  constructor(
    readonly spent: Spend,
    readonly budget: Budget,
  ) {
    super(
      `budget reached: ${describeSpend(spent, budget)} spent. No further session of this run starts; ` +
        'raise the budget (--budget, or the budget plugin option) and run the task again.',
    );
    this.name = 'BudgetReachedError';
  }
}

/** Every token of a usage report: its input (the cache's included) and its output. */
function tokenCount(tokens: AgentTokens | undefined): number {
  return (tokens?.input ?? 0) + (tokens?.output ?? 0);
}

function emptyProject(): ProjectSpend {
  return { usd: 0, tokens: 0, reserved: 0 };
}

export class BudgetLedger {
  private readonly lock: string;

  constructor(
    readonly file: string,
    readonly budget: Budget,
    readonly run = 'run',
    private readonly lockTimeoutMs = 60_000,
  ) {
    this.lock = `${file}.lock`;
  }

  /** The ledger as it is now, without the lock: for the report, which reads after the run. */
  read(): LedgerState {
    try {
      const state = JSON.parse(readFileSync(this.file, 'utf-8')) as LedgerState;
      if (state.version === 1 && typeof state.spent?.usd === 'number') return state;
    } catch {
      // Not yet written.
    }
    return {
      version: 1,
      run: this.run,
      budget: this.budget,
      spent: { usd: 0, tokens: 0 },
      projects: {},
      updatedAt: new Date().toISOString(),
    };
  }

  /** Reads, changes and writes the ledger under its lock; the write is whole (a rename), so a reader never sees half of it. */
  private async update<T>(change: (state: LedgerState) => T): Promise<T> {
    mkdirSync(dirname(this.file), { recursive: true });
    return withLock(
      this.lock,
      async () => {
        const state = this.read();
        const result = change(state);
        state.budget = this.budget;
        state.updatedAt = new Date().toISOString();
        const draft = `${this.file}.${process.pid}.draft`;
        writeFileSync(draft, `${JSON.stringify(state, null, 2)}\n`);
        renameSync(draft, this.file);
        return result;
      },
      this.lockTimeoutMs,
    );
  }

  /**
   * Adds a session's usage (a negative figure corrects an earlier one, never below 0 for the
   * session). What the session had reserved is used up by what it spends. Returns the run's spend.
   */
  async add(project: string, usage: Partial<Spend>): Promise<Spend> {
    return this.update((state) => {
      const own = (state.projects[project] ??= emptyProject());
      const usd = Math.max(-own.usd, usage.usd ?? 0);
      const tokens = Math.max(-own.tokens, usage.tokens ?? 0);
      own.usd += usd;
      own.tokens += tokens;
      own.reserved = Math.max(0, own.reserved - Math.max(0, usd));
      state.spent.usd += usd;
      state.spent.tokens += tokens;
      return { ...state.spent };
    });
  }

  /** What the run's sessions have spent. */
  async spent(): Promise<Spend> {
    return { ...this.read().spent };
  }

  async reached(): Promise<boolean> {
    return budgetReached(this.read().spent, this.budget);
  }

  /**
   * The check before a session starts: throws BudgetReachedError (and records the session as not
   * started) when the spend, with what running sessions have reserved, has reached the budget;
   * else reserves `reserveUsd` for this session (its estimate's low end), so that sessions
   * starting together do not all count on the same remainder.
   */
  async start(project: string, reserveUsd = 0): Promise<void> {
    const refused = await this.update((state) => {
      const reserved = Object.entries(state.projects)
        .filter(([name]) => name !== project)
        .reduce((total, [, own]) => total + own.reserved, 0);
      const committed = { usd: state.spent.usd + reserved, tokens: state.spent.tokens };
      const own = (state.projects[project] ??= emptyProject());
      if (budgetReached(committed, this.budget)) {
        own.notStarted = true;
        return { ...state.spent };
      }
      delete own.notStarted;
      own.reserved = Math.max(0, reserveUsd);
      return undefined;
    });
    if (refused) throw new BudgetReachedError(refused, this.budget);
  }

  /** Records the run's estimate, for the report. */
  async noteEstimate(low: number, high: number): Promise<void> {
    await this.update((state) => {
      state.estimate = { low, high };
    });
  }

  /** The session ended: what it had reserved and not spent is free again. */
  async settle(project: string): Promise<void> {
    await this.update((state) => {
      const own = state.projects[project];
      if (own) own.reserved = 0;
    });
  }

  /** The session was stopped at the cap. */
  async markStopped(project: string): Promise<void> {
    await this.update((state) => {
      (state.projects[project] ??= emptyProject()).stopped = true;
    });
  }

  /** A guard for one session's agent run, pricing streamed tokens at `price` where the CLI reports no cost. */
  guard(project: string, price?: ModelPrice): BudgetGuard {
    return new BudgetGuard(this, project, price);
  }
}

/** Usage as an agent's stream reports it: tokens, and a cost where the CLI says one. */
export interface UsageDelta {
  tokens?: AgentTokens;
  usd?: number;
}

/**
 * What a session holds while its agent runs: each piece of streamed usage goes to the run's
 * ledger, and the answer says whether the session must stop (the run's spend has reached the
 * budget), for the caller to end the agent's process group. At the end of each round, `settle`
 * puts in what the CLI reported in place of what was streamed (Claude Code's own cost, say).
 */
export class BudgetGuard {
  private streamed: Spend = { usd: 0, tokens: 0 };
  private total: Spend = { usd: 0, tokens: 0 };
  private stopped = false;

  constructor(
    private readonly ledger: BudgetLedger,
    readonly project: string,
    private readonly price?: ModelPrice,
  ) {}

  /** What this round has streamed so far. */
  get streamedSoFar(): Spend {
    return { ...this.streamed };
  }

  private priced(usage: UsageDelta): Spend {
    const usd = usage.usd ?? (usage.tokens && this.price ? costOf(usage.tokens, this.price) : 0);
    return { usd, tokens: tokenCount(usage.tokens) };
  }

  async onUsage(usage: UsageDelta): Promise<'continue' | 'stop'> {
    const delta = this.priced(usage);
    this.streamed.usd += delta.usd;
    this.streamed.tokens += delta.tokens;
    this.total.usd += delta.usd;
    this.total.tokens += delta.tokens;
    const spent = await this.ledger.add(this.project, delta);
    if (budgetReached(spent, this.ledger.budget)) {
      if (!this.stopped) await this.ledger.markStopped(this.project);
      this.stopped = true;
    }
    return this.stopped ? 'stop' : 'continue';
  }

  /**
   * The round ended with this report: the ledger gets the difference between what the CLI
   * reported and what was streamed (for a CLI that streams nothing, the whole report). Returns
   * the run's spend.
   */
  async settle(report: { costUsd?: number; tokens?: AgentTokens }): Promise<Spend> {
    const reported = {
      usd: report.costUsd ?? (report.tokens && this.price ? costOf(report.tokens, this.price) : this.streamed.usd),
      tokens: report.tokens ? tokenCount(report.tokens) : this.streamed.tokens,
    };
    const spent = await this.ledger.add(this.project, {
      usd: reported.usd - this.streamed.usd,
      tokens: reported.tokens - this.streamed.tokens,
    });
    this.total.usd += reported.usd - this.streamed.usd;
    this.total.tokens += reported.tokens - this.streamed.tokens;
    this.streamed = { usd: 0, tokens: 0 };
    return spent;
  }

  /** What this session has spent, every round settled so far and what the current one streamed. */
  get sessionSpend(): Spend {
    return { usd: Math.max(0, this.total.usd), tokens: Math.max(0, this.total.tokens) };
  }

  /** The run's spend and budget, for the session's messages. */
  async runSpend(): Promise<{ spent: Spend; budget: Budget; reached: boolean }> {
    const spent = await this.ledger.spent();
    return { spent, budget: this.ledger.budget, reached: budgetReached(spent, this.ledger.budget) };
  }

  /** Records the session as stopped at the cap (a round that did not start, the budget being reached). */
  async stop(): Promise<void> {
    if (!this.stopped) await this.ledger.markStopped(this.project);
    this.stopped = true;
  }

  /** Whether this session was told to stop. */
  get wasStopped(): boolean {
    return this.stopped;
  }
}

import { CHECKS, type CheckSettings } from '../../core/checks/registry';
import { MAX_REPAIRS } from '../../core/session/assignment';
import { durationMs } from '../../core/system/duration';
import { checkSandboxMode, checkSandboxSetting, type SandboxSetting } from '../../core/sandbox/settings';
import { parseBudget, type Budget } from '../../core/budget/ledger';
import { checkPrices, priceBook, type PriceBook } from '../../core/budget/prices';
import { checkMaxConcurrent } from '../../core/budget/concurrency';
import { AGENTS } from '../../core/agents/registry';
import {
  DEFAULT_LEAD_WAIT_MS,
  DEFAULT_PORT_BASE,
  DEFAULT_PORT_RANGE,
  DEFAULT_STAGGER_MS,
  FANOUT_TARGET,
  type FanoutPluginOptions,
} from '../../constants';
import type { RunExecutorSchema } from './schema';
import { readFileSync } from 'fs';
import { join } from 'path';

/**
 * Every option of a run, checked before any work: the options given to the target
 * (which Nx's own schema check lets through loosely: in a batch, a value it rejects
 * ends the whole process with an unhandled SchemaError instead of a message), and the
 * plugin options in nx.json. Each problem is said with where it was set and what to
 * write instead; all of them at once.
 */

function optionsOf(schemaFile: string): string[] {
  return Object.keys((JSON.parse(readFileSync(schemaFile, 'utf-8')) as { properties: Record<string, unknown> }).properties);
}

const KNOWN_OPTIONS = optionsOf(join(__dirname, 'schema.json'));
/**
 * Nx hands every option of a command to each target it names, and forwards them to the
 * session target: `nx run-many -t fanout fanout-verify --skipAffected` gives the session
 * fanout-verify's option too. Those are not the session's to refuse.
 */
const VERIFY_OPTIONS = optionsOf(join(__dirname, '..', 'verify', 'schema.json'));

export class OptionsError extends Error {
  constructor(problems: readonly string[]) {
    super(
      problems.length === 1 ? problems[0] : `${problems.length} problems with the options:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    this.name = 'OptionsError';
  }
}

function text(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

/** A flag Nx may hand over as a boolean or, written `--fresh=false`, as a string. */
function flag(name: string, value: unknown, problems: string[]): boolean | undefined {
  if (value === undefined || typeof value === 'boolean') return value;
  if (value === 'true' || value === 'false') return value === 'true';
  problems.push(`--${name} is true or false (got ${text(value)}).`);
  return undefined;
}

/** The run's options, typed: unknown names and wrong types refused, numbers Nx parsed from text taken as text where text is meant. */
/** The run budget's environment variable: as --budget, outside Nx's cache key. */
const BUDGET_VARIABLE = 'FANOUT_BUDGET';

export function normalizeRunOptions(options: Record<string, unknown>, target = FANOUT_TARGET): RunExecutorSchema {
  const problems: string[] = [];
  const unknown = Object.keys(options).filter((key) => !KNOWN_OPTIONS.includes(key) && !VERIFY_OPTIONS.includes(key));
  for (const key of unknown) {
    problems.push(
      `--${key} is not an option of ${target} (nor of fanout-verify, which may run with it). Its options: ${KNOWN_OPTIONS.filter(
        (name) => !['pluginVersion', 'agents'].includes(name),
      )
        .map((name) => `--${name}`)
        .join(', ')} (nx run <task>:${target} --help).`,
    );
  }
  const normalized: RunExecutorSchema = {};
  for (const key of ['agent', 'command', 'model', 'pluginVersion'] as const) {
    const value = options[key];
    if (value === undefined) continue;
    if (typeof value === 'string' || typeof value === 'number') normalized[key] = String(value);
    else problems.push(`--${key} is a word of text (got ${text(value)}).`);
  }
  const timeout = options['timeout'];
  if (timeout !== undefined) {
    // Nx parses --timeout=90 as a number; the docs promise seconds.
    if ((typeof timeout === 'number' && timeout > 0) || (typeof timeout === 'string' && durationMs(timeout) !== undefined)) {
      normalized.timeout = String(timeout);
    } else problems.push(`--timeout is seconds, or a duration such as 90s, 30m or 1h (got ${text(timeout)}).`);
  }
  const gate = options['gate'];
  if (gate !== undefined) {
    if (typeof gate === 'string' || (Array.isArray(gate) && gate.every((entry) => typeof entry === 'string'))) normalized.gate = gate;
    else problems.push(`--gate is a list of target names, such as --gate=typecheck,test (got ${text(gate)}).`);
  }
  const repairs = options['repairs'];
  if (repairs !== undefined) {
    const count = typeof repairs === 'string' && /^\d+$/.test(repairs.trim()) ? Number(repairs) : repairs;
    if (typeof count === 'number' && Number.isInteger(count) && count >= 0 && count <= MAX_REPAIRS) normalized.repairs = count;
    else problems.push(`--repairs is a whole number from 0 to ${MAX_REPAIRS} (got ${text(repairs)}).`);
  }
  const sandbox = options['sandbox'];
  if (sandbox !== undefined) {
    const mode = checkSandboxMode(sandbox, '--sandbox');
    if (typeof mode === 'string') normalized.sandbox = mode;
    else problems.push(mode.problem);
  }
  // FANOUT_BUDGET where --budget is not given: the command line is part of Nx's cache key (a session
  // run under one --budget replays only under the same), an environment variable is not.
  const fromEnv = options['budget'] === undefined ? process.env[BUDGET_VARIABLE] : undefined;
  const budget = options['budget'] ?? (fromEnv?.trim() ? fromEnv : undefined);
  if (budget !== undefined) {
    const parsed = parseBudget(budget, options['budget'] === undefined ? BUDGET_VARIABLE : '--budget');
    if ('problem' in parsed) problems.push(parsed.problem);
    else normalized.budget = parsed;
  }
  for (const key of ['fresh', 'quiet'] as const) {
    const value = flag(key, options[key], problems);
    if (value !== undefined) normalized[key] = value;
  }
  const agents = options['agents'];
  if (agents !== undefined) {
    if (typeof agents === 'object' && agents !== null && !Array.isArray(agents)) normalized.agents = agents as RunExecutorSchema['agents'];
    else problems.push(`agents is set by the plugin; do not set it by hand (got ${text(agents)}).`);
  }
  if (problems.length > 0) throw new OptionsError(problems);
  return normalized;
}

const SEVERITIES = ['error', 'warning', 'off'];

/**
 * The plugin options a session reads, checked before any worktree or agent: a check
 * name that does not exist, a severity misspelt, a port given as text, a duration
 * that is none. (The agents' own options are checked by each agent's rules.)
 */
export function checkPluginOptions(plugin: FanoutPluginOptions, where = 'nx.json (fanout plugin options)'): void {
  const problems: string[] = [];
  const checks = plugin.checks as unknown;
  if (checks !== undefined) {
    if (typeof checks !== 'object' || checks === null || Array.isArray(checks)) {
      problems.push(`${where}: "checks" maps check names to error, warning or off (got ${text(checks)}).`);
    } else {
      const known = CHECKS.map((check) => check.name);
      for (const [name, severity] of Object.entries(checks)) {
        if (!known.includes(name)) problems.push(`${where}: "checks" names an unknown check "${name}". Known: ${known.join(', ')}.`);
        if (!SEVERITIES.includes(severity as string)) {
          problems.push(`${where}: "checks.${name}" is error, warning or off (got ${text(severity)}).`);
        }
      }
    }
  }
  for (const key of ['portBase', 'portRange'] as const) {
    const value = plugin[key] as unknown;
    if (value === undefined) continue;
    const lowest = key === 'portBase' ? 1024 : 1;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < lowest || value > 65_535) {
      problems.push(`${where}: "${key}" is a whole number from ${lowest} to 65535, without quotes (got ${text(value)}).`);
    }
  }
  for (const key of ['strictNaming', 'sparseCheckout'] as const) {
    const value = plugin[key] as unknown;
    if (value !== undefined && typeof value !== 'boolean') problems.push(`${where}: "${key}" is true or false (got ${text(value)}).`);
  }
  const copyFiles = plugin.copyFiles as unknown;
  if (copyFiles !== undefined && (!Array.isArray(copyFiles) || copyFiles.some((file) => typeof file !== 'string'))) {
    problems.push(`${where}: "copyFiles" is a list of workspace-relative paths (got ${text(copyFiles)}).`);
  }
  for (const key of ['stagger', 'leadWait'] as const) {
    const value = plugin[key] as unknown;
    if (value !== undefined && pluginDurationMs(value) === undefined) {
      problems.push(`${where}: "${key}" must be 0 or a duration such as "2s" or "500ms" (got ${text(value)}).`);
    }
  }
  if (plugin.sandbox !== undefined) {
    const sandbox = checkSandboxSetting(plugin.sandbox, `${where}: "sandbox"`);
    if ('problems' in sandbox) problems.push(...sandbox.problems);
  }
  if (plugin.budget !== undefined) {
    const budget = parseBudget(plugin.budget, `${where}: "budget"`);
    if ('problem' in budget) problems.push(budget.problem);
  }
  problems.push(...checkPrices(plugin.prices, where).problems);
  problems.push(...checkMaxConcurrent(plugin.maxConcurrent, [...AGENTS.keys()], where).problems);
  if (problems.length > 0) throw new OptionsError(problems);
}

/** A plugin option's duration in milliseconds: 0 however zero is written ("0s"), undefined when it is no duration. */
function pluginDurationMs(value: unknown): number | undefined {
  if (value === 0 || (typeof value === 'string' && /^\s*0+(\.0*)?\s*(ms|s|m|h)?\s*$/.test(value))) return 0;
  return typeof value === 'string' || typeof value === 'number' ? durationMs(value) : undefined;
}

/** The plugin options every session of a run shares, checked (checkPluginOptions) and with their defaults settled. */
export interface RunSettings {
  /** The first port of the run's first session; session n's ports start n × portRange above it. */
  portBase: number;
  portRange: number;
  /** Session n starts its agent n × staggerMs after it began. */
  staggerMs: number;
  leadWaitMs: number;
  copyFiles: readonly string[];
  sparseCheckout: boolean;
  checks: CheckSettings;
  /** The plugin option sandbox, checked: fanout.md's and --sandbox weigh over it per session. */
  sandbox?: SandboxSetting;
  /** The plugin option budget, parsed; --budget wins over it (RunPlan.budget). */
  budget?: Budget;
  /** The price table with the plugin option prices over its rows. */
  prices: PriceBook;
  /** Sessions of each agent at once on this machine; an agent not named is not limited. */
  maxConcurrent: Readonly<Record<string, number>>;
}

export function runSettings(plugin: FanoutPluginOptions): RunSettings {
  checkPluginOptions(plugin);
  return {
    portBase: plugin.portBase ?? DEFAULT_PORT_BASE,
    portRange: plugin.portRange ?? DEFAULT_PORT_RANGE,
    staggerMs: plugin.stagger === undefined ? DEFAULT_STAGGER_MS : (pluginDurationMs(plugin.stagger) as number),
    leadWaitMs: plugin.leadWait === undefined ? DEFAULT_LEAD_WAIT_MS : (pluginDurationMs(plugin.leadWait) as number),
    copyFiles: plugin.copyFiles ?? [],
    sparseCheckout: plugin.sparseCheckout !== false,
    checks: { checks: plugin.checks, strictNaming: plugin.strictNaming },
    ...(plugin.sandbox !== undefined ? { sandbox: checkSandboxSetting(plugin.sandbox, 'sandbox') as SandboxSetting } : {}),
    ...(plugin.budget !== undefined ? { budget: parseBudget(plugin.budget, 'budget') as Budget } : {}),
    prices: priceBook(checkPrices(plugin.prices).prices),
    maxConcurrent: checkMaxConcurrent(plugin.maxConcurrent, [...AGENTS.keys()]).maxConcurrent,
  };
}

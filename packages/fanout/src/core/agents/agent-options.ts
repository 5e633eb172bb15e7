import { durationMs } from '../system/duration';
import { createRedactor } from '../system/redact';

/**
 * One agent's options, from the plugin options in nx.json (`agents.<name>`).
 * Every CLI agent takes the common ones below; an adapter declares its own
 * further options (claude: permissionMode, allowedTools, maxTurns) with rules.
 */
export interface AgentOptions {
  /** The model, passed with the CLI's model flag; `--model` overrides it for a run. */
  model?: string;
  /** Further arguments for the CLI, placed before the prompt. */
  args?: string[];
  /** Environment variables for the agent, over the user's own environment. */
  env?: Record<string, string>;
  /** Retries after a rate-limit or overload failure. Default 3. */
  retries?: number;
  /** Base delay of the exponential backoff between retries (seconds, or "500ms", "15s", "1m"). Default 15s. */
  retryDelay?: string | number;
  /** The adapter's own options. */
  [option: string]: unknown;
}

/** What one option takes, and how to say so when it is wrong. */
export type OptionRule =
  | { type: 'string' | 'strings' | 'env' | 'count' | 'positive-integer' | 'duration' | 'boolean'; expects: string }
  | { type: 'choice'; choices: readonly string[]; expects: string };

/** The options every CLI agent takes. */
export const CLI_AGENT_OPTIONS: Readonly<Record<string, OptionRule>> = {
  model: { type: 'string', expects: 'the model name, e.g. "sonnet"' },
  args: { type: 'strings', expects: 'further CLI arguments, a list of strings' },
  env: { type: 'env', expects: 'environment variables, an object of NAME: "value"' },
  retries: { type: 'count', expects: 'retries after a rate-limit or overload failure, a whole number (0 for none)' },
  retryDelay: { type: 'duration', expects: 'the base backoff delay, seconds or a duration such as "500ms" or "15s"' },
};

/**
 * Options that only change how fanout drives an agent, not what a session
 * produces: they stay out of the task hash, like env values (only env names enter it).
 */
const RUNTIME_OPTIONS = ['env', 'retries', 'retryDelay'] as const;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Whether a value has the shape of a known API key (sk-ant-..., sk-..., AIza...). */
function looksLikeKey(value: string): boolean {
  return createRedactor({})(value) !== value;
}

function problemWith(name: string, rule: OptionRule, value: unknown): string | undefined {
  const got = `(got ${JSON.stringify(value)})`;
  const keyProblem = `"${name}" holds what looks like an API key: keys travel only in the environment, never in arguments; set it in your shell's environment.`;
  switch (rule.type) {
    case 'string':
      if (typeof value !== 'string' || value.trim() === '') return `"${name}" must be a non-empty string ${got}: ${rule.expects}.`;
      return looksLikeKey(value) ? keyProblem : undefined;
    case 'strings':
      if (!Array.isArray(value) || value.some((entry) => typeof entry !== 'string')) {
        return `"${name}" must be a list of strings ${got}: ${rule.expects}.`;
      }
      return value.some((entry: string) => looksLikeKey(entry)) ? keyProblem : undefined;
    case 'env':
      if (!isRecord(value) || Object.values(value).some((entry) => typeof entry !== 'string')) {
        return `"${name}" must be an object of NAME: "value" strings: ${rule.expects}.`;
      }
      return Object.keys(value).find((key) => !/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) === undefined
        ? undefined
        : `"${name}" has a name that is not an environment variable name: ${Object.keys(value).join(', ')}.`;
    case 'count':
      return Number.isInteger(value) && (value as number) >= 0
        ? undefined
        : `"${name}" must be a whole number, 0 or more ${got}: ${rule.expects}.`;
    case 'positive-integer':
      return Number.isInteger(value) && (value as number) > 0
        ? undefined
        : `"${name}" must be a whole number above 0 ${got}: ${rule.expects}.`;
    case 'boolean':
      return typeof value === 'boolean' ? undefined : `"${name}" must be true or false ${got}: ${rule.expects}.`;
    case 'duration':
      return durationMs(value) === undefined ? `"${name}" must be a positive duration ${got}: ${rule.expects}.` : undefined;
    case 'choice':
      return typeof value === 'string' && rule.choices.includes(value)
        ? undefined
        : `"${name}" must be one of ${rule.choices.join(', ')} ${got}: ${rule.expects}.`;
  }
}

/**
 * Checks an agent's options against the rules it declares and returns them;
 * throws with every problem at once, saying where the options come from.
 */
export function checkAgentOptions(
  agent: string,
  rules: Readonly<Record<string, OptionRule>> | undefined,
  options: unknown,
  where: string,
): AgentOptions {
  if (options === undefined || options === null) return {};
  if (!isRecord(options)) {
    throw new Error(`${where}: the options of agent "${agent}" must be an object of option: value (got ${JSON.stringify(options)}).`);
  }
  const given = Object.entries(options).filter(([, value]) => value !== undefined);
  if (!rules) {
    if (given.length === 0) return {};
    throw new Error(`${where}: agent "${agent}" takes no options (got ${given.map(([name]) => name).join(', ')}); remove them.`);
  }
  const problems: string[] = [];
  const unknown = given.map(([name]) => name).filter((name) => !(name in rules));
  if (unknown.length > 0) {
    problems.push(`unknown option(s) ${unknown.join(', ')}. Agent "${agent}" takes: ${Object.keys(rules).join(', ')}.`);
  }
  for (const [name, value] of given) {
    const rule = rules[name];
    const problem = rule && problemWith(name, rule, value);
    if (problem) problems.push(problem);
  }
  if (problems.length === 1) throw new Error(`${where}: agent "${agent}": ${problems[0]}`);
  if (problems.length > 1)
    throw new Error(
      `${where}: agent "${agent}" has ${problems.length} problems:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`,
    );
  return Object.fromEntries(given) as AgentOptions;
}

/**
 * The part of every configured agent's options that decides what a session
 * produces (model, args, permissions, ...), with env reduced to its variable
 * names: it goes into the inferred target's options, which Nx hashes. Never
 * throws; options it cannot read are left for the run to report.
 */
export function hashedAgentOptions(agents: unknown): Record<string, Record<string, unknown>> {
  if (!isRecord(agents)) return {};
  const hashed: Record<string, Record<string, unknown>> = {};
  for (const [name, options] of Object.entries(agents).sort(([a], [b]) => a.localeCompare(b))) {
    if (!isRecord(options)) continue;
    const kept = Object.fromEntries(Object.entries(options).filter(([option]) => !(RUNTIME_OPTIONS as readonly string[]).includes(option)));
    if (isRecord(options['env'])) kept['env'] = Object.keys(options['env']).sort();
    hashed[name] = kept;
  }
  return hashed;
}

/**
 * An agent's options for a run: what the task hash holds (the target's options)
 * with the runtime-only options and the env values from the plugin options.
 * Without hashed options (a target written by hand) the plugin options stand as they are.
 */
export function agentOptionsForRun(hashed: unknown, configured: unknown): unknown {
  if (!isRecord(hashed)) return configured;
  const runtime = isRecord(configured) ? configured : {};
  const options: Record<string, unknown> = { ...hashed };
  delete options['env'];
  for (const name of RUNTIME_OPTIONS) if (runtime[name] !== undefined) options[name] = runtime[name];
  return options;
}

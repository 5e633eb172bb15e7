import { describeUnavailable, type SandboxAvailability } from './availability';

/** `auto` turns the sandbox on where it can run; `on` refuses to start without it; `off` runs agents unconfined. */
export const SANDBOX_MODES = ['auto', 'on', 'off'] as const;
export type SandboxMode = (typeof SANDBOX_MODES)[number];
const DEFAULT_SANDBOX_MODE: SandboxMode = 'auto';

/**
 * The sandbox as the plugin options and fanout.md write it: a mode alone (`sandbox: on`), or the
 * mode with what the policy adds (`sandbox: { mode: auto, allowedDomains: [registry.npmjs.org] }`).
 */
export interface SandboxSetting {
  mode?: SandboxMode;
  /** More paths the agent may not read: absolute, or under `~/`. */
  denyRead?: string[];
  /** More hosts the agent may reach: `host`, `*.host`, `host:port`. */
  allowedDomains?: string[];
  /** More variables the agent keeps: names, or prefixes ending in `*`. */
  env?: string[];
}

/** The sandbox a session runs with, every source weighed: the mode, and the policy's additions. */
export interface SessionSandboxSetting {
  mode: SandboxMode;
  denyRead: string[];
  allowedDomains: string[];
  env: string[];
}

const LIST_KEYS = ['denyRead', 'allowedDomains', 'env'] as const;
const LIST_EXAMPLES: Record<(typeof LIST_KEYS)[number], string> = {
  denyRead: '["~/.vault-token", "/etc/secrets"]',
  allowedDomains: '["registry.npmjs.org", "*.example.com"]',
  env: '["MY_TOOL_HOME", "MY_TOOL_*"]',
};

function text(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

/** A mode, or why the value is none. */
export function checkSandboxMode(value: unknown, where: string): SandboxMode | { problem: string } {
  if (typeof value === 'string' && (SANDBOX_MODES as readonly string[]).includes(value.trim())) return value.trim() as SandboxMode;
  // YAML reads a bare on/off as a word, but `true`/`false` as booleans.
  if (value === true) return 'on';
  if (value === false) return 'off';
  return { problem: `${where} is one of ${SANDBOX_MODES.join(', ')} (got ${text(value)}).` };
}

/**
 * A sandbox setting as written (a mode, or an object with mode, denyRead, allowedDomains and env),
 * checked: the setting, or every problem with it, each naming `where`.
 */
export function checkSandboxSetting(value: unknown, where: string): SandboxSetting | { problems: string[] } {
  if (typeof value !== 'object' || value === null) {
    const mode = checkSandboxMode(value, where);
    return typeof mode === 'string' ? { mode } : { problems: [mode.problem] };
  }
  if (Array.isArray(value)) {
    return {
      problems: [`${where} is a mode (${SANDBOX_MODES.join(', ')}) or an object { mode, denyRead, allowedDomains, env } (got a list).`],
    };
  }
  const record = value as Record<string, unknown>;
  const problems: string[] = [];
  const setting: SandboxSetting = {};
  const unknown = Object.keys(record).filter((key) => key !== 'mode' && !(LIST_KEYS as readonly string[]).includes(key));
  if (unknown.length > 0) {
    problems.push(`${where} has unknown key(s) ${unknown.join(', ')}. Known: mode, ${LIST_KEYS.join(', ')}.`);
  }
  if (record['mode'] !== undefined && record['mode'] !== null) {
    const mode = checkSandboxMode(record['mode'], `${where}.mode`);
    if (typeof mode === 'string') setting.mode = mode;
    else problems.push(mode.problem);
  }
  for (const key of LIST_KEYS) {
    const list = record[key];
    if (list === undefined || list === null) continue;
    if (!Array.isArray(list) || list.some((entry) => typeof entry !== 'string' || entry.trim() === '')) {
      problems.push(`${where}.${key} is a list of non-empty strings, e.g. ${LIST_EXAMPLES[key]} (got ${text(list)}).`);
      continue;
    }
    setting[key] = list.map((entry: string) => entry.trim());
  }
  return problems.length > 0 ? { problems } : setting;
}

/**
 * The session's sandbox: the mode from --sandbox, else fanout.md, else the plugin options, else auto;
 * each list from fanout.md when it sets one, else the plugin options'.
 */
export function sessionSandboxSetting(sources: {
  run?: SandboxMode;
  assignment?: SandboxSetting;
  plugin?: SandboxSetting;
}): SessionSandboxSetting {
  const { run, assignment, plugin } = sources;
  const list = (key: (typeof LIST_KEYS)[number]) => assignment?.[key] ?? plugin?.[key] ?? [];
  return {
    mode: run ?? assignment?.mode ?? plugin?.mode ?? DEFAULT_SANDBOX_MODE,
    denyRead: list('denyRead'),
    allowedDomains: list('allowedDomains'),
    env: list('env'),
  };
}

/** Whether the session runs sandboxed, and the warning `auto` gives where the sandbox cannot run. Throws for `on` without it. */
export function sandboxDecision(mode: SandboxMode, availability: () => SandboxAvailability): { on: boolean; warning?: string } {
  if (mode === 'off') return { on: false };
  const here = availability();
  if (here.available) return { on: true };
  if (mode === 'on') {
    throw new Error(
      `sandbox "on": ${describeUnavailable(here)} Or run without it: sandbox: auto (sandboxed where it can run) or off, ` +
        `in the plugin options, fanout.md or --sandbox.`,
    );
  }
  return {
    on: false,
    warning: `${describeUnavailable(here)} Agents run unsandboxed (sandbox: auto); set sandbox: on to refuse instead, or off to silence this.`,
  };
}

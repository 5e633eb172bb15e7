/**
 * The variables a sandboxed agent keeps: who and where it is, how to print, where temp files go, how to
 * reach the network through a proxy, and fanout's own. Everything else (GITHUB_TOKEN, AWS_*, NPM_TOKEN, ...)
 * stays out unless the caller names it.
 */
const KEPT = new Set([
  'PATH',
  'HOME',
  'USER',
  'LOGNAME',
  'SHELL',
  'TMPDIR',
  'TZ',
  'LANG',
  'LANGUAGE',
  'TERM',
  'COLORTERM',
  'TERM_PROGRAM',
  'NO_COLOR',
  'FORCE_COLOR',
  'COLUMNS',
  'LINES',
  'HTTP_PROXY',
  'HTTPS_PROXY',
  'NO_PROXY',
  'ALL_PROXY',
  'http_proxy',
  'https_proxy',
  'no_proxy',
  'all_proxy',
]);

const KEPT_PREFIXES = ['LC_', 'FANOUT_'];

const VARIABLE_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*\*?$/;

export interface SandboxEnvOptions {
  /** The agent's own key and base URL variables, such as ANTHROPIC_API_KEY and ANTHROPIC_BASE_URL. */
  agentVariables?: string[];
  /** More variables to keep: names, or prefixes ending in `*` (`MY_TOOL_*`). */
  allow?: string[];
}

export function sandboxEnv(parent: NodeJS.ProcessEnv, options: SandboxEnvOptions = {}): NodeJS.ProcessEnv {
  const names = new Set(KEPT);
  const prefixes = [...KEPT_PREFIXES];
  for (const [where, entries] of [
    ['agentVariables', options.agentVariables ?? []],
    ['env', options.allow ?? []],
  ] as const) {
    for (const entry of entries) {
      if (!VARIABLE_PATTERN.test(entry)) {
        throw new Error(
          `Sandbox environment: ${where} entry ${JSON.stringify(entry)} is not a variable name. ` +
            `Use letters, digits and underscores, with a trailing * for a prefix (MY_TOOL_*).`,
        );
      }
      if (entry.endsWith('*')) prefixes.push(entry.slice(0, -1));
      else names.add(entry);
    }
  }
  const kept: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(parent)) {
    if (value === undefined) continue;
    if (names.has(name) || prefixes.some((prefix) => name.startsWith(prefix))) kept[name] = value;
  }
  return kept;
}

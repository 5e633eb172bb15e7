import { mkdirSync } from 'fs';
import { resolve } from 'path';
import type { AgentSession } from './agent';
import type { AgentOptions } from './agent-options';
import { join } from 'path';
import { PROVIDER_ENDPOINTS } from '../sandbox/policy';
import { copyIfPresent, homeOf, type AgentSandboxNeeds } from '../sandbox/session-sandbox';
import { createCliAgent, finalJson, type CliAgentSpec, type CliOutput, type CliResult, type PromptPlacement } from './cli-agent';

/**
 * `agent: gemini`: Gemini CLI in headless mode, reporting one JSON document at
 * the end (`--output-format json`). Every flag below is checked against the
 * CLI's own parser in gemini.spec.ts (@google/gemini-cli 0.61.0).
 */

/** The approval modes the CLI accepts (`gemini --help`). */
export const GEMINI_APPROVAL_MODES = ['default', 'auto_edit', 'yolo', 'plan'] as const;

/**
 * auto_edit is the narrowest mode that lets a headless session edit files: its
 * write_file and replace tools run without asking, inside the workspace only, while
 * shell commands stay denied. `default` would deny every edit (nobody answers a
 * prompt in headless mode); `yolo` would also run any shell command.
 */
const GEMINI_DEFAULT_APPROVAL_MODE = 'auto_edit';

/**
 * Inside fanout's sandbox: yolo, so that the session may run the project's targets (and any other
 * command) to check its work, every command confined to the worktree and the provider's API.
 */
const GEMINI_SANDBOXED_APPROVAL_MODE = 'yolo';

/**
 * Gemini CLI keeps its settings, login and chats (which --resume reads) in ~/.gemini; inside fanout's
 * sandbox its home is a folder of the session's own (GEMINI_CLI_HOME), with the user's settings and
 * login copied in, so that the user's ~/.gemini stays unwritable.
 */
const GEMINI_SANDBOX: AgentSandboxNeeds = {
  providers: [PROVIDER_ENDPOINTS.gemini],
  variables: ['GEMINI_*', 'GOOGLE_API_KEY', 'GOOGLE_GEMINI_BASE_URL', 'GOOGLE_GENAI_*', 'GOOGLE_CLOUD_PROJECT', 'GOOGLE_CLOUD_LOCATION'],
  nx: true,
  state(folder, env) {
    const home = join(folder, 'gemini');
    mkdirSync(join(home, '.gemini'), { recursive: true });
    const own = join(env['GEMINI_CLI_HOME'] || homeOf(env), '.gemini');
    for (const file of ['settings.json', 'oauth_creds.json', 'google_accounts.json', 'installation_id']) {
      copyIfPresent(join(own, file), join(home, '.gemini', file));
    }
    return { GEMINI_CLI_HOME: home };
  },
};

/** The body of a JSON string: anything but a quote or a backslash, or an escape. */
const JSON_STRING = String.raw`(?:[^"\\]|\\.)*`;

/**
 * The error document Gemini CLI prints when a request to the model failed for
 * good (after its own retries, up to 10): `"code"` is the API's HTTP status, 429
 * for a rate limit or quota, 503 for an overloaded model. Left out on purpose:
 * the daily quota and a quota of 0 (the CLI's own "terminal" quota errors), which
 * no retry within minutes cures. The exit status (429 and 503 modulo 256: 173,
 * 247) is not used, since the daily quota exits with 173 too.
 */
const GEMINI_TRANSIENT = [
  new RegExp(
    String.raw`"error":\s*\{\s*"type":\s*"${JSON_STRING}",\s*` +
      String.raw`"message":\s*"(?!${JSON_STRING}(?:daily quota|limit: 0(?![\d.])))${JSON_STRING}",\s*` +
      String.raw`"code":\s*(?:429|503)\b`,
  ),
];

/**
 * Warnings with which Gemini CLI ends a run early but still exits 0: the session
 * did not finish its work.
 */
const GEMINI_STOPPED = /^(?:Loop detected|Maximum session turns exceeded|Agent execution stopped)/;

function geminiArgs(options: AgentOptions, prompt: PromptPlacement, session: AgentSession): string[] {
  const policies = (options['policies'] as string[] | undefined) ?? [];
  return [
    '--output-format',
    'json',
    '--approval-mode',
    (options['approvalMode'] as string | undefined) ?? (session.sandbox ? GEMINI_SANDBOXED_APPROVAL_MODE : GEMINI_DEFAULT_APPROVAL_MODE),
    // The worktree is a new folder for every session. Headless Gemini CLI refuses an
    // untrusted folder (exit 55), and would force the approval mode back to "default" in one.
    '--skip-trust',
    // One --policy per file: the CLI would also split a single value on commas.
    ...policies.flatMap((file) => ['--policy', resolve(session.workspaceRoot, file)]),
    ...(options.model ? ['--model', options.model] : []),
    ...(options.args ?? []),
    // "--prompt=<text>" rather than "-p <text>": the CLI's parser takes a value starting with "-" for an option.
    ...(prompt.via === 'argument' ? [`--prompt=${prompt.text}`] : []),
  ];
}

/** `--resume <session id>`: the CLI looks the session up among those it keeps for this folder, the worktree. */
function geminiResumeArgs(options: AgentOptions, prompt: PromptPlacement, session: AgentSession, sessionId: string): string[] {
  const args = geminiArgs(options, prompt, session);
  const at = prompt.via === 'argument' ? args.length - 1 : args.length;
  return [...args.slice(0, at), '--resume', sessionId, ...args.slice(at)];
}

function numberOr(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function sum(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined && b === undefined ? undefined : (a ?? 0) + (b ?? 0);
}

function isReport(json: Record<string, unknown> | undefined): json is Record<string, unknown> {
  return json !== undefined && ['response', 'stats', 'error'].some((key) => key in json);
}

/**
 * The last report Gemini CLI printed in `text`. It prints it indented over many
 * lines (`{` and `}` alone on a line), after whatever debug output came first on
 * the same stream, so no single line of it is JSON.
 */
function lastReport(text: string): Record<string, unknown> | undefined {
  const lines = text.split('\n').map((line) => line.trimEnd());
  for (let start = lines.length - 1; start >= 0; start--) {
    if (lines[start] !== '{') continue;
    const end = lines.indexOf('}', start + 1);
    if (end === -1) continue;
    const json = finalJson(lines.slice(start, end + 1).join('\n'));
    if (isReport(json)) return json;
  }
  // The same document on one line, should it ever come unindented.
  const compact = finalJson(text);
  return isReport(compact) ? compact : undefined;
}

/**
 * Tokens over every model the session used (the main model, and the small ones
 * Gemini CLI routes and checks with). Input counts every prompt token the models
 * read, cached or not, and tool-use prompts; output counts the answers and the
 * thinking, which the API bills as output.
 */
function tokensOf(stats: unknown): CliResult['tokens'] {
  let input: number | undefined;
  let output: number | undefined;
  for (const model of Object.values(record(record(stats)['models']))) {
    const tokens = record(record(model)['tokens']);
    input = sum(input, sum(numberOr(tokens['prompt']), numberOr(tokens['tool'])));
    output = sum(output, sum(numberOr(tokens['candidates']), numberOr(tokens['thoughts'])));
  }
  return input === undefined && output === undefined ? undefined : { input, output };
}

/**
 * Reads the JSON document of `--output-format json`: `response`, `stats` and
 * `session_id` on stdout when the run ends; `{ session_id, error }` instead when
 * it fails, on stdout or stderr depending on where it failed. Gemini CLI reports
 * no cost.
 */
export function parseGeminiOutput(output: CliOutput): CliResult {
  const json = lastReport(output.stdout) ?? lastReport(output.stderr);
  if (!json) {
    return output.exitCode === 0
      ? { ok: false, error: 'gemini printed no JSON report on stdout (--output-format json); see the session log.' }
      : {};
  }
  const report: CliResult = {
    tokens: tokensOf(json['stats']),
    sessionId: typeof json['session_id'] === 'string' ? json['session_id'] : undefined,
  };
  if (json['error'] !== undefined) {
    const error = record(json['error']);
    const type = typeof error['type'] === 'string' && error['type'] !== 'Error' ? error['type'] : undefined;
    const code = typeof error['code'] === 'number' || typeof error['code'] === 'string' ? `code ${error['code']}` : undefined;
    const qualifiers = [type, code].filter((part) => part !== undefined);
    const why = typeof error['message'] === 'string' ? error['message'] : 'no reason given';
    return {
      ...report,
      ok: false,
      error: `Gemini CLI reported an error${qualifiers.length > 0 ? ` (${qualifiers.join(', ')})` : ''}: ${why}`,
    };
  }
  const warnings = (Array.isArray(json['warnings']) ? json['warnings'] : []).filter(
    (warning): warning is string => typeof warning === 'string',
  );
  const stopped = warnings.find((warning) => GEMINI_STOPPED.test(warning));
  if (stopped) return { ...report, ok: false, error: `Gemini CLI stopped before it was done: ${stopped}` };
  const response = typeof json['response'] === 'string' && json['response'].trim() !== '' ? json['response'] : undefined;
  const summary = [response, ...warnings.map((warning) => `Gemini CLI warned: ${warning}`)]
    .filter((part) => part !== undefined)
    .join('\n\n');
  return { ...report, ok: true, summary: summary === '' ? undefined : summary };
}

export const geminiCli: CliAgentSpec = {
  name: 'gemini',
  title: 'Gemini CLI',
  description: 'Gemini CLI (gemini --prompt): edits the worktree in the auto_edit approval mode, with shell commands denied.',
  program: 'gemini',
  install: 'npm install -g @google/gemini-cli',
  // Gemini CLI takes the prompt as an argument or on stdin, not from a file.
  promptVia: 'argument',
  options: {
    approvalMode: {
      type: 'choice',
      choices: GEMINI_APPROVAL_MODES,
      expects: `Gemini CLI's approval mode (default ${GEMINI_DEFAULT_APPROVAL_MODE})`,
    },
    policies: {
      type: 'strings',
      expects: 'policy files or directories for its policy engine (--policy), relative to the workspace root, none holding a comma',
    },
  },
  args: geminiArgs,
  resume: geminiResumeArgs,
  parse: parseGeminiOutput,
  transient: { patterns: GEMINI_TRANSIENT },
  sandbox: GEMINI_SANDBOX,
};

export const geminiAgent = createCliAgent(geminiCli);

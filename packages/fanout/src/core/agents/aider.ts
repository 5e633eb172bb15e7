import { dirname, join } from 'path';
import type { AgentAdapter, AgentSession } from './agent';
import type { AgentOptions } from './agent-options';
import { PROVIDER_ENDPOINTS } from '../sandbox/policy';
import type { AgentSandboxNeeds } from '../sandbox/session-sandbox';
import { createCliAgent, type CliAgentSpec, type CliOutput, type CliResult, type PromptPlacement } from './cli-agent';

/**
 * `agent: aider`: Aider answering one message read from a file (`aider
 * --message-file`) and exiting. Aider prints no JSON: what it did is read from
 * the lines it prints for people. It is a Python tool that cannot be installed
 * where fanout's tests run, so aider.spec.ts checks every flag below against
 * aider's documented options (aider/args.py) instead of its --help.
 */

/**
 * How much of git aider may use in the worktree. `no-commits`: it sees the
 * repository (the tracked files, which it adds to the chat when the model names
 * them) but never commits and never edits .gitignore. `off` (--no-git): it sees
 * no repository at all, only the prompt and the files the model writes.
 */
const AIDER_GIT_MODES = ['no-commits', 'off'] as const;
const AIDER_DEFAULT_GIT = 'no-commits';

/** aider's transcripts, kept next to session.log: at the repository root they would be changes outside the scope. */
export const AIDER_CHAT_HISTORY = 'aider.chat.history.md';
export const AIDER_INPUT_HISTORY = 'aider.input.history';

/**
 * What aider picks a model from when it is given none: AIDER_MODEL, or a provider
 * key it has a default model for. With none of them it offers an OpenRouter
 * login in a browser, which --yes-always accepts, and waits minutes for it.
 */
export const AIDER_MODEL_SOURCES: readonly string[] = [
  'AIDER_MODEL',
  'ANTHROPIC_API_KEY',
  'OPENAI_API_KEY',
  'GEMINI_API_KEY',
  'DEEPSEEK_API_KEY',
  'OPENROUTER_API_KEY',
  'VERTEXAI_PROJECT',
];

/** Not followed by aider's "Retrying in 0.5 seconds..." (older releases: "Retry in 0.5 seconds."): it gave up on this one. */
const GAVE_UP = String.raw`(?![\s\S]*^Retry(?:ing)? in \d)`;

/**
 * How aider reports that it gave up on a rate limit or an overloaded provider,
 * after its own retries (about a minute): its words for litellm's RateLimitError,
 * InternalServerError and ServiceUnavailableError (aider/exceptions.py), or the
 * exception itself. Only the last one counts: one it retried past is not the
 * failure. Anchored to line starts, so a reply that mentions them does not count.
 */
const AIDER_TRANSIENT = [
  new RegExp(
    String.raw`^(?:The API provider has rate limited you\b|The API provider's servers are down or overloaded\b|OpenRouter or the upstream API provider is down, overloaded\b)` +
      GAVE_UP,
    'm',
  ),
  new RegExp(
    String.raw`^(?:Unexpected error: )?litellm\.(?:RateLimitError|RouterRateLimitError|ServiceUnavailableError|InternalServerError)\b` +
      GAVE_UP,
    'm',
  ),
];

/**
 * Inside fanout's sandbox: the provider is not known before the model is, so the hosts of the
 * Anthropic, OpenAI and Gemini base URLs are reachable; aider's variables and the provider keys it
 * picks a model from are kept.
 */
const AIDER_SANDBOX: AgentSandboxNeeds = {
  providers: [PROVIDER_ENDPOINTS.anthropic, PROVIDER_ENDPOINTS.openai, PROVIDER_ENDPOINTS.gemini],
  variables: ['AIDER_*', 'ANTHROPIC_*', 'OPENAI_*', 'GEMINI_*', 'DEEPSEEK_API_KEY', 'OPENROUTER_API_KEY', 'VERTEXAI_*'],
  nx: true,
};

function aiderArgs(options: AgentOptions, prompt: PromptPlacement, session: AgentSession): string[] {
  if (prompt.via !== 'file') throw new Error('aider reads its prompt from a file (--message-file); its spec must say promptVia: "file".');
  // Sandboxed, the session folder (in the user's checkout) is not writable: the transcripts go in the private folder.
  const sessionDir = session.sandbox ? session.sandbox.privateTemp : dirname(session.logFile);
  return [
    '--message-file',
    prompt.file,
    // Yes to creating and editing files and to adding the files the model names; a
    // shell command needs an explicit yes, which this never gives. Without it, aider
    // (its stdin closed) would take every question's default answer: yes, commands included.
    '--yes-always',
    // Given always, since an .aider.conf.yml or AIDER_* variable could turn them on, and the command line wins.
    '--no-auto-commits',
    '--no-dirty-commits',
    '--no-gitignore',
    ...((options['git'] as string | undefined) === 'off' ? ['--no-git'] : []),
    // The repo map caches its tags in .aider.tags.cache.v4/ at the repository root, the worktree.
    '--map-tokens',
    '0',
    '--chat-history-file',
    join(sessionDir, AIDER_CHAT_HISTORY),
    '--input-history-file',
    join(sessionDir, AIDER_INPUT_HISTORY),
    // Plain text and whole replies: what parseAiderOutput reads.
    '--no-pretty',
    '--no-stream',
    // Questions --yes-always would otherwise answer yes: upgrade aider with pip, open the release notes
    // or the model warnings' docs in a browser, opt in to analytics, fetch the URLs the prompt holds.
    '--no-check-update',
    '--no-show-release-notes',
    '--no-show-model-warnings',
    '--no-analytics',
    '--no-detect-urls',
    // It never runs them (see --yes-always): suggesting them only spends tokens.
    '--no-suggest-shell-commands',
    // Sandboxed, it checks its work with the project's own targets after its edits, and fixes what fails.
    ...(session.sandbox
      ? ['--test-cmd', `npx nx run-many -t typecheck,test,lint -p ${session.project} --outputStyle=static`, '--auto-test']
      : []),
    ...(options.model ? ['--model', options.model] : []),
    // Last, so that they can override any of the above (argparse keeps the last value).
    ...(options.args ?? []),
  ];
}

/**
 * A token count as aider prints it: "672", "1,234" (older releases), "4.2k", "12k",
 * and "1.5M" for good measure. Rounded as aider rounded it.
 */
function tokenCount(digits: string, suffix: string): number {
  const value = Number(digits.replace(/,/g, ''));
  const scale = suffix === 'k' || suffix === 'K' ? 1_000 : suffix === 'm' || suffix === 'M' ? 1_000_000 : 1;
  return Math.round(value * scale);
}

const COUNT = String.raw`(\d[\d,]*(?:\.\d+)?)([kKmM]?)`;
/**
 * "Tokens: 4.2k sent, 1.1k cache write, 2.9k cache hit, 310 received." once per
 * reply. Whitespace may be a line break: aider's console wraps at the terminal's
 * width, 80 columns when stdout is not a terminal.
 */
const TOKENS_REPORT = new RegExp(
  String.raw`^Tokens:\s+${COUNT}\s+sent,(?:\s+\d[\d,]*(?:\.\d+)?[kKmM]?\s+cache\s+(?:write|hit),)*\s+${COUNT}\s+received\.`,
  'gm',
);
/** "Cost: $0.02 message, $0.05 session." after a tokens report ("request" in older releases); the session figure adds up every reply. */
const COST_REPORT = /(?:^|received\.)\s*Cost:\s+\$(\d[\d,]*(?:\.\d+)?)\s+(?:message|request),\s+\$(\d[\d,]*(?:\.\d+)?)\s+session\./gm;
/** The first line of a litellm exception as aider prints it ("litellm.RateLimitError: AnthropicException - ..."). */
const API_ERROR = /^(?:Unexpected error: )?litellm\.[A-Za-z]*(?:Error|Timeout)\b/;
/** aider's own sentence after the exception (aider/exceptions.py), which ends the report. */
const API_ERROR_HINT = /^(?:The API provider\b|OpenRouter or the upstream API provider\b|You need to: pip install\b)/;
const RETRY = /^Retry(?:ing)? in \d/;
const TOKEN_LIMIT = /^Model .+ has hit a token limit!/m;
const REFLECTIONS = /^Only \d+ reflections allowed, stopping\./m;
const NO_MODEL = /^No LLM model was specified and no API keys were provided\./m;
const APPLIED = /^Applied edit to\s+(.+)$/gm;

/** The API error aider gave up on (the last one, with no retry after it), joined back into one line. */
function unrecoveredApiError(lines: readonly string[]): string | undefined {
  let start: number | undefined;
  lines.forEach((line, index) => {
    if (API_ERROR.test(line)) start = index;
    else if (RETRY.test(line)) start = undefined;
  });
  if (start === undefined) return undefined;
  const report: string[] = [];
  for (let index = start; index < lines.length && lines[index].trim() !== '' && report.length < 12; index++) {
    report.push(lines[index].trim());
    if (API_ERROR_HINT.test(lines[index])) break;
  }
  const text = report.join(' ');
  return text.length > 500 ? `${text.slice(0, 500)}…` : text;
}

/** Why aider stopped without finishing, from what it printed; undefined when it did not say. */
function failureOf(stdout: string): string | undefined {
  const apiError = unrecoveredApiError(stdout.split('\n'));
  if (apiError) return `aider gave up on an API error: ${apiError}`;
  const tokenLimit = TOKEN_LIMIT.exec(stdout)?.[0];
  if (tokenLimit)
    return `aider stopped: "${tokenLimit}" The prompt, the files in the chat or the reply did not fit the model; see the session log.`;
  const reflections = REFLECTIONS.exec(stdout)?.[0];
  if (reflections) {
    return `aider stopped before finishing: "${reflections}" Its edits kept failing to apply or its linter kept finding errors; see the session log.`;
  }
  if (NO_MODEL.test(stdout)) {
    return (
      'aider found no model and no API key ("No LLM model was specified and no API keys were provided."): set agents.aider.model ' +
      "in the plugin options and the provider's key (ANTHROPIC_API_KEY, OPENAI_API_KEY, ...) in the environment."
    );
  }
  return undefined;
}

/**
 * Reads what aider printed: tokens from every "Tokens:" report (`input` is its
 * "sent" figure, which already holds the cached prompt tokens), the cost from the
 * last "Cost:" report's session figure, the files from "Applied edit to" lines.
 * aider exits 0 even when the API failed, so failures come from its messages. It
 * has no session id.
 */
export function parseAiderOutput(output: CliOutput): CliResult {
  const { stdout } = output;
  let input: number | undefined;
  let outputTokens: number | undefined;
  for (const report of stdout.matchAll(TOKENS_REPORT)) {
    input = (input ?? 0) + tokenCount(report[1], report[2]);
    outputTokens = (outputTokens ?? 0) + tokenCount(report[3], report[4]);
  }
  const lastCost = [...stdout.matchAll(COST_REPORT)].pop();
  const read: CliResult = {
    costUsd: lastCost ? Number(lastCost[2].replace(/,/g, '')) : undefined,
    tokens: input === undefined ? undefined : { input, output: outputTokens },
  };

  const failure = failureOf(stdout);
  if (failure) return { ...read, ok: false, error: failure };
  // Any other non-zero exit (a wrong flag, a crash) is for the runner to report, with what aider wrote to stderr.
  if (output.exitCode !== 0) return read;
  if (input === undefined) {
    return {
      ...read,
      ok: false,
      error: 'aider ended without a reply from the model (no "Tokens: … sent, … received." report); see the session log.',
    };
  }
  const edited = [...new Set([...stdout.matchAll(APPLIED)].map((match) => match[1].trim()))];
  return {
    ...read,
    ok: true,
    summary: edited.length > 0 ? `Applied edits to ${edited.join(', ')}.` : 'aider answered without editing any file.',
  };
}

/** Why aider would have no model to use, or undefined: the check a run makes before it creates a worktree. */
export function aiderModelProblem(options: AgentOptions, env: NodeJS.ProcessEnv): string | undefined {
  if (options.model || AIDER_MODEL_SOURCES.some((name) => Boolean(env[name]))) return undefined;
  return (
    'agent "aider" has no model: set agents.aider.model in the plugin options (e.g. "sonnet") or run with --model, or put ' +
    `${AIDER_MODEL_SOURCES.join(', ')} in the environment. Without one, aider would offer an OpenRouter login in a browser and wait for it.`
  );
}

export const aiderCli: CliAgentSpec = {
  name: 'aider',
  title: 'Aider',
  description: 'Aider (aider --message-file): edits the worktree with --yes-always, never commits, never runs shell commands.',
  program: 'aider',
  install: 'python -m pip install aider-install && aider-install',
  // aider reads the message from a file: no argv limit, and the prompt stays out of its transcript's command line.
  promptVia: 'file',
  options: {
    git: {
      type: 'choice',
      choices: AIDER_GIT_MODES,
      expects: `how much of git aider may use: "no-commits" (sees the repository, never commits) or "off" (--no-git) (default ${AIDER_DEFAULT_GIT})`,
    },
  },
  args: aiderArgs,
  parse: parseAiderOutput,
  transient: { patterns: AIDER_TRANSIENT },
  sandbox: AIDER_SANDBOX,
};

const aiderRunner = createCliAgent(aiderCli);

export const aiderAgent: AgentAdapter = {
  ...aiderRunner,
  preflight(context) {
    aiderRunner.preflight?.(context);
    const problem = aiderModelProblem(context.options, context.env);
    if (problem) throw new Error(problem);
  },
};

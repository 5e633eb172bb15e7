import type { AgentOptions } from './agent-options';
import { createCliAgent, jsonLines, type CliAgentSpec, type CliOutput, type CliResult, type PromptPlacement } from './cli-agent';
import type { AgentSession } from './agent';
import { join } from 'path';
import { PROVIDER_ENDPOINTS } from '../sandbox/policy';
import { copyIfPresent, homeOf, type AgentSandboxNeeds } from '../sandbox/session-sandbox';

/**
 * `agent: opencode`: OpenCode's non-interactive mode (`opencode run`), printing
 * one JSON event per line. Every flag below is checked against the CLI's own
 * help and parser in opencode.spec.ts (opencode-ai 1.18.33).
 */

/**
 * worktree: sessions run as fanout's own OpenCode agent, which may read, search and
 * edit the worktree and nothing else. config: fanout adds no rules, and OpenCode's
 * default agent runs with the user's opencode.json (whose defaults allow every tool).
 */
const OPENCODE_PERMISSION_MODES = ['worktree', 'config'] as const;
const OPENCODE_DEFAULT_PERMISSIONS = 'worktree';

/** The OpenCode agent fanout defines for its sessions (`--agent fanout`). */
const OPENCODE_AGENT = 'fanout';

/** Shell commands a session may run by default: looking at git state, nothing that changes anything. */
export const OPENCODE_DEFAULT_ALLOWED_COMMANDS: readonly string[] = ['git status *', 'git diff *', 'git log *'];

/** Inside fanout's sandbox, the session may also run its project's typecheck, test and lint through the workspace's nx. */
function sandboxedAllowedCommands(project: string): string[] {
  const commands = ['typecheck', 'test', 'lint'].flatMap((target) => [`npx nx run ${project}:${target}`, `npx nx ${target} ${project}`]);
  return [...OPENCODE_DEFAULT_ALLOWED_COMMANDS, ...commands.flatMap((command) => [command, `${command} *`])];
}

/**
 * OpenCode keeps its login, sessions (which --session reads) and downloads under the XDG data, state
 * and cache folders: inside fanout's sandbox, folders of the session's own, with the user's login
 * (auth.json) copied in. Its configuration (XDG_CONFIG_HOME) is read where it is. The model's provider
 * is not known before the model is: the hosts of the Anthropic, OpenAI and Gemini base URLs are reachable.
 */
const OPENCODE_SANDBOX: AgentSandboxNeeds = {
  providers: [PROVIDER_ENDPOINTS.anthropic, PROVIDER_ENDPOINTS.openai, PROVIDER_ENDPOINTS.gemini],
  variables: ['OPENCODE_*', 'ANTHROPIC_*', 'OPENAI_*', 'GEMINI_*', 'GOOGLE_GENERATIVE_AI_API_KEY', 'OPENROUTER_API_KEY', 'XDG_CONFIG_HOME'],
  nx: true,
  state(folder, env) {
    const own = join(env['XDG_DATA_HOME'] || join(homeOf(env), '.local', 'share'), 'opencode');
    const data = join(folder, 'opencode', 'data');
    copyIfPresent(join(own, 'auth.json'), join(data, 'opencode', 'auth.json'));
    return { XDG_DATA_HOME: data, XDG_STATE_HOME: join(folder, 'opencode', 'state'), XDG_CACHE_HOME: join(folder, 'opencode', 'cache') };
  },
};

/**
 * The `fanout` agent's definition. OpenCode evaluates the last rule that matches,
 * and an agent's rules come after every opencode.json's (which a plain
 * OPENCODE_PERMISSION would not: it merges into them key by key, keeping their
 * order), so this list decides: first deny everything (web fetches, subagents,
 * MCP tools, paths outside the worktree through external_directory, ...), then
 * allow reading (not .env files), searching, editing and the todo list, and the
 * listed shell commands. OpenCode itself adds back reading its own tool-output
 * directory, where it keeps the whole of a long tool output.
 */
export function opencodeAgentDefinition(allowedCommands: readonly string[]): Record<string, unknown> {
  return {
    mode: 'primary',
    description: 'A fanout session: reads, searches and edits its git worktree.',
    permission: {
      '*': 'deny',
      read: {
        '*': 'allow',
        '*.env': 'deny',
        '*.env.*': 'deny',
        '*.env.example': 'allow',
      },
      edit: 'allow',
      glob: 'allow',
      grep: 'allow',
      list: 'allow',
      todowrite: 'allow',
      bash: {
        '*': 'deny',
        ...Object.fromEntries(allowedCommands.map((command) => [command, 'allow'])),
      },
    },
  };
}

function permissionsOf(options: AgentOptions): (typeof OPENCODE_PERMISSION_MODES)[number] {
  return (options['permissions'] as (typeof OPENCODE_PERMISSION_MODES)[number] | undefined) ?? OPENCODE_DEFAULT_PERMISSIONS;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * OPENCODE_CONFIG_CONTENT with the `fanout` agent added. OpenCode merges this
 * variable over every opencode.json; a value the user already set is kept, with
 * the agent added to it.
 */
function opencodeEnv(options: AgentOptions, env: NodeJS.ProcessEnv, session?: AgentSession): Record<string, string> {
  // Checked here, before any worktree exists: without a provider, OpenCode fails only once the session runs, and says "Unexpected server error".
  if (options.model !== undefined && !/^[^/\s]+\/\S+$/.test(options.model)) {
    throw new Error(
      `agent "opencode": the model must be "provider/model", e.g. "anthropic/claude-sonnet-4-5" (got "${options.model}"). ` +
        'Set it in agents.opencode.model in the plugin options, or with --model.',
    );
  }
  const allowedCommands = options['allowedCommands'] as string[] | undefined;
  if (permissionsOf(options) === 'config') {
    if (allowedCommands !== undefined) {
      throw new Error(
        'agent "opencode": "allowedCommands" only applies with permissions "worktree"; with "config" your opencode.json decides. ' +
          'Remove one of them from agents.opencode in the plugin options.',
      );
    }
    return {};
  }
  const given = env['OPENCODE_CONFIG_CONTENT'];
  let config: Record<string, unknown> = {};
  if (given !== undefined && given.trim() !== '') {
    let parsed: unknown;
    try {
      parsed = JSON.parse(given);
    } catch {
      parsed = undefined;
    }
    if (!isRecord(parsed)) {
      throw new Error(
        `agent "opencode": OPENCODE_CONFIG_CONTENT in the environment is not a JSON object, so fanout cannot add its "${OPENCODE_AGENT}" agent to it. ` +
          'Make it plain JSON (no comments), or set agents.opencode.permissions to "config" to run with your own opencode.json rules.',
      );
    }
    config = parsed;
  }
  const agents = isRecord(config['agent']) ? config['agent'] : {};
  const defaults = session?.sandbox ? sandboxedAllowedCommands(session.project) : OPENCODE_DEFAULT_ALLOWED_COMMANDS;
  const definition = opencodeAgentDefinition(allowedCommands ?? defaults);
  return {
    OPENCODE_CONFIG_CONTENT: JSON.stringify({
      ...config,
      agent: { ...agents, [OPENCODE_AGENT]: definition },
    }),
  };
}

function opencodeArgs(options: AgentOptions, _prompt: PromptPlacement, session: AgentSession): string[] {
  return [
    'run',
    '--format',
    'json',
    // OpenCode works in $PWD when it is set, and the inherited one is the workspace root, not the worktree.
    '--dir',
    session.worktree,
    ...(permissionsOf(options) === 'worktree' ? ['--agent', OPENCODE_AGENT] : []),
    ...(options.model ? ['--model', options.model] : []),
    ...(options.args ?? []),
    // No prompt here: `opencode run` quotes a message argument (and escapes its quotes) before the model sees it; stdin reaches it as written.
  ];
}

/** `opencode run --session <id>`: the same conversation, with the feedback on stdin. */
function opencodeResumeArgs(options: AgentOptions, prompt: PromptPlacement, session: AgentSession, sessionId: string): string[] {
  return [...opencodeArgs(options, prompt, session), '--session', sessionId];
}

function numberOr(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function recordOf(value: unknown): Record<string, unknown> {
  return isRecord(value) ? value : {};
}

/** Sums the numbers that are there; undefined when none is. */
function total(values: readonly (number | undefined)[]): number | undefined {
  const present = values.filter((value): value is number => value !== undefined);
  return present.length === 0 ? undefined : present.reduce((sum, value) => sum + value, 0);
}

/**
 * OpenCode's rate-limit and overload failures, once its own retries (five, with
 * backoff) gave up: the error event with the provider's HTTP status (429, 503,
 * 529), or its message. Anchored to the error event, so that a session's text
 * that talks about rate limits does not count.
 */
const OPENCODE_TRANSIENT = [
  /^\{"type":"error",.*"statusCode":(?:429|503|529)\b/m,
  /^\{"type":"error",.*"message":"[^"]*(?:rate.limit|too many requests|overloaded)/im,
];

/** The error event's words: the provider's message when there is one, else the error's name. */
function errorMessage(event: Record<string, unknown>): {
  message: string;
  status?: number;
} {
  const error = recordOf(event['error']);
  const data = recordOf(error['data']);
  const name = typeof error['name'] === 'string' ? error['name'] : 'an error';
  const message = typeof data['message'] === 'string' && data['message'].trim() !== '' ? `${name}: ${data['message']}` : name;
  return { message, status: numberOr(data['statusCode']) };
}

/**
 * Reads the events of `opencode run --format json`: cost and tokens from every
 * `step_finish` (one per model call), the session id, the last message's text
 * as the summary, and `error` events as the failure. Input tokens count every
 * prompt token the model read: uncached, read from the cache and written to it,
 * as the claude adapter does; output tokens include reasoning.
 */
export function parseOpencodeOutput(output: CliOutput): CliResult {
  const events = jsonLines(output.stdout).filter((event) => typeof event['type'] === 'string');
  if (events.length === 0) {
    return output.exitCode === 0
      ? {
          ok: false,
          error: 'opencode printed no JSON events on stdout (--format json); see the session log.',
        }
      : {};
  }
  const steps = events.filter((event) => event['type'] === 'step_finish').map((event) => recordOf(event['part']));
  const tokens = steps.map((part) => recordOf(part['tokens']));
  const cache = tokens.map((used) => recordOf(used['cache']));
  const input = total(
    tokens.flatMap((used, index) => [numberOr(used['input']), numberOr(cache[index]['read']), numberOr(cache[index]['write'])]),
  );
  const outputTokens = total(tokens.flatMap((used) => [numberOr(used['output']), numberOr(used['reasoning'])]));
  const sessionId = events.map((event) => event['sessionID']).find((id): id is string => typeof id === 'string');
  const report: CliResult = {
    costUsd: total(steps.map((part) => numberOr(part['cost']))),
    tokens: input === undefined && outputTokens === undefined ? undefined : { input, output: outputTokens },
    sessionId,
  };

  const errors = events.filter((event) => event['type'] === 'error').map(errorMessage);
  if (errors.length > 0) {
    const status = errors.map((error) => error.status).find((code) => code !== undefined);
    const why = errors.map((error) => error.message).join('; ');
    return {
      ...report,
      ok: false,
      error: `OpenCode reported an error${status ? ` (API status ${status})` : ''}: ${why}`,
    };
  }

  // The text of the last message the model wrote, which ends the session.
  const texts = events.filter((event) => event['type'] === 'text').map((event) => recordOf(event['part']));
  const lastMessage = texts.at(-1)?.['messageID'];
  const summary = texts
    .filter((part) => part['messageID'] === lastMessage && typeof part['text'] === 'string')
    .map((part) => (part['text'] as string).trim())
    .filter((text) => text !== '')
    .join('\n');
  return { ...report, ok: true, summary: summary === '' ? undefined : summary };
}

export const opencodeCli: CliAgentSpec = {
  name: 'opencode',
  title: 'OpenCode',
  description: "OpenCode (opencode run): edits the worktree as fanout's own OpenCode agent, every other tool denied.",
  program: 'opencode',
  install: 'npm install -g opencode-ai',
  promptVia: 'stdin',
  options: {
    permissions: {
      type: 'choice',
      choices: OPENCODE_PERMISSION_MODES,
      expects: `"worktree" (fanout's agent: read, search and edit the worktree) or "config" (your opencode.json decides) (default ${OPENCODE_DEFAULT_PERMISSIONS})`,
    },
    allowedCommands: {
      type: 'strings',
      expects: `shell commands a session may run, as OpenCode bash patterns, e.g. ["npm test *"] (default ${OPENCODE_DEFAULT_ALLOWED_COMMANDS.join(', ')})`,
    },
  },
  args: opencodeArgs,
  resume: opencodeResumeArgs,
  env: opencodeEnv,
  parse: parseOpencodeOutput,
  transient: { patterns: OPENCODE_TRANSIENT },
  sandbox: OPENCODE_SANDBOX,
};

export const opencodeAgent = createCliAgent(opencodeCli);

import { existsSync, mkdirSync, readFileSync, realpathSync } from 'fs';
import { dirname, join } from 'path';
import type { AgentSession } from './agent';
import type { AgentOptions } from './agent-options';
import { cachePrefixFiles } from './cache-prefix';
import { PROVIDER_ENDPOINTS } from '../sandbox/policy';
import { copyIfPresent, homeOf, type AgentSandboxNeeds } from '../sandbox/session-sandbox';
import { createCliAgent, finalJson, type CliAgentSpec, type CliOutput, type CliResult, type PromptPlacement } from './cli-agent';

/**
 * `agent: claude`: Claude Code in print mode (`claude -p`), reporting one JSON
 * object at the end. Every flag below is checked against the CLI's own parser
 * in claude.spec.ts (@anthropic-ai/claude-code 2.1.332).
 */

/** The permission modes the CLI accepts (`claude --help`). */
export const CLAUDE_PERMISSION_MODES = ['acceptEdits', 'auto', 'bypassPermissions', 'manual', 'dontAsk', 'plan'] as const;

/**
 * acceptEdits lets Claude Code write files in its working directory (the worktree)
 * without asking; bypassPermissions would be simpler, but the CLI refuses it as root.
 */
const CLAUDE_DEFAULT_PERMISSION_MODE = 'acceptEdits';

/**
 * What a session may do beyond editing: read and search its worktree, and look at
 * git state. Nothing that runs code or reaches the network: in print mode a tool
 * call outside this list is denied, never asked about.
 */
export const CLAUDE_DEFAULT_ALLOWED_TOOLS: readonly string[] = [
  'Read',
  'Edit',
  'Write',
  'Glob',
  'Grep',
  'Bash(git status *)',
  'Bash(git diff *)',
  'Bash(git log *)',
];

/** The task project's own targets a sandboxed session may run through the workspace's nx, to check its work. */
const SELF_CHECK_TARGETS: readonly string[] = ['typecheck', 'test', 'lint'];

/**
 * The default tools of a sandboxed session: those above, and the task project's own typecheck, test
 * and lint through the workspace's nx (`npx nx run <project>:test`, `npx nx test <project>`, with
 * or without more arguments). Only these commands: the sandbox confines what they write and reach.
 */
function sandboxedAllowedTools(project: string): string[] {
  const commands = SELF_CHECK_TARGETS.flatMap((target) => [`npx nx run ${project}:${target}`, `npx nx ${target} ${project}`]);
  return [...CLAUDE_DEFAULT_ALLOWED_TOOLS, ...commands.flatMap((command) => [`Bash(${command})`, `Bash(${command} *)`])];
}

/**
 * Inside fanout's sandbox, Claude Code keeps its state (its session store, which --resume reads,
 * and its configuration) in a folder of the session's own, CLAUDE_CONFIG_DIR, with the user's login
 * copied in: the user's ~/.claude (settings, hooks) stays unwritable.
 *
 * Its auto memory is off there. Claude Code names its memory folder, under CLAUDE_CONFIG_DIR, in its
 * system prompt ahead of the appended base context, so a folder per session would end the sessions'
 * shared cache prefix at that path; and a memory in a folder removed with the session serves nothing.
 */
export const CLAUDE_SANDBOX: AgentSandboxNeeds = {
  providers: [PROVIDER_ENDPOINTS.anthropic],
  variables: ['ANTHROPIC_*', 'CLAUDE_CODE_*', 'DISABLE_AUTOUPDATER', 'DISABLE_TELEMETRY', 'DISABLE_ERROR_REPORTING'],
  nx: true,
  state(folder, env) {
    const config = join(folder, 'claude');
    mkdirSync(config, { recursive: true });
    const own = env['CLAUDE_CONFIG_DIR'] || join(homeOf(env), '.claude');
    copyIfPresent(join(own, '.credentials.json'), join(config, '.credentials.json'));
    return { CLAUDE_CONFIG_DIR: config, CLAUDE_CODE_DISABLE_AUTO_MEMORY: '1' };
  },
};

/**
 * Claude Code's reports of a rate limit (429, rate_limit_error) and of an overloaded
 * API (529, overloaded_error). Anchored to its own fields and line starts, so that
 * a result that merely mentions them (code that handles rate limits) does not count.
 */
const CLAUDE_TRANSIENT = [
  // The final JSON of a run the API refused.
  /"api_error_status"\s*:\s*(?:429|529)\b/,
  /"api_error_type"\s*:\s*"(?:rate_limit_error|overloaded_error)"/,
  // The same in text: "API Error: Request rejected (429) ...", "API Error: 529 Overloaded ...", or the API's error body.
  /^API Error: (?:Request rejected \()?(?:429|529)\b/m,
  /^\{"type":"error","error":\{"type":"(?:rate_limit_error|overloaded_error)"/m,
];

/**
 * The base context goes in the system prompt (`--append-system-prompt-file`) unless
 * `sharedPrefix: false`. Claude Code 2.1.332 sends its tools, then its system prompt
 * with the appended file, then the messages: the working directory, the branch,
 * CLAUDE.md/AGENTS.md by path and the assignment all come after the appended base
 * context, so every session of a run sends the same prefix up to the system prompt's
 * cache breakpoint.
 */
function sharesCachePrefix(options: AgentOptions): boolean {
  return options['sharedPrefix'] !== false;
}

/** The first Claude Code version whose system prompt holds the appended base context before anything of the session's. */
const CACHE_PREFIX_SINCE = '2.1.198';

function compareVersions(a: string, b: string): number {
  const parts = (version: string) =>
    version
      .split(/[.-]/)
      .slice(0, 3)
      .map((part) => Number.parseInt(part, 10) || 0);
  const [x, y] = [parts(a), parts(b)];
  for (let index = 0; index < 3; index++) if (x[index] !== y[index]) return x[index] - y[index];
  return 0;
}

const versions = new Map<string, string | undefined>();

/**
 * The version of the Claude Code package the program belongs to (its package.json, found
 * from the program's real path); undefined for a native install or anything else, which
 * the versions that matter here never are.
 */
export function installedVersion(program: string): string | undefined {
  if (versions.has(program)) return versions.get(program);
  let version: string | undefined;
  try {
    for (let dir = dirname(realpathSync(program)); dir !== dirname(dir); dir = dirname(dir)) {
      const manifest = join(dir, 'package.json');
      if (!existsSync(manifest)) continue;
      const parsed = JSON.parse(readFileSync(manifest, 'utf-8')) as { name?: string; version?: string };
      if (parsed.name === '@anthropic-ai/claude-code') version = parsed.version;
      break;
    }
  } catch {
    version = undefined;
  }
  versions.set(program, version);
  return version;
}

/**
 * Claude Code before 2.1.198 writes the session's working directory into its main system
 * block, before the appended base context: three sessions then share none of it in a
 * common prefix (measured), and waiting for a lead would only cost time. npm installs such
 * a version on Node 20, since 2.1.198 and later ask for Node 22.
 */
export function cachePrefixBlockerOf(version: string | undefined): string | undefined {
  if (version === undefined || compareVersions(version, CACHE_PREFIX_SINCE) >= 0) return undefined;
  return (
    `Claude Code ${version} puts each session's working directory before the base context in its system prompt, so the ` +
    `sessions share no cache prefix: they start at once, without a lead. Claude Code ${CACHE_PREFIX_SINCE} or later ` +
    `shares it (it needs Node.js 22: npm install -D @anthropic-ai/claude-code@latest on Node.js 22).`
  );
}

/**
 * The built-in tools the CLI offers the model (`--tools`): those the allowed-tools rules
 * name, with Read, Edit and Write, which every session needs. In print mode any other
 * tool would be denied when called, and offering it costs its definition in every
 * request, and the instructions about it in every session's own part of the prompt.
 */
function offeredTools(allowedTools: readonly string[]): string[] {
  const names = allowedTools.map((rule) => rule.split('(')[0].trim()).filter((name) => /^[A-Za-z]\w*$/.test(name));
  return [...new Set(['Read', 'Edit', 'Write', ...names])];
}

function claudeArgs(
  options: AgentOptions,
  prompt: PromptPlacement,
  session?: Partial<Pick<AgentSession, 'cachePrefix' | 'sandbox' | 'project'>>,
): string[] {
  const allowedTools =
    (options['allowedTools'] as string[] | undefined) ??
    (session?.sandbox && session.project ? sandboxedAllowedTools(session.project) : CLAUDE_DEFAULT_ALLOWED_TOOLS);
  const maxTurns = options['maxTurns'] as number | undefined;
  const prefix = session && cachePrefixFiles(session);
  const baseFile = prefix && sharesCachePrefix(options) ? prefix.baseFile : undefined;
  return [
    '--print',
    // Events as they happen (one JSON object a line, the result last): the first
    // assistant event says the model's response began, which the run's other sessions wait for.
    '--output-format',
    'stream-json',
    '--verbose',
    '--permission-mode',
    (options['permissionMode'] as string | undefined) ?? CLAUDE_DEFAULT_PERMISSION_MODE,
    // One element per tool: a rule such as "Bash(git diff *)" holds spaces.
    ...(allowedTools.length > 0 ? ['--allowedTools', ...allowedTools, '--tools', offeredTools(allowedTools).join(',')] : []),
    ...(options.model ? ['--model', options.model] : []),
    ...(maxTurns ? ['--max-turns', String(maxTurns)] : []),
    ...(baseFile ? ['--append-system-prompt-file', baseFile] : []),
    ...(options.args ?? []),
    // "--" ends the options, so that a prompt starting with "-" is not read as one, nor taken by --allowedTools.
    ...(prompt.via === 'argument' ? ['--', prompt.text] : []),
  ];
}

/**
 * Continues conversation `sessionId` (`--resume`) with the same permissions and
 * tools. The CLI reads the conversation back from its own store for this working
 * directory: the worktree, where the first round ran.
 */
function claudeResumeArgs(
  options: AgentOptions,
  prompt: PromptPlacement,
  session: Partial<Pick<AgentSession, 'cachePrefix' | 'sandbox' | 'project'>>,
  sessionId: string,
): string[] {
  // The system prompt is sent anew with every request: the resumed conversation gets the base context again.
  const args = claudeArgs(options, prompt, session);
  const end = args.indexOf('--');
  const resume = ['--resume', sessionId];
  return end === -1 ? [...args, ...resume] : [...args.slice(0, end), ...resume, ...args.slice(end)];
}

function numberOr(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

/**
 * Reads the final `{"type":"result", ...}` object. Input tokens count every
 * prompt token the model read: uncached, written to the cache and read from it
 * (`input_tokens` + `cache_creation_input_tokens` + `cache_read_input_tokens`), so
 * sessions compare whatever the cache did; `total_cost_usd` is what the caching saved.
 */
export function parseClaudeOutput(output: CliOutput): CliResult {
  const json = finalJson(output.stdout);
  if (!json || json['type'] !== 'result') {
    return output.exitCode === 0
      ? { ok: false, error: 'claude printed no JSON result on stdout (--output-format stream-json); see the session log.' }
      : {};
  }
  const usage = (typeof json['usage'] === 'object' && json['usage'] !== null ? json['usage'] : {}) as Record<string, unknown>;
  const inputParts = ['input_tokens', 'cache_creation_input_tokens', 'cache_read_input_tokens'].map((key) => numberOr(usage[key]));
  const input = inputParts.every((part) => part === undefined)
    ? undefined
    : inputParts.reduce<number>((total, part) => total + (part ?? 0), 0);
  const outputTokens = numberOr(usage['output_tokens']);
  const cacheWrite = numberOr(usage['cache_creation_input_tokens']);
  const cacheRead = numberOr(usage['cache_read_input_tokens']);
  const result = typeof json['result'] === 'string' ? json['result'] : undefined;
  const report: CliResult = {
    costUsd: numberOr(json['total_cost_usd']),
    tokens:
      input === undefined && outputTokens === undefined
        ? undefined
        : {
            input,
            output: outputTokens,
            ...(cacheRead !== undefined ? { cacheRead } : {}),
            ...(cacheWrite !== undefined ? { cacheWrite } : {}),
          },
    sessionId: typeof json['session_id'] === 'string' ? json['session_id'] : undefined,
  };
  const subtype = typeof json['subtype'] === 'string' ? json['subtype'] : undefined;
  if (json['is_error'] === true || (subtype !== undefined && subtype !== 'success')) {
    const status = numberOr(json['api_error_status']);
    const why = result ?? subtype ?? 'no reason given';
    return { ...report, ok: false, error: `Claude Code reported an error${status ? ` (API status ${status})` : ''}: ${why}` };
  }
  return { ...report, ok: true, summary: result };
}

export const claudeCli: CliAgentSpec = {
  name: 'claude',
  title: 'Claude Code',
  description: 'Claude Code (claude -p): edits the worktree with acceptEdits and an allowed-tools list.',
  program: 'claude',
  install: 'npm install -g @anthropic-ai/claude-code',
  // Claude Code takes the prompt as an argument or on stdin, not from a file.
  promptVia: 'argument',
  options: {
    permissionMode: {
      type: 'choice',
      choices: CLAUDE_PERMISSION_MODES,
      expects: `Claude Code's permission mode (default ${CLAUDE_DEFAULT_PERMISSION_MODE})`,
    },
    allowedTools: {
      type: 'strings',
      expects: `the tools it may use without asking, e.g. ["Read", "Edit", "Bash(npm test *)"] (default ${CLAUDE_DEFAULT_ALLOWED_TOOLS.join(', ')})`,
    },
    maxTurns: { type: 'positive-integer', expects: 'the most agentic turns a session may take' },
    sharedPrefix: {
      type: 'boolean',
      expects:
        'false sends the base context in the prompt with the assignment, as one; by default it goes in the system prompt, where every session of a run shares one cache prefix',
    },
  },
  args: claudeArgs,
  resume: claudeResumeArgs,
  sharesCachePrefix,
  cachePrefixBlocker: (program) => cachePrefixBlockerOf(installedVersion(program)),
  // stream-json: the first assistant event (a run that ends without one ends the wait anyway).
  responseBegan: (line) => /^\{"type":"assistant"/.test(line.trim()),
  parse: parseClaudeOutput,
  transient: { patterns: CLAUDE_TRANSIENT },
  sandbox: CLAUDE_SANDBOX,
};

export const claudeAgent = createCliAgent(claudeCli);

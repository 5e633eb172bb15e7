import type { AgentOptions } from './agent-options';
import type { AgentSession } from './agent';
import { spawnSync } from 'child_process';
import { mkdirSync, statSync } from 'fs';
import { join } from 'path';
import { PROVIDER_ENDPOINTS } from '../sandbox/policy';
import { codexProviderHost } from './codex-config';
import { copyIfPresent, homeOf, type AgentSandboxNeeds } from '../sandbox/session-sandbox';
import { createCliAgent, jsonLines, type CliAgentSpec, type CliOutput, type CliResult, type PromptPlacement } from './cli-agent';

/**
 * `agent: codex`: the Codex CLI in non-interactive mode (`codex exec --json`),
 * reporting JSON Lines events on stdout. Every flag below is checked against the
 * CLI's own parser in codex.spec.ts (@openai/codex 0.171.0).
 */

/** The sandbox modes `codex exec --sandbox` accepts (`codex exec --help`). */
export const CODEX_SANDBOX_MODES = ['read-only', 'workspace-write', 'danger-full-access'] as const;

/**
 * workspace-write lets the commands Codex runs write inside its working root (the
 * worktree) and nowhere else but the temporary directories, with no network.
 * `codex exec` never asks for approval, so a command that needs more fails instead of waiting.
 */
const CODEX_DEFAULT_SANDBOX = 'workspace-write';

/**
 * How Codex reports that it gave up on a rate limit or an overloaded service: the
 * message of its final `turn.failed` (or fatal `error`) event, after its own
 * reconnects. Anchored to the start of those events, so that an agent message or
 * a command's output that merely mentions a 429 does not count. Left out on
 * purpose: "Quota exceeded" and usage limits, which no retry within minutes cures.
 */
const CODEX_TRANSIENT = [
  new RegExp(
    String.raw`^\{"type":"(?:turn\.failed","error":\{|error",)"message":"` +
      String.raw`(?:exceeded retry limit, last status: 429\b` + // HTTP 429, after Codex's own retries
      String.raw`|rate limit exceeded: ` + // rate_limit_exceeded inside the response stream
      String.raw`|unexpected status (?:429|503|529)\b` + // 503 Service Unavailable and the like
      String.raw`|Selected model is at capacity\.` + // server_is_overloaded, in the stream or as a 503
      String.raw`|We(?:’|\\u2019|')re currently experiencing high demand)`, // HTTP 500 after its retries
    'm',
  ),
];

/**
 * Inside fanout's sandbox Codex runs with its own turned off: fanout's confines what its commands
 * write and reach, and Codex's own bubblewrap sandbox, nested in it (or where Debian's bubblewrap is
 * installed), lets its commands write nothing while they report success.
 */
const CODEX_SANDBOXED_DEFAULT = 'danger-full-access';

function sandboxMode(options: AgentOptions, session: Pick<AgentSession, 'sandbox'>): string {
  return (options['sandbox'] as string | undefined) ?? (session.sandbox ? CODEX_SANDBOXED_DEFAULT : CODEX_DEFAULT_SANDBOX);
}

/**
 * Codex keeps its sessions (which `codex exec resume` reads), its configuration and its login in
 * CODEX_HOME: inside fanout's sandbox, a folder of the session's own with the user's config.toml
 * and auth.json copied in, so that the user's ~/.codex stays unwritable. A provider of the user's
 * own, selected in that config.toml, is reachable as OpenAI's API is.
 */
export const CODEX_SANDBOX: AgentSandboxNeeds = {
  providers: [PROVIDER_ENDPOINTS.openai],
  hosts: (env) => {
    const host = codexProviderHost(env['CODEX_HOME'] || join(homeOf(env), '.codex'));
    return host ? [host] : [];
  },
  variables: ['OPENAI_*', 'CODEX_*'],
  nx: true,
  state(folder, env) {
    const home = join(folder, 'codex');
    mkdirSync(home, { recursive: true });
    const own = env['CODEX_HOME'] || join(homeOf(env), '.codex');
    for (const file of ['config.toml', 'auth.json']) copyIfPresent(join(own, file), join(home, file));
    return { CODEX_HOME: home };
  },
};

/** The worktree's changed files and their modification times (what a command that wrote something changes); undefined outside git. */
function worktreeState(worktree: string): string | undefined {
  const status = spawnSync('git', ['status', '--porcelain', '-uall', '-z'], { cwd: worktree, encoding: 'utf-8' });
  if (status.status !== 0) return undefined;
  return status.stdout
    .split('\0')
    .filter(Boolean)
    .map((entry) => {
      const path = entry.slice(3);
      try {
        return `${entry} ${statSync(join(worktree, path)).mtimeMs}`;
      } catch {
        return entry;
      }
    })
    .join('\n');
}

/** Commands that write files: a redirection to a file, or a program that writes. */
const WRITING_COMMAND = /(^|[^<>&0-9])>{1,2}\s*[^&\s]|\b(?:mkdir|touch|tee|cp|mv|rm|sed -i|apply_patch)\b/;

/**
 * Codex's own sandbox can fail silently: where bubblewrap cannot make its namespaces as Codex asks
 * (nested in another sandbox, or with Debian's bubblewrap installed), the commands it runs report
 * success and write nothing. A run that reported changing files, or ran commands that write, and left
 * the worktree as it found it, fails here, naming the cause.
 */
function silentNoWrite(output: CliOutput, worktree: string, before: unknown, mode: string): string | undefined {
  const items = jsonLines(output.stdout)
    .filter((event) => event['type'] === 'item.completed')
    .map((event) => record(event['item']));
  const wrote = items.some(
    (item) =>
      item['type'] === 'file_change' ||
      (item['type'] === 'command_execution' && item['exit_code'] === 0 && WRITING_COMMAND.test(String(item['command'] ?? ''))),
  );
  // Codex's sandbox runs each command through a helper it links into CODEX_HOME; where it could not
  // (a CODEX_HOME under /tmp), every command fails unseen: no event reports it.
  const helperMissing = mode !== 'danger-full-access' && /could not create PATH aliases/.test(output.stderr);
  if (helperMissing && before !== undefined && worktreeState(worktree) === before) {
    return (
      `Codex left the worktree unchanged, and its own "${mode}" sandbox could not start the helper it runs commands through ` +
      `(Codex said: could not create PATH aliases; it refuses to when CODEX_HOME is under /tmp), so its commands wrote nothing. ` +
      `Run it with fanout's sandbox (sandbox: auto or on), which turns Codex's off, set CODEX_HOME outside /tmp, ` +
      `or set agents.codex.sandbox to "danger-full-access".`
    );
  }
  if (!wrote || before === undefined || worktreeState(worktree) !== before) return undefined;
  return (
    `Codex reported writing files, but the worktree is unchanged: its own "${mode}" sandbox let its commands write nothing ` +
    `(on Linux, Codex's bubblewrap sandbox does so nested in another sandbox or where bubblewrap cannot make its namespaces). ` +
    `Run it with fanout's sandbox (sandbox: auto or on), which turns Codex's off, or set agents.codex.sandbox to "danger-full-access".`
  );
}

/**
 * Codex meets a connection it cannot make (no answer at all, as opposed to an HTTP error) with
 * "Reconnecting... waiting for network", and waits with no end. Inside fanout's sandbox a connection
 * that fails so never went through the sandbox's proxy (a host on loopback that NO_PROXY sends
 * straight to the sandbox's own, empty, loopback), and no wait mends it.
 */
const WAITING_FOR_NETWORK = /^\{"type":"error","message":"(Reconnecting\.\.\. waiting for network[^"]*)"/;

function stalledOnNetwork(line: string, session: AgentSession): string | undefined {
  const said = session.sandbox ? WAITING_FOR_NETWORK.exec(line.trim())?.[1] : undefined;
  if (said === undefined) return undefined;
  const allowed = session.sandbox?.policy.allowedDomains ?? [];
  return (
    `Codex could not connect to its model provider from inside fanout's sandbox (Codex said: ${said}), and would wait ` +
    `for the network until the session's timeout. The sandbox lets it reach ${allowed.length > 0 ? allowed.join(', ') : 'no host'}, ` +
    `through its proxy. Add the provider's host:port to sandbox.allowedDomains (in the plugin options or fanout.md), or ` +
    `define the provider in Codex's config.toml rather than with -c in args (fanout reads its base_url there), or run with sandbox: off.`
  );
}

function codexArgs(options: AgentOptions, prompt: PromptPlacement, session: AgentSession): string[] {
  return [
    'exec',
    '--json',
    '--sandbox',
    sandboxMode(options, session),
    // The runner starts it in the worktree anyway; -C names it outright, and the sandbox's writable root follows it.
    '-C',
    session.worktree,
    ...(options.model ? ['--model', options.model] : []),
    ...(options.args ?? []),
    // "--" ends the options: a prompt starting with "-", or one that is a subcommand's name ("review"), stays the prompt.
    ...(prompt.via === 'argument' ? ['--', prompt.text] : []),
  ];
}

/**
 * `codex exec resume`: continues thread `sessionId` with the feedback. It takes no
 * --sandbox nor -C: the sandbox goes through -c, and the runner starts it in the
 * worktree, which the sandbox's writable root follows.
 */
function codexResumeArgs(options: AgentOptions, prompt: PromptPlacement, session: AgentSession, sessionId: string): string[] {
  const sandbox = sandboxMode(options, session);
  return [
    'exec',
    'resume',
    '--json',
    '-c',
    `sandbox_mode="${sandbox}"`,
    ...(options.model ? ['--model', options.model] : []),
    ...(options.args ?? []),
    // After "--": the thread, then the prompt ("-": read it from stdin).
    '--',
    sessionId,
    prompt.via === 'argument' ? prompt.text : '-',
  ];
}

function numberOr(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

function record(value: unknown): Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};
}

function messageOf(event: Record<string, unknown> | undefined): string | undefined {
  if (!event) return undefined;
  const message = event['type'] === 'turn.failed' ? record(event['error'])['message'] : event['message'];
  return typeof message === 'string' ? message : undefined;
}

/**
 * Reads the events of `codex exec --json`: the session id from `thread.started`,
 * tokens from every `turn.completed` (Codex's `input_tokens` already include the
 * cached ones, reported apart as cacheRead and cacheWrite, and `output_tokens` the reasoning ones), the summary from the last
 * agent message, and a failure from `turn.failed`. Codex reports no cost.
 */
export function parseCodexOutput(output: CliOutput): CliResult {
  const events = jsonLines(output.stdout).filter((event) => typeof event['type'] === 'string');
  if (events.length === 0) {
    return output.exitCode === 0
      ? { ok: false, error: 'codex printed no JSON events on stdout (codex exec --json); see the session log.' }
      : {};
  }
  const threadId = events.find((event) => event['type'] === 'thread.started')?.['thread_id'];
  let input: number | undefined;
  let outputTokens: number | undefined;
  let cacheRead: number | undefined;
  let cacheWrite: number | undefined;
  for (const event of events.filter((each) => each['type'] === 'turn.completed')) {
    const usage = record(event['usage']);
    const turnInput = numberOr(usage['input_tokens']);
    const turnOutput = numberOr(usage['output_tokens']);
    const turnCached = numberOr(usage['cached_input_tokens']);
    const turnWritten = numberOr(usage['cache_write_input_tokens']);
    if (turnInput !== undefined) input = (input ?? 0) + turnInput;
    if (turnOutput !== undefined) outputTokens = (outputTokens ?? 0) + turnOutput;
    if (turnCached !== undefined) cacheRead = (cacheRead ?? 0) + turnCached;
    if (turnWritten !== undefined) cacheWrite = (cacheWrite ?? 0) + turnWritten;
  }
  const agentMessages = events
    .filter((event) => event['type'] === 'item.completed' && record(event['item'])['type'] === 'agent_message')
    .map((event) => record(event['item'])['text'])
    .filter((text): text is string => typeof text === 'string');
  const report: CliResult = {
    tokens:
      input === undefined && outputTokens === undefined
        ? undefined
        : {
            input,
            output: outputTokens,
            ...(cacheRead !== undefined ? { cacheRead } : {}),
            ...(cacheWrite !== undefined ? { cacheWrite } : {}),
          },
    sessionId: typeof threadId === 'string' ? threadId : undefined,
  };

  const lastTurn = [...events].reverse().find((event) => ['turn.completed', 'turn.failed'].includes(event['type'] as string));
  if (lastTurn?.['type'] === 'turn.completed') return { ...report, ok: true, summary: agentMessages.pop() };
  // A failed turn, or a fatal error before any turn ended: Codex's last word on it.
  const failure = lastTurn ?? [...events].reverse().find((event) => event['type'] === 'error');
  const why = messageOf(failure);
  if (why !== undefined) return { ...report, ok: false, error: `Codex reported an error: ${why}` };
  return output.exitCode === 0
    ? { ...report, ok: false, error: 'codex ended without finishing its turn (no turn.completed event); see the session log.' }
    : report;
}

export const codexCli: CliAgentSpec = {
  name: 'codex',
  title: 'Codex CLI',
  description: 'Codex CLI (codex exec --json): edits the worktree in the workspace-write sandbox, never asking for approval.',
  // `codex exec resume` reports the thread's running totals in turn.completed, the earlier rounds' included.
  resumedTokensAreTotals: true,
  program: 'codex',
  install: 'npm install -g @openai/codex',
  // codex exec takes the prompt as an argument, or on stdin when there is none; it reads no prompt file.
  promptVia: 'argument',
  options: {
    sandbox: {
      type: 'choice',
      choices: CODEX_SANDBOX_MODES,
      expects: `the sandbox for the commands Codex runs (default ${CODEX_DEFAULT_SANDBOX})`,
    },
  },
  args: codexArgs,
  resume: codexResumeArgs,
  parse: parseCodexOutput,
  stalled: stalledOnNetwork,
  transient: { patterns: CODEX_TRANSIENT },
  sandbox: CODEX_SANDBOX,
  verify: {
    before: (session) => worktreeState(session.worktree),
    problem: (output, session, before) => silentNoWrite(output, session.worktree, before, sandboxMode(session.options, session)),
  },
};

export const codexAgent = createCliAgent(codexCli);

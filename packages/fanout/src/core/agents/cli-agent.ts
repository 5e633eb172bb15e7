import { accessSync, appendFileSync, constants, readFileSync, statSync, writeFileSync } from 'fs';
import { delimiter, dirname, isAbsolute, join } from 'path';
import { durationMs } from '../system/duration';
import { runProcess, type ProcessResult } from '../system/process';
import { processReport, type AgentAdapter, type AgentPreflight, type AgentReport, type AgentSession, type AgentTokens } from './agent';
import { CLI_AGENT_OPTIONS, type AgentOptions, type OptionRule } from './agent-options';
import { DEFAULT_RETRIES, DEFAULT_RETRY_DELAY_MS } from '../../constants';
import { cachePrefixFiles, cachePrefixNote, sendsCachePrefix } from './cache-prefix';
import type { AgentSandboxNeeds } from '../sandbox/session-sandbox';
import { readRateLimit, retryDelay, waitingMessage } from '../budget/rate-limit';

/**
 * The shared runner behind every coding-agent CLI (claude, codex, gemini, ...).
 * An adapter says how its CLI is called and how to read what it prints; the
 * runner finds the program, delivers the prompt, retries rate limits (waiting
 * what the provider asked, else backing off: budget/rate-limit.ts), and adds up what every attempt cost.
 */

/**
 * Linux caps one argv element at 128 KiB (MAX_ARG_STRLEN); a prompt above this
 * goes to the CLI's stdin instead, with room to spare for multi-byte text.
 */
export const MAX_PROMPT_ARGUMENT_BYTES = 100 * 1024;
/**
 * In fanout's sandbox the whole command line, quoted, becomes one argument of the
 * sandbox's shell, under the same 128 KiB cap: a prompt above this goes to stdin.
 */
export const MAX_SANDBOXED_PROMPT_ARGUMENT_BYTES = 32 * 1024;
/** No single wait between attempts is longer than this, however many attempts failed. */
const MAX_RETRY_DELAY_MS = 5 * 60_000;

/** Where the prompt goes on a CLI's command line. */
export type PromptPlacement =
  /** The CLI reads the prompt file itself (aider --message-file <file>). */
  | { via: 'file'; file: string }
  /** The whole prompt is one argv element. */
  | { via: 'argument'; text: string }
  /** The prompt is too long for argv: the runner writes it to the CLI's stdin; the adapter adds nothing. */
  | { via: 'stdin' };

/** What one attempt of the CLI left behind, for the adapter to read. */
export interface CliOutput {
  /** The last MB of stdout, redacted. */
  stdout: string;
  /** The last 64 KB of stderr, redacted. */
  stderr: string;
  exitCode: number | null;
}

/** What the adapter read in its CLI's output. `ok: false` when the CLI reported a failure itself. */
export type CliResult = Partial<Pick<AgentReport, 'ok' | 'error' | 'summary' | 'costUsd' | 'tokens' | 'sessionId'>>;

export interface CliAgentSpec {
  /** The agent's name in fanout.md (`agent:`) and --agent. */
  name: string;
  /** What people call the CLI, for messages: "Claude Code". */
  title: string;
  description: string;
  /** The executable, looked up in the workspace's node_modules/.bin, then on PATH. */
  program: string;
  /** Given the installed program's path: why its sessions would share no cache prefix (see AgentAdapter.cachePrefixBlocker). */
  cachePrefixBlocker?(program: string): string | undefined;
  /** The command that installs it, quoted in the error when it is missing. */
  install: string;
  /**
   * 'file' when the CLI reads a prompt file it is given; 'stdin' when only stdin
   * reaches the model verbatim (opencode quotes an argument); otherwise 'argument'
   * (stdin beyond MAX_PROMPT_ARGUMENT_BYTES).
   */
  promptVia: 'file' | 'argument' | 'stdin';
  /** Its own options, beyond the common model, args, env, retries and retryDelay. */
  options?: Readonly<Record<string, OptionRule>>;
  /** argv after the program. It must place `options.model` and `options.args`, and the prompt unless it goes to stdin. */
  args(options: AgentOptions, prompt: PromptPlacement, session: AgentSession): string[];
  /**
   * argv after the program that continues conversation `sessionId` with `prompt`
   * (a repair round's feedback), in the same worktree. Absent: the CLI cannot
   * continue a conversation without a terminal, and a repair round runs it
   * again with the feedback before the prompt.
   */
  resume?(options: AgentOptions, prompt: PromptPlacement, session: AgentSession, sessionId: string): string[];
  /**
   * A resumed conversation reports the conversation's running token totals, the
   * earlier rounds' included: the round's own are what it reports less what the
   * earlier rounds used.
   */
  resumedTokensAreTotals?: boolean;
  /**
   * Variables the CLI needs set over the session's environment (its own configuration,
   * built from the options and the environment it extends). Also called by the preflight,
   * so that what it throws, for people, stops the run before any worktree exists.
   */
  env?(options: AgentOptions, env: NodeJS.ProcessEnv, session?: AgentSession): Record<string, string>;
  /**
   * True when the CLI, with these options, takes the run's base context apart from the
   * assignment (in its system prompt, ahead of everything session-specific): the runner
   * then places the assignment alone as the prompt, and `args` (and `resume`) must pass
   * the cache prefix's `baseFile` (cache-prefix.ts). Absent or false: the whole prompt, as one.
   */
  sharesCachePrefix?(options: AgentOptions): boolean;
  /** Whether a line of the CLI's stdout shows that the model's first response has begun. */
  responseBegan?(line: string): boolean;
  /**
   * Why a line of the CLI's stdout shows it waiting for what will not come (undefined when it does not),
   * such as a network the sandbox never lets it reach: the attempt is stopped then, failing with this
   * error, rather than at the session's timeout.
   */
  stalled?(line: string, session: AgentSession): string | undefined;
  /** Reads the CLI's final report (result, cost, tokens, session id) from one attempt's output. */
  parse(output: CliOutput): CliResult;
  /** Rate-limit and overload failures, worth another attempt: patterns of its output (stdout or stderr), exit codes. */
  transient: { patterns: readonly RegExp[]; exitCodes?: readonly number[] };
  /** What it needs from fanout's sandbox: its provider, its variables, its state folders (see AgentSandboxNeeds). */
  sandbox?: AgentSandboxNeeds;
  /**
   * Why a run the CLI reported as done did not do it (undefined when nothing is wrong): given what
   * `before` took of the worktree as the attempt started. The attempt then fails with this error.
   */
  verify?: {
    before(session: AgentSession): unknown;
    problem(output: CliOutput, session: AgentSession, before: unknown): string | undefined;
  };
}

/** Injected so that tests need not wait: how the runner waits and draws jitter. */
export interface CliRunnerDeps {
  sleep(ms: number): Promise<void>;
  random(): number;
}

const REAL_DEPS: CliRunnerDeps = {
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: Math.random,
};

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * The absolute path of `program`: the workspace's node_modules/.bin first (the
 * version the workspace pins, as npx does), then every PATH entry; undefined when none has it.
 */
export function findProgram(program: string, env: NodeJS.ProcessEnv, workspaceRoot: string): string | undefined {
  if (isAbsolute(program)) return isExecutable(program) ? program : undefined;
  const dirs = [join(workspaceRoot, 'node_modules', '.bin'), ...(env['PATH'] ?? '').split(delimiter).filter((dir) => isAbsolute(dir))];
  return dirs.map((dir) => join(dir, program)).find(isExecutable);
}

/** The message for a CLI that is not installed. */
function missingProgramMessage(spec: Pick<CliAgentSpec, 'name' | 'title' | 'program' | 'install'>, workspaceRoot: string): string {
  return (
    `agent "${spec.name}" needs ${spec.title}, but "${spec.program}" is neither in ${join(workspaceRoot, 'node_modules', '.bin')} nor on PATH. ` +
    `Install it with: ${spec.install} (or add it to the workspace's devDependencies), then run the task again.`
  );
}

/** Where the prompt goes for this CLI and this prompt, and what the runner writes to stdin. */
export function placePrompt(
  promptVia: CliAgentSpec['promptVia'],
  promptFile: string,
  maxArgumentBytes = MAX_PROMPT_ARGUMENT_BYTES,
): { prompt: PromptPlacement; stdin?: string } {
  if (promptVia === 'file') return { prompt: { via: 'file', file: promptFile } };
  const text = readFileSync(promptFile, 'utf-8');
  if (promptVia === 'stdin' || Buffer.byteLength(text, 'utf-8') > maxArgumentBytes) return { prompt: { via: 'stdin' }, stdin: text };
  return { prompt: { via: 'argument', text } };
}

/** The JSON object a CLI printed last: the whole output when it is one document, else its last JSON line. */
export function finalJson(stdout: string): Record<string, unknown> | undefined {
  const parse = (text: string) => {
    try {
      const value: unknown = JSON.parse(text);
      return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
    } catch {
      return undefined;
    }
  };
  const whole = parse(stdout.trim());
  if (whole) return whole;
  const lines = stdout.split('\n').map((line) => line.trim());
  for (let index = lines.length - 1; index >= 0; index--) {
    if (!lines[index].startsWith('{')) continue;
    const value = parse(lines[index]);
    if (value) return value;
  }
  return undefined;
}

/** Every JSON object line of a CLI that prints events (JSON Lines), in order. */
export function jsonLines(stdout: string): Record<string, unknown>[] {
  return stdout
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.startsWith('{'))
    .flatMap((line) => {
      try {
        const value: unknown = JSON.parse(line);
        return typeof value === 'object' && value !== null && !Array.isArray(value) ? [value as Record<string, unknown>] : [];
      } catch {
        return [];
      }
    });
}

function isTransient(spec: CliAgentSpec, result: ProcessResult): boolean {
  if (result.timedOut || result.signal) return false;
  if (result.exitCode !== null && spec.transient.exitCodes?.includes(result.exitCode)) return true;
  return spec.transient.patterns.some((pattern) => pattern.test(result.stdout) || pattern.test(result.stderr));
}

/** The last line the CLI wrote to stderr, to say why it failed without opening the log. */
function lastStderrLine(stderr: string): string | undefined {
  const line = stderr
    .split('\n')
    .map((text) => text.trim())
    .filter((text) => text !== '')
    .pop();
  return line && line.length > 300 ? `${line.slice(0, 300)}…` : line;
}

/** argv for the log: the prompt shown by its size, never its text. */
function describeArgv(argv: readonly string[], prompt: PromptPlacement, stdin: string | undefined): string {
  const shown = argv.map((arg) => {
    if (prompt.via !== 'argument') return arg;
    // The prompt is a whole argument, or the value of "--option=<prompt>" (gemini), which keeps a prompt starting with "-" a value.
    const option = arg === prompt.text ? '' : /^--[\w-]+=/.exec(arg)?.[0];
    return option !== undefined && arg === `${option}${prompt.text}` ? `${option}<prompt: ${Buffer.byteLength(prompt.text)} bytes>` : arg;
  });
  const quoted = shown.map((arg) => (/^[\w@%+=:,./<>-]+$/.test(arg) ? arg : JSON.stringify(arg))).join(' ');
  return stdin === undefined ? quoted : `${quoted} < <prompt: ${Buffer.byteLength(stdin)} bytes on stdin>`;
}

/** Ends a message with a full stop, so that another sentence can follow it. */
function sentence(text: string | undefined): string {
  const trimmed = (text ?? 'it failed').trim();
  return /[.!?]$/.test(trimmed) ? trimmed : `${trimmed}.`;
}

function sum(a: number | undefined, b: number | undefined): number | undefined {
  return a === undefined && b === undefined ? undefined : (a ?? 0) + (b ?? 0);
}

/** The heading between a restarted repair round's feedback and the original prompt. */
export const RESTART_SEPARATOR = '# Your task, as given at the start';

/**
 * The prompt file of a restarted repair round: the feedback, then the original
 * prompt, next to it in the session folder (never in the worktree).
 */
function restartPromptFile(promptFile: string, repair: { round: number; message: string }): string {
  const file = join(dirname(promptFile), `prompt.round-${repair.round}.md`);
  const original = readFileSync(promptFile, 'utf-8');
  writeFileSync(
    file,
    `${repair.message.trimEnd()}\n\nYour earlier work is still in the worktree: fix it there, do not start over.\n\n${RESTART_SEPARATOR}\n\n${original}`,
  );
  return file;
}

/** Calls `found` once, on the first whole stdout line `match` accepts; stdout comes in chunks. */
function firstLine(match: (line: string) => boolean, found: () => void): (text: string) => void {
  let pending = '';
  let seen = false;
  return (text) => {
    if (seen) return;
    const lines = (pending + text).split('\n');
    pending = lines.pop() ?? '';
    // A line longer than this is a message's content, not an event that opens or ends one.
    if (pending.length > 64 * 1024) pending = pending.slice(0, 64 * 1024);
    if (lines.some(match)) {
      seen = true;
      found();
    }
  };
}

/** Calls `onResponse` once, on the first stdout line that shows the model's response began. */
function responseWatcher(spec: CliAgentSpec, session: AgentSession): ((text: string) => void) | undefined {
  const { onResponse } = session;
  const began = spec.responseBegan;
  if (!onResponse || !began) return undefined;
  return firstLine(began, onResponse);
}

/** One attempt's watch for a stalled CLI (CliAgentSpec.stalled): stops it with its process group, and keeps why. */
function stallWatcher(spec: CliAgentSpec, session: AgentSession) {
  const stalled = spec.stalled;
  if (!stalled) return undefined;
  const stop = new AbortController();
  let why: string | undefined;
  const onStdout = firstLine(
    (line) => (why = stalled(line, session)) !== undefined,
    () => stop.abort(),
  );
  // The session's own stop (the run's budget) still ends the attempt.
  const signal = session.signal ? AbortSignal.any([session.signal, stop.signal]) : stop.signal;
  return { onStdout, signal, why: () => why };
}

/** How this run of the CLI starts: a new conversation, a resumed one (a repair round), or a new one told what failed. */
function startArgv(
  spec: CliAgentSpec,
  session: AgentSession,
): { args: string[]; prompt: PromptPlacement; stdin?: string; mode: string; resumed?: boolean } {
  const { repair, options } = session;
  const maxArgument = session.sandbox ? MAX_SANDBOXED_PROMPT_ARGUMENT_BYTES : MAX_PROMPT_ARGUMENT_BYTES;
  if (repair && spec.resume && repair.sessionId) {
    const { prompt, stdin } = placePrompt(spec.promptVia, repair.file, maxArgument);
    return {
      args: spec.resume(options, prompt, session, repair.sessionId),
      prompt,
      stdin,
      mode: `resuming ${repair.sessionId}, repair round ${repair.round}`,
      resumed: true,
    };
  }
  const prefix = cachePrefixFiles(session);
  const whole = prefix && sendsCachePrefix(spec, session) ? prefix.assignmentFile : session.promptFile;
  const promptFile = repair ? restartPromptFile(whole, repair) : whole;
  const { prompt, stdin } = placePrompt(spec.promptVia, promptFile, maxArgument);
  const mode = repair
    ? `repair round ${repair.round}, started again with the feedback${spec.resume ? ' (no session id to resume)' : ''}`
    : '';
  return { args: spec.args(options, prompt, session), prompt, stdin, mode };
}

/**
 * Runs the CLI in the worktree until it succeeds, fails for good, or runs out of
 * retries or of the session's time. Cost and tokens add up over every attempt:
 * a rate-limited attempt may have spent before it failed.
 */
export async function runCliAgent(spec: CliAgentSpec, session: AgentSession, deps: CliRunnerDeps = REAL_DEPS): Promise<AgentReport> {
  const say = (line: string) => appendFileSync(session.logFile, session.redact(`[fanout] ${line}\n`));
  const program = findProgram(spec.program, session.env, session.workspaceRoot);
  if (!program) return { ok: false, error: missingProgramMessage(spec, session.workspaceRoot), attempts: 0 };
  const { options } = session;
  const retries = options.retries ?? DEFAULT_RETRIES;
  const baseDelayMs =
    options.retryDelay === undefined ? DEFAULT_RETRY_DELAY_MS : (durationMs(options.retryDelay) ?? DEFAULT_RETRY_DELAY_MS);
  const start = startArgv(spec, session);
  const { prompt, stdin } = start;
  const argv = [program, ...start.args];
  if (start.mode) say(`${spec.name}: ${start.mode}`);
  const note = session.repair ? undefined : cachePrefixNote(spec, session);
  if (note) say(note);
  const watchers = [responseWatcher(spec, session), session.onStdout].filter((watch) => watch !== undefined);
  const onStdout = watchers.length > 0 ? (text: string) => watchers.forEach((watch) => watch(text)) : undefined;
  const env = spec.env ? { ...session.env, ...spec.env(options, session.env, session) } : session.env;
  const deadline = Date.now() + session.timeoutMs;
  let costUsd: number | undefined;
  let input: number | undefined;
  let output: number | undefined;
  let cacheRead: number | undefined;
  let cacheWrite: number | undefined;

  for (let attempt = 1; ; attempt++) {
    say(`${spec.name} attempt ${attempt} of ${retries + 1}: ${describeArgv(argv, prompt, stdin)}`);
    const before = spec.verify?.before(session);
    const stall = stallWatcher(spec, session);
    const watching = stall ? (text: string) => (onStdout?.(text), stall.onStdout(text)) : onStdout;
    const signal = stall?.signal ?? session.signal;
    const result = await runProcess(argv, {
      cwd: session.worktree,
      env,
      timeoutMs: Math.max(1, deadline - Date.now()),
      logFile: session.logFile,
      echo: session.echo,
      redact: session.redact,
      stdin,
      ...(watching ? { onStdout: watching } : {}),
      ...(signal ? { signal } : {}),
      sandbox: session.sandbox,
    });
    const stalled = session.signal?.aborted ? undefined : stall?.why();
    if (stalled) say(`${spec.name} was stopped: ${stalled}`);
    const read = spec.parse({ stdout: result.stdout, stderr: result.stderr, exitCode: result.exitCode });
    const unfulfilled = read.ok !== false && result.exitCode === 0 ? spec.verify?.problem({ ...result }, session, before) : undefined;
    if (unfulfilled) Object.assign(read, { ok: false, error: unfulfilled });
    if (spec.resumedTokensAreTotals && start.resumed && read.tokens && session.repair?.usedTokens) {
      read.tokens = lessUsed(read.tokens, session.repair.usedTokens);
    }
    costUsd = sum(costUsd, read.costUsd);
    input = sum(input, read.tokens?.input);
    output = sum(output, read.tokens?.output);
    cacheRead = sum(cacheRead, read.tokens?.cacheRead);
    cacheWrite = sum(cacheWrite, read.tokens?.cacheWrite);
    const exit = processReport(spec.program, result, session.timeoutMs);
    const ok = exit.ok && read.ok !== false && !stalled;
    let error: string | undefined;
    if (!ok) {
      // A timeout or a signal says more than anything the CLI printed before it was stopped.
      const stopped = exit.timedOut === true || Boolean(exit.signal);
      const stderrLine = lastStderrLine(result.stderr);
      if (stalled) error = stalled;
      else if (stopped) error = exit.error;
      else error = read.error ?? (stderrLine ? `${sentence(exit.error)} ${spec.title} said: ${stderrLine}` : exit.error);
    }
    const report: AgentReport = {
      ...exit,
      ok,
      error,
      summary: read.summary,
      // A resumed conversation that reports no id of its own is still the one it continued.
      sessionId: read.sessionId ?? session.repair?.sessionId,
      costUsd,
      tokens: tokenTotals({ input, output, cacheRead, cacheWrite }),
      attempts: attempt,
    };
    // A session stopped on purpose (the run's budget) is not tried again.
    if (ok || stalled || session.signal?.aborted || !isTransient(spec, result)) return report;
    if (attempt > retries) {
      return {
        ...report,
        error:
          `${sentence(error)} It was still rate-limited or overloaded after ${attempt} attempt(s): raise agents.${spec.name}.retries or ` +
          `agents.${spec.name}.retryDelay in the plugin options, or run fewer sessions at once (--parallel, maxConcurrent).`,
      };
    }
    // The CLI has retried within its run already (rate-limit.ts): the next run waits at least what the provider last asked.
    const limit = readRateLimit(`${result.stdout}\n${result.stderr}`);
    const plan = retryDelay({
      attempt,
      baseMs: baseDelayMs,
      capMs: MAX_RETRY_DELAY_MS,
      ...(limit ? { signal: limit } : {}),
      remainingMs: deadline - Date.now(),
      random: deps.random,
    });
    if (plan.waitMs === undefined) {
      const why = plan.giveUp ?? "the session's timeout leaves no time to try again.";
      say(`${spec.name} was rate-limited or overloaded on attempt ${attempt}, and is not tried again: ${why}`);
      return { ...report, error: `${sentence(error)} It was rate-limited or overloaded, and ${why}` };
    }
    say(waitingMessage(spec.name, attempt, plan.waitMs, limit));
    await deps.sleep(plan.waitMs);
  }
}

/** A resumed conversation's running totals less what its earlier rounds used: this round's own. */
function lessUsed(totals: AgentTokens, used: AgentTokens): AgentTokens {
  const less = (value: number | undefined, earlier: number | undefined) =>
    value === undefined ? undefined : Math.max(0, value - (earlier ?? 0));
  return {
    input: less(totals.input, used.input),
    output: less(totals.output, used.output),
    cacheRead: less(totals.cacheRead, used.cacheRead),
    cacheWrite: less(totals.cacheWrite, used.cacheWrite),
  };
}

/** The tokens counted, without the kinds the CLI never reported; undefined when it reported none. */
function tokenTotals(tokens: AgentTokens): AgentTokens | undefined {
  const reported = Object.entries(tokens).filter(([, value]) => value !== undefined);
  return reported.length === 0 ? undefined : (Object.fromEntries(reported) as AgentTokens);
}

/** An agent adapter from a CLI spec: option rules, a preflight that finds the program, and the shared runner. */
export function createCliAgent(spec: CliAgentSpec, deps: CliRunnerDeps = REAL_DEPS): AgentAdapter {
  const sharesCachePrefix = (options: AgentOptions) => spec.sharesCachePrefix?.(options) === true;
  const cachePrefixBlocker = (context: AgentPreflight) => {
    const program = findProgram(spec.program, context.env, context.workspaceRoot);
    return program ? spec.cachePrefixBlocker?.(program) : undefined;
  };
  return {
    name: spec.name,
    description: spec.description,
    options: { ...CLI_AGENT_OPTIONS, ...spec.options },
    repair: spec.resume ? 'resume' : 'restart',
    ...(spec.sharesCachePrefix && spec.responseBegan ? { sharesCachePrefix } : {}),
    ...(spec.cachePrefixBlocker ? { cachePrefixBlocker } : {}),
    ...(spec.sandbox ? { sandbox: spec.sandbox } : {}),
    preflight(context: AgentPreflight): void {
      if (!findProgram(spec.program, context.env, context.workspaceRoot)) {
        throw new Error(missingProgramMessage(spec, context.workspaceRoot));
      }
      spec.env?.(context.options, context.env);
    },
    run: (session) => runCliAgent(spec, session, deps),
  };
}

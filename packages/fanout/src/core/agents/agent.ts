import type { Subjects } from '../naming/subject';
import type { AgentOptions, OptionRule } from './agent-options';
import type { CachePrefixFiles } from './cache-prefix';
import type { AgentSandboxNeeds, ProcessSandbox } from '../sandbox/session-sandbox';

/**
 * The one shape every agent has. A session gives the agent its worktree and
 * prompt file; the agent changes files in the worktree and reports how it went.
 */
export interface AgentSession {
  /** The task's project name. */
  project: string;
  /** The task's project root, workspace-relative. */
  projectRoot: string;
  /** The workspace root; CLI agents also look for their program in its node_modules/.bin. */
  workspaceRoot: string;
  /** The session's git worktree: the agent's working directory. */
  worktree: string;
  /** The assembled prompt (base context + assignment), outside the worktree. */
  promptFile: string;
  /** The session's log; process agents stream their output here. */
  logFile: string;
  /** The reference's subject and the task's (`settings` → `dashboard`): what the pattern agent replaces. */
  subjects: Subjects;
  reference: { project: string; root: string };
  contracts: { project: string; root: string; importPath: string };
  /** argv template, for the `command` agent. */
  command?: string;
  /** This agent's options (plugin options `agents.<name>`), checked, with the run's --model applied. */
  options: AgentOptions;
  timeoutMs: number;
  /** Environment for agent processes (FANOUT_* variables included). */
  env: NodeJS.ProcessEnv;
  /** Forward agent output to the terminal (Nx shows it per task). */
  echo: boolean;
  redact: (text: string) => string;
  /** Set for a repair round: the agent continues (or redoes) its work in the same worktree, told what failed. */
  repair?: RepairRound;
  /** Workspace-relative files outside the scope the session may edit to register its work. */
  wired?: readonly string[];
  /**
   * The prompt in two parts, outside the worktree: the base context (byte-identical in
   * every session of the run) and the assignment alone. An agent that can send the base
   * context apart, ahead of everything session-specific, gives every session of the run
   * one cache prefix (cache-prefix.ts).
   */
  cachePrefix?: CachePrefixFiles;
  /** Called once when the model's first response has begun (the provider then caches the prompt's prefix). */
  onResponse?: () => void;
  /** Called with each piece of the agent's stdout as it arrives (redacted): the run's budget reads the usage it streams. */
  onStdout?: (text: string) => void;
  /** Aborted when the session must stop (the run's budget is reached): the agent's process group is ended, and no attempt follows. */
  signal?: AbortSignal;
  /**
   * Set when the session runs sandboxed: every process of the agent runs under this policy
   * (runProcess's `sandbox`), and its private folder takes what the agent would keep elsewhere.
   */
  sandbox?: ProcessSandbox & { privateTemp: string };
}

/** What a repair round gives the agent. */
export interface RepairRound {
  /** 1 for the first repair round (the agent's second run in the session). */
  round: number;
  /** What failed, trimmed to the errors (feedbackMessage()). */
  message: string;
  /** The same message in a file outside the worktree: the command agent's {feedbackFile}. */
  file: string;
  /** The conversation to continue, as the previous round reported it. */
  sessionId?: string;
  /** The tokens the session's earlier rounds used: what a CLI that reports a resumed conversation's running totals had counted already. */
  usedTokens?: AgentTokens;
}

export interface AgentReport {
  ok: boolean;
  /** Why it failed, for people. */
  error?: string;
  exitCode?: number | null;
  signal?: string | null;
  timedOut?: boolean;
  summary?: string;
  costUsd?: number;
  tokens?: AgentTokens;
  sessionId?: string;
  /** How many times the agent was started (more than 1 after rate-limit retries). */
  attempts?: number;
  /** Set when the run's budget stopped the round, or kept it from starting (`error` says so). */
  stopped?: 'budget';
}

/** Tokens an agent reported. `input` counts every prompt token; cacheRead and cacheWrite are the parts of it the provider's cache read and wrote. */
export interface AgentTokens {
  input?: number;
  output?: number;
  cacheRead?: number;
  cacheWrite?: number;
}

/** What a run gives an agent besides the prompt: fanout.md's settings with the run's overrides. */
export interface AgentSettings {
  command?: string;
}

export interface AgentAdapter {
  name: string;
  /** One line for `--help` and errors. */
  description: string;
  /** What is missing or wrong in the settings, checked before any worktree exists; undefined when ready. */
  settingsProblem?(settings: AgentSettings): string | undefined;
  /** The options it takes in the plugin options (`agents.<name>`); it takes none when absent. */
  options?: Readonly<Record<string, OptionRule>>;
  /**
   * How it takes a repair round: 'resume' continues its conversation with the
   * feedback (falling back to 'restart' when the previous round reported no
   * session id); 'restart' runs it again in the same worktree with the feedback.
   * Absent: it gets no repair rounds, and what it writes passes or fails as it is.
   */
  repair?: 'resume' | 'restart';
  /**
   * True when, with these options, every session of a run sends the same cache prefix
   * (the base context) and the agent calls onResponse: sessions then wait for a lead
   * session's first response, so that they read the prefix from the provider's cache.
   */
  sharesCachePrefix?(options: AgentOptions): boolean;
  /**
   * Why, with the CLI installed here, the sessions of a run would share no cache prefix
   * after all (a version that puts per-session text before the base context); undefined
   * when nothing stands in the way. Sessions then start at once, without a lead.
   */
  cachePrefixBlocker?(context: AgentPreflight): string | undefined;
  /** What it needs from the sandbox (its provider, its variables, its CLI's state); absent: nothing but its worktree. */
  sandbox?: AgentSandboxNeeds;
  /** Throws, for people, when the agent cannot run here (its CLI is not installed); called before any worktree exists. */
  preflight?(context: AgentPreflight): void;
  run(session: AgentSession): Promise<AgentReport>;
}

/** What an agent can look at before its session's worktree exists. */
export interface AgentPreflight {
  workspaceRoot: string;
  /** The environment the agent will run with (its options' env included). */
  env: NodeJS.ProcessEnv;
  options: AgentOptions;
}

/** Turns a finished process into a report; shared by every agent that runs a process. */
export function processReport(
  program: string,
  result: { exitCode: number | null; signal: string | null; timedOut: boolean },
  timeoutMs: number,
): AgentReport {
  const base = { exitCode: result.exitCode, signal: result.signal, timedOut: result.timedOut };
  if (result.timedOut) {
    return {
      ...base,
      ok: false,
      error: `${program} did not finish within ${Math.round(timeoutMs / 1000)} s and was killed with its process group.`,
    };
  }
  if (result.signal) return { ...base, ok: false, error: `${program} was killed by ${result.signal}.` };
  if (result.exitCode === 127) return { ...base, ok: false, error: `${program} could not be started (not found or not executable).` };
  if (result.exitCode !== 0) return { ...base, ok: false, error: `${program} exited with code ${result.exitCode}.` };
  return { ...base, ok: true };
}

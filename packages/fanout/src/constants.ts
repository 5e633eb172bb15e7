import { join } from 'path';
import type { AgentOptions } from './core/agents/agent-options';
import type { SandboxMode, SandboxSetting } from './core/sandbox/settings';
import type { ModelPrice } from './core/budget/prices';

/**
 * fanout's names: the tags, targets and files every part of the plugin agrees on,
 * and the one reader of the plugin's options in nx.json. Plain data: no Nx import.
 */

/** The package name, as registered in nx.json `plugins`. */
export const PLUGIN_NAME = 'fanout';

/**
 * The inferred target users run (the plugin's `targetName` option renames it): it
 * lands the task's session, which its `-session` target runs or Nx replays.
 */
export const FANOUT_TARGET = 'fanout';
/** The root project's target that checks the fan-out as a whole. */
export const VERIFY_TARGET = 'fanout-verify';

/** Every project with a fanout.md is a task; the tag lets `fanout-verify` depend on all of them. */
export const TASK_TAG = 'fanout:task';
export const CONTRACTS_TAG = 'fanout:contracts';
export const REFERENCE_TAG = 'fanout:reference';

/** A task's assignment, at its project's root. */
export const ASSIGNMENT_FILE = 'fanout.md';
/** The conventions every session reads; `CLAUDE.md` imports them for Claude Code. */
export const CONVENTIONS_FILE = 'AGENTS.md';
export const CLAUDE_FILE = 'CLAUDE.md';
/** Sessions' worktrees, prompts, logs, results and the report, under the workspace root. */
export const FANOUT_DIR = '.fanout';

/** Every task's session folder, workspace-relative. */
export const SESSIONS_DIR = `${FANOUT_DIR}/sessions`;
/** A session's record in its folder: what it did and how it ended (core/session/result.ts). */
export const RESULT_FILE = 'result.json';

/**
 * A task's session folder: its record (result.json, files/, wired.json), prompt and log.
 * With `workspaceRoot` '' it is workspace-relative, as a generator's Tree reads it; a
 * scoped name (`@ws/orders`) is a folder in its scope's.
 */
export function sessionDir(workspaceRoot: string, project: string): string {
  return join(workspaceRoot, SESSIONS_DIR, project);
}

/** A task's result.json (see sessionDir). */
export function resultFile(workspaceRoot: string, project: string): string {
  return join(sessionDir(workspaceRoot, project), RESULT_FILE);
}

/** A session's diff, in its session folder (cut at a size a reviewer reads). */
export const DIFF_FILE = 'changes.diff';
/** How the line that says where a session's diff was cut begins; the report finds it by this. */
export const DIFF_CUT_NOTE = '[fanout: the diff is cut here';

/** The workspace-level lock for what git cannot do concurrently (worktree add/remove, branch changes, landing). */
export function lockPath(workspaceRoot: string): string {
  return join(workspaceRoot, FANOUT_DIR, 'git.lock');
}

/** Where a task's session works: its git worktree, kept after a failed session until the task lands. */
export function worktreePath(workspaceRoot: string, project: string): string {
  return join(workspaceRoot, FANOUT_DIR, 'worktrees', project);
}

/**
 * A reference's subject (the word that differs between it and its siblings) is
 * recorded as a tag, `fanout:subject:<word>`: tags are kept wherever a project is
 * configured (project.json, or package.json's "nx"), committed with it, shown by
 * `nx show project`, and carried by the project graph to every task.
 */
export const SUBJECT_TAG_PREFIX = 'fanout:subject:';

export function subjectTag(subject: string): string {
  return `${SUBJECT_TAG_PREFIX}${subject}`;
}

/** The subject a reference's tags record, if any. */
export function recordedSubject(project: { tags?: readonly string[] } | undefined): string | undefined {
  const tag = project?.tags?.find((candidate) => candidate.startsWith(SUBJECT_TAG_PREFIX));
  const subject = tag?.slice(SUBJECT_TAG_PREFIX.length);
  return subject ? subject : undefined;
}

export interface FanoutPluginOptions {
  /** Name of the inferred target. Default: fanout. */
  targetName?: string;
  /** Files copied from the workspace into every session's worktree (e.g. `.env`). */
  copyFiles?: string[];
  /** First port of the first session; each session gets `portRange` ports from its base. */
  portBase?: number;
  portRange?: number;
  /** Severity per check: contract-conformance (error), naming-parity (warning). */
  checks?: Record<string, 'error' | 'warning' | 'off'>;
  /** Makes naming-parity findings errors. */
  strictNaming?: boolean;
  /**
   * Options per agent, by name: `{ "claude": { "model": "sonnet", "maxTurns": 40 } }`.
   * Every CLI agent takes model, args, env, retries and retryDelay; each adds its own.
   */
  agents?: Record<string, AgentOptions>;
  /** Session n of a run starts its agent n × stagger after it began ("2s"; seconds, or ms/s/m). Default 0. */
  stagger?: string | number;
  /**
   * For an agent whose sessions share one prompt-cache prefix (claude): the longest the
   * run's sessions wait for the lead session's first model response before they start
   * ("45s"; seconds, or ms/s/m). Default 45s; 0 starts every session at once.
   */
  leadWait?: string | number;
  /**
   * Leave out of each session's worktree the projects it does not need (a git sparse
   * checkout): it keeps its own project, the contracts, the reference, what they
   * depend on, and everything that is no project's. Default true; false checks out
   * the whole workspace for every session (seconds per session in a large workspace, see BENCHMARKS.md).
   */
  sparseCheckout?: boolean;
  /**
   * The reference's and the contracts' targets every session waits for (those they
   * have): `typecheck`, `test` and `lint` by default; `[]` starts sessions without them.
   */
  foundationTargets?: string[];
  /**
   * The task project's targets every session must pass in its worktree before it lands
   * (fanout.md's `gate:` wins): those of typecheck, test and lint the project has by default; `[]` turns the gate off.
   */
  gate?: string[];
  /** Repair rounds a session's agent gets when the gate or the checks fail (fanout.md's `repairs:` wins). Default 2. */
  repairs?: number;
  /**
   * The agents' sandbox: `auto` (the default: on where it can run), `on` (refuse to start without it),
   * `off`; or `{ mode, denyRead, allowedDomains, env }` with what the policy adds. fanout.md's
   * `sandbox:` wins, and --sandbox over both for the mode.
   */
  sandbox?: SandboxMode | SandboxSetting;
  /**
   * Rounds of repairs `fanout-verify` gives the sessions that broke the integrated whole (its
   * `--verifyRepairs` wins): each resumes its agent, told what failed. Default 1, at most 5; 0 reports whom it blames only.
   */
  verifyRepairs?: number;
  /**
   * The run's budget (docs/cost.md): USD (`5`, `"$5"`), tokens (`"2M tokens"`), both (`"5usd,2M tokens"`),
   * or `{ "usd": 5, "tokens": 2000000 }`. A run whose estimate is over it does not start; once its sessions
   * have spent it, the running ones stop and no other starts. --budget wins.
   */
  budget?: number | string | { usd?: number; tokens?: number };
  /**
   * Prices in USD per million tokens, by model id (or a family's prefix), over the table fanout ships:
   * `{ "claude-sonnet-5-5": { "input": 2, "output": 10, "cacheWrite": 2.5, "cacheRead": 0.1 } }`.
   */
  prices?: Record<string, Partial<ModelPrice>>;
  /** How many sessions of an agent run at once on this machine, across every run: `{ "claude": 2 }`. */
  maxConcurrent?: Record<string, number>;
}

/** The part of nx.json this module reads. */
export interface PluginsConfiguration {
  plugins?: readonly (string | { plugin: string; options?: unknown })[];
}

/** Whether nx.json registers fanout, as a name or with options. */
export function isPluginRegistered(nxJson: PluginsConfiguration | undefined): boolean {
  return (nxJson?.plugins ?? []).some((entry) => (typeof entry === 'string' ? entry : entry.plugin) === PLUGIN_NAME);
}

/** fanout's options from nx.json `plugins` (an empty object when it is registered without options, or not at all). */
export function readPluginOptions(nxJson: PluginsConfiguration | undefined): FanoutPluginOptions {
  const entry = nxJson?.plugins?.find((plugin) => (typeof plugin === 'string' ? plugin : plugin.plugin) === PLUGIN_NAME);
  return typeof entry === 'object' && entry.options && typeof entry.options === 'object' ? (entry.options as FanoutPluginOptions) : {};
}

/** The session target's name in this workspace: the plugin's `targetName`, or `fanout`. */
export function fanoutTargetName(options: FanoutPluginOptions | undefined): string {
  return typeof options?.targetName === 'string' && options.targetName.trim() !== '' ? options.targetName : FANOUT_TARGET;
}

/**
 * The cached target that runs a task's session and records its work (the
 * landing target's name with `-session`): `fanout-session` by default.
 */
export function sessionTargetName(options: FanoutPluginOptions | undefined): string {
  return `${fanoutTargetName(options)}-session`;
}

/*
 * The run's defaults: what a run takes where neither its command line, the task's
 * fanout.md nor the plugin options in nx.json say otherwise.
 */

/** The agent of a fanout.md without `agent:`. */
export const DEFAULT_AGENT = 'pattern';
/** A session's time limit (fanout.md's `timeout:`, --timeout). */
export const DEFAULT_TIMEOUT_MS = 30 * 60 * 1000;
/** Repair rounds a session gets after its first attempt (--repairs, fanout.md's `repairs:`, the plugin's `repairs`). */
export const DEFAULT_REPAIRS = 2;
/**
 * Where a session writes by default: its project's sources. Everything a session
 * may write is an output of the cached session target (replayed from the cache),
 * so the default keeps the project's own configuration out of it.
 */
export const DEFAULT_SCOPE: readonly string[] = ['src'];

/**
 * The targets a project must pass before anything is built on it, those it has:
 * the task project's in its worktree before its session lands (the gate; fanout.md's
 * `gate:`, the plugin's `gate`), and the reference's and the contracts' before any
 * session of a fan-out starts (the plugin's `foundationTargets`): every session copies
 * the reference, so its defects would be copied too.
 */
export const GATE_TARGETS: readonly string[] = ['typecheck', 'test', 'lint'];

/**
 * The checks run over the integrated workspace, by the names Nx's own plugins give
 * them: by `fanout-verify` (nx affected since the fan-out's base) and by the CI
 * workflow `nx g fanout:ci` writes, after the sessions.
 */
export const DEFAULT_CHECK_TARGETS: readonly string[] = ['lint', 'test', 'typecheck', 'build'];

/** Rounds of repairs on the integrated whole (fanout-verify's --verifyRepairs, the plugin's `verifyRepairs`), and their most. */
export const DEFAULT_VERIFY_REPAIRS = 1;
export const MAX_VERIFY_REPAIRS = 5;

/** The first port of a run's first session (the plugin's `portBase`); each session gets DEFAULT_PORT_RANGE from its own. */
export const DEFAULT_PORT_BASE = 20_000;
/** The ports each session gets (the plugin's `portRange`). */
export const DEFAULT_PORT_RANGE = 100;
/** How long after session n-1 session n starts its agent (the plugin's `stagger`): at once. */
export const DEFAULT_STAGGER_MS = 0;
/** The longest a session waits for the lead's first response (the plugin's `leadWait`). */
export const DEFAULT_LEAD_WAIT_MS = 45_000;

/** Attempts a CLI agent gets again after a rate limit or an overload (the agent option `retries`). */
export const DEFAULT_RETRIES = 3;
/** The base of a CLI agent's backoff (the agent option `retryDelay`): the wait before attempt n is random, below base × 2^(n-1). */
export const DEFAULT_RETRY_DELAY_MS = 15_000;

/** Sessions at once in one batch when neither --parallel, NX_PARALLEL nor nx.json's parallel says: Nx's own default. */
export const NX_DEFAULT_PARALLEL = 3;

import type { AgentTokens } from '../agents/agent';
import type { Finding } from '../checks/check';
import type { LandingOutcome } from '../landing/land';
import type { SandboxPolicySummary } from '../sandbox/policy';
import type { SandboxDenial } from '../sandbox/sandbox';
import type { SandboxMode } from '../sandbox/settings';
import type { GateResult } from './gate';
import type { FileChange } from './scope';
import type { SessionDiff } from './session-diff';

/**
 * The shape of a session's record, `.fanout/sessions/<project>/result.json`: what the
 * session did (written by the session), then how it landed (amended by the landing).
 */

/** The version of the record's shape that this fanout writes. */
export const RESULT_VERSION = 3;

/** One round of a session: the agent's run, then the checks and the gate over what it left. Round 0 is the first attempt. */
export interface SessionRound {
  round: number;
  /** The agent finished (false: it failed, timed out or could not start). */
  ok?: boolean;
  agentMs: number;
  costUsd?: number;
  tokens?: AgentTokens;
  attempts?: number;
  /** Each gate target's outcome; empty when the gate did not run in this round. */
  gate: {
    target: string;
    ok: boolean;
    durationMs: number;
    exitCode: number | null;
    timedOut?: boolean;
    cached?: boolean;
    /** Not run: a task it depends on failed (those that failed in the run). */
    skipped?: { because: string[] };
  }[];
  /** What stopped the round's work from landing; absent for the round that landed. */
  failed?: 'agent' | 'scope' | 'checks' | 'gate';
  /** The feedback the next round got. */
  feedbackFile?: string;
}

export interface SessionResult {
  /** The shape's version (RESULT_VERSION when written); absent in results written before it was recorded. */
  version?: number;
  /** This session record's id: landing tells a record it landed before from a new one by it. */
  id: string;
  project: string;
  status: 'succeeded' | 'failed';
  agent: string;
  /** The model the session asked its agent for; absent where it named none (the CLI's default) and in older records. */
  model?: string;
  startedAt: string;
  endedAt: string;
  durationMs: number;
  baseCommit: string;
  baseContextHash: string;
  /**
   * The files the session wrote or deleted, with the sha256 of its version and of the file where it
   * started (`baseSha256`, absent when the file was not there), and the lines added and removed
   * (`binary` instead for a binary file). A copy of each written file is in the session folder's files/.
   */
  files: (FileChange & { sha256?: string; baseSha256?: string; added?: number; removed?: number; binary?: boolean })[];
  /** When its record landed in this workspace (under the workspace lock); absent until it has. */
  integratedAt?: string;
  /** The session's edits of its wired files: recorded by the session, then how each landed. */
  wired?: { path: string; project: string; status: 'recorded' | 'conflict' | LandingOutcome['wired'][number]['status'] }[];
  /** What landing did with the record in this workspace (the fanout target); absent until it landed. */
  landing?: LandingOutcome;
  /** Changes the scope check rejected. */
  rejected: (FileChange & { reason: 'outside-scope' | 'read-only' })[];
  /**
   * The session's steps in order, each passed or failed: agent, scope, checks (the per-session
   * checks), gate, record; landing when it could not land. Named `checks` before version 3.
   */
  steps: { name: string; ok: boolean; message?: string }[];
  /** What the per-session checks found (contract conformance, naming parity). */
  findings: Finding[];
  error?: string;
  /** Kept on failure, for inspection. */
  worktree?: string;
  log: string;
  promptFile: string;
  summary?: string;
  costUsd?: number;
  tokens?: AgentTokens;
  sessionId?: string;
  /** How many times the agent was started (more than 1 after rate-limit retries). */
  attempts?: number;
  /** Where the time went; fanout's own overhead is everything but agentMs, gateMs and waitMs. Absent in results of older versions. */
  timings?: SessionTimings;
  /** Every round: the first attempt, then each repair round. Costs, tokens and times above are their totals. */
  rounds?: SessionRound[];
  /** The last gate that ran: each target's outcome, duration and (capped) output. */
  gate?: GateResult;
  /** The unified diff of the session's changes, for review. Absent when it changed nothing, and in results of older versions. */
  diff?: SessionDiff;
  /**
   * Whether the agent ran in the sandbox (`mode` as set), under which policy (paths, hosts and
   * variable names: no value), and what the sandbox denied it. Absent in results of older versions.
   */
  sandbox?: SessionSandboxRecord;
  /** The session's part in sharing the prompt-cache prefix: it led the run, or waited for the lead (how long, and for what). */
  lead?: { role: 'lead' } | { role: 'follower'; lead: string; waitedMs: number; outcome: 'response' | 'ended' | 'timeout' };
  /** The session under the run's budget (docs/cost.md): what it spent, and whether it was stopped at the cap. Absent without a budget. */
  budget?: SessionBudgetRecord;
  /** What fanout-verify blamed on the session when the integrated whole failed, and its repairs; absent when nothing was. */
  verifyRepairs?: import('../verify/repair-record').VerifyRepairRecord[];
}

/** A session's part of the run's budget, as result.json records it. */
export interface SessionBudgetRecord {
  /** What the session spent in USD, as the run's ledger counted it. */
  spentUsd: number;
  tokens: number;
  /** Stopped at the cap: its agent's process group was ended (or a round not started) when the run's spend reached the budget. */
  stopped?: boolean;
}

/** Milliseconds per phase of a session. */
export interface SessionTimings {
  /** Reading the previous result, resolving the agent, writing the prompt. */
  contextMs: number;
  /** Creating the worktree, and removing it after integration. */
  worktreeMs: number;
  agentMs: number;
  /** Collecting the session's changes, the scope check and the per-session checks. */
  checksMs: number;
  /** Checking for conflicts and copying the changes into the workspace. */
  integrateMs: number;
  /** The project's own targets in the worktree, over every round. */
  gateMs?: number;
  /** Waiting before the agent started: the stagger, and the lead session's first response. */
  waitMs?: number;
}

/** The sandbox a session's agent ran in, as result.json records it. */
export interface SessionSandboxRecord {
  on: boolean;
  mode: SandboxMode;
  policy?: SandboxPolicySummary;
  /** What the sandbox refused the agent: hosts it tried to reach, paths it tried to write. */
  denials?: SandboxDenial[];
  /**
   * The agent's CLI state (its conversation), kept after the session in the system's temp folder
   * for fanout-verify's repairs on this machine, which resume the conversation (only when
   * fanout-verify runs in the same Nx command). fanout-verify removes it when it is done, and so
   * does the task's next session.
   */
  keptState?: string;
}

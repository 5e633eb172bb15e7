import type { AgentTokens } from '../agents/agent';

/**
 * What `fanout-verify` did about one task that failed over the integrated workspace:
 * whom it blamed and why, each repair, and the verdict. Kept in the result.json of
 * each session concerned (`verifyRepairs`), in verify's summary, and in the report.
 */
export interface VerifyRepairRecord {
  /** `project:target`. */
  task: string;
  /**
   * repaired: it passes after the repairs; still-failing: it fails after every round (the
   * workspace was put back as integrated); failing-before: it fails at the base too, nobody
   * was asked; not-attributed: no session of the run reached it; not-repaired: its suspects
   * could not repair (the pattern agent, no time left, verifyRepairs 0).
   */
  verdict: 'repaired' | 'still-failing' | 'failing-before' | 'not-attributed' | 'not-repaired';
  /** The task at the base commit, when it was run there. */
  atBase?: string;
  /** How the suspects were found (attributeFailures's `how`). */
  how: string;
  suspects: { session: string; reasons: string[] }[];
  cleared?: { session: string; reason: string }[];
  repairs: WholeRepair[];
  /** Files put back as integrated when the failure persisted. */
  restored?: string[];
}

/** One session's repair of the whole, in one round. */
export interface WholeRepair {
  session: string;
  /** 1 for the first round of repairs on the whole. */
  round: number;
  /**
   * resumed: its conversation continued; restarted: run again with the feedback (an agent that
   * cannot resume, such as command); fresh: a new conversation given its assignment, its diff and
   * the failure (the conversation is not on this machine); none: not run (see outcome).
   */
  mode: 'resumed' | 'restarted' | 'fresh' | 'none';
  /**
   * landed: its repair landed; refused: it changed files outside its scope and wired files, or broke
   * the checks; gate-failed: its targets or the failed task did not pass; agent-failed; no-change;
   * conflict: landing it met a change made meanwhile; cannot-repair: its agent takes no repair rounds;
   * no-time: the session's timeout was spent; not-needed: an earlier repair already fixed the task.
   */
  outcome: 'landed' | 'refused' | 'gate-failed' | 'agent-failed' | 'no-change' | 'conflict' | 'cannot-repair' | 'no-time' | 'over-budget' | 'not-needed';
  /** Why, for people. */
  message?: string;
  agentMs?: number;
  costUsd?: number;
  tokens?: AgentTokens;
  /** What it changed (workspace-relative), and which of those were wired files. */
  files?: { path: string; status: 'added' | 'modified' | 'deleted'; wired?: boolean }[];
  /** Its gate: its own targets, then the failed task. */
  gate?: { target: string; ok: boolean; durationMs: number }[];
  /** The feedback it was given, the log of its run and the diff of its changes (absolute paths). */
  feedbackFile?: string;
  log?: string;
  diffFile?: string;
  /** The session record the repair belongs to. */
  record?: string;
}

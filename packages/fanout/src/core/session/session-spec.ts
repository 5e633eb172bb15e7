import type { BudgetGuard } from '../budget/ledger';
import type { CheckInput } from '../checks/check';
import type { SandboxAvailability } from '../sandbox/availability';
import type { SessionSandboxSetting } from '../sandbox/settings';
import type { CheckSettings } from '../checks/registry';
import type { Assignment, WiredFile } from './assignment';
import type { ProcessRunner } from './gate';
import type { assembleBase } from './prompt';
import type { SparseCheckout } from './sparse-checkout';

/** What one session is given: the task, the run's settings for it, and what tests inject. */
export interface SessionSpec {
  workspaceRoot: string;
  project: string;
  projectRoot: string;
  assignment: Assignment;
  /** --agent / --command from the run override the front matter. */
  agent?: string;
  command?: string;
  /** The options of the agent that runs (plugin options `agents.<name>`), checked against what the agent takes. */
  agentOptions?: unknown;
  /** --model from the run, over the agent's own model option (for agents that take a model). */
  model?: string;
  /** How long to wait before the agent starts, so that a run's sessions do not reach the provider at the same instant. */
  startDelayMs?: number;
  /** How the session waits; injected by tests. */
  sleep?: (ms: number) => Promise<void>;
  /**
   * The run's lead session (lead.ts): for an agent whose sessions share one prompt
   * prefix, the first session to reach its agent starts at once, and the others wait
   * for its model's first response, at most waitMs. Absent or waitMs 0: no waiting.
   */
  lead?: { run: string; waitMs: number; dir?: string };
  /**
   * The run's budget (docs/cost.md): the guard adds the agent's usage to the run's ledger as it
   * streams in, and says when the run's spend has reached the budget (the session then stops). Absent: no budget.
   */
  budget?: BudgetGuard;
  /** How many sessions of this agent may run at once on this machine, across runs (maxConcurrent); absent: no limit. */
  maxConcurrent?: number;
  /** Where the agents' slots are kept (SLOTS_DIR when absent); injected by tests. */
  slotsDir?: string;
  contracts: { project: string; root: string; importPath: string };
  /** The reference; `subject` as recorded by `nx g fanout:reference` (its `fanout:subject:<word>` tag), when it was. */
  reference: { project: string; root: string; subject?: string };
  base: ReturnType<typeof assembleBase>;
  copyFiles: readonly string[];
  /** Projects to keep in and leave out of the worktree; absent, the worktree holds the whole workspace. */
  sparse?: SparseCheckout;
  portBase: number;
  echo: boolean;
  env?: NodeJS.ProcessEnv;
  /**
   * Takes the clean-up after a session that landed (git forgetting its worktree and
   * branch, the folder deleted) to run after the session: a batch, which waits for
   * it before it ends. Absent, the session does it before it returns.
   */
  cleanUpLater?: (work: () => Promise<void>) => void;
  log?: (line: string) => void;
  /** Severities of the per-session checks (plugin options). */
  checks?: CheckSettings;
  /** What the run knows of the other sessions: projects to resolve imports, forbidden imports, ports. */
  run?: Pick<CheckInput, 'projects' | 'forbidden' | 'ports'>;
  /** The project's targets that must pass in the worktree before it lands; absent: no gate. */
  gate?: SessionGate;
  /** Repair rounds the agent gets (DEFAULT_REPAIRS when absent); agents that cannot repair get none. */
  repairs?: number;
  /** The task's wired files (resolveWiredFiles): it may edit them, and its edits are merged three-way when it lands. */
  wired?: readonly WiredFile[];
  /**
   * The gate of each project that owns a wired file (its typecheck), run in the worktree
   * after the task's own when the session edited one of its wired files.
   */
  wiredGate?: readonly { project: string; targets: string[] }[];
  /** Runs the gate's nx; injected by tests. */
  runGate?: ProcessRunner;
  /**
   * The sandbox the agent runs in, every source weighed (--sandbox, fanout.md, the plugin options:
   * sessionSandboxSetting). Absent: fanout.md's, else auto.
   */
  sandbox?: SessionSandboxSetting;
  /**
   * fanout-verify runs later in the same Nx command: a sandboxed session keeps its CLI's state (the
   * conversation) for verify's repairs to resume, and verify removes it. Otherwise nothing is kept.
   */
  keepConversation?: boolean;
  /** Whether the sandbox can run here (sandboxAvailabilityHere when absent); injected by tests to simulate a machine without it. */
  sandboxAvailability?: () => SandboxAvailability;
}

/** A session's gate: the targets it runs (gateTargets()), and those asked for that the project lacks. */
interface SessionGate {
  run: string[];
  missing: string[];
}

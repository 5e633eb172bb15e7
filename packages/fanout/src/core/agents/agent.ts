/**
 * The one shape every agent has. A session gives the agent its worktree and
 * prompt file; the agent changes files in the worktree and reports how it went.
 */
export interface AgentSession {
  /** The task's project name. */
  project: string;
  /** The task's project root, workspace-relative. */
  projectRoot: string;
  /** The session's git worktree: the agent's working directory. */
  worktree: string;
  /** The assembled prompt (base context + assignment), outside the worktree. */
  promptFile: string;
  /** The session's log; process agents stream their output here. */
  logFile: string;
  /** The entity this task serves (`order`), when known. */
  entity?: string;
  reference: { project: string; root: string };
  contracts: { project: string; root: string; importPath: string };
  /** argv template, for the `command` agent. */
  command?: string;
  timeoutMs: number;
  /** Environment for agent processes (FANOUT_* variables included). */
  env: NodeJS.ProcessEnv;
  /** Forward agent output to the terminal (Nx shows it per task). */
  echo: boolean;
  redact: (text: string) => string;
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
  tokens?: { input?: number; output?: number };
  sessionId?: string;
}

export interface AgentAdapter {
  name: string;
  /** One line for `--help` and errors. */
  description: string;
  run(session: AgentSession): Promise<AgentReport>;
}

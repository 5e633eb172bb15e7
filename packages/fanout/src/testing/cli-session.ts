import { mkdirSync, writeFileSync } from 'fs';
import { join } from 'path';
import type { AgentSession } from '../core/agents/agent';
import type { CliRunnerDeps } from '../core/agents/cli-agent';
import { createRedactor } from '../core/system/redact';

/** Runner dependencies that record the waits instead of waiting; jitter fixed at half the window. */
export function recordingDeps(): CliRunnerDeps & { waits: number[] } {
  const waits: number[] = [];
  return { waits, sleep: async (ms) => void waits.push(ms), random: () => 0.5 };
}

export interface CliSessionSetup {
  /** The prompt file's text. */
  prompt?: string;
  /** Where prompt.md and session.log go: `dir` itself unless given. */
  sessionDir?: string;
  /** Anything else of the session to set. */
  overrides?: Partial<AgentSession>;
}

/**
 * The session a CLI agent runs for task `orders` in `dir`: an empty worktree
 * folder, the prompt file and an empty session log, the contracts and the
 * reference at their usual roots, and a redactor built from `env`.
 */
export function cliSession(dir: string, env: NodeJS.ProcessEnv, setup: CliSessionSetup = {}): AgentSession {
  const worktree = join(dir, 'worktree');
  const sessionDir = setup.sessionDir ?? dir;
  mkdirSync(worktree, { recursive: true });
  mkdirSync(sessionDir, { recursive: true });
  writeFileSync(join(sessionDir, 'prompt.md'), setup.prompt ?? '# Build the orders API\n');
  writeFileSync(join(sessionDir, 'session.log'), '');
  return {
    project: 'orders',
    projectRoot: 'libs/orders',
    workspaceRoot: join(dir, 'workspace'),
    worktree,
    promptFile: join(sessionDir, 'prompt.md'),
    logFile: join(sessionDir, 'session.log'),
    subjects: { reference: 'users', task: 'orders' },
    reference: { project: 'users', root: 'libs/users' },
    contracts: { project: 'contracts', root: 'libs/contracts', importPath: '@ws/contracts' },
    options: { retryDelay: '1s' },
    timeoutMs: 60_000,
    env,
    echo: false,
    redact: createRedactor(env),
    ...setup.overrides,
  };
}

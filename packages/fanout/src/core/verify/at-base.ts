import { existsSync, rmSync } from 'fs';
import { join } from 'path';
import { runGate, type ProcessRunner } from '../session/gate';
import { linkModules } from '../session/linked-modules';
import { git } from '../system/git';
import { withLock } from '../system/lock';
import type { FailedTask } from './attribution';
import { FANOUT_DIR, lockPath } from '../../constants';

/**
 * Whether a task that fails in the integrated workspace failed before the fan-out
 * too: the task run at the base commit, in a worktree of its own (the workspace's
 * node_modules linked, as a session's worktree has them). A task failing there is
 * none of the run's sessions' doing, and nobody is asked to repair it.
 */
export interface AtBase {
  /** fails: it fails at the base too; passes: the failure is new; unknown: it could not be run there. */
  verdict: 'fails' | 'passes' | 'unknown';
  /** One line for people. */
  note: string;
}

export interface AtBaseInput {
  workspaceRoot: string;
  /** The run's base commit (chooseBaseCommit). */
  base: string;
  tasks: readonly FailedTask[];
  /** Each task's project root, to tell a project that did not exist at the base. */
  rootOf: (project: string) => string | undefined;
  env: NodeJS.ProcessEnv;
  timeoutMs: number;
  /** Where each run's output is appended. */
  logFile: string;
  /** Runs nx; injected by tests. */
  run?: ProcessRunner;
}

function baseWorktreePath(workspaceRoot: string): string {
  return join(workspaceRoot, FANOUT_DIR, 'verify', 'base');
}

async function removeBaseWorktree(workspaceRoot: string, path: string): Promise<void> {
  await withLock(lockPath(workspaceRoot), async () => {
    await git(workspaceRoot, ['worktree', 'remove', '--force', '--force', path], { allowFailure: true });
    rmSync(path, { recursive: true, force: true });
    await git(workspaceRoot, ['worktree', 'prune'], { allowFailure: true });
  });
}

/** Each task's verdict at the base, by task id (`project:target`). The worktree is removed whatever happens. */
export async function runAtBase(input: AtBaseInput): Promise<Map<string, AtBase>> {
  const { workspaceRoot, base } = input;
  const path = baseWorktreePath(workspaceRoot);
  const verdicts = new Map<string, AtBase>();
  const short = base.slice(0, 7);
  await removeBaseWorktree(workspaceRoot, path);
  try {
    await withLock(lockPath(workspaceRoot), () => git(workspaceRoot, ['worktree', 'add', '--force', '--detach', path, base]));
    linkModules(workspaceRoot, path);
    for (const task of input.tasks) {
      const id = `${task.project}:${task.target}`;
      const root = input.rootOf(task.project);
      if (root !== undefined && root !== '.' && !existsSync(join(path, root))) {
        verdicts.set(id, { verdict: 'passes', note: `${task.project} did not exist at the base ${short}: the failure is new` });
        continue;
      }
      const outcome = await runGate({
        worktree: path,
        workspaceRoot,
        project: task.project,
        targets: [task.target],
        env: input.env,
        timeoutMs: input.timeoutMs,
        logFile: input.logFile,
        echo: false,
        redact: (text) => text,
        ...(input.run ? { run: input.run } : {}),
      });
      const result = outcome.targets[0];
      if (result.ok) verdicts.set(id, { verdict: 'passes', note: `${id} passes at the base ${short}: the failure is new` });
      else if (result.output.startsWith('[fanout] nx did not run') || result.timedOut) {
        verdicts.set(id, {
          verdict: 'unknown',
          note: `${id} could not be run at the base ${short} (${result.timedOut ? 'timed out' : 'nx did not run it'}); counted as new`,
        });
      } else verdicts.set(id, { verdict: 'fails', note: `${id} fails at the base ${short} too: failing before the fan-out` });
    }
  } finally {
    await removeBaseWorktree(workspaceRoot, path);
  }
  return verdicts;
}

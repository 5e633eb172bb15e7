import { copyFileSync, existsSync, lstatSync, mkdirSync, rmSync, writeFileSync } from 'fs';
import { dirname, join } from 'path';
import { GATE_SCRATCH_PATHS } from '../session/gate';
import { linkModules } from '../session/linked-modules';
import { removeWorktree, type Worktree } from '../session/worktree';
import { git, headCommit } from '../system/git';
import { withLock } from '../system/lock';
import { FANOUT_DIR, lockPath, worktreePath } from '../../constants';

/** A file of the integrated state: copied from `source` (an absolute path), or absent when there is none. */
export interface IntegratedFile {
  path: string;
  source?: string;
}

/**
 * A worktree holding the integrated state a repair starts from: HEAD, and over it
 * what the run's sessions landed (`files`), and nothing else of the workspace's
 * uncommitted state: the user's unrelated work stays out of an agent's reach.
 * Made where the session's own worktree was (`.fanout/worktrees/<project>`, branch
 * `fanout/<project>`), so that a CLI that keeps its conversations by working
 * directory finds the session's. What is laid over HEAD is committed as the
 * baseline, so the repair's changes are what differs from it.
 */
export async function createIntegratedWorktree(
  workspaceRoot: string,
  project: string,
  files: readonly IntegratedFile[],
): Promise<Worktree> {
  const path = worktreePath(workspaceRoot, project);
  const branch = `fanout/${project}`;
  if (existsSync(path)) await removeWorktree(workspaceRoot, project);
  await withLock(lockPath(workspaceRoot), () => git(workspaceRoot, ['worktree', 'add', '--force', '-q', '-B', branch, path, 'HEAD']));
  for (const file of files) {
    const target = join(path, file.path);
    if (file.source === undefined || !existsSync(file.source) || !lstatSync(file.source).isFile()) {
      rmSync(target, { force: true });
      continue;
    }
    mkdirSync(dirname(target), { recursive: true });
    copyFileSync(file.source, target);
  }
  linkModules(workspaceRoot, path);
  // The node_modules link and what Nx writes in a worktree are never the baseline's, whatever .gitignore says.
  const excludes = join(workspaceRoot, FANOUT_DIR, 'verify', 'worktree-excludes');
  mkdirSync(dirname(excludes), { recursive: true });
  writeFileSync(excludes, ['/node_modules', ...GATE_SCRATCH_PATHS.map((entry) => `/${entry}/`)].join('\n') + '\n');
  await git(path, ['-c', `core.excludesFile=${excludes}`, 'add', '-A']);
  await git(path, ['commit', '--no-verify', '--allow-empty', '-q', '-m', `fanout: the integrated state for ${project}'s repair`]);
  return { path, branch, baseline: await headCommit(path) };
}

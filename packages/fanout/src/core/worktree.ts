import { copyFileSync, existsSync, lstatSync, mkdirSync, rmSync, symlinkSync, writeFileSync } from 'fs';
import { dirname, join } from 'path';
import { dirtyPaths, git } from './git';
import { withLock } from './lock';
import { parseNameStatus, type FileChange } from './scope';

export const FANOUT_DIR = '.fanout';

export interface Worktree {
  path: string;
  branch: string;
  /** The commit the session starts from: HEAD plus the user's uncommitted state. */
  baseline: string;
}

export function lockPath(workspaceRoot: string): string {
  return join(workspaceRoot, FANOUT_DIR, 'git.lock');
}

export function worktreePath(workspaceRoot: string, project: string): string {
  return join(workspaceRoot, FANOUT_DIR, 'worktrees', project);
}

/**
 * What a session must not see as its own change: the shared node_modules link
 * (a symlink, which a `node_modules/` ignore pattern does not match).
 */
function stageAll(worktree: string, workspaceRoot: string): Promise<string> {
  const excludes = join(workspaceRoot, FANOUT_DIR, 'worktree-excludes');
  if (!existsSync(excludes)) {
    mkdirSync(dirname(excludes), { recursive: true });
    writeFileSync(excludes, '/node_modules\n');
  }
  return git(worktree, ['-c', `core.excludesFile=${excludes}`, 'add', '-A']);
}

/**
 * A git worktree for one session on branch `fanout/<project>`, made from HEAD
 * with the user's uncommitted files laid over it, so the session sees the
 * workspace as it is now (freshly generated projects included). node_modules is
 * linked, not reinstalled. A stale worktree or branch left by a killed run is
 * removed first.
 */
export async function createWorktree(
  workspaceRoot: string,
  project: string,
  copyFiles: readonly string[] = [],
): Promise<Worktree> {
  const path = worktreePath(workspaceRoot, project);
  const branch = `fanout/${project}`;
  await withLock(lockPath(workspaceRoot), async () => {
    await removeWorktreeUnlocked(workspaceRoot, project);
    await git(workspaceRoot, ['worktree', 'add', '--force', '-B', branch, path, 'HEAD']);
  });

  for (const [file, state] of await dirtyPaths(workspaceRoot)) {
    if (file.startsWith(`${FANOUT_DIR}/`)) continue;
    const target = join(path, file);
    if (state === 'deleted') {
      rmSync(target, { force: true });
    } else if (existsSync(join(workspaceRoot, file)) && lstatSync(join(workspaceRoot, file)).isFile()) {
      mkdirSync(dirname(target), { recursive: true });
      copyFileSync(join(workspaceRoot, file), target);
    }
  }
  for (const file of copyFiles) {
    const source = join(workspaceRoot, file);
    if (existsSync(source)) {
      mkdirSync(dirname(join(path, file)), { recursive: true });
      copyFileSync(source, join(path, file));
    }
  }
  const modules = join(workspaceRoot, 'node_modules');
  if (existsSync(modules) && !existsSync(join(path, 'node_modules'))) {
    symlinkSync(modules, join(path, 'node_modules'), 'dir');
  }

  await stageAll(path, workspaceRoot);
  await git(path, ['commit', '--no-verify', '--allow-empty', '-q', '-m', `fanout: baseline for ${project}`]);
  const baseline = (await git(path, ['rev-parse', 'HEAD'])).trim();
  return { path, branch, baseline };
}

/** Every file the session added, modified or deleted since the baseline. */
export async function sessionChanges(workspaceRoot: string, worktree: Worktree): Promise<FileChange[]> {
  await stageAll(worktree.path, workspaceRoot);
  return parseNameStatus(
    await git(worktree.path, ['diff', '--cached', '--name-status', '--no-renames', '-z', worktree.baseline]),
  );
}

async function removeWorktreeUnlocked(workspaceRoot: string, project: string): Promise<void> {
  const path = worktreePath(workspaceRoot, project);
  if (existsSync(path)) {
    await git(workspaceRoot, ['worktree', 'remove', '--force', '--force', path], { allowFailure: true });
    rmSync(path, { recursive: true, force: true });
  }
  await git(workspaceRoot, ['worktree', 'prune'], { allowFailure: true });
  await git(workspaceRoot, ['branch', '-D', `fanout/${project}`], { allowFailure: true });
}

/** Removes a session's worktree and branch. */
export function removeWorktree(workspaceRoot: string, project: string): Promise<void> {
  return withLock(lockPath(workspaceRoot), () => removeWorktreeUnlocked(workspaceRoot, project));
}

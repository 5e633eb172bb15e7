import { createHash } from 'crypto';
import { copyFileSync, existsSync, lstatSync, mkdirSync, readFileSync, renameSync, rmSync } from 'fs';
import { dirname, join } from 'path';
import { dirtyPaths } from './git';
import type { FileChange } from './scope';

export function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

export class IntegrationRefused extends Error {
  constructor(
    message: string,
    readonly paths: string[],
  ) {
    super(message);
    this.name = 'IntegrationRefused';
  }
}

/**
 * Checks that integrating `changes` cannot overwrite anything of the user's:
 * a target with uncommitted changes is refused unless it is exactly what fanout
 * itself wrote there last time (`owned`: path → sha256). Also refuses symlinks
 * a session made, which could point outside the workspace.
 */
export async function checkIntegration(
  workspaceRoot: string,
  worktree: string,
  changes: readonly FileChange[],
  owned: ReadonlyMap<string, string>,
): Promise<void> {
  const links = changes.filter(
    (change) => change.status !== 'deleted' && lstatSync(join(worktree, change.path)).isSymbolicLink(),
  );
  if (links.length > 0) {
    throw new IntegrationRefused(
      `the session created symbolic links, which fanout never integrates: ${links.map((change) => change.path).join(', ')}`,
      links.map((change) => change.path),
    );
  }
  if (changes.length === 0) return;
  const dirty = await dirtyPaths(
    workspaceRoot,
    changes.map((change) => change.path),
  );
  const theirs = [...dirty.keys()].filter((path) => {
    const target = join(workspaceRoot, path);
    return !(existsSync(target) && owned.get(path) === sha256(target));
  });
  if (theirs.length > 0) {
    throw new IntegrationRefused(
      `these files have uncommitted changes in the workspace and the session would overwrite them: ${theirs.join(', ')}. ` +
        'Commit or stash them, then run the task again.',
      theirs,
    );
  }
}

/**
 * Copies the accepted changes from the worktree into the workspace. Every new
 * file is first written beside its target and then renamed over it, and only
 * when all are in place are deletions applied, so a failure midway leaves no
 * half-written file. Returns path → sha256 of every file written.
 */
export function applyChanges(workspaceRoot: string, worktree: string, changes: readonly FileChange[]): Map<string, string> {
  const staged: [string, string][] = [];
  const written = new Map<string, string>();
  try {
    for (const change of changes.filter((entry) => entry.status !== 'deleted')) {
      const target = join(workspaceRoot, change.path);
      const temporary = `${target}.fanout-${process.pid}`;
      mkdirSync(dirname(target), { recursive: true });
      copyFileSync(join(worktree, change.path), temporary);
      staged.push([temporary, target]);
      written.set(change.path, sha256(temporary));
    }
  } catch (error) {
    for (const [temporary] of staged) rmSync(temporary, { force: true });
    throw error;
  }
  for (const [temporary, target] of staged) renameSync(temporary, target);
  for (const change of changes.filter((entry) => entry.status === 'deleted')) {
    rmSync(join(workspaceRoot, change.path), { force: true });
  }
  return written;
}

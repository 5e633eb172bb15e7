/**
 * What a session changed, judged against its write scope. Paths are
 * workspace-relative with forward slashes.
 */
export interface FileChange {
  path: string;
  status: 'added' | 'modified' | 'deleted';
}

/**
 * A task's scope (paths relative to its project) as workspace-relative roots.
 * A project at the workspace root (`.`) has its entries as they are.
 */
export function workspaceScope(projectRoot: string, scope: readonly string[]): string[] {
  const root = projectRoot === '' || projectRoot === '.' ? '' : projectRoot.replace(/\/+$/, '');
  return scope.map((entry) => (entry === '.' ? root || '.' : root ? `${root}/${entry}` : entry));
}

export function isInside(path: string, scope: string): boolean {
  return scope === '.' || scope === '' || path === scope || path.startsWith(`${scope}/`);
}

export interface ScopeVerdict {
  accepted: FileChange[];
  outside: FileChange[];
  /** Changes to paths no session may write (the contracts, the reference). */
  readOnly: FileChange[];
  /** Edits of the task's wired files, merged three-way when the session lands. */
  wired: FileChange[];
}

/**
 * Splits changes into those inside the scope, edits of the wired files (`wired`:
 * workspace-relative files; an edit only, never their creation or deletion), and
 * those that break it.
 */
export function judgeScope(
  changes: readonly FileChange[],
  scope: readonly string[],
  readOnlyRoots: readonly string[] = [],
  wired: readonly string[] = [],
): ScopeVerdict {
  const verdict: ScopeVerdict = { accepted: [], outside: [], readOnly: [], wired: [] };
  for (const change of changes) {
    if (readOnlyRoots.some((root) => isInside(change.path, root))) verdict.readOnly.push(change);
    else if (scope.some((root) => isInside(change.path, root))) verdict.accepted.push(change);
    else if (change.status === 'modified' && wired.includes(change.path)) verdict.wired.push(change);
    else verdict.outside.push(change);
  }
  return verdict;
}

/** Parses `git diff --name-status -z` output (with renames disabled). */
export function parseNameStatus(output: string): FileChange[] {
  const fields = output.split('\0').filter((field) => field !== '');
  const changes: FileChange[] = [];
  for (let index = 0; index + 1 < fields.length; index += 2) {
    const code = fields[index][0];
    const path = fields[index + 1];
    const status = code === 'A' ? 'added' : code === 'D' ? 'deleted' : 'modified';
    changes.push({ path, status });
  }
  return changes;
}

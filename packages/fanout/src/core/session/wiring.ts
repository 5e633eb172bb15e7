import { existsSync, readFileSync, writeFileSync } from 'fs';
import { join } from 'path';
import { git } from '../system/git';
import { formatConflict, mergeThreeWay, type ConflictHunk } from './three-way';

/**
 * Wired files: files outside every task's scope (an app's routes, a server's
 * router, a barrel) that a task's sessions may edit to register their work.
 * Each session's edit is kept as the file's content at the session's baseline
 * and as the session left it, and lands by a three-way merge into the file as it
 * is in the workspace then: sessions that each add their entry all land, a true
 * conflict fails only the session that meets it. Landing applies each recorded
 * edit once (core/landing): never again over a file the user changed since.
 */

/** One session's edit of one wired file. */
export interface WiredEdit {
  /** Workspace-relative. */
  path: string;
  /** The project that owns the file. */
  project: string;
  /** The file at the session's baseline. */
  base: string;
  /** The file as the session left it. */
  session: string;
}

export type WiredOutcome =
  | { path: string; status: 'merged'; content: string }
  | { path: string; status: 'unchanged' }
  | { path: string; status: 'conflict'; conflicts: ConflictHunk[] };

/** Where a session keeps its wired edits: in its session folder, an output of the fanout target. */
export function wiredEditsFile(sessionDir: string): string {
  return join(sessionDir, 'wired.json');
}

/** The session's edits of its wired files: each file at the worktree's baseline commit and as the session left it. */
export async function readWiredEdits(
  worktree: { path: string; baseline: string },
  edited: readonly { path: string; project: string }[],
): Promise<WiredEdit[]> {
  const edits: WiredEdit[] = [];
  for (const { path, project } of edited) {
    const base = await git(worktree.path, ['show', `${worktree.baseline}:${path}`]);
    const session = readFileSync(join(worktree.path, path), 'utf-8');
    if (session !== base) edits.push({ path, project, base, session });
  }
  return edits;
}

export function writeWiredEdits(sessionDir: string, edits: readonly WiredEdit[]): void {
  writeFileSync(wiredEditsFile(sessionDir), `${JSON.stringify(edits, null, 2)}\n`);
}

/** A session's recorded wired edits; none when it recorded none (or an older fanout ran it). */
export function readWiredEditsFile(sessionDir: string): WiredEdit[] {
  const file = wiredEditsFile(sessionDir);
  if (!existsSync(file)) return [];
  const edits: unknown = JSON.parse(readFileSync(file, 'utf-8'));
  if (
    !Array.isArray(edits) ||
    edits.some((edit) => typeof edit?.path !== 'string' || typeof edit?.base !== 'string' || typeof edit?.session !== 'string')
  ) {
    throw new Error(`${file} is not a list of wired edits (path, project, base, session); run the task again to rewrite it.`);
  }
  return edits as WiredEdit[];
}

/**
 * Merges each edit into the workspace's current version of its file (which may
 * hold other sessions' edits and the user's uncommitted changes). Writes
 * nothing: the caller writes every merged file or, when any conflicts, none.
 */
export async function mergeWiredEdits(workspaceRoot: string, edits: readonly WiredEdit[], session: string): Promise<WiredOutcome[]> {
  const outcomes: WiredOutcome[] = [];
  for (const edit of edits) {
    const file = join(workspaceRoot, edit.path);
    if (!existsSync(file)) {
      outcomes.push({
        path: edit.path,
        status: 'conflict',
        conflicts: [{ line: 1, current: ['(the file no longer exists in the workspace)'], base: edit.base.split('\n'), session: [] }],
      });
      continue;
    }
    const current = readFileSync(file, 'utf-8');
    const merged = await mergeThreeWay({ base: edit.base, current, session: edit.session, labels: { session } });
    if (merged.conflicts.length > 0) outcomes.push({ path: edit.path, status: 'conflict', conflicts: merged.conflicts });
    else if (merged.merged === current) outcomes.push({ path: edit.path, status: 'unchanged' });
    else outcomes.push({ path: edit.path, status: 'merged', content: merged.merged });
  }
  return outcomes;
}

/** The conflicts of `outcomes`, as an error message shows them. */
export function describeConflicts(outcomes: readonly WiredOutcome[], session: string): string {
  return outcomes
    .flatMap((outcome) =>
      outcome.status === 'conflict'
        ? outcome.conflicts.map((hunk) => formatConflict(outcome.path, hunk, { current: 'the workspace', session }))
        : [],
    )
    .join('\n');
}

import { markRanNow } from '../landing/landed';
import { recordSessionFiles } from '../landing/record';
import type { SessionTask } from './context';
import type { SessionRecorder } from './recorder';
import type { AcceptedWork } from './repair';
import type { SessionSpec } from './session-spec';
import { readWiredEdits, writeWiredEdits } from './wiring';
import type { Worktree } from './worktree';

/**
 * Copies the accepted work out of the worktree into the session's record (files/,
 * wired.json, changes.diff), for the fanout target to land, and marks it as made
 * by a session that ran in this workspace.
 */
export async function recordWork(
  spec: SessionSpec,
  task: SessionTask,
  worktree: Worktree,
  work: AcceptedWork,
  recorder: SessionRecorder,
): Promise<void> {
  const edits = await readWiredEdits(
    worktree,
    work.wired.map((change) => ({ path: change.path, project: task.scope.wiredOwners.get(change.path) ?? '' })),
  );
  // The record reads the worktree only, and so does the diff: both at once.
  const diff = recorder.recordDiff(worktree, work.accepted);
  const files = await recordSessionFiles(worktree, recorder.dir, work.accepted);
  if (edits.length > 0) writeWiredEdits(recorder.dir, edits);
  recorder.wiredEdits(edits);
  const counts = await diff;
  recorder.recorded(
    files,
    counts,
    `${files.length} file(s) recorded${edits.length > 0 ? `, ${edits.length} wired edit(s)` : ''}` +
      `${work.rounds > 1 ? ` after ${work.rounds} rounds` : ''}; the fanout target lands them`,
  );
  markRanNow(spec.workspaceRoot, spec.project, recorder.id);
  recorder.succeeded();
}

import { readFileSync } from 'fs';
import { resultFile } from '../../constants';
import type { SessionResult } from '../session/result';
import { compareText } from '../system/compare';

/** When a task's session ended, from its record: the order its run recorded the sessions in ('' when unknown). */
function sessionEnded(workspaceRoot: string, project: string): string {
  try {
    return (JSON.parse(readFileSync(resultFile(workspaceRoot, project), 'utf-8')) as SessionResult).endedAt ?? '';
  } catch {
    return '';
  }
}

/**
 * The ids of landing tasks in the order their sessions ended (ties and unknown ends by id): the order
 * the run that made the records landed them, so a replay in a fresh clone merges wired files in the
 * same order and ends byte for byte as that run left them.
 */
export function inLandingOrder(workspaceRoot: string, tasks: readonly { id: string; target: { project: string } }[]): string[] {
  const ended = new Map(tasks.map((task) => [task.id, sessionEnded(workspaceRoot, task.target.project)]));
  return tasks.map((task) => task.id).sort((a, b) => compareText(ended.get(a) ?? '', ended.get(b) ?? '') || compareText(a, b));
}

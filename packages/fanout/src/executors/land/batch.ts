import type { ExecutorContext, TaskGraph } from '@nx/devkit';
import { readFileSync } from 'fs';
import { BufferedTaskOutput, withTaskOutput } from '../../core/system/task-output';
import { writeReport } from '../../core/report/report';
import type { SessionResult } from '../../core/session/result';
import { runTasksInBatch, taskContext, type BatchTaskResult } from '../batch-tasks';
import { resultFile } from '../../constants';
import { landTask } from './land';
import type { LandExecutorSchema } from './schema';

/** When a task's session ended, from its record: the order its run recorded the sessions in. */
function sessionEnded(workspaceRoot: string, project: string): string {
  try {
    return (JSON.parse(readFileSync(resultFile(workspaceRoot, project), 'utf-8')) as SessionResult).endedAt ?? '';
  } catch {
    return '';
  }
}

/**
 * Every landing of a run in one process (Nx's batch mode), one at a time, in the
 * order their sessions ended: the order the run that made them landed them, so a
 * replay in a fresh clone merges wired files in the same order and ends byte for
 * byte as that run left them. The report is written once, at the end.
 */
export default async function* landBatch(
  taskGraph: TaskGraph,
  inputs: Record<string, LandExecutorSchema>,
  _overrides: LandExecutorSchema,
  context: ExecutorContext,
): AsyncGenerator<BatchTaskResult> {
  const ended = new Map(Object.values(taskGraph.tasks).map((task) => [task.id, sessionEnded(context.root, task.target.project)]));
  const ordered = Object.keys(taskGraph.tasks).sort((a, b) => (ended.get(a) ?? '').localeCompare(ended.get(b) ?? '') || a.localeCompare(b));
  const tasks = Object.fromEntries(ordered.map((id) => [id, taskGraph.tasks[id]]));
  let left = ordered.length;
  const landings = runTasksInBatch({ tasks, dependencies: taskGraph.dependencies }, 1, (id, output: BufferedTaskOutput) =>
    withTaskOutput(output, () => landTask(inputs[id] ?? {}, taskContext(context, taskGraph.tasks[id]), { report: 'none' })),
  );
  for await (const result of landings) {
    if (--left === 0) {
      try {
        writeReport(context.root);
      } catch (error) {
        process.stderr.write(`[fanout] the report could not be written: ${error instanceof Error ? error.message : String(error)}\n`);
      }
    }
    yield result;
  }
}

import type { ExecutorContext, TaskGraph } from '@nx/devkit';
import { BufferedTaskOutput, withTaskOutput } from '../../core/system/task-output';
import { writeReport } from '../../core/report/report';
import { inLandingOrder } from '../../core/landing/order';
import { runTasksInBatch, taskContext, type BatchTaskResult } from '../batch-tasks';
import { landTask } from './land';
import type { LandExecutorSchema } from './schema';

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
  const ordered = inLandingOrder(context.root, Object.values(taskGraph.tasks));
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

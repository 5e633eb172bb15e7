import type { ExecutorContext, TaskGraph } from '@nx/devkit';
import { readFileSync } from 'fs';
import { availableParallelism, cpus } from 'os';
import { taskEnvironment } from '../../core/system/task-env';
import { withTaskOutput } from '../../core/system/task-output';
import { runTasksInBatch, type BatchTaskResult } from '../batch-tasks';

export { runTasksInBatch, type BatchTaskResult };
import { writeReport } from '../../core/report/report';
import { whenSetupsEnd } from '../../core/session/setting-up';
import { runFanoutTask } from './run';
import type { RunExecutorSchema } from './schema';

/** Nx's default when neither --parallel nor nx.json's parallel says otherwise. */
export const NX_DEFAULT_PARALLEL = 3;

/** A --parallel value as Nx reads it: a count, or a percentage of the machine's cores. */
function concurrency(value: string): number | undefined {
  const trimmed = value.trim();
  if (trimmed.endsWith('%')) {
    const percent = Number(trimmed.slice(0, -1));
    if (!Number.isFinite(percent) || percent <= 0) return undefined;
    const cores = typeof availableParallelism === 'function' ? availableParallelism() : cpus().length;
    return Math.max(1, Math.floor((cores * percent) / 100));
  }
  const count = Number.parseInt(trimmed, 10);
  return Number.isInteger(count) && count > 0 ? count : undefined;
}

/**
 * How many sessions a batch runs at once: what Nx would run at once, read as Nx
 * reads it (its command line, then NX_PARALLEL, then nx.json's parallel, then 3).
 * Nx does not pass --parallel to a batch, so its command line is read from /proc;
 * where that cannot be read, NX_PARALLEL and nx.json decide.
 */
export function batchParallelism(argv: readonly string[] | undefined, env: NodeJS.ProcessEnv, nxJsonParallel: unknown): number {
  const args = argv ?? [];
  let parallel: string | undefined;
  let maxParallel: string | undefined;
  for (let index = 0; index < args.length; index++) {
    const [flag, inline] = args[index].split(/=(.*)/s, 2);
    const value = () => inline ?? (args[index + 1] !== undefined && !args[index + 1].startsWith('-') ? args[++index] : '');
    if (flag === '--parallel') parallel = value();
    else if (flag === '--maxParallel' || flag === '--max-parallel') maxParallel = value();
  }
  if (parallel === 'false') return 1;
  if (parallel === 'true' || parallel === '' || (parallel === undefined && env['NX_PARALLEL'])) {
    return concurrency(maxParallel ?? env['NX_PARALLEL'] ?? String(NX_DEFAULT_PARALLEL)) ?? NX_DEFAULT_PARALLEL;
  }
  if (parallel !== undefined) return concurrency(parallel) ?? NX_DEFAULT_PARALLEL;
  if (typeof nxJsonParallel === 'number' && nxJsonParallel > 0) return Math.floor(nxJsonParallel);
  return NX_DEFAULT_PARALLEL;
}

/** The Nx process's command line (the batch's parent), or undefined where /proc cannot tell. */
export function nxCommandLine(ppid: number = process.ppid): string[] | undefined {
  try {
    return readFileSync(`/proc/${ppid}/cmdline`, 'utf-8').split('\0').filter(Boolean);
  } catch {
    return undefined;
  }
}

/**
 * The fanout executor for a whole run in one process (Nx's batch mode, which the
 * executor prefers; `--batch=false` turns it off): every session runs as it would
 * in a process of its own, at most as many at once as Nx's --parallel, each with
 * its own terminal output. What a run works out from the graphs is worked out
 * once, and no task pays for starting a process and loading Nx and the plugin.
 */
export default async function* runBatch(
  taskGraph: TaskGraph,
  inputs: Record<string, RunExecutorSchema>,
  _overrides: RunExecutorSchema,
  context: ExecutorContext,
  parallel: number = batchParallelism(nxCommandLine(), process.env, context.nxJsonConfiguration?.parallel),
  environment: (task: TaskGraph['tasks'][string]) => ReturnType<typeof taskEnvironment> = (task) =>
    taskEnvironment({ task, projectGraph: context.projectGraph }),
): AsyncGenerator<BatchTaskResult> {
  let left = Object.keys(taskGraph.tasks).length;
  let ran = 0;
  // Worktree clean-ups of landed sessions, done while the next sessions' agents work (not while
  // a session sets up, which would wait for the process's thread); the batch ends after them.
  const cleanUps: Promise<void>[] = [];
  const cleanUpLater = (work: () => Promise<void>) => {
    cleanUps.push(
      new Promise<void>((done) =>
        whenSetupsEnd(() => {
          work()
            .catch((error: unknown) => {
              process.stderr.write(`[fanout] a worktree could not be removed: ${error instanceof Error ? error.message : String(error)}\n`);
            })
            .finally(done);
        }),
      ),
    );
  };
  const sessions = runTasksInBatch(taskGraph, parallel, (id, output) => {
    const task = taskGraph.tasks[id];
    const taskContext: ExecutorContext = {
      ...context,
      projectName: task.target.project,
      targetName: task.target.target,
      configurationName: task.target.configuration,
    };
    ran++;
    // The environment Nx would give the task in a process of its own: its .env files loaded.
    const taskEnv = environment(task);
    return withTaskOutput(output, () => {
      if (taskEnv.env === undefined) output.write(`[fanout] ${taskEnv.why}; run with --batch=false to have them\n`, 'stderr');
      return runFanoutTask(inputs[id] ?? {}, taskContext, { report: 'none', cleanUpLater, ...(taskEnv.env ? { env: taskEnv.env } : {}) });
    });
  });
  let failed = false;
  for await (const result of sessions) {
    failed ||= !result.result.success;
    // A failed session never lands, so no landing writes the report: the batch does, once, at its end.
    if (--left === 0 && ran > 0) {
      await Promise.all(cleanUps);
      if (failed) {
        try {
          writeReport(context.root);
        } catch (error) {
          process.stderr.write(`[fanout] the report could not be written: ${error instanceof Error ? error.message : String(error)}\n`);
        }
      }
    }
    yield result;
  }
}

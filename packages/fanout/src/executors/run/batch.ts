import type { ExecutorContext, TaskGraph } from '@nx/devkit';
import { readFileSync } from 'fs';
import { availableParallelism, cpus } from 'os';
import { BufferedTaskOutput, withTaskOutput } from '../../core/system/task-output';
import runExecutor from './run';
import type { RunExecutorSchema } from './schema';

/** What Nx takes for each task of a batch. */
export interface BatchTaskResult {
  task: string;
  result: {
    success: boolean;
    status?: 'success' | 'failure' | 'skipped';
    terminalOutput: string;
    startTime?: number;
    endTime?: number;
  };
}

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

/** One task of a batch run: its session, writing its terminal output to `output`. */
export type BatchTaskRunner = (id: string, output: BufferedTaskOutput) => Promise<{ success: boolean }>;

/**
 * Runs a batch's tasks, at most `parallel` at once, each once its dependencies in
 * the batch have succeeded (those outside it completed before Nx started the batch),
 * and yields each task's result as it ends. A task whose dependency failed is
 * skipped, as Nx skips it; a task that throws has failed, and its error is its output.
 */
export async function* runTasksInBatch(
  taskGraph: Pick<TaskGraph, 'tasks' | 'dependencies'>,
  parallel: number,
  runTask: BatchTaskRunner,
  live?: (line: string) => void,
): AsyncGenerator<BatchTaskResult> {
  const label = (id: string) => taskGraph.tasks[id]?.target.project ?? id;
  const ids = Object.keys(taskGraph.tasks);
  const inBatch = (dependency: string) => dependency in taskGraph.tasks;
  const dependenciesOf = new Map(ids.map((id) => [id, (taskGraph.dependencies[id] ?? []).filter(inBatch)]));
  const pending = new Set(ids);
  const running = new Set<string>();
  const failed = new Set<string>();
  const finished: BatchTaskResult[] = [];
  let wake: (() => void) | undefined;

  const start = (id: string): void => {
    running.add(id);
    const output = new BufferedTaskOutput(label(id), live);
    const startTime = Date.now();
    void Promise.resolve()
      .then(() => runTask(id, output))
      .catch((error: unknown) => {
        output.write(`✖ ${label(id)}: ${error instanceof Error ? error.message : String(error)}\n`, 'stderr');
        return { success: false };
      })
      .then(({ success }) => {
        if (!success) failed.add(id);
        running.delete(id);
        finished.push({ task: id, result: { success, terminalOutput: output.finish(), startTime, endTime: Date.now() } });
        wake?.();
      });
  };

  for (;;) {
    // Skip what can no longer run; start what can, up to `parallel`, in the batch's order.
    for (const id of [...pending]) {
      const dependencies = dependenciesOf.get(id) ?? [];
      if (dependencies.some((dependency) => failed.has(dependency))) {
        pending.delete(id);
        failed.add(id);
        finished.push({ task: id, result: { success: false, status: 'skipped', terminalOutput: '' } });
      } else if (running.size < parallel && dependencies.every((dependency) => !pending.has(dependency) && !running.has(dependency))) {
        pending.delete(id);
        start(id);
      }
    }
    if (finished.length > 0) {
      // Tasks may end while Nx takes a result: schedule again before waiting.
      while (finished.length > 0) yield finished.shift() as BatchTaskResult;
      continue;
    }
    if (running.size === 0) {
      if (pending.size === 0) return;
      // Nothing runs and nothing can start: only a cycle does that, and Nx refuses cycles before a batch.
      for (const id of pending) finished.push({ task: id, result: { success: false, status: 'skipped', terminalOutput: '' } });
      pending.clear();
      continue;
    }
    await new Promise<void>((resolve) => (wake = resolve));
    wake = undefined;
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
): AsyncGenerator<BatchTaskResult> {
  yield* runTasksInBatch(taskGraph, parallel, (id, output) => {
    const task = taskGraph.tasks[id];
    const taskContext: ExecutorContext = {
      ...context,
      projectName: task.target.project,
      targetName: task.target.target,
      configurationName: task.target.configuration,
    };
    return withTaskOutput(output, () => runExecutor(inputs[id] ?? {}, taskContext));
  });
}

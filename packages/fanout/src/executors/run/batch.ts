import type { ExecutorContext, TaskGraph } from '@nx/devkit';
import { readFileSync } from 'fs';
import { availableParallelism, cpus } from 'os';
import { taskEnvironment } from '../../core/system/task-env';
import { BufferedTaskOutput, withTaskOutput } from '../../core/system/task-output';
import { writeReport } from '../../core/report/report';
import { whenSetupsEnd } from '../../core/session/setting-up';
import { runFanoutTask } from './run';
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
 * Linear in the tasks and their dependencies: each task is started, and each
 * dependency counted down, once.
 */
export async function* runTasksInBatch(
  taskGraph: Pick<TaskGraph, 'tasks' | 'dependencies'>,
  parallel: number,
  runTask: BatchTaskRunner,
  live?: (line: string) => void,
): AsyncGenerator<BatchTaskResult> {
  const label = (id: string) => taskGraph.tasks[id]?.target.project ?? id;
  const ids = Object.keys(taskGraph.tasks);
  // How many of its dependencies in the batch each task still waits for, and who waits for each.
  const waiting = new Map<string, number>();
  const dependents = new Map<string, string[]>();
  for (const id of ids) {
    const inBatch = [...new Set(taskGraph.dependencies[id] ?? [])].filter((dependency) => dependency in taskGraph.tasks);
    waiting.set(id, inBatch.length);
    for (const dependency of inBatch) {
      const list = dependents.get(dependency);
      if (list) list.push(id);
      else dependents.set(dependency, [id]);
    }
  }
  const ready = ids.filter((id) => waiting.get(id) === 0);
  let readyAt = 0;
  let running = 0;
  let settled = 0;
  const finished: BatchTaskResult[] = [];
  let wake: (() => void) | undefined;

  const skip = (first: string): void => {
    // Each task is skipped at most once (its count set to -1), with everything behind it.
    const stack = [first];
    for (let id = stack.pop(); id !== undefined; id = stack.pop()) {
      if (waiting.get(id) === -1) continue;
      waiting.set(id, -1);
      finished.push({ task: id, result: { success: false, status: 'skipped', terminalOutput: '' } });
      stack.push(...(dependents.get(id) ?? []));
    }
  };

  const start = (id: string): void => {
    running++;
    const output = new BufferedTaskOutput(label(id), live);
    const startTime = Date.now();
    void Promise.resolve()
      .then(() => runTask(id, output))
      .catch((error: unknown) => {
        output.write(`✖ ${label(id)}: ${error instanceof Error ? error.message : String(error)}\n`, 'stderr');
        return { success: false };
      })
      .then(({ success }) => {
        running--;
        finished.push({ task: id, result: { success, terminalOutput: output.finish(), startTime, endTime: Date.now() } });
        for (const dependent of dependents.get(id) ?? []) {
          if (!success) skip(dependent);
          else if (waiting.get(dependent) !== -1) {
            const left = (waiting.get(dependent) ?? 1) - 1;
            waiting.set(dependent, left);
            if (left === 0) ready.push(dependent);
          }
        }
        wake?.();
      });
  };

  while (settled < ids.length) {
    while (running < parallel && readyAt < ready.length) {
      const id = ready[readyAt++];
      if (waiting.get(id) !== -1) start(id);
    }
    if (finished.length > 0) {
      // Tasks may end while Nx takes a result: start more before waiting.
      while (finished.length > 0) {
        settled++;
        yield finished.shift() as BatchTaskResult;
      }
      continue;
    }
    if (running === 0) {
      // Nothing runs and nothing can start: only a cycle does that, and Nx refuses cycles before a batch.
      for (const id of ids) if (waiting.get(id) !== -1 && waiting.get(id) !== 0) skip(id);
      if (finished.length === 0) return;
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

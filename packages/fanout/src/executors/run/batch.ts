import type { ExecutorContext, TaskGraph } from '@nx/devkit';
import { availableParallelism, cpus } from 'os';
import { processCommandLine, warnOnce, type ProcessInfoOptions } from '../../core/system/process-info';
import { taskEnvironment } from '../../core/system/task-env';
import { BufferedTaskOutput, withTaskOutput } from '../../core/system/task-output';
import { runTasksInBatch, taskContext, type BatchTaskResult } from '../batch-tasks';

export { runTasksInBatch, type BatchTaskResult };
import { writeReport } from '../../core/report/report';
import { whenSetupsEnd } from '../../core/session/setting-up';
import { NX_DEFAULT_PARALLEL } from '../../constants';
import { inLandingOrder } from '../../core/landing/order';
import { landTask } from '../land/land';
import { isLanding } from './executor';
import type { RunPlan } from './run-plan';
import type { RunExecutorSchema } from './schema';

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

/** Where the count of sessions at once came from, in the order Nx reads them. */
export type ParallelSource = 'the Nx command line' | 'NX_PARALLEL' | "nx.json's parallel" | "Nx's default";

/**
 * How many sessions a batch runs at once: what Nx would run at once, read as Nx
 * reads it (its command line, then NX_PARALLEL, then nx.json's parallel, then 3),
 * and which of them said so. `argv` is undefined where the command line could not
 * be read.
 */
export function batchParallelism(
  argv: readonly string[] | undefined,
  env: NodeJS.ProcessEnv,
  nxJsonParallel: unknown,
): { count: number; source: ParallelSource } {
  const args = argv ?? [];
  let parallel: string | undefined;
  let maxParallel: string | undefined;
  for (let index = 0; index < args.length; index++) {
    const [flag, inline] = args[index].split(/=(.*)/s, 2);
    const value = () => inline ?? (args[index + 1] !== undefined && !args[index + 1].startsWith('-') ? args[++index] : '');
    if (flag === '--parallel') parallel = value();
    else if (flag === '--maxParallel' || flag === '--max-parallel') maxParallel = value();
  }
  const count = (value: string) => concurrency(value) ?? NX_DEFAULT_PARALLEL;
  if (parallel === 'false') return { count: 1, source: 'the Nx command line' };
  if (parallel === 'true' || parallel === '' || (parallel === undefined && env['NX_PARALLEL'])) {
    const source = parallel !== undefined || maxParallel !== undefined ? 'the Nx command line' : 'NX_PARALLEL';
    return { count: count(maxParallel ?? env['NX_PARALLEL'] ?? String(NX_DEFAULT_PARALLEL)), source };
  }
  if (parallel !== undefined) return { count: count(parallel), source: 'the Nx command line' };
  if (typeof nxJsonParallel === 'number' && nxJsonParallel > 0) return { count: Math.floor(nxJsonParallel), source: "nx.json's parallel" };
  return { count: NX_DEFAULT_PARALLEL, source: "Nx's default" };
}

/**
 * How many sessions the batch runs at once. Nx does not pass --parallel to a
 * batch, so its command line is read from its process (the batch's parent);
 * where that cannot be read, NX_PARALLEL and nx.json decide, and fanout says so.
 */
export function nxParallelism(
  nxJsonParallel: unknown,
  { ppid = process.ppid, env = process.env, ...info }: { ppid?: number; env?: NodeJS.ProcessEnv } & ProcessInfoOptions = {},
): number {
  const argv = processCommandLine(ppid, info);
  const { count, source } = batchParallelism(argv, env, nxJsonParallel);
  if (argv === undefined) {
    (info.warn ?? warnOnce)(
      `could not read the Nx command line (no /proc/${ppid}/cmdline, and \`ps -o args= -p ${ppid}\` did not answer): ` +
        `--parallel taken from ${source} (${count}). Set NX_PARALLEL to the --parallel you want, or run with --batch=false.`,
    );
  }
  return count;
}

/**
 * The batch's tasks in the order they are offered to start: the sessions, then the
 * landings in the order their sessions ended. A landing whose session runs in this
 * batch waits for it anyway; one whose session Nx replayed from its cache lands in
 * the order the run that made them landed them, so a replay in a fresh clone merges
 * wired files in the same order and ends byte for byte as that run left them.
 */
function inStartOrder(taskGraph: TaskGraph, landing: (id: string) => boolean, workspaceRoot: string): TaskGraph['tasks'] {
  const ids = Object.keys(taskGraph.tasks);
  const landings = inLandingOrder(
    workspaceRoot,
    ids.filter(landing).map((id) => taskGraph.tasks[id]),
  );
  return Object.fromEntries([...ids.filter((id) => !landing(id)), ...landings].map((id) => [id, taskGraph.tasks[id]]));
}

/**
 * The fanout executor for a whole run in one process (Nx's batch mode, which the
 * executor prefers; `--batch=false` turns it off). The run's sessions (fanout-session)
 * and their landings (fanout) use the same executor, so Nx gives both to one batch:
 * every session runs as it would in a process of its own, at most as many at once as
 * Nx's --parallel, each with its own terminal output, and each landing follows its
 * session at once, one at a time under the workspace lock (landings take no slot of
 * --parallel: they are short, and the sessions after them wait for them). Only the
 * landings of a replay (sessions from Nx's cache) come without their sessions. The
 * run's plan (what every session shares) is worked out once and given to each task,
 * and no task pays for starting a process and loading Nx and the plugin. The report
 * is written once, at the end.
 */
export default async function* runBatch(
  taskGraph: TaskGraph,
  inputs: Record<string, RunExecutorSchema>,
  _overrides: RunExecutorSchema,
  context: ExecutorContext,
  parallel: number = nxParallelism(context.nxJsonConfiguration?.parallel),
  environment: (task: TaskGraph['tasks'][string]) => ReturnType<typeof taskEnvironment> = (task) =>
    taskEnvironment({ task, projectGraph: context.projectGraph }),
): AsyncGenerator<BatchTaskResult> {
  const landing = (id: string) => isLanding(context, taskGraph.tasks[id].target.target);
  let left = Object.keys(taskGraph.tasks).length;
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
  // One plan per session target among the batch's tasks (a run has one); where the plugin options
  // are wrong, what is wrong is each session's failure.
  const plans = new Map<string, RunPlan | { error: unknown }>();
  const sessionTargets = Object.keys(taskGraph.tasks).filter((id) => !landing(id));
  // The session's modules (agents, checks, worktrees) are loaded only for a batch with sessions in it:
  // a replay's batch of landings has no use for them.
  const { runFanoutTask, RunPlan } =
    sessionTargets.length > 0
      ? { ...(require('./run') as typeof import('./run')), ...(require('./run-plan') as typeof import('./run-plan')) }
      : { runFanoutTask: undefined, RunPlan: undefined };
  // Sandbox runners are kept for the sessions still to come, and none outlives the batch.
  const runners =
    sessionTargets.length > 0
      ? (require('../../core/sandbox/sandbox-runner') as typeof import('../../core/sandbox/sandbox-runner'))
      : undefined;
  runners?.expectSessions(sessionTargets.length);
  for (const target of new Set(sessionTargets.map((id) => taskGraph.tasks[id].target.target))) {
    try {
      const plan = new (RunPlan as NonNullable<typeof RunPlan>)(context, target);
      const ids = sessionTargets.filter((id) => taskGraph.tasks[id].target.target === target);
      plan.runsInBatch(new Map(ids.map((id) => [taskGraph.tasks[id].target.project, inputs[id] ?? {}])));
      plans.set(target, plan);
    } catch (error) {
      plans.set(target, { error });
    }
  }
  const runSession = (id: string, output: BufferedTaskOutput) => {
    const task = taskGraph.tasks[id];
    const plan = plans.get(task.target.target);
    if (!RunPlan || !runFanoutTask || !(plan instanceof RunPlan))
      throw plan && 'error' in plan ? plan.error : new Error(`no run plan for ${id}`);
    // The environment Nx would give the task in a process of its own: its .env files loaded.
    const taskEnv = environment(task);
    return withTaskOutput(output, () => {
      if (taskEnv.env === undefined) output.write(`[fanout] ${taskEnv.why}; run with --batch=false to have them\n`, 'stderr');
      return runFanoutTask(inputs[id] ?? {}, taskContext(context, task), plan, {
        report: 'none',
        cleanUpLater,
        ...(taskEnv.env ? { env: taskEnv.env } : {}),
      });
    });
  };
  const land = (id: string, output: BufferedTaskOutput) =>
    withTaskOutput(output, () => landTask(inputs[id] ?? {}, taskContext(context, taskGraph.tasks[id]), { report: 'none' }));
  const tasks = runTasksInBatch(
    { tasks: inStartOrder(taskGraph, landing, context.root), dependencies: taskGraph.dependencies },
    parallel,
    (id, output) => (landing(id) ? land(id, output) : runSession(id, output)),
    undefined,
    landing,
  );
  for await (const result of tasks) {
    if (--left === 0) {
      runners?.closeIdleRunners();
      await Promise.all(cleanUps);
      try {
        writeReport(context.root);
      } catch (error) {
        process.stderr.write(`[fanout] the report could not be written: ${error instanceof Error ? error.message : String(error)}\n`);
      }
    }
    yield result;
  }
  endWithResults();
}

/**
 * In Nx's batch process, once the batch is done: the process ends as soon as Nx's message with the
 * results (the next one its batch runner sends) has gone out. Nx ends a batch process still alive
 * after its results gracefully (a signal, then a wait for the process tree to go), which cost a run
 * about 100 ms before Nx could print its summary.
 */
export function endWithResults(): void {
  const send = process.send;
  if (!send || process.env['NX_FORKED_TASK_EXECUTOR'] !== 'true' || !/run-batch\.js$/.test(process.argv[1] ?? '')) return;
  type Send = (message: unknown, ...rest: unknown[]) => boolean;
  process.send = function (message: unknown, ...rest: unknown[]): boolean {
    process.send = send;
    const options = rest.filter((argument) => typeof argument !== 'function');
    const callback = rest.find((argument) => typeof argument === 'function') as ((error: Error | null) => void) | undefined;
    return (send as Send).call(process, message, ...options, (error: Error | null) => {
      callback?.(error);
      if (!error) process.exit(0);
    });
  } as typeof process.send;
}

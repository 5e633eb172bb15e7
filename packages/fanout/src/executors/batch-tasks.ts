import type { ExecutorContext, TaskGraph } from '@nx/devkit';
import { AsyncLocalStorage } from 'async_hooks';
import { BufferedTaskOutput } from '../core/system/task-output';

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

/** One task of a batch run: its session, writing its terminal output to `output`. */
export type BatchTaskRunner = (id: string, output: BufferedTaskOutput) => Promise<{ success: boolean }>;

/** The context a task of a batch runs in: the batch's, as Nx would give the task in a process of its own. */
export function taskContext(context: ExecutorContext, task: TaskGraph['tasks'][string]): ExecutorContext {
  return {
    ...context,
    projectName: task.target.project,
    targetName: task.target.target,
    configurationName: task.target.configuration,
  };
}

/**
 * Errors thrown where no caller can catch them (in a timer, a stream's handler, a
 * promise nobody awaits) would end the batch's process, and every session of the run
 * with it. While a batch runs, such an error fails only the task whose work threw it:
 * each task's work runs with its own `fail` in this store, which its timers, handlers
 * and promises carry.
 */
const taskOfWork = new AsyncLocalStorage<(error: unknown) => void>();

/**
 * Runs `work` as task `label`: its outcome, or the first error its work threw where
 * nobody could catch it. Such an error once the task has ended (work it left behind)
 * is said on the process's stderr.
 */
function asTask<T>(label: string, work: () => Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let ended = false;
    const end =
      <V>(settle: (value: V) => void) =>
      (value: V) => {
        ended = true;
        settle(value);
      };
    const fail = (error: unknown) => {
      if (!ended) return end(reject)(error);
      process.stderr.write(`[fanout] ${label}, after its task ended: ${error instanceof Error ? error.message : String(error)}\n`);
    };
    taskOfWork.run(fail, () => void work().then(end(resolve), end(reject)));
  });
}

/**
 * The process's listeners for those errors, while at least one batch runs (per-process
 * state, on purpose: an uncaught error is the process's). An error from outside every
 * task is left as it was: where no one else listens, the listeners step aside and throw
 * it again, and it ends the process as it would have.
 */
let batchesRunning = 0;
const onUncaught = (error: unknown) => strayError(error, 'uncaughtException');
const onUnhandled = (reason: unknown) => strayError(reason, 'unhandledRejection');

function strayError(error: unknown, event: 'uncaughtException' | 'unhandledRejection'): void {
  const fail = taskOfWork.getStore();
  if (fail) return fail(error);
  if (process.listenerCount(event) > 1) return;
  batchesRunning = 0;
  stopListening();
  process.nextTick(() => {
    throw error;
  });
}

function listenForStrayErrors(): () => void {
  if (batchesRunning++ === 0) {
    process.on('uncaughtException', onUncaught);
    process.on('unhandledRejection', onUnhandled);
  }
  let stopped = false;
  return () => {
    if (stopped) return;
    stopped = true;
    if (batchesRunning > 0 && --batchesRunning === 0) stopListening();
  };
}

function stopListening(): void {
  process.off('uncaughtException', onUncaught);
  process.off('unhandledRejection', onUnhandled);
}

/**
 * Runs a batch's tasks, at most `parallel` at once, each once its dependencies in
 * the batch have succeeded (those outside it completed before Nx started the batch),
 * and yields each task's result as it ends. A task whose dependency failed is
 * skipped, as Nx skips it; a task that throws has failed, and its error is its output,
 * whether the task's function threw it or its work threw it where nobody could catch it.
 * Linear in the tasks and their dependencies: each task is started, and each
 * dependency counted down, once.
 */
export async function* runTasksInBatch(
  taskGraph: Pick<TaskGraph, 'tasks' | 'dependencies'>,
  parallel: number,
  runTask: BatchTaskRunner,
  live?: (line: string) => void,
  /** Tasks that take no slot of `parallel` (short ones that others wait for): each starts as soon as it is ready. */
  unlimited: (id: string) => boolean = () => false,
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
  const ready: string[] = [];
  // Ready tasks that take no slot of `parallel`, started as soon as the loop sees them.
  const readyUnlimited: string[] = [];
  const becomeReady = (id: string) => (unlimited(id) ? readyUnlimited : ready).push(id);
  for (const id of ids) if (waiting.get(id) === 0) becomeReady(id);
  let readyAt = 0;
  /** Tasks started and not ended: `running` of them count against `parallel`. */
  let running = 0;
  let inFlight = 0;
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
    const counted = !unlimited(id);
    if (counted) running++;
    inFlight++;
    const output = new BufferedTaskOutput(label(id), live);
    const startTime = Date.now();
    void Promise.resolve()
      .then(() => asTask(label(id), () => runTask(id, output)))
      .catch((error: unknown) => {
        output.write(`✖ ${label(id)}: ${error instanceof Error ? error.message : String(error)}\n`, 'stderr');
        return { success: false };
      })
      .then(({ success }) => {
        if (counted) running--;
        inFlight--;
        finished.push({ task: id, result: { success, terminalOutput: output.finish(), startTime, endTime: Date.now() } });
        for (const dependent of dependents.get(id) ?? []) {
          if (!success) skip(dependent);
          else if (waiting.get(dependent) !== -1) {
            const left = (waiting.get(dependent) ?? 1) - 1;
            waiting.set(dependent, left);
            if (left === 0) becomeReady(dependent);
          }
        }
        wake?.();
      });
  };

  const stopListening = listenForStrayErrors();
  try {
    while (settled < ids.length) {
      for (let id = readyUnlimited.shift(); id !== undefined; id = readyUnlimited.shift()) {
        if (waiting.get(id) !== -1) start(id);
      }
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
      if (inFlight === 0) {
        // Nothing runs and nothing can start: only a cycle does that, and Nx refuses cycles before a batch.
        for (const id of ids) if (waiting.get(id) !== -1 && waiting.get(id) !== 0) skip(id);
        if (finished.length === 0) return;
        continue;
      }
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
  } finally {
    stopListening();
  }
}

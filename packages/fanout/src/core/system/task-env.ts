import { dirname, join } from 'path';

/** The part of an Nx task and project graph that Nx's own task environment reads. */
export interface TaskEnvInput {
  task: { id: string; target: { project: string; target: string; configuration?: string }; projectRoot?: string };
  projectGraph: unknown;
}

type TaskSpecificEnv = (task: TaskEnvInput['task'], graph: unknown) => NodeJS.ProcessEnv;

/** Where Nx keeps `getTaskSpecificEnv`, newest layout first (it is not among the package's exports). */
const TASK_ENV_FILES = [join('dist', 'src', 'tasks-runner', 'task-env.js'), join('src', 'tasks-runner', 'task-env.js')];

function nxTaskSpecificEnv(): TaskSpecificEnv | undefined {
  let nxRoot: string;
  try {
    nxRoot = dirname(require.resolve('nx/package.json', { paths: [process.cwd()] }));
  } catch {
    return undefined;
  }
  for (const file of TASK_ENV_FILES) {
    try {
      const loaded = require(join(nxRoot, file)) as { getTaskSpecificEnv?: unknown };
      if (typeof loaded.getTaskSpecificEnv === 'function') return loaded.getTaskSpecificEnv as TaskSpecificEnv;
    } catch {
      // Not in this layout.
    }
  }
  return undefined;
}

/**
 * The environment Nx gives a task it runs in a process of its own: the Nx
 * command's, with the task's `.env` files loaded (the project's, and the
 * target's such as `.env.fanout`, as Nx orders them). A batch runs every task in
 * one process with the Nx command's environment alone, so each session of a
 * batch gets this instead, computed by Nx's own code. Undefined where the
 * installed Nx does not have it: the session then has the batch's environment,
 * and `why` says so.
 */
export function taskEnvironment(
  input: TaskEnvInput,
  find: () => TaskSpecificEnv | undefined = nxTaskSpecificEnv,
): { env: NodeJS.ProcessEnv } | { env: undefined; why: string } {
  const compute = find();
  if (!compute) return { env: undefined, why: "this Nx has no getTaskSpecificEnv: the task's own .env files are not loaded" };
  try {
    return { env: compute(input.task, input.projectGraph) };
  } catch (error) {
    return { env: undefined, why: `the task's .env files could not be loaded: ${error instanceof Error ? error.message : String(error)}` };
  }
}

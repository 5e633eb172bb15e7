import type { ExecutorContext, ProjectGraph, TaskGraph } from '@nx/devkit';
import { AsyncResource } from 'async_hooks';
import runBatch from '../executors/run/batch';

/**
 * `node -r @swc-node/register batch-child.ts <workspaceRoot> <plan JSON>`: the run
 * executor's batch over the tasks `plan.tasks` in a process of its own, as Nx runs a
 * batch, for tests of what an error nobody can catch does to it. `plan.faults` names,
 * per project, such an error thrown by its task's work: in a timer (`timer`) or as a
 * promise nobody awaits (`promise`) while its session sets up, or in a timer once its
 * task has ended (`late`); `plan.outsideAfterMs` throws one in a timer of no task, that
 * long after the batch started. Prints each result as it comes, as a line `RESULT <json>`.
 */
interface ChildPlan {
  tasks: string[];
  faults?: Record<string, 'timer' | 'promise' | 'late'>;
  outsideAfterMs?: number;
  /** At most this many tasks at once (default: all). */
  parallel?: number;
}

const [root, planJson] = process.argv.slice(2);
const plan = JSON.parse(planJson) as ChildPlan;
const roots: Record<string, string> = { contracts: 'libs/contracts', users: 'libs/users' };
for (const project of plan.tasks) roots[project] = `libs/${project}`;
const projectGraph: ProjectGraph = {
  nodes: Object.fromEntries(Object.entries(roots).map(([name, projectRoot]) => [name, { name, type: 'lib', data: { root: projectRoot } }])),
  dependencies: Object.fromEntries(Object.keys(roots).map((name) => [name, []])),
};
const id = (project: string) => `${project}:fanout`;
const taskGraph: TaskGraph = {
  roots: plan.tasks.map(id),
  tasks: Object.fromEntries(
    plan.tasks.map((project) => [
      id(project),
      { id: id(project), target: { project, target: 'fanout-session' }, overrides: {}, outputs: [], cache: true, parallelism: true },
    ]),
  ),
  dependencies: Object.fromEntries(plan.tasks.map((project) => [id(project), []])),
  continuousDependencies: Object.fromEntries(plan.tasks.map((project) => [id(project), []])),
};
const context: ExecutorContext = {
  root,
  cwd: root,
  isVerbose: false,
  projectGraph,
  taskGraph,
  // Its agents report through files outside their worktrees, which the sandbox would refuse.
  nxJsonConfiguration: { plugins: [{ plugin: 'fanout', options: { sandbox: 'off' } }] },
  projectsConfigurations: { version: 2, projects: {} },
};

const afterResult = new Map<string, () => void>();
const environment = (task: TaskGraph['tasks'][string]) => {
  const fault = plan.faults?.[task.target.project];
  const error = new Error(`${task.target.project}'s work threw where nobody could catch it (${fault})`);
  if (fault === 'timer') {
    setTimeout(() => {
      throw error;
    }, 0);
  } else if (fault === 'promise') {
    void Promise.reject(error);
  } else if (fault === 'late') {
    // Thrown in the task's own context, once its result is out.
    const inTask = new AsyncResource('late-fault');
    afterResult.set(task.id, () =>
      inTask.runInAsyncScope(() =>
        setTimeout(() => {
          throw error;
        }, 0),
      ),
    );
  }
  return { env: process.env };
};

async function main(): Promise<void> {
  if (plan.outsideAfterMs !== undefined) {
    setTimeout(() => {
      throw new Error('thrown outside every task');
    }, plan.outsideAfterMs);
  }
  for await (const result of runBatch(taskGraph, {}, {}, context, plan.parallel ?? plan.tasks.length, environment)) {
    process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
    afterResult.get(result.task)?.();
  }
}

void main();

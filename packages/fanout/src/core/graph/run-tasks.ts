import type { CheckInput } from '../checks/check';
import type { SparseCheckout } from '../session/sparse-checkout';
import { readImportPaths } from './import-paths';
import { findIndependenceViolations, reachableFrom, type Adjacency, type FanoutTaskRef } from './independence';

/**
 * The run's tasks read from Nx's graphs: which tasks run together, whether they
 * are independent, what each session must not import, and what its worktree keeps.
 * The graphs are taken by shape, so this module needs no Nx import.
 */
export interface ProjectGraphShape {
  nodes: Record<string, { name: string; data: { root: string } }>;
  dependencies: Record<string, readonly { target: string }[]>;
}

export interface TaskGraphShape {
  tasks: Record<string, { id: string; target: { project: string; target: string } }>;
  dependencies: Record<string, readonly string[]>;
}

export interface RunTask {
  /** The task id in the run (`orders:fanout`). */
  id: string;
  project: string;
}

/** The run's fanout tasks, by project name. */
export function fanoutTasks(taskGraph: TaskGraphShape, targetName: string): RunTask[] {
  return Object.values(taskGraph.tasks)
    .filter((task) => task.target.target === targetName)
    .map((task) => ({ id: task.id, project: task.target.project }))
    .sort((a, b) => a.project.localeCompare(b.project));
}

/** project → the projects it depends on, npm packages left out. */
export function projectAdjacency(graph: ProjectGraphShape): Map<string, string[]> {
  return new Map(
    Object.entries(graph.dependencies).map(([project, dependencies]) => [
      project,
      dependencies.map((dependency) => dependency.target).filter((target) => !target.startsWith('npm:')),
    ]),
  );
}

/**
 * What one process has worked out about a run's graphs, kept by the graph objects
 * themselves: a batch (one process for the whole run) gets the same graph objects
 * for every task, so each is worked out once per run rather than once per task.
 */
function memo<K extends object, V>(cache: WeakMap<K, Map<string, V>>, key: K, name: string, make: () => V): V {
  let entries = cache.get(key);
  if (!entries) cache.set(key, (entries = new Map()));
  let value = entries.get(name);
  if (value === undefined) entries.set(name, (value = make()));
  return value;
}

const verdicts = new WeakMap<TaskGraphShape, Map<string, readonly string[]>>();
const adjacencies = new WeakMap<ProjectGraphShape, Map<string, Map<string, string[]>>>();
const importPaths = new WeakMap<ProjectGraphShape, Map<string, CheckInput['projects']>>();

/** projectAdjacency, once per graph object. */
function adjacencyOf(graph: ProjectGraphShape): Map<string, string[]> {
  return memo(adjacencies, graph, 'dependencies', () => projectAdjacency(graph));
}

/**
 * Throws with every violation when the run's tasks are not independent. Each
 * task's executor calls it before its session starts, over the whole run; a
 * process that runs many of the run's tasks (a batch) works it out once. It takes
 * milliseconds even at hundreds of tasks (BENCHMARKS.md). `scopeOf` gives a task's
 * writable paths; it may throw for a task whose assignment is broken (nothing is
 * then kept).
 */
export function confirmIndependence(
  graph: ProjectGraphShape,
  taskGraph: TaskGraphShape,
  tasks: readonly RunTask[],
  scopeOf: (task: RunTask, root: string) => readonly string[],
): void {
  const key = tasks.map((task) => task.id).join('\n');
  const messages = memo(verdicts, taskGraph, key, () => {
    const refs: FanoutTaskRef[] = tasks.map((task) => {
      const root = graph.nodes[task.project]?.data.root ?? task.project;
      return { id: task.id, project: task.project, scope: scopeOf(task, root) };
    });
    const taskAdjacency: Adjacency = new Map(Object.entries(taskGraph.dependencies));
    return findIndependenceViolations(refs, adjacencyOf(graph), taskAdjacency).map((violation) => violation.message);
  });
  if (messages.length > 0) {
    throw new Error(`the tasks of this run are not independent:\n${messages.map((message) => `  - ${message}`).join('\n')}`);
  }
}

/**
 * What a session's checks need to know of the run: how imports resolve to projects,
 * which projects it must not import (the other tasks, and every project that depends
 * on one, with the path), and the ports of every session.
 */
export function runKnowledge(
  workspaceRoot: string,
  graph: ProjectGraphShape,
  project: string,
  tasks: readonly { project: string }[],
  portsAt: (index: number) => { first: number; last: number },
): Pick<CheckInput, 'projects' | 'forbidden' | 'ports'> {
  const siblings = tasks.map((task) => task.project).filter((name) => name !== project);
  const dependents = memo(adjacencies, graph, 'dependents', () => {
    const reverse = new Map<string, string[]>();
    for (const [from, targets] of adjacencyOf(graph)) {
      for (const target of targets) {
        const list = reverse.get(target);
        if (list) list.push(from);
        else reverse.set(target, [from]);
      }
    }
    return reverse;
  });
  const forbidden = new Map<string, string>();
  for (const sibling of siblings) forbidden.set(sibling, `is another task of this run (${sibling}:fanout)`);
  for (const [sibling, parents] of reachableFrom(dependents, siblings)) {
    for (const dependent of parents.keys()) {
      if (dependent === project || forbidden.has(dependent)) continue;
      const path = [dependent];
      for (let node = parents.get(dependent); node !== undefined && node !== sibling; node = parents.get(node)) path.push(node);
      path.push(sibling);
      forbidden.set(dependent, `depends on ${sibling}, another task of this run (${path.join(' → ')})`);
    }
  }
  const own = tasks.findIndex((task) => task.project === project);
  return {
    // Read when the checks first ask, after the agent: in a workspace of thousands of projects it
    // reads a package.json per project, which the session's start need not wait for.
    get projects() {
      return memo(importPaths, graph, workspaceRoot, () =>
        readImportPaths(
          workspaceRoot,
          Object.values(graph.nodes).map((node) => ({ name: node.name, root: node.data.root })),
        ),
      );
    },
    forbidden,
    ports: {
      own: portsAt(Math.max(own, 0)),
      siblings: tasks.flatMap((task, index) => (task.project === project ? [] : [{ project: task.project, ...portsAt(index) }])),
    },
  };
}

/** The projects a session's worktree keeps (its own, the contracts, the reference and what they depend on) and the rest. */
export function sparseSelection(graph: ProjectGraphShape, needed: readonly string[]): SparseCheckout {
  const kept = new Set(needed);
  for (const parents of reachableFrom(adjacencyOf(graph), needed).values()) {
    for (const project of parents.keys()) kept.add(project);
  }
  const nodes = Object.values(graph.nodes);
  return {
    keep: nodes.filter((node) => kept.has(node.name)).map((node) => node.data.root),
    leave: nodes.filter((node) => !kept.has(node.name)).map((node) => node.data.root),
  };
}

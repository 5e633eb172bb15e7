import type { CheckInput } from '../checks/check';
import type { SparseCheckout } from '../session/sparse-checkout';
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
function projectAdjacency(graph: ProjectGraphShape): Map<string, string[]> {
  return new Map(
    Object.entries(graph.dependencies).map(([project, dependencies]) => [
      project,
      dependencies.map((dependency) => dependency.target).filter((target) => !target.startsWith('npm:')),
    ]),
  );
}

/**
 * What a run's tasks are in Nx's graphs, worked out once per run and asked of by
 * each task: whether they are independent, what each session must not import, and
 * what its worktree keeps. The adjacency lists are built on first use, once.
 */
export class RunGraph {
  private dependencies?: Map<string, string[]>;
  private dependents?: Map<string, string[]>;

  constructor(
    readonly projectGraph: ProjectGraphShape,
    readonly taskGraph: TaskGraphShape,
    readonly tasks: readonly RunTask[],
  ) {}

  /** project → the projects it depends on, npm packages left out. */
  private dependenciesOf(): Map<string, string[]> {
    return (this.dependencies ??= projectAdjacency(this.projectGraph));
  }

  /** project → the projects that depend on it. */
  private dependentsOf(): Map<string, string[]> {
    if (this.dependents) return this.dependents;
    const reverse = new Map<string, string[]>();
    for (const [from, targets] of this.dependenciesOf()) {
      for (const target of targets) {
        const list = reverse.get(target);
        if (list) list.push(from);
        else reverse.set(target, [from]);
      }
    }
    return (this.dependents = reverse);
  }

  /**
   * Every reason the run's tasks are not independent, as a message each (none: they
   * are). It takes milliseconds even at hundreds of tasks (BENCHMARKS.md). `scopeOf`
   * gives a task's writable paths.
   */
  independenceViolations(scopeOf: (task: RunTask, root: string) => readonly string[]): string[] {
    const refs: FanoutTaskRef[] = this.tasks.map((task) => {
      const root = this.projectGraph.nodes[task.project]?.data.root ?? task.project;
      return { id: task.id, project: task.project, scope: scopeOf(task, root) };
    });
    const taskAdjacency: Adjacency = new Map(Object.entries(this.taskGraph.dependencies));
    return findIndependenceViolations(refs, this.dependenciesOf(), taskAdjacency).map((violation) => violation.message);
  }

  /**
   * What session `project`'s checks need to know of the run: which projects it must not
   * import (the other tasks, and every project that depends on one, with the path) and
   * the ports of every session. `projects` (how imports resolve to projects) is read
   * when the checks first ask.
   */
  knowledge(
    project: string,
    portsAt: (index: number) => { first: number; last: number },
    projects: () => CheckInput['projects'],
  ): Pick<CheckInput, 'projects' | 'forbidden' | 'ports'> {
    const { tasks } = this;
    const siblings = tasks.map((task) => task.project).filter((name) => name !== project);
    const forbidden = new Map<string, string>();
    for (const sibling of siblings) forbidden.set(sibling, `is another task of this run (${sibling}:fanout)`);
    for (const [sibling, parents] of reachableFrom(this.dependentsOf(), siblings)) {
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
      get projects() {
        return projects();
      },
      forbidden,
      ports: {
        own: portsAt(Math.max(own, 0)),
        siblings: tasks.flatMap((task, index) => (task.project === project ? [] : [{ project: task.project, ...portsAt(index) }])),
      },
    };
  }

  /** The projects a session's worktree keeps (its own, the contracts, the reference and what they depend on) and the rest. */
  sparseSelection(needed: readonly string[]): SparseCheckout {
    const kept = new Set(needed);
    for (const parents of reachableFrom(this.dependenciesOf(), needed).values()) {
      for (const project of parents.keys()) kept.add(project);
    }
    const nodes = Object.values(this.projectGraph.nodes);
    return {
      keep: nodes.filter((node) => kept.has(node.name)).map((node) => node.data.root),
      leave: nodes.filter((node) => !kept.has(node.name)).map((node) => node.data.root),
    };
  }
}

/** Throws with every violation when the run's tasks are not independent (`violations` from RunGraph). */
export function assertIndependent(violations: readonly string[]): void {
  if (violations.length > 0) {
    throw new Error(`the tasks of this run are not independent:\n${violations.map((message) => `  - ${message}`).join('\n')}`);
  }
}

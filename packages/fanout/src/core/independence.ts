/**
 * Graph-confirmed independence: tasks that may run at the same time must not
 * depend on each other through the project graph, in either direction, and
 * must not write to overlapping paths. Plain data in, plain data out.
 */

/** project → the projects it depends on directly. */
export type Adjacency = ReadonlyMap<string, readonly string[]>;

export interface FanoutTaskRef {
  /** The task id in the run (`orders:fanout`). */
  id: string;
  project: string;
  /** Workspace-relative paths the session may write. */
  scope: readonly string[];
}

export interface IndependenceViolation {
  kind: 'dependency' | 'cycle' | 'scope';
  first: string;
  second: string;
  /** For a dependency: the project path from `first` to `second`; for a cycle, from `first` round to itself. */
  path?: string[];
  /** For a scope: the overlapping paths. */
  overlap?: [string, string];
  message: string;
}

/**
 * For each source, every node it reaches, with the node it was reached from
 * (so a shortest path can be read back). One BFS per source: the whole check is
 * O(sources × (nodes + edges)), computed once per run.
 */
export function reachableFrom(graph: Adjacency, sources: Iterable<string>): Map<string, Map<string, string>> {
  const result = new Map<string, Map<string, string>>();
  for (const source of sources) {
    const parents = new Map<string, string>();
    const queue = [source];
    for (let index = 0; index < queue.length; index++) {
      const node = queue[index];
      for (const next of graph.get(node) ?? []) {
        if (next === source || parents.has(next)) continue;
        parents.set(next, node);
        queue.push(next);
      }
    }
    result.set(source, parents);
  }
  return result;
}

function pathTo(parents: Map<string, string>, source: string, target: string): string[] {
  const path = [target];
  let node = target;
  while (node !== source) {
    const parent = parents.get(node);
    if (parent === undefined) break;
    path.unshift(parent);
    node = parent;
  }
  return path;
}

function scopesOverlap(a: string, b: string): boolean {
  const left = a.split('/');
  const right = b.split('/');
  const length = Math.min(left.length, right.length);
  for (let index = 0; index < length; index++) {
    if (left[index] !== right[index]) return false;
  }
  return true;
}

/**
 * Every pair of tasks whose projects depend on each other (a cycle: neither can
 * wait for the other's finished result, in whatever order they run), and every
 * pair that may run at the same time (neither waits for the other in the task
 * graph) but whose projects depend on one another, or whose scopes overlap.
 */
export function findIndependenceViolations(
  tasks: readonly FanoutTaskRef[],
  projectGraph: Adjacency,
  taskGraph: Adjacency,
): IndependenceViolation[] {
  const projectReach = reachableFrom(
    projectGraph,
    tasks.map((task) => task.project),
  );
  const taskReach = reachableFrom(
    taskGraph,
    tasks.map((task) => task.id),
  );
  const ordered = (a: FanoutTaskRef, b: FanoutTaskRef) =>
    taskReach.get(a.id)?.has(b.id) === true || taskReach.get(b.id)?.has(a.id) === true;

  const violations: IndependenceViolation[] = [];
  const sorted = [...tasks].sort((a, b) => a.project.localeCompare(b.project));
  for (let i = 0; i < sorted.length; i++) {
    for (let j = i + 1; j < sorted.length; j++) {
      const a = sorted[i];
      const b = sorted[j];
      const there = projectReach.get(a.project);
      const back = projectReach.get(b.project);
      if (there?.has(b.project) && back?.has(a.project)) {
        // Nx refuses a task graph with a cycle unless --nxIgnoreCycles, which drops an edge and runs the
        // two in either order: one of them would then start from the other's unfinished code.
        const path = [...pathTo(there, a.project, b.project), ...pathTo(back, b.project, a.project).slice(1)];
        violations.push({
          kind: 'cycle',
          first: a.project,
          second: b.project,
          path,
          message:
            `"${a.project}" and "${b.project}" depend on each other (${path.join(' → ')}), so neither task can wait ` +
            `for the other's finished result. Break the cycle (nx graph --focus=${a.project} shows it), or fan out ` +
            `only one of them (nx run-many -t fanout --exclude=${b.project}).`,
        });
        continue;
      }
      if (ordered(a, b)) continue;
      for (const [from, to] of [
        [a, b],
        [b, a],
      ]) {
        const parents = projectReach.get(from.project);
        if (parents?.has(to.project)) {
          const path = pathTo(parents, from.project, to.project);
          violations.push({
            kind: 'dependency',
            first: from.project,
            second: to.project,
            path,
            message:
              `"${from.project}" and "${to.project}" would run at the same time, but ${from.project} depends on ${to.project}: ` +
              `${path.join(' → ')}. Let ${from.project}'s fanout task wait for ${to.project}'s: keep the target's default ` +
              `dependsOn ["^fanout"] (an override in project.json or targetDefaults removes it), or remove the dependency.`,
          });
          break;
        }
      }
      for (const left of a.scope) {
        const right = b.scope.find((candidate) => scopesOverlap(left, candidate));
        if (right !== undefined) {
          violations.push({
            kind: 'scope',
            first: a.project,
            second: b.project,
            overlap: [left, right],
            message:
              `"${a.project}" and "${b.project}" would run at the same time and both may write ${
                left.length >= right.length ? left : right
              } (scopes ${left} and ${right}). Give each task a scope of its own.`,
          });
          break;
        }
      }
    }
  }
  return violations;
}

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
 * O(sources × (nodes + edges)); every task of a run computes it for the whole run.
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

/**
 * Whether `nodes[from]` reaches `nodes[to]`, for every pair of positions, computed
 * once for the whole graph: its strongly connected components (Tarjan, without
 * recursion, so deep chains cannot overflow the stack), then, sinks first, the set
 * of `nodes` each component reaches as a bitset. That is O(edges × nodes / 32),
 * against O(nodes × edges) for a search from every task: with thousands of
 * projects and hundreds of tasks, the difference between milliseconds and most of a
 * second, paid by every task of a run. Paths are read back (reachableFrom) only
 * for the pairs that are reported.
 */
function reachability(graph: Adjacency, nodes: readonly string[]): (from: number, to: number) => boolean {
  const ids = new Map<string, number>();
  const idOf = (name: string) => {
    let id = ids.get(name);
    if (id === undefined) {
      id = ids.size;
      ids.set(name, id);
    }
    return id;
  };
  const columns = new Map<string, number>();
  for (const node of nodes) if (!columns.has(node)) columns.set(node, columns.size);
  for (const node of columns.keys()) idOf(node);
  const edges: number[][] = [];
  for (const [node, next] of graph) edges[idOf(node)] = next.map(idOf);
  const count = ids.size;

  // Tarjan: components are numbered in the order they complete, every component after those it reaches.
  const order = new Int32Array(count).fill(-1);
  const low = new Int32Array(count);
  const onStack = new Uint8Array(count);
  const component = new Int32Array(count);
  const nextEdge = new Int32Array(count);
  const stack: number[] = [];
  const work: number[] = [];
  let visited = 0;
  let components = 0;
  for (let root = 0; root < count; root++) {
    if (order[root] !== -1) continue;
    work.push(root);
    while (work.length > 0) {
      const node = work[work.length - 1];
      if (order[node] === -1) {
        order[node] = low[node] = visited++;
        stack.push(node);
        onStack[node] = 1;
      }
      const out = edges[node] ?? [];
      if (nextEdge[node] < out.length) {
        const next = out[nextEdge[node]++];
        if (order[next] === -1) work.push(next);
        else if (onStack[next] === 1) low[node] = Math.min(low[node], order[next]);
        continue;
      }
      work.pop();
      if (work.length > 0) {
        const parent = work[work.length - 1];
        low[parent] = Math.min(low[parent], low[node]);
      }
      if (low[node] === order[node]) {
        let member: number | undefined;
        do {
          member = stack.pop() as number;
          onStack[member] = 0;
          component[member] = components;
        } while (member !== node);
        components++;
      }
    }
  }

  // Per component: which of `nodes` it holds, and which it reaches through its edges out.
  const words = Math.ceil(columns.size / 32);
  const holds = new Uint32Array(components * words);
  const reaches = new Uint32Array(components * words);
  const members: number[][] = Array.from({ length: components }, () => []);
  for (let node = 0; node < count; node++) members[component[node]].push(node);
  for (const [name, column] of columns) {
    const at = component[idOf(name)] * words + (column >>> 5);
    holds[at] |= 1 << (column & 31);
  }
  for (let current = 0; current < components; current++) {
    for (const node of members[current]) {
      for (const next of edges[node] ?? []) {
        const target = component[next];
        if (target === current) continue;
        for (let word = 0; word < words; word++) {
          reaches[current * words + word] |= reaches[target * words + word] | holds[target * words + word];
        }
      }
    }
  }

  const idAt = Int32Array.from(nodes, (node) => idOf(node));
  const columnAt = Int32Array.from(nodes, (node) => columns.get(node) ?? 0);
  return (from, to) => {
    const source = idAt[from];
    const target = idAt[to];
    // A node never counts as reaching itself; within a component every node reaches every other.
    if (source === target) return false;
    if (component[source] === component[target]) return true;
    const column = columnAt[to];
    return (reaches[component[source] * words + (column >>> 5)] & (1 << (column & 31))) !== 0;
  };
}

/** Whether two paths, split into segments, are one the other or one inside the other. */
function scopesOverlap(left: readonly string[], right: readonly string[]): boolean {
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
  const sorted = [...tasks].sort((a, b) => a.project.localeCompare(b.project));
  // Positions in `sorted` throughout: reaches(i, j) is whether sorted[i] reaches sorted[j].
  const projectReaches = reachability(
    projectGraph,
    sorted.map((task) => task.project),
  );
  const taskReaches = reachability(
    taskGraph,
    sorted.map((task) => task.id),
  );
  const parents = new Map<string, Map<string, string>>();
  const parentsOf = (project: string) => {
    if (!parents.has(project)) parents.set(project, reachableFrom(projectGraph, [project]).get(project) ?? new Map());
    return parents.get(project) ?? new Map<string, string>();
  };
  const segments = sorted.map((task) => task.scope.map((entry) => entry.split('/')));

  const violations: IndependenceViolation[] = [];
  for (let i = 0; i < sorted.length; i++) {
    for (let j = i + 1; j < sorted.length; j++) {
      const a = sorted[i];
      const b = sorted[j];
      if (projectReaches(i, j) && projectReaches(j, i)) {
        const there = parentsOf(a.project);
        const back = parentsOf(b.project);
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
      if (taskReaches(i, j) || taskReaches(j, i)) continue;
      const dependent = projectReaches(i, j) ? [a, b] : projectReaches(j, i) ? [b, a] : undefined;
      if (dependent) {
        const [from, to] = dependent;
        const path = pathTo(parentsOf(from.project), from.project, to.project);
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
      }
      for (let leftIndex = 0; leftIndex < a.scope.length; leftIndex++) {
        let rightIndex = 0;
        while (rightIndex < b.scope.length && !scopesOverlap(segments[i][leftIndex], segments[j][rightIndex])) rightIndex++;
        if (rightIndex < b.scope.length) {
          const left = a.scope[leftIndex];
          const right = b.scope[rightIndex];
          violations.push({
            kind: 'scope',
            first: a.project,
            second: b.project,
            overlap: [left, right],
            message: `"${a.project}" and "${b.project}" would run at the same time and both may write ${
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

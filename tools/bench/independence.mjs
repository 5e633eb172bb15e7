// Independence check: findIndependenceViolations on a synthetic project graph of
// 5,000 projects, 500 of them fanout tasks. Baseline: one walk over the whole
// graph (every project and dependency visited once), the least any question
// about reachability costs.
import { pluginModule } from './plugin.mjs';
import { median, measure, seededRandom } from './stats.mjs';

const PROJECTS = 5000;
const TASKS = 500;
const LAYERS = 10;
const DEPENDENCIES = 3;
const REPETITIONS = 7;

/**
 * Libraries in layers, each depending on libraries of lower layers (mostly the one
 * just below), and tasks on top, each depending on the contracts and a few libraries.
 * Deep and well connected: a task reaches most of the graph, the expensive case.
 */
function syntheticGraph() {
  const random = seededRandom(7);
  const pick = (list) => list[Math.floor(random() * list.length)];
  const libraries = PROJECTS - TASKS;
  const perLayer = Math.ceil(libraries / LAYERS);
  const layers = Array.from({ length: LAYERS }, (_, layer) =>
    Array.from({ length: Math.min(perLayer, libraries - layer * perLayer) }, (_, index) => `lib-${layer}-${index}`),
  );
  const graph = new Map();
  layers.forEach((layer, depth) => {
    for (const name of layer) {
      const dependencies = new Set();
      for (let count = 0; depth > 0 && count < DEPENDENCIES; count++) {
        dependencies.add(pick(layers[random() < 0.7 ? depth - 1 : Math.floor(random() * depth)]));
      }
      graph.set(name, [...dependencies]);
    }
  });
  const contracts = layers[0][0];
  const tasks = Array.from({ length: TASKS }, (_, index) => `task-${index}`);
  for (const task of tasks) {
    graph.set(task, [contracts, ...Array.from({ length: DEPENDENCIES }, () => pick(pick(layers)))]);
  }
  return {
    graph,
    tasks: tasks.map((task) => ({ id: `${task}:fanout`, project: task, scope: [`libs/${task}/src`] })),
    // dependsOn ^fanout adds no edges: no library has a fanout target.
    taskGraph: new Map(tasks.map((task) => [`${task}:fanout`, []])),
  };
}

function walkAll(graph) {
  const seen = new Set();
  let edges = 0;
  for (const start of graph.keys()) {
    if (seen.has(start)) continue;
    const stack = [start];
    seen.add(start);
    while (stack.length > 0) {
      for (const next of graph.get(stack.pop()) ?? []) {
        edges += 1;
        if (!seen.has(next)) {
          seen.add(next);
          stack.push(next);
        }
      }
    }
  }
  return edges;
}

export async function benchIndependence({ workspace }) {
  const { findIndependenceViolations, reachableFrom } = pluginModule(workspace, 'core/graph/independence');
  const { graph, tasks, taskGraph } = syntheticGraph();
  const check = [];
  const walk = [];
  let violations = 0;
  for (let index = 0; index < REPETITIONS; index++) {
    const result = await measure(() => findIndependenceViolations(tasks, graph, taskGraph));
    violations = result.value.length;
    check.push(result);
    walk.push(await measure(() => walkAll(graph)));
  }
  const reach = reachableFrom(graph, [tasks[0].project]).get(tasks[0].project).size;
  const edges = [...graph.values()].reduce((sum, list) => sum + list.length, 0);
  const value = median(check.map((sample) => sample.wallMs));
  return [
    {
      bench: 'independence',
      figure: 'findIndependenceViolations, 5,000 projects, 500 tasks',
      value,
      cpuMs: median(check.map((sample) => sample.cpuMs)),
      unit: 'ms',
      baseline: { label: 'one walk over the whole graph', value: median(walk.map((sample) => sample.wallMs)) },
      target: { text: '≤ 200 ms', met: value <= 200 },
      note: `${edges} dependencies; a task reaches ${reach} projects; ${violations} violations; median of ${REPETITIONS}, in-process`,
    },
  ];
}

// Attribution: attributeFailures from the built plugin, over the project graph of the large
// workspace's shape (2,000 projects in libs/, each depending on a few below it, tsconfig paths
// aside) and 125, 250 and 500 sessions that each landed 10 files in their own project and
// edited one wired file of an app; 20 failed tasks, each with 200 lines of output naming files.
// Baseline: one pass over every session's files, grouping them by their project (the least
// any attribution reads). In-process.
import { pluginModule } from './plugin.mjs';
import { median, measure, seededRandom } from './stats.mjs';

const PROJECTS = 2000;
const APPS = 20;
const DEPENDENCIES = 3;
const FILES_PER_SESSION = 10;
const FAILED = 20;
const SESSIONS = [125, 250, 500];
const REPETITIONS = 7;
const name = (index) => `lib-${String(index).padStart(4, '0')}`;

function syntheticGraph(random) {
  const nodes = {};
  const dependencies = {};
  for (let index = 0; index < PROJECTS; index++) {
    nodes[name(index)] = { root: `libs/${name(index)}` };
    dependencies[name(index)] = Array.from({ length: index === 0 ? 0 : DEPENDENCIES }, () => ({
      target: name(Math.floor(random() * index)),
    }));
  }
  for (let index = 0; index < APPS; index++) {
    const app = `app-${index}`;
    nodes[app] = { root: `apps/${app}` };
    dependencies[app] = Array.from({ length: 40 }, () => ({ target: name(Math.floor(random() * PROJECTS)) }));
  }
  return { nodes, dependencies };
}

function sessionsOf(count, random) {
  return Array.from({ length: count }, (_, index) => {
    const project = name(PROJECTS - 1 - index);
    return {
      project,
      landed: Array.from({ length: FILES_PER_SESSION }, (_, file) => `libs/${project}/src/lib/file-${file}.ts`),
      wired: [{ path: `apps/app-${Math.floor(random() * APPS)}/src/app/pages.tsx`, project: `app-${index % APPS}` }],
    };
  });
}

function failures(random) {
  return Array.from({ length: FAILED }, (_, index) => ({
    project: `app-${index}`,
    target: 'test',
    output: Array.from(
      { length: 200 },
      (_, line) => `    at render (libs/${name(Math.floor(random() * PROJECTS))}/src/lib/file-${line % FILES_PER_SESSION}.ts:${line}:7)`,
    ).join('\n'),
  }));
}

function groupAll(graph, sessions) {
  const roots = new Map(Object.entries(graph.nodes).map(([project, node]) => [node.root, project]));
  let grouped = 0;
  for (const session of sessions) {
    for (const file of session.landed) if (roots.has(file.split('/').slice(0, 2).join('/'))) grouped++;
  }
  return grouped;
}

export async function benchAttribution({ workspace }) {
  const { attributeFailures } = pluginModule(workspace, 'core/verify/attribution');
  const random = seededRandom(11);
  const graph = syntheticGraph(random);
  const failed = failures(random);
  const figures = [];
  const perSession = [];
  for (const count of SESSIONS) {
    const sessions = sessionsOf(count, random);
    const runs = [];
    const baseline = [];
    let suspects = 0;
    for (let index = 0; index < REPETITIONS; index++) {
      const result = await measure(() => attributeFailures(failed, graph, sessions));
      suspects = result.value.reduce((sum, task) => sum + task.suspects.length, 0);
      runs.push(result);
      baseline.push(await measure(() => groupAll(graph, sessions)));
    }
    const value = median(runs.map((sample) => sample.wallMs));
    perSession.push(value / count);
    if (count !== SESSIONS[SESSIONS.length - 1]) continue;
    const [first, last] = [perSession[0], perSession[perSession.length - 1]];
    figures.push({
      bench: 'attribution',
      figure: `attributeFailures, ${PROJECTS + APPS} projects, ${count} sessions, ${FAILED} failed tasks`,
      value,
      cpuMs: median(runs.map((sample) => sample.cpuMs)),
      unit: 'ms',
      baseline: { label: "one pass grouping every session's files by project", value: median(baseline.map((sample) => sample.wallMs)) },
      target: { text: '< 1 s, linear in the sessions', met: value < 1000 && last <= first * 2 },
      note:
        `${suspects} suspects over ${FAILED} failed tasks; time per session ${SESSIONS.map((sessions, index) => `${perSession[index].toFixed(3)} ms at ${sessions}`).join(', ')} ` +
        `(linear: the time per session stays flat); median of ${REPETITIONS}, in-process`,
    });
  }
  return figures;
}

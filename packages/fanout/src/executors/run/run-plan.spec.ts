import type { ExecutorContext, TaskGraph } from '@nx/devkit';
import { commandTask, createWorkspace, write, type TestWorkspace } from '../../testing/git-workspace';
import { DEFAULT_LEAD_WAIT_MS, DEFAULT_PORT_BASE, DEFAULT_PORT_RANGE } from '../../constants';
import { RunPlan } from './run-plan';

function context(root: string, tasks: string[], plugin?: Record<string, unknown>): ExecutorContext {
  const roots: Record<string, string> = { contracts: 'libs/contracts', users: 'libs/users', shared: 'libs/shared' };
  for (const task of tasks) roots[task] = `libs/${task}`;
  const id = (name: string) => `${name}:fanout-session`;
  const taskGraph: TaskGraph = {
    roots: tasks.map(id),
    tasks: Object.fromEntries(
      tasks.map((name) => [
        id(name),
        { id: id(name), target: { project: name, target: 'fanout-session' }, overrides: {}, outputs: [], cache: true, parallelism: true },
      ]),
    ),
    dependencies: Object.fromEntries(tasks.map((name) => [id(name), []])),
    continuousDependencies: Object.fromEntries(tasks.map((name) => [id(name), []])),
  };
  return {
    root,
    cwd: root,
    isVerbose: false,
    projectGraph: {
      nodes: Object.fromEntries(
        Object.entries(roots).map(([name, projectRoot]) => [name, { name, type: 'lib', data: { root: projectRoot } }]),
      ),
      dependencies: Object.fromEntries(Object.keys(roots).map((name) => [name, []])),
    },
    taskGraph,
    nxJsonConfiguration: plugin ? { plugins: [{ plugin: 'fanout', options: plugin }] } : {},
    projectsConfigurations: { version: 2, projects: {} },
  };
}

describe('RunPlan: what every task of a run shares', () => {
  let ws: TestWorkspace;

  beforeAll(() => {
    ws = createWorkspace(['orders', 'products']);
    write(
      ws.root,
      'tsconfig.base.json',
      JSON.stringify({ compilerOptions: { paths: { '@ws/contracts': ['libs/contracts/src/index.ts'] } } }),
    );
    write(ws.root, 'libs/orders/fanout.md', commandTask('node agent.js'));
    // Broken: its own session says so; for the verdict it counts with the default scope.
    write(ws.root, 'libs/products/fanout.md', 'no front matter');
  });

  afterAll(() => ws.remove());

  it("settles the plugin options' defaults, and session n's ports follow from them", () => {
    const plan = new RunPlan(context(ws.root, ['orders', 'products']), 'fanout-session');
    expect(plan.settings).toEqual({
      portBase: DEFAULT_PORT_BASE,
      portRange: DEFAULT_PORT_RANGE,
      staggerMs: 0,
      leadWaitMs: DEFAULT_LEAD_WAIT_MS,
      copyFiles: [],
      sparseCheckout: true,
      checks: { checks: undefined, strictNaming: undefined },
    });
    expect(plan.tasks.map((task) => task.project)).toEqual(['orders', 'products']);
    expect(plan.portsAt(1)).toEqual({
      first: DEFAULT_PORT_BASE + DEFAULT_PORT_RANGE,
      last: DEFAULT_PORT_BASE + 2 * DEFAULT_PORT_RANGE - 1,
    });

    const set = new RunPlan(
      context(ws.root, ['orders'], { portBase: 30_000, portRange: 10, stagger: '2s', leadWait: '0s' }),
      'fanout-session',
    );
    expect(set.settings).toMatchObject({ portBase: 30_000, portRange: 10, staggerMs: 2000, leadWaitMs: 0 });
    expect(set.portsAt(2)).toEqual({ first: 30_020, last: 30_029 });
  });

  it('throws what is wrong with the plugin options', () => {
    expect(() => new RunPlan(context(ws.root, ['orders'], { stagger: 'soon' }))).toThrow(
      'nx.json (fanout plugin options): "stagger" must be 0 or a duration such as "2s" or "500ms" (got "soon").',
    );
  });

  it("works the verdict out once, over every task's scope (a broken fanout.md with the default scope)", () => {
    const plan = new RunPlan(context(ws.root, ['orders', 'products']), 'fanout-session');
    const verdict = plan.independence();
    expect(verdict).toEqual([]);
    expect(plan.independence()).toBe(verdict);
  });

  it('reads the contracts import path and each base context once, and the same for every session', () => {
    const plan = new RunPlan(context(ws.root, ['orders', 'products']), 'fanout-session');
    expect(plan.importPathOf('contracts', 'libs/contracts')).toBe('@ws/contracts');
    const sources = {
      contracts: { project: 'contracts', root: 'libs/contracts', importPath: '@ws/contracts' },
      reference: { project: 'users', root: 'libs/users' },
    };
    const base = plan.baseFor(sources);
    expect(base.base).toContain('## Contracts: contracts (libs/contracts)');
    expect(plan.baseFor({ ...sources })).toBe(base);
  });
});

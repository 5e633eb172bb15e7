import type { ExecutorContext, TaskGraph } from '@nx/devkit';
import { join } from 'path';
import { rmSync } from 'fs';
import { commandTask, createWorkspace, write, type TestWorkspace } from '../../testing/git-workspace';
import { DEFAULT_LEAD_WAIT_MS, DEFAULT_PORT_BASE, DEFAULT_PORT_RANGE } from '../../constants';
import { readAssignment, RunPlan } from './run-plan';

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
      prices: expect.objectContaining({ overridden: new Set() }),
      maxConcurrent: {},
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

  describe('the estimate', () => {
    const claudeTask = (text: string) => `---\nlike: users\ncontracts: contracts\nagent: claude\n---\n\n${text}\n`;
    const earlier = (project: string, record: Record<string, unknown>) =>
      write(ws.root, `.fanout/sessions/${project}/result.json`, JSON.stringify({ project, agent: 'claude', rounds: [{}], ...record }));

    beforeAll(() => {
      write(ws.root, 'libs/invoices/fanout.md', claudeTask('Build the invoices API.'));
      write(ws.root, 'libs/carts/fanout.md', claudeTask(`Build the carts API.\n\n${'Every cart holds its line items. '.repeat(200)}`));
    });

    it("counts the sessions a batch runs (not those Nx replays), each assignment's tokens, and prices each by its model", () => {
      const plan = new RunPlan(
        context(ws.root, ['invoices', 'carts', 'orders'], { leadWait: 0, agents: { claude: { model: 'claude-opus-4' } } }),
        'fanout-session',
      );
      plan.runsInBatch(
        new Map([
          ['invoices', { agent: 'claude' }],
          ['carts', { agent: 'claude', model: 'claude-haiku-4-5' }],
        ]),
      );
      const { estimate, cached } = plan.estimate({
        project: 'invoices',
        options: { agent: 'claude' },
        assignment: readAssignment(ws.root, 'libs/invoices'),
      });
      expect(cached).toBe(1);
      expect(Object.fromEntries(estimate.perSession.map((session) => [session.project, session.priced]))).toEqual({
        invoices: 'claude-opus-4',
        carts: 'claude-haiku-4-5',
      });
      const invoices = estimate.perSession.find((session) => session.project === 'invoices');
      const carts = estimate.perSession.find((session) => session.project === 'carts');
      if (!invoices || !carts) throw new Error('both sessions are estimated');
      expect(carts.promptTokens - invoices.promptTokens).toBeGreaterThan(1000);
      expect(estimate.baseTokens).toBeGreaterThan(0);
      expect(estimate.basis).toContain('prompt cache: no shared cache prefix, each session writes the base context');
      // Worked out once per run.
      expect(plan.estimate({ project: 'carts', options: {}, assignment: readAssignment(ws.root, 'libs/carts') }).estimate).toBe(estimate);
    });

    it("takes the work from this workspace's earlier sessions of the same agent and model, from their result.json", () => {
      const session = {
        project: 'invoices',
        options: { agent: 'claude', model: 'claude-sonnet-4' },
        assignment: readAssignment(ws.root, 'libs/invoices'),
      };
      const withoutHistory = new RunPlan(context(ws.root, ['invoices']), 'fanout-session').estimate(session).estimate;
      expect(withoutHistory.perSession[0].work).toEqual({ from: 'default' });
      earlier('old-a', { model: 'claude-sonnet-4', costUsd: 3, tokens: { input: 200_000, output: 40_000 } });
      earlier('old-b', { model: 'claude-sonnet-4', costUsd: 5, tokens: { input: 300_000, output: 60_000 } });
      earlier('@ws/old-c', { model: 'claude-sonnet-4', costUsd: 4, tokens: { input: 250_000, output: 50_000 } });
      try {
        const { estimate } = new RunPlan(context(ws.root, ['invoices']), 'fanout-session').estimate(session);
        expect(estimate.perSession[0].work).toEqual({ from: 'history', sessions: 3 });
        // The dearest earlier session bounds the high end, the cheapest the low end.
        expect(estimate.high).toBeGreaterThan(4.5);
        expect(estimate.low).toBeLessThan(3.1);
        expect(estimate.low).toBeGreaterThan(2);
      } finally {
        rmSync(join(ws.root, '.fanout'), { recursive: true, force: true });
      }
    });
  });
});

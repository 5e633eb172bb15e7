import { logger, type ExecutorContext, type ProjectGraph, type TaskGraph } from '@nx/devkit';
import { existsSync, readFileSync, rmSync } from 'fs';
import { join } from 'path';
import { agentScript, createWorkspace, gitIn, write, type TestWorkspace } from '../../testing/git-workspace';
import { bytes } from '../../testing/workspace-bytes';
import { BudgetLedger, ledgerFile } from '../../core/budget/ledger';
import { runKey } from '../../core/session/cache-prefix-lead';
import runExecutor from './run';
import type { RunExecutorSchema } from './schema';

/**
 * Bad input to `fanout:run`: each is refused with a message that names the
 * problem and where it is, and nothing is created: no worktree, no branch, no
 * session folder, no file anywhere in the workspace. The executor is called as
 * Nx calls it, with a project graph and a task graph, on a real git repository.
 */

/** Every file outside .git and node_modules (.fanout included: it must not appear). */
const snapshot = (root: string) => bytes(root, ['.git', 'node_modules']);

const ROOTS: Record<string, string> = {
  contracts: 'libs/contracts',
  users: 'libs/users',
  orders: 'libs/orders',
  products: 'libs/products',
  shared: 'libs/shared',
};

interface Run {
  /** The project whose task runs. */
  project?: string;
  /** The fanout tasks of the run. */
  tasks?: string[];
  /** Project graph edges: project → its dependencies. */
  projectDeps?: Record<string, string[]>;
  /** Task graph edges between fanout tasks: project → the projects whose task it waits for. */
  taskDeps?: Record<string, string[]>;
  roots?: Record<string, string>;
}

function context(root: string, run: Run = {}): ExecutorContext {
  const roots = run.roots ?? ROOTS;
  const project = run.project ?? 'orders';
  const tasks = run.tasks ?? [project];
  const projectGraph: ProjectGraph = {
    nodes: Object.fromEntries(
      Object.entries(roots).map(([name, projectRoot]) => [name, { name, type: 'lib', data: { root: projectRoot } }]),
    ),
    dependencies: Object.fromEntries(
      Object.keys(roots).map((name) => [name, (run.projectDeps?.[name] ?? []).map((target) => ({ source: name, target, type: 'static' }))]),
    ),
  };
  const id = (name: string) => `${name}:fanout`;
  const taskGraph: TaskGraph = {
    roots: tasks.filter((name) => !run.taskDeps?.[name]?.length).map(id),
    tasks: Object.fromEntries(
      tasks.map((name) => [
        id(name),
        { id: id(name), target: { project: name, target: 'fanout' }, overrides: {}, outputs: [], cache: true, parallelism: true },
      ]),
    ),
    dependencies: Object.fromEntries(tasks.map((name) => [id(name), (run.taskDeps?.[name] ?? []).map(id)])),
    continuousDependencies: Object.fromEntries(tasks.map((name) => [id(name), []])),
  };
  return {
    root,
    cwd: root,
    isVerbose: false,
    projectName: project,
    targetName: 'fanout',
    projectGraph,
    taskGraph,
    nxJsonConfiguration: {},
    projectsConfigurations: { version: 2, projects: {} },
  };
}

const fanoutMd = (frontMatter: string, text = 'Build the orders API.') => `---\n${frontMatter}\n---\n\n${text}\n`;
const GOOD = 'like: users\ncontracts: contracts\nagent: command\ncommand: node agent.js {promptFile}';

describe('fanout:run refuses bad input, creating nothing', () => {
  let ws: TestWorkspace;
  let errors: string[];

  beforeAll(() => {
    ws = createWorkspace(['orders', 'products', 'shared']);
    write(
      ws.root,
      'tsconfig.base.json',
      JSON.stringify({ compilerOptions: { paths: { '@ws/contracts': ['libs/contracts/src/index.ts'] } } }),
    );
    gitIn(ws.root, 'add', '-A');
    gitIn(ws.root, 'commit', '-q', '-m', 'tsconfig');
  });

  afterAll(() => ws.remove());

  beforeEach(() => {
    errors = [];
    jest.spyOn(logger, 'error').mockImplementation((message: unknown) => void errors.push(String(message)));
    jest.spyOn(logger, 'info').mockImplementation(() => undefined);
    jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
  });

  afterEach(() => {
    jest.restoreAllMocks();
    for (const project of ['orders', 'products']) rmSync(join(ws.root, ROOTS[project], 'fanout.md'), { force: true });
    // So that one failure does not become the next test's: no worktree or branch outlives a test.
    rmSync(join(ws.root, '.fanout'), { recursive: true, force: true });
    gitIn(ws.root, 'worktree', 'prune');
    for (const branch of gitIn(ws.root, 'branch', '--list', 'fanout/*', '--format=%(refname:short)').split('\n').filter(Boolean)) {
      gitIn(ws.root, 'branch', '-D', branch);
    }
  });

  async function expectRefused(run: Run, options: RunExecutorSchema, ...problems: string[]): Promise<void> {
    const before = snapshot(ws.root);
    const project = run.project ?? 'orders';
    await expect(runExecutor(options, context(ws.root, run))).resolves.toEqual({ success: false });
    expect(errors).toHaveLength(1);
    expect(errors[0].startsWith(`✖ ${project}: `)).toBe(true);
    for (const problem of problems) expect(errors[0]).toContain(problem);
    // Nothing was created: no session folder, worktree or branch, and every file is as it was.
    expect(existsSync(join(ws.root, '.fanout'))).toBe(false);
    expect(gitIn(ws.root, 'worktree', 'list', '--porcelain').match(/^worktree /gm)).toHaveLength(1);
    expect(gitIn(ws.root, 'branch', '--list', 'fanout/*').trim()).toBe('');
    expect(snapshot(ws.root)).toEqual(before);
  }

  it.each<[string, string, string[]]>([
    [
      'front matter that breaks the schema: an unknown key and a wrong type, each at its line',
      fanoutMd('like: users\ncontracts: contracts\nmodel: opus\ntimeout: [30]'),
      [
        'libs/orders/fanout.md: 2 problems in the front matter:',
        'libs/orders/fanout.md:4: unknown front matter key(s): model.',
        'libs/orders/fanout.md:5: "timeout" must be a positive number of seconds',
      ],
    ],
    [
      'an unknown agent',
      fanoutMd('like: users\ncontracts: contracts\nagent: robot'),
      ['libs/orders/fanout.md: unknown agent "robot". Known agents: pattern, command'],
    ],
    [
      'a missing like project',
      fanoutMd('like: people\ncontracts: contracts'),
      ['libs/orders/fanout.md: like: "people" is not a project in this workspace'],
    ],
    [
      'a missing contracts project',
      fanoutMd('like: users\ncontracts: api-types'),
      ['libs/orders/fanout.md: contracts: "api-types" is not a project in this workspace'],
    ],
    ['a task that follows itself', fanoutMd('like: orders\ncontracts: contracts'), ['like: "orders" is this task itself']],
    [
      'a scope that leaves the project',
      fanoutMd('like: users\ncontracts: contracts\nscope: [src, ../products/src]'),
      ['libs/orders/fanout.md:4: "scope" entry "../products/src" leaves the project'],
    ],
    ['an absolute scope', fanoutMd('like: users\ncontracts: contracts\nscope: /etc'), ['"scope" entry "/etc" is absolute']],
    [
      'a command template with no program',
      fanoutMd('like: users\ncontracts: contracts\nagent: command\ncommand: "\'\' {promptFile}"'),
      ['libs/orders/fanout.md:5: "command" names no program'],
    ],
    [
      'the command agent without a command',
      fanoutMd('like: users\ncontracts: contracts\nagent: command'),
      ['libs/orders/fanout.md: agent "command" needs a command template'],
    ],
    [
      'an entity that is a path',
      fanoutMd('like: users\ncontracts: contracts\nentity: ../../etc'),
      ['"entity" "../../etc" is not a plain name'],
    ],
    [
      'an empty assignment',
      fanoutMd('like: users\ncontracts: contracts', '  \n'),
      ['libs/orders/fanout.md: the assignment text (below the front matter) is empty'],
    ],
    ['no front matter at all', 'Build the orders API.\n', ['libs/orders/fanout.md: has no YAML front matter']],
    [
      'a gate that is not a list of targets',
      fanoutMd('like: users\ncontracts: contracts\ngate: { typecheck: true }'),
      ['libs/orders/fanout.md:4: "gate" must be a list of target names'],
    ],
    [
      'repairs that are no count',
      fanoutMd('like: users\ncontracts: contracts\nrepairs: -1'),
      ['"repairs" must be a whole number from 0 to 10'],
    ],
  ])('%s', async (_, text, problems) => {
    write(ws.root, 'libs/orders/fanout.md', text);
    await expectRefused({}, {}, ...problems);
  });

  it('a missing fanout.md', async () => {
    await expectRefused({}, {}, 'libs/orders/fanout.md does not exist.');
  });

  it.each<[string, RunExecutorSchema, string]>([
    ['an unknown --agent', { agent: 'gpt' }, 'libs/orders/fanout.md with --agent/--command: unknown agent "gpt"'],
    ['a --command with no program', { agent: 'command', command: '""' }, 'The command template names no program'],
    ['a --command with an open quote', { command: "node 'agent.js" }, "unterminated ' quote"],
    ['a --timeout that is no duration', { timeout: 'soon' }, '--timeout is seconds, or a duration such as 90s, 30m or 1h (got "soon")'],
    ['a gate that runs the session itself', { gate: ['typecheck', 'fanout'] }, 'gate: "fanout" is the session\'s own target'],
    ['a --gate naming what is no target', { gate: 'typecheck,$(rm -rf)' }, 'gate holds what is not a target name: "$(rm -rf)"'],
    ['--repairs beyond the limit', { repairs: 99 }, '--repairs is a whole number from 0 to 10 (got 99)'],
    [
      'an option the target does not have',
      { maxCost: 0.03 } as RunExecutorSchema,
      '--maxCost is not an option of fanout (nor of fanout-verify, which may run with it). Its options: --agent',
    ],
    ['a --budget that is no amount', { budget: 'lots' }, '--budget is USD (--budget=5 or "$5"), tokens ("2M tokens")'],
    [
      'a --budget of nothing',
      { budget: 0 },
      '--budget is USD (--budget=5 or "$5"), tokens ("2M tokens"), both ("5usd,2M tokens"), or { "usd": 5, "tokens": 2000000 } in nx.json, above 0 (got 0).',
    ],
    ['a flag that is no flag', { fresh: 'yes' } as unknown as RunExecutorSchema, '--fresh is true or false (got "yes")'],
  ])('%s', async (_, options, problem) => {
    write(ws.root, 'libs/orders/fanout.md', fanoutMd(GOOD));
    await expectRefused({}, options, problem);
  });

  it.each([
    ['stagger', { stagger: 'later' }],
    ['leadWait', { leadWait: 'a while' }],
  ])('a plugin option %s that is no duration', async (name, options) => {
    write(ws.root, 'libs/orders/fanout.md', fanoutMd(GOOD));
    const before = snapshot(ws.root);
    const inContext = { ...context(ws.root, {}), nxJsonConfiguration: { plugins: [{ plugin: 'fanout', options }] } };
    await expect(runExecutor({}, inContext)).resolves.toEqual({ success: false });
    expect(errors).toEqual([
      `✖ orders: nx.json (fanout plugin options): "${name}" must be 0 or a duration such as "2s" or "500ms" (got ${JSON.stringify(Object.values(options)[0])}).`,
    ]);
    expect(existsSync(join(ws.root, '.fanout'))).toBe(false);
    expect(snapshot(ws.root)).toEqual(before);
  });

  it.each<[string, Record<string, unknown>, string]>([
    [
      'an unknown check',
      { checks: { 'naming-parity': 'warning', 'contract-shape': 'error' } },
      '"checks" names an unknown check "contract-shape". Known: contract-conformance',
    ],
    ['a misspelt severity', { checks: { 'naming-parity': 'erorr' } }, '"checks.naming-parity" is error, warning or off (got "erorr")'],
    ['a port given as text', { portBase: '4000' }, '"portBase" is a whole number from 1024 to 65535, without quotes (got "4000")'],
    ['a budget that is no amount', { budget: 'five dollars' }, '"budget" is USD (--budget=5 or "$5")'],
    [
      'a price given as text',
      { prices: { 'my-model': { input: '3', output: 15 } } },
      '"prices.my-model.input" is USD per million tokens, a number',
    ],
    ['a price row without its output price', { prices: { 'my-model': { input: 3 } } }, '"prices.my-model.output" is missing'],
    [
      'maxConcurrent for an agent that does not exist',
      { maxConcurrent: { claud: 2 } },
      '"maxConcurrent" names an unknown agent "claud". Known: pattern',
    ],
    [
      'maxConcurrent of none',
      { maxConcurrent: { claude: 0 } },
      '"maxConcurrent.claude" is a whole number of 1 or more, without quotes (got 0)',
    ],
  ])('a plugin option refused before any agent runs: %s', async (_, options, problem) => {
    write(ws.root, 'libs/orders/fanout.md', fanoutMd(GOOD));
    const before = snapshot(ws.root);
    const inContext = { ...context(ws.root, {}), nxJsonConfiguration: { plugins: [{ plugin: 'fanout', options }] } };
    await expect(runExecutor({}, inContext)).resolves.toEqual({ success: false });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toContain(`✖ orders: nx.json (fanout plugin options): ${problem}`);
    expect(existsSync(join(ws.root, '.fanout'))).toBe(false);
    expect(snapshot(ws.root)).toEqual(before);
  });

  it('--fresh discards nothing when the run is refused: a broken fanout.md leaves the kept worktree as it was', async () => {
    write(ws.root, 'libs/orders/fanout.md', fanoutMd('like: users\ncontracts: contracts\nagent: robot'));
    write(ws.root, '.fanout/worktrees/orders/kept.ts', 'export const kept = 1;\n');
    write(ws.root, '.fanout/sessions/orders/session.log', 'the failed session\n');
    await expect(runExecutor({ fresh: true }, context(ws.root))).resolves.toEqual({ success: false });
    expect(errors[0]).toContain('unknown agent "robot"');
    expect(readFileSync(join(ws.root, '.fanout/worktrees/orders/kept.ts'), 'utf-8')).toBe('export const kept = 1;\n');
    expect(existsSync(join(ws.root, '.fanout/sessions/orders/session.log'))).toBe(true);
  });

  it('a like that is itself a task of the same run', async () => {
    write(ws.root, 'libs/orders/fanout.md', fanoutMd('like: products\ncontracts: contracts'));
    write(ws.root, 'libs/products/fanout.md', fanoutMd(GOOD));
    await expectRefused(
      { tasks: ['orders', 'products'] },
      {},
      'like: "products" is itself a task of this run; a task must follow a finished reference',
      'nx run-many -t fanout --exclude=products',
    );
  });

  it('contracts that are themselves a task of the same run', async () => {
    write(ws.root, 'libs/orders/fanout.md', fanoutMd('like: users\ncontracts: products'));
    write(ws.root, 'libs/products/fanout.md', fanoutMd(GOOD));
    await expectRefused({ tasks: ['orders', 'products'] }, {}, 'contracts: "products" is itself a task of this run');
  });

  it('a dependency cycle among the tasks, even once Nx has broken it (--nxIgnoreCycles)', async () => {
    write(ws.root, 'libs/orders/fanout.md', fanoutMd(GOOD));
    write(ws.root, 'libs/products/fanout.md', fanoutMd(GOOD));
    await expectRefused(
      {
        tasks: ['orders', 'products'],
        projectDeps: { orders: ['shared', 'contracts'], shared: ['products'], products: ['orders', 'contracts'] },
        // What Nx's makeAcyclic leaves of the cycle: one task waits for the other.
        taskDeps: { orders: ['products'] },
      },
      {},
      'the tasks of this run are not independent',
      '"orders" and "products" depend on each other (orders → shared → products → orders)',
    );
  });

  it('a project name that cannot name a session', async () => {
    write(ws.root, 'libs/orders/fanout.md', fanoutMd(GOOD));
    await expectRefused(
      { project: '../../escape', roots: { ...ROOTS, '../../escape': 'libs/orders' } },
      {},
      'The project name "../../escape" cannot name a fanout session',
    );
  });

  it('refuses a run whose estimate is over the budget before any worktree exists: the estimate printed first, then the budget and how to raise it', async () => {
    const said: string[] = [];
    jest.spyOn(logger, 'info').mockImplementation((message: unknown) => void said.push(String(message)));
    const claude = 'like: users\ncontracts: contracts\nagent: claude';
    write(ws.root, 'libs/orders/fanout.md', fanoutMd(claude));
    write(ws.root, 'libs/products/fanout.md', fanoutMd(claude, 'Build the products API.'));
    const run = { tasks: ['orders', 'products'] };
    const inContext = {
      ...context(ws.root, run),
      nxJsonConfiguration: { plugins: [{ plugin: 'fanout', options: { agents: { claude: { model: 'claude-opus-4' } } } }] },
    };
    await expect(runExecutor({ agent: 'claude', budget: 0.01 }, inContext)).resolves.toEqual({ success: false });
    expect(said[0]).toMatch(/^\[fanout\] estimate: 2 session\(s\) to run, base context about [\d,k]+ tokens: \$\d/);
    expect(said[0]).toContain('orders    claude, claude-opus-4: $');
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(
      /^✖ orders: the run does not start: its estimate is \$[\d.]+ to \$[\d.]+, and even the low end is over the budget of \$0\.0100/,
    );
    expect(errors[0]).toContain('Raise the budget (--budget=');
    // Nothing of a session was made: no worktree, no branch, no session folder.
    expect(existsSync(join(ws.root, '.fanout/worktrees'))).toBe(false);
    expect(existsSync(join(ws.root, '.fanout/sessions'))).toBe(false);
    expect(gitIn(ws.root, 'worktree', 'list').trim().split('\n')).toHaveLength(1);
    expect(gitIn(ws.root, 'branch', '--list', 'fanout/*').trim()).toBe('');
    // The run's other task (its own process with --batch=false) refuses too, and does not print the estimate again.
    said.length = 0;
    await expect(runExecutor({ agent: 'claude', budget: 0.01 }, { ...inContext, projectName: 'products' })).resolves.toEqual({
      success: false,
    });
    expect(said).toEqual([]);
    expect(errors[1]).toContain('✖ products: the run does not start');
  });

  it('refuses a session once the run has spent its budget: "budget reached", and nothing of it is made', async () => {
    const script = agentScript(ws, 'unused', `fs.writeFileSync('libs/orders/src/orders.ts', 'export const orders = 1;\\n');`);
    write(ws.root, 'libs/orders/fanout.md', fanoutMd(`like: users\ncontracts: contracts\nagent: command\ncommand: node ${script}`));
    // Another session of this run has spent it all.
    await new BudgetLedger(ledgerFile(ws.root, runKey()), { usd: 0.05 }).add('products', { usd: 0.06 });
    await expect(runExecutor({ budget: 0.05 }, context(ws.root))).resolves.toEqual({ success: false });
    expect(errors).toEqual([
      '✖ orders: budget reached: $0.0600 of $0.0500 spent. No further session of this run starts; raise the budget (--budget, or the budget plugin option) and run the task again.',
    ]);
    expect(existsSync(join(ws.root, '.fanout/worktrees'))).toBe(false);
    expect(existsSync(join(ws.root, '.fanout/sessions'))).toBe(false);
    expect(existsSync(join(ws.root, 'libs/orders/src/orders.ts'))).toBe(false);
    const ledger = JSON.parse(readFileSync(ledgerFile(ws.root, runKey()), 'utf-8'));
    expect(ledger.projects.orders).toMatchObject({ notStarted: true, usd: 0 });
  });

  it('while the same run with good input does create its session (the checks above can fail)', async () => {
    const script = agentScript(ws, 'writer', `fs.writeFileSync('libs/orders/src/orders.ts', 'export const orders = 1;\\n');`);
    write(ws.root, 'libs/orders/fanout.md', fanoutMd(`like: users\ncontracts: contracts\nagent: command\ncommand: node ${script}`));
    await expect(runExecutor({}, context(ws.root))).resolves.toEqual({ success: true });
    expect(errors).toEqual([]);
    // The session recorded its work; landing it is the fanout target's.
    expect(readFileSync(join(ws.root, '.fanout/sessions/orders/files/libs/orders/src/orders.ts'), 'utf-8')).toBe(
      'export const orders = 1;\n',
    );
    expect(existsSync(join(ws.root, 'libs/orders/src/orders.ts'))).toBe(false);
    expect(existsSync(join(ws.root, '.fanout/sessions/orders/result.json'))).toBe(true);
  });
});

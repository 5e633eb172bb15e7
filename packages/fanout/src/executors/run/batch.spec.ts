import type { ExecutorContext, ProjectGraph, TaskGraph } from '@nx/devkit';
import { existsSync, readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import { agentScript, commandTask, createWorkspace, gitIn, spawnTypeScript, write, type TestWorkspace } from '../../testing/git-workspace';
import { BufferedTaskOutput, writeOutput, withTaskOutput } from '../../core/system/task-output';
import { processCommandLine, systemReaders, type ProcessReaders } from '../../core/system/process-info';
import runBatch, { batchParallelism, nxParallelism, runTasksInBatch, type BatchTaskResult, type ParallelSource } from './batch';

/** A run's task graph: each project's session (fanout-session), and its landing (fanout) after it. */
function runGraphOf(projects: string[]): TaskGraph {
  const sessions = graphOf(projects, {}, 'fanout-session');
  const landings = graphOf(projects, {}, 'fanout');
  return {
    roots: sessions.roots,
    tasks: { ...sessions.tasks, ...landings.tasks },
    dependencies: {
      ...sessions.dependencies,
      ...Object.fromEntries(projects.map((name) => [`${name}:fanout`, [`${name}:fanout-session`]])),
    },
    continuousDependencies: { ...sessions.continuousDependencies, ...landings.continuousDependencies },
  };
}

/** A task graph of fanout tasks of one target: project → the projects whose task it waits for. */
function graphOf(projects: string[], waitsFor: Record<string, string[]> = {}, target = 'fanout'): TaskGraph {
  const id = (name: string) => `${name}:${target}`;
  return {
    roots: projects.filter((name) => !waitsFor[name]?.length).map(id),
    tasks: Object.fromEntries(
      projects.map((name) => [
        id(name),
        { id: id(name), target: { project: name, target }, overrides: {}, outputs: [], cache: target !== 'fanout', parallelism: true },
      ]),
    ),
    dependencies: Object.fromEntries(projects.map((name) => [id(name), (waitsFor[name] ?? []).map(id)])),
    continuousDependencies: Object.fromEntries(projects.map((name) => [id(name), []])),
  };
}

async function collect(results: AsyncGenerator<BatchTaskResult>): Promise<BatchTaskResult[]> {
  const all: BatchTaskResult[] = [];
  for await (const result of results) all.push(result);
  return all;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('batchParallelism: as many sessions at once as Nx runs tasks', () => {
  it.each<[string, string[] | undefined, NodeJS.ProcessEnv, unknown, number, ParallelSource]>([
    ['--parallel=4', ['node', 'nx', 'run-many', '-t', 'fanout', '--parallel=4'], {}, undefined, 4, 'the Nx command line'],
    ['--parallel 6', ['node', 'nx', 'run-many', '--parallel', '6', '-t', 'fanout'], {}, 2, 6, 'the Nx command line'],
    ['--parallel=false', ['node', 'nx', 'run-many', '--parallel=false'], {}, 5, 1, 'the Nx command line'],
    [
      '--parallel alone: --maxParallel',
      ['node', 'nx', 'run-many', '--parallel', '--maxParallel=7'],
      {},
      undefined,
      7,
      'the Nx command line',
    ],
    ['--parallel alone: 3', ['node', 'nx', 'run-many', '--parallel'], {}, 8, 3, 'the Nx command line'],
    ['NX_PARALLEL', ['node', 'nx', 'run-many'], { NX_PARALLEL: '5' }, 2, 5, 'NX_PARALLEL'],
    ['nx.json parallel', ['node', 'nx', 'run-many'], {}, 2, 2, "nx.json's parallel"],
    ['no command line: nx.json', undefined, {}, 6, 6, "nx.json's parallel"],
    ['nothing said: 3', undefined, {}, undefined, 3, "Nx's default"],
    ['a nonsense count: 3', ['nx', '--parallel=lots'], {}, undefined, 3, 'the Nx command line'],
  ])('%s', (_name, argv, env, nxJson, count, source) => {
    expect(batchParallelism(argv, env, nxJson)).toEqual({ count, source });
  });

  it('a percentage of the cores is at least 1', () => {
    expect(batchParallelism(['nx', '--parallel=1%'], {}, undefined).count).toBe(1);
  });
});

describe("nxParallelism: Nx's command line read from its process, on Linux and elsewhere", () => {
  /** A system as fanout sees it: /proc files by path (none: no /proc, as on macOS), ps answers by pid and field. */
  function system(proc: Record<string, string>, ps: Record<string, string> = {}): ProcessReaders {
    return {
      readProc: (path) => {
        if (proc[path] === undefined)
          throw Object.assign(new Error(`ENOENT: no such file or directory, open '${path}'`), { code: 'ENOENT' });
        return proc[path];
      },
      ps: (pid, field) => ps[`${pid} ${field}`],
    };
  }

  it('reads --parallel from /proc/<ppid>/cmdline and says nothing', () => {
    const warnings: string[] = [];
    const readers = system({ '/proc/77/cmdline': 'node\0/ws/node_modules/.bin/nx\0run-many\0-t\0fanout\0--parallel=8\0' });
    expect(nxParallelism(undefined, { ppid: 77, env: {}, readers, warn: (message) => warnings.push(message) })).toBe(8);
    expect(warnings).toEqual([]);
  });

  it('without /proc (macOS), reads it with ps -o args=, and says the arguments were taken as split at spaces', () => {
    const warnings: string[] = [];
    const readers = system({}, { '77 args': 'node /ws/node_modules/.bin/nx run-many -t fanout --parallel=8' });
    expect(nxParallelism(2, { ppid: 77, env: {}, readers, warn: (message) => warnings.push(message) })).toBe(8);
    expect(warnings).toEqual([expect.stringContaining('`ps -o args=`, its arguments taken as separated by spaces')]);
  });

  it.each<[string, NodeJS.ProcessEnv, unknown, number, string]>([
    ['NX_PARALLEL', { NX_PARALLEL: '5' }, 2, 5, '--parallel taken from NX_PARALLEL (5)'],
    ["nx.json's parallel", {}, 4, 4, "--parallel taken from nx.json's parallel (4)"],
    ["Nx's default", {}, undefined, 3, "--parallel taken from Nx's default (3)"],
  ])('where neither /proc nor ps answers, takes %s and says so', (_name, env, nxJson, count, said) => {
    const warnings: string[] = [];
    expect(nxParallelism(nxJson, { ppid: 77, env, readers: system({}), warn: (message) => warnings.push(message) })).toBe(count);
    expect(warnings).toEqual([
      expect.stringMatching(/^could not read the Nx command line \(no \/proc\/77\/cmdline, and `ps -o args= -p 77` did not answer\)/),
    ]);
    expect(warnings[0]).toContain(said);
  });

  it('reads the real command line of a process, from /proc and with ps alike', () => {
    const fromProc = processCommandLine(process.pid, { warn: () => undefined }) ?? [];
    expect(fromProc.length).toBeGreaterThan(0);
    const warnings: string[] = [];
    const noProc: ProcessReaders = {
      ...systemReaders,
      readProc: () => {
        throw new Error('no /proc');
      },
    };
    const fromPs = processCommandLine(process.pid, { readers: noProc, warn: (message) => warnings.push(message) });
    // ps prints the arguments joined by spaces: they come back split at spaces.
    expect(fromPs).toEqual(fromProc.join(' ').split(/\s+/).filter(Boolean));
    expect(warnings).toHaveLength(1);
  });
});

describe('runTasksInBatch: the scheduling of one process for the run', () => {
  it('runs at most `parallel` tasks at once, and every task once', async () => {
    let running = 0;
    let most = 0;
    const ran: string[] = [];
    const results = await collect(
      runTasksInBatch(graphOf(['a', 'b', 'c', 'd', 'e']), 2, async (id) => {
        running++;
        most = Math.max(most, running);
        ran.push(id);
        await sleep(20);
        running--;
        return { success: true };
      }),
    );
    expect(most).toBe(2);
    expect(ran.sort()).toEqual(['a:fanout', 'b:fanout', 'c:fanout', 'd:fanout', 'e:fanout']);
    expect(results.map((result) => result.task).sort()).toEqual(ran);
    expect(results.every((result) => result.result.success && (result.result.startTime ?? Infinity) <= (result.result.endTime ?? 0))).toBe(
      true,
    );
  });

  it('starts a task that takes no slot (a landing) as soon as it is ready, beside `parallel` others', async () => {
    const graph = runGraphOf(['a', 'b', 'c']);
    const events: string[] = [];
    let counted = 0;
    let most = 0;
    await collect(
      runTasksInBatch(
        graph,
        1,
        async (id) => {
          const landing = id.endsWith(':fanout');
          if (!landing) most = Math.max(most, ++counted);
          events.push(`start ${id}`);
          await sleep(landing ? 30 : 20);
          events.push(`end ${id}`);
          if (!landing) counted--;
          return { success: true };
        },
        undefined,
        (id) => id.endsWith(':fanout'),
      ),
    );
    // One session at a time, as asked; each landing started right after its session, while the next session ran.
    expect(most).toBe(1);
    expect(events.indexOf('start a:fanout')).toBe(events.indexOf('end a:fanout-session') + 1);
    expect(events.indexOf('start a:fanout')).toBeLessThan(events.indexOf('end b:fanout-session'));
    expect(events.filter((event) => event.startsWith('end'))).toHaveLength(6);
  });

  it('starts a task only once the tasks it depends on in the batch have succeeded', async () => {
    const ended: string[] = [];
    const startedAfter = new Map<string, string[]>();
    await collect(
      runTasksInBatch(graphOf(['a', 'b', 'c'], { c: ['a', 'b'] }), 3, async (id) => {
        startedAfter.set(id, [...ended]);
        await sleep(id === 'a:fanout' ? 40 : 10);
        ended.push(id);
        return { success: true };
      }),
    );
    expect(startedAfter.get('c:fanout')?.sort()).toEqual(['a:fanout', 'b:fanout']);
  });

  it('skips the tasks behind a failed one, and runs the rest', async () => {
    const ran: string[] = [];
    const results = await collect(
      runTasksInBatch(graphOf(['a', 'b', 'c', 'd'], { b: ['a'], c: ['b'] }), 2, async (id) => {
        ran.push(id);
        return { success: id !== 'a:fanout' };
      }),
    );
    const byTask = Object.fromEntries(results.map((result) => [result.task, result.result]));
    expect(ran.sort()).toEqual(['a:fanout', 'd:fanout']);
    expect(byTask['a:fanout']).toMatchObject({ success: false });
    expect(byTask['a:fanout'].status).toBeUndefined();
    expect(byTask['b:fanout']).toEqual({ success: false, status: 'skipped', terminalOutput: '' });
    expect(byTask['c:fanout']).toEqual({ success: false, status: 'skipped', terminalOutput: '' });
    expect(byTask['d:fanout']).toMatchObject({ success: true });
  });

  it('skips a chain of 5,000 tasks behind a failed first one, each once', async () => {
    const names = Array.from({ length: 5000 }, (_, index) => `t${index}`);
    const graph = graphOf(names, Object.fromEntries(names.slice(1).map((name, index) => [name, [names[index], names[index]]])));
    let ran = 0;
    const results = await collect(
      runTasksInBatch(graph, 4, async () => {
        ran++;
        return { success: false };
      }),
    );
    expect(ran).toBe(1);
    expect(results).toHaveLength(5000);
    expect(new Set(results.map((result) => result.task)).size).toBe(5000);
    expect(results.filter((result) => result.result.status === 'skipped')).toHaveLength(4999);
  });

  it('a dependency outside the batch has completed already: it does not hold a task back', async () => {
    const graph = graphOf(['b'], {});
    graph.dependencies['b:fanout'] = ['a:fanout'];
    const results = await collect(runTasksInBatch(graph, 1, async () => ({ success: true })));
    expect(results).toHaveLength(1);
    expect(results[0].result.success).toBe(true);
  });

  it('a task that throws has failed, with its error as its output; the others go on', async () => {
    const streamed: string[] = [];
    const results = await collect(
      runTasksInBatch(
        graphOf(['a', 'b']),
        2,
        async (id) => {
          if (id === 'a:fanout') throw new Error('the agent CLI is missing');
          return { success: true };
        },
        (line) => void streamed.push(line),
      ),
    );
    expect(streamed).toEqual(['a │ ✖ a: the agent CLI is missing\n']);
    const a = results.find((result) => result.task === 'a:fanout');
    expect(a?.result.success).toBe(false);
    expect(a?.result.terminalOutput).toBe('✖ a: the agent CLI is missing\n');
    expect(results.find((result) => result.task === 'b:fanout')?.result.success).toBe(true);
  });

  it('keeps the pool full while Nx takes results slowly', async () => {
    let running = 0;
    let most = 0;
    const results: BatchTaskResult[] = [];
    for await (const result of runTasksInBatch(graphOf(['a', 'b', 'c', 'd', 'e', 'f']), 3, async () => {
      running++;
      most = Math.max(most, running);
      await sleep(5);
      running--;
      return { success: true };
    })) {
      results.push(result);
      await sleep(30);
    }
    expect(results).toHaveLength(6);
    expect(most).toBe(3);
  });

  it("gives each task its own output, its agent's output kept but not streamed", async () => {
    const live: string[] = [];
    const results = await collect(
      runTasksInBatch(graphOf(['a', 'b']), 2, (id, output) => {
        const sink = new BufferedTaskOutput(id.split(':')[0], (line) => live.push(line));
        const both = {
          write: (text: string | Buffer, stream: 'stdout' | 'stderr', isLive?: boolean) => {
            output.write(text, stream, false);
            sink.write(text, stream, isLive);
          },
        };
        return withTaskOutput(both, async () => {
          writeOutput(`[fanout] ${id} starts\n`);
          await sleep(5);
          writeOutput(Buffer.from(`agent of ${id}: é`), 'stdout', false);
          writeOutput(`\n✔ ${id}\n`);
          sink.finish();
          return { success: true };
        });
      }),
    );
    for (const id of ['a:fanout', 'b:fanout']) {
      const other = id === 'a:fanout' ? 'b:fanout' : 'a:fanout';
      const output = results.find((result) => result.task === id)?.result.terminalOutput;
      expect(output).toBe(`[fanout] ${id} starts\nagent of ${id}: é\n✔ ${id}\n`);
      expect(output).not.toContain(other);
    }
    // Streamed: fanout's lines, marked with the project; not the agent's.
    expect(live).toContain('a │ [fanout] a:fanout starts\n');
    expect(live).toContain('b │ ✔ b:fanout\n');
    expect(live.some((line) => line.includes('agent of'))).toBe(false);
  });
});

describe('runBatch: real sessions of one run in one process', () => {
  let ws: TestWorkspace;

  beforeAll(() => {
    ws = createWorkspace(['orders', 'products']);
    write(
      ws.root,
      'tsconfig.base.json',
      JSON.stringify({ compilerOptions: { paths: { '@ws/contracts': ['libs/contracts/src/index.ts'] } } }),
    );
    // Each agent marks its start, waits for the other's, then writes its module: the two run side by side.
    const agent = agentScript(
      ws,
      'side-by-side',
      `const project = process.argv[2];
const other = project === 'orders' ? 'products' : 'orders';
const marks = process.argv[3];
fs.writeFileSync(path.join(marks, project), '');
const deadline = Date.now() + 15000;
while (!fs.existsSync(path.join(marks, other))) {
  if (Date.now() > deadline) { console.error('the other session never started'); process.exit(3); }
  cp.execSync('sleep 0.05');
}
fs.writeFileSync(path.join('libs', project, 'src', project + '.ts'), "export const NAME = '" + project + "';\\n");
console.log('agent wrote ' + project + ', greeted ' + process.env.FANOUT_GREETING);`,
    );
    for (const project of ['orders', 'products']) {
      write(ws.root, `libs/${project}/fanout.md`, commandTask(`node ${agent} {project} ${ws.scripts}`));
    }
    gitIn(ws.root, 'add', '-A');
    gitIn(ws.root, 'commit', '-q', '-m', 'tasks');
  });

  afterAll(() => ws.remove());

  it("runs both sessions at once, each with its task's environment, records both, gives each task only its own output, lands each after its session, and writes the report once", async () => {
    const roots: Record<string, string> = {
      contracts: 'libs/contracts',
      users: 'libs/users',
      orders: 'libs/orders',
      products: 'libs/products',
    };
    const projectGraph: ProjectGraph = {
      nodes: Object.fromEntries(Object.entries(roots).map(([name, root]) => [name, { name, type: 'lib', data: { root } }])),
      dependencies: Object.fromEntries(Object.keys(roots).map((name) => [name, []])),
    };
    const taskGraph = runGraphOf(['orders', 'products']);
    const context: ExecutorContext = {
      root: ws.root,
      cwd: ws.root,
      isVerbose: false,
      projectGraph,
      taskGraph,
      // Its agents report through files outside their worktrees, which the sandbox would refuse.
      nxJsonConfiguration: { plugins: [{ plugin: 'fanout', options: { sandbox: 'off' } }] },
      projectsConfigurations: { version: 2, projects: {} },
    };
    const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
    let results: BatchTaskResult[];
    let streamed: string;
    try {
      // Each session's environment is its task's (as Nx gives a task its .env files).
      results = await collect(
        runBatch(taskGraph, { 'orders:fanout-session': { quiet: false }, 'products:fanout-session': {} }, {}, context, 2, (task) => ({
          env: { ...process.env, FANOUT_GREETING: `hello ${task.target.project}` },
        })),
      );
    } finally {
      streamed = write.mock.calls.map(([chunk]) => String(chunk)).join('');
      write.mockRestore();
    }
    expect(results.map((result) => [result.task, result.result.success]).sort()).toEqual([
      ['orders:fanout', true],
      ['orders:fanout-session', true],
      ['products:fanout', true],
      ['products:fanout-session', true],
    ]);
    // Each landing came after its own session (in the one process, taking no slot of --parallel).
    const order = results.map((result) => result.task);
    for (const project of ['orders', 'products'])
      expect(order.indexOf(`${project}:fanout`)).toBeGreaterThan(order.indexOf(`${project}:fanout-session`));
    for (const project of ['orders', 'products']) {
      const other = project === 'orders' ? 'products' : 'orders';
      const output = results.find((result) => result.task === `${project}:fanout-session`)?.result.terminalOutput ?? '';
      expect(output).toContain(`✔ ${project}: command session recorded 1 file(s)`);
      expect(output).toContain(`agent wrote ${project}, greeted hello ${project}`);
      expect(output).not.toContain(other);
      expect(readFileSync(join(ws.root, `.fanout/sessions/${project}/files/libs/${project}/src/${project}.ts`), 'utf-8')).toBe(
        `export const NAME = '${project}';\n`,
      );
      const result = JSON.parse(readFileSync(join(ws.root, '.fanout/sessions', project, 'result.json'), 'utf-8'));
      expect(result.status).toBe('succeeded');
      // fanout's lines were streamed as they came, marked; the agent's output was not.
      expect(streamed).toContain(`${project} │ ✔ ${project}: command session recorded`);
    }
    expect(streamed).not.toContain('agent wrote');
    // The landed sessions' worktrees and branches were cleaned up, after them, before the batch ended.
    expect(gitIn(ws.root, 'worktree', 'list', '--porcelain').match(/^worktree /gm)).toHaveLength(1);
    expect(gitIn(ws.root, 'branch', '--list', 'fanout/*').trim()).toBe('');
    expect(readdirSync(join(ws.root, '.fanout', 'worktrees'))).toEqual([]);
    for (const project of ['orders', 'products']) {
      expect(readFileSync(join(ws.root, `libs/${project}/src/${project}.ts`), 'utf-8')).toBe(`export const NAME = '${project}';\n`);
      expect(results.find((result) => result.task === `${project}:fanout`)?.result.terminalOutput).toContain(
        `✔ ${project}: landed (its session ran now): 1 file(s) written`,
      );
    }
    // The batch wrote the run's report once, at its end, with both sessions.
    const report = readFileSync(join(ws.root, '.fanout/report.md'), 'utf-8');
    expect(report).toContain('orders');
    expect(report).toContain('products');
  });
});

describe('runBatch: the run plan, built once for every task', () => {
  it('refuses wrong plugin options for each task, with what is wrong, before any session starts', async () => {
    const ws = createWorkspace(['orders', 'products']);
    try {
      const taskGraph = graphOf(['orders', 'products'], {}, 'fanout-session');
      const roots = { contracts: 'libs/contracts', users: 'libs/users', orders: 'libs/orders', products: 'libs/products' };
      const context: ExecutorContext = {
        root: ws.root,
        cwd: ws.root,
        isVerbose: false,
        projectGraph: {
          nodes: Object.fromEntries(Object.entries(roots).map(([name, root]) => [name, { name, type: 'lib', data: { root } }])),
          dependencies: Object.fromEntries(Object.keys(roots).map((name) => [name, []])),
        },
        taskGraph,
        nxJsonConfiguration: { plugins: [{ plugin: 'fanout', options: { portBase: '30000' } }] },
        projectsConfigurations: { version: 2, projects: {} },
      };
      const write = jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
      let results: BatchTaskResult[];
      try {
        results = await collect(runBatch(taskGraph, {}, {}, context, 2, () => ({ env: process.env })));
      } finally {
        write.mockRestore();
      }
      for (const project of ['orders', 'products']) {
        const result = results.find((entry) => entry.task === `${project}:fanout-session`)?.result;
        expect(result?.success).toBe(false);
        expect(result?.terminalOutput).toBe(
          `✖ ${project}: nx.json (fanout plugin options): "portBase" is a whole number from 1024 to 65535, without quotes (got "30000").\n`,
        );
      }
      // No session started: no session folder, no worktree (the batch's report of the failures is all).
      expect(existsSync(join(ws.root, '.fanout/sessions'))).toBe(false);
      expect(existsSync(join(ws.root, '.fanout/worktrees'))).toBe(false);
    } finally {
      ws.remove();
    }
  });
});

describe("runBatch: an error nobody can catch is its own task's failure", () => {
  let ws: TestWorkspace;

  beforeAll(() => {
    ws = createWorkspace(['orders', 'products', 'invoices']);
    write(
      ws.root,
      'tsconfig.base.json',
      JSON.stringify({ compilerOptions: { paths: { '@ws/contracts': ['libs/contracts/src/index.ts'] } } }),
    );
    const agent = agentScript(
      ws,
      'writes',
      `const project = process.argv[2];
cp.execSync('sleep ' + process.argv[3]);
fs.writeFileSync(path.join('libs', project, 'src', project + '.ts'), "export const NAME = '" + project + "';\\n");`,
    );
    for (const project of ['orders', 'products', 'invoices']) {
      write(ws.root, `libs/${project}/fanout.md`, commandTask(`node ${agent} {project} ${project === 'invoices' ? 2 : 0.2}`));
    }
    gitIn(ws.root, 'add', '-A');
    gitIn(ws.root, 'commit', '-q', '-m', 'tasks');
  });

  afterAll(() => ws.remove());

  /** The batch in a process of its own (testing/batch-child.ts): its exit code, its results, all it printed. */
  async function batchInChild(plan: object): Promise<{ code: number | null; results: BatchTaskResult[]; output: string }> {
    const child = spawnTypeScript(join(__dirname, '..', '..', 'testing', 'batch-child.ts'), [ws.root, JSON.stringify(plan)]);
    const code = await new Promise<number | null>((resolve) => child.on('close', (exitCode) => resolve(exitCode)));
    const output = child.output();
    const results = output
      .split('\n')
      .filter((line) => line.startsWith('RESULT '))
      .map((line) => JSON.parse(line.slice('RESULT '.length)) as BatchTaskResult);
    return { code, results, output };
  }

  it('a throw in a timer and a promise nobody awaits fail their own tasks, with their messages; the other session goes on', async () => {
    const { code, results, output } = await batchInChild({
      tasks: ['orders', 'products', 'invoices'],
      faults: { orders: 'timer', products: 'promise' },
    });
    expect({ code, output: code === 0 ? '' : output }).toEqual({ code: 0, output: '' });
    const byTask = Object.fromEntries(results.map((result) => [result.task, result.result]));
    expect(Object.keys(byTask).sort()).toEqual(['invoices:fanout', 'orders:fanout', 'products:fanout']);
    expect(byTask['orders:fanout'].success).toBe(false);
    expect(byTask['orders:fanout'].terminalOutput).toContain("✖ orders: orders's work threw where nobody could catch it (timer)");
    expect(byTask['products:fanout'].success).toBe(false);
    expect(byTask['products:fanout'].terminalOutput).toContain("✖ products: products's work threw where nobody could catch it (promise)");
    expect(byTask['invoices:fanout'].success).toBe(true);
    expect(byTask['invoices:fanout'].terminalOutput).toContain('✔ invoices: command session recorded 1 file(s)');
    expect(byTask['invoices:fanout'].terminalOutput).not.toContain('nobody could catch');
  }, 60_000);

  it('an error from work a task left behind, once it has ended, is said, and ends nothing', async () => {
    // One at a time: orders ends first, and its late error comes while the batch still runs invoices.
    const { code, results, output } = await batchInChild({ tasks: ['orders', 'invoices'], faults: { orders: 'late' }, parallel: 1 });
    expect({ code, output: code === 0 ? '' : output }).toEqual({ code: 0, output: '' });
    expect(results.map((result) => [result.task, result.result.success]).sort()).toEqual([
      ['invoices:fanout', true],
      ['orders:fanout', true],
    ]);
    expect(output).toContain("[fanout] orders, after its task ended: orders's work threw where nobody could catch it (late)");
  }, 60_000);

  it('an error outside every task still ends the process, as it would without a batch', async () => {
    const { code, results, output } = await batchInChild({ tasks: ['invoices'], outsideAfterMs: 300 });
    expect(code).toBe(1);
    expect(output).toContain('thrown outside every task');
    expect(results).toEqual([]);
  }, 60_000);
});

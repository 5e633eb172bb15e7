import { ownCacheEnv } from './own-cache';
import { killRunningCommands } from './run-command';
import { printedAsRun, replayedFrom } from './task-runs';
import { INSTALLING, readyWorkspace, removeWorkspace, requireEnv, TEST_LIMIT, TestWorkspace, type SessionResult } from './workspace';

/** Three tasks the built-in pattern agent replicates from the `users` reference. */
const TASKS = ['orders', 'products', 'invoices'];

/** A project no fanout task uses. */
const UNRELATED = { name: 'notes', root: 'libs/notes' };

/** Ran, not replayed: Nx printed the task without a cache marker, and the session wrote a new result.json. */
function ran(output: string, task: string, before: SessionResult, after: SessionResult): boolean {
  return printedAsRun(output, `${task}:fanout-session`) && after.startedAt !== before.startedAt;
}

describe('the fanout target and the Nx cache', () => {
  let ws: TestWorkspace;
  let roots: Record<string, string> = {};
  let results: Record<string, SessionResult> = {};

  const readResults = () => Object.fromEntries(TASKS.map((task) => [task, ws.readRecord(task) as SessionResult]));
  const runAll = () => ws.nx(['run-many', '-t', 'fanout', '--parallel=3'], INSTALLING);

  /** Runs every task and says which ran; the others must have been replayed unchanged. */
  async function runAndSeeWhichRan(): Promise<{ output: string; ranTasks: string[] }> {
    const before = results;
    const { output } = await runAll();
    const after = readResults();
    const ranTasks = TASKS.filter((task) => ran(output, task, before[task], after[task]));
    for (const task of TASKS.filter((task) => !ranTasks.includes(task))) {
      expect({ task, replayedFrom: replayedFrom(output, `${task}:fanout-session`) }).toEqual({ task, replayedFrom: 'local' });
      expect(after[task]).toEqual(before[task]);
    }
    for (const task of ranTasks) expect(after[task].status).toBe('succeeded');
    results = after;
    return { output, ranTasks };
  }

  beforeAll(async () => {
    const { root } = await readyWorkspace('cache');
    ws = new TestWorkspace(root, ownCacheEnv(root));
    ws.writeFile(
      `${UNRELATED.root}/project.json`,
      JSON.stringify({ name: UNRELATED.name, root: UNRELATED.root, sourceRoot: `${UNRELATED.root}/src` }, null, 2) + '\n',
    );
    ws.writeFile(`${UNRELATED.root}/src/index.ts`, 'export const notes = [];\n');
    await ws.nx(['g', 'fanout:task', TASKS.join(','), '--like=users', '--no-interactive'], INSTALLING);
    await ws.commitEverything('e2e: tasks and an unrelated project');
    const nodes = await ws.projectGraphNodes();
    roots = Object.fromEntries(['contracts', 'users', UNRELATED.name, ...TASKS].map((name) => [name, nodes[name]?.root ?? name]));
  }, 2 * INSTALLING);

  afterEach(killRunningCommands);

  afterAll(() => {
    killRunningCommands();
    removeWorkspace(ws);
  });

  it(
    'the first run runs every session',
    async () => {
      const { output } = await runAll();

      results = readResults();
      for (const task of TASKS) {
        expect(printedAsRun(output, `${task}:fanout-session`)).toBe(true);
        expect(results[task]).toMatchObject({ status: 'succeeded', agent: 'pattern' });
        expect(results[task].files.length).toBeGreaterThan(0);
      }
    },
    TEST_LIMIT,
  );

  it(
    "nx show target inputs lists the assignment, the contracts' and the reference's production files and AGENTS.md, never what the session wrote",
    async () => {
      const inputs = JSON.parse((await ws.nx(['show', 'target', 'inputs', 'orders:fanout-session', '--json'])).stdout) as {
        files: string[];
        external?: string[];
      };
      const written = results.orders.files.map((file) => file.path);
      expect(written.length).toBeGreaterThan(0);

      expect(inputs.files).toContain(`${roots.orders}/fanout.md`);
      expect(inputs.files).toContain('AGENTS.md');
      expect(inputs.files).toContain(`${roots.contracts}/src/index.ts`);
      expect(inputs.files).toContain(`${roots.contracts}/src/lib/entities/order.ts`);
      expect(inputs.files).toContain(`${roots.users}/src/index.ts`);
      for (const file of written) expect(inputs.files).not.toContain(file);
      expect(inputs.files.filter((file) => file.startsWith(`${roots.orders}/src/`) || file.startsWith('.fanout/'))).toEqual([]);
      // Production files only: the reference's tests are not inputs.
      expect(inputs.files.filter((file) => file.startsWith(`${roots.users}/`) && /\.spec\.ts$/.test(file))).toEqual([]);
      // No npm package is hashed; fanout's own version is, through the target's options.
      expect(inputs.external ?? []).toEqual([]);
      const target = JSON.parse((await ws.nx(['show', 'target', 'orders:fanout-session', '--json'])).stdout) as {
        options?: { pluginVersion?: string };
      };
      expect(target.options?.pluginVersion).toBe(requireEnv('FANOUT_E2E_VERSION'));
    },
    TEST_LIMIT,
  );

  it(
    'editing one assignment re-runs only that task',
    async () => {
      const assignment = `${roots.orders}/fanout.md`;
      ws.writeFile(assignment, `${ws.readFile(assignment).trimEnd()}\nKeep the handlers small.\n`);

      const { ranTasks } = await runAndSeeWhichRan();

      expect(ranTasks).toEqual(['orders']);
    },
    TEST_LIMIT,
  );

  it(
    'editing a contracts production file re-runs every task that uses the contracts',
    async () => {
      const entity = `${roots.contracts}/src/lib/entities/order.ts`;
      ws.writeFile(entity, `${ws.readFile(entity).trimEnd()}\n// Orders are kept for seven years.\n`);

      const { ranTasks } = await runAndSeeWhichRan();

      expect(ranTasks).toEqual(TASKS);
    },
    TEST_LIMIT,
  );

  it(
    'touching an unrelated project re-runs none',
    async () => {
      ws.writeFile(`${roots[UNRELATED.name]}/src/index.ts`, "export const notes = ['a note'];\n");

      const { output, ranTasks } = await runAndSeeWhichRan();

      expect(ranTasks).toEqual([]);
      // Every session and the checks that gate them came from the cache: only the landings, never cached, ran.
      const cached = /for (\d+) out of (\d+) tasks/.exec(output);
      expect(Number(cached?.[2]) - Number(cached?.[1])).toBe(TASKS.length);
    },
    TEST_LIMIT,
  );
});

import { killRunningCommands } from './run-command';
import { printedAsRun, replayedFrom } from './task-runs';
import { INSTALLING, readyWorkspace, removeWorkspace, TEST_LIMIT, TestWorkspace } from './workspace';

/**
 * What landed is yours: after a fan-out lands, the user edits, adds, commits and
 * deletes, and fixes a wired file by hand; every later run replays the sessions
 * from Nx's cache and leaves all of it as the user left it, saying what it kept.
 */
const TASKS = ['orders', 'products'];
const SHELL = 'apps/shell';
const ROUTES = `${SHELL}/src/api.routes.ts`;

describe('what landed is yours', () => {
  let ws: TestWorkspace;
  let roots: Record<string, string> = {};
  let usersImport = '';
  const file = (task: string, name: string) => `${roots[task]}/src/lib/${task}.${name}`;
  const runAll = () => ws.nxFailing(['run-many', '-t', 'fanout', 'fanout-verify', '--parallel=2', '--outputStyle=static'], INSTALLING);

  beforeAll(async () => {
    ws = await readyWorkspace('landing');
    const nodes = await ws.projectGraphNodes();
    roots = { users: nodes['users']?.root ?? 'users' };
    usersImport = ws.readJson<{ name: string }>(`${roots.users}/package.json`).name;
    // An app that mounts each API lazily, an entry over several lines, as Angular's lazy routes are written.
    ws.writeFile(`${SHELL}/project.json`, JSON.stringify({ name: 'shell', root: SHELL, sourceRoot: `${SHELL}/src` }, null, 2) + '\n');
    ws.writeFile(
      ROUTES,
      `export const apiRoutes = [\n  {\n    path: 'users',\n    loadChildren: () =>\n      import('${usersImport}').then((m) => m.usersRoutes),\n  },\n];\n`,
    );
    await ws.nx(['g', 'fanout:task', TASKS.join(','), '--like=users', `--wire=${ROUTES}`, '--no-interactive'], INSTALLING);
    await ws.commitEverything('e2e: an app with lazy routes, and two tasks wired into it');
    const withTasks = await ws.projectGraphNodes();
    for (const task of TASKS) roots[task] = withTasks[task]?.root ?? task;
  }, 2 * INSTALLING);

  afterEach(killRunningCommands);
  afterAll(() => {
    killRunningCommands();
    removeWorkspace(ws);
  });

  it(
    'lands each session, its multi-line route copied whole into the app, and says the sessions ran now',
    async () => {
      const run = await runAll();
      expect({ status: run.status, output: run.status === 0 ? '' : run.output.slice(-4000) }).toEqual({ status: 0, output: '' });
      for (const task of TASKS) {
        expect(printedAsRun(run.output, `${task}:fanout-session`)).toBe(true);
        expect(run.output).toContain(`✔ ${task}: landed (its session ran now)`);
        const route =
          `  {\n    path: '${task}',\n    loadChildren: () =>\n` +
          `      import('${usersImport.replace(/users$/, task)}').then((m) => m.${task}Routes),\n  },\n`;
        expect(ws.readFile(ROUTES).split(route)).toHaveLength(2);
      }
      expect(ws.readFile(ROUTES)).toContain(`    path: 'users',\n`);
      await ws.commitEverything('e2e: the fan-out, as landed');
    },
    TEST_LIMIT,
  );

  it(
    "keeps the user's uncommitted edit, untracked file, committed edit, deletion and wired-file fix through two more runs, saying what it kept",
    async () => {
      const handler = file('orders', 'handler.ts');
      ws.writeFile(handler, `${ws.readFile(handler)}// reviewed by hand, not committed\n`);
      // A spec of the user's own, untracked, beside the session's: it must survive, and it keeps the project's tests.
      const notes = `${roots.orders}/src/lib/orders.notes.spec.ts`;
      ws.writeFile(notes, "it('keeps my notes', () => expect('notes').toBeTruthy());\n");
      const committed = file('products', 'handler.ts');
      ws.writeFile(committed, `${ws.readFile(committed)}// reviewed by hand, committed\n`);
      ws.writeFile(ROUTES, ws.readFile(ROUTES).replace("path: 'products'", "path: 'catalog'"));
      await ws.commitEverything('e2e: hand edits', [committed, ROUTES]);
      const deleted = file('orders', 'handler.spec.ts');
      await ws.run('rm', [ws.path(deleted)]);
      const before = await ws.snapshot();

      for (let run = 0; run < 2; run++) {
        const { output, status } = await runAll();
        expect({ status, output: status === 0 ? '' : output.slice(-4000) }).toEqual({ status: 0, output: '' });
        for (const task of TASKS) {
          expect(replayedFrom(output, `${task}:fanout-session`)).toBe('local');
          expect(output).toContain(`✔ ${task}: landed (its session was replayed from Nx's cache)`);
        }
        expect(output).toContain(
          `kept your edit of ${handler}; the session's version is in .fanout/sessions/orders/files/${handler} (nx g fanout:take orders --files=${handler} takes it)`,
        );
        expect(output).toContain(`kept your edit of ${committed}`);
        expect(output).toContain(`kept your deletion of ${deleted}`);
        expect(output).toContain(`kept your edit of ${ROUTES}; the session's edit landed before and is not applied again`);
        // The user's own file is never a landing's business (the tests that run it may name it).
        expect(output).not.toMatch(/\[fanout\][^\n]*orders\.notes\.spec\.ts/);
        expect(await ws.snapshot()).toEqual(before);
      }
      const report = ws.readFile('.fanout/report.md');
      expect(report).toContain(`kept your edit of ${handler}`);
    },
    2 * TEST_LIMIT,
  );

  it(
    'nx g fanout:take takes the session version of a kept file, and landing drops the recorded wired edits once the tasks no longer wire the file',
    async () => {
      const handler = file('orders', 'handler.ts');
      const taken = await ws.nx(['g', 'fanout:take', 'orders', `--files=${handler}`, '--no-interactive']);
      expect(taken.output).toContain(`took the session's version of ${handler}`);
      expect(ws.readFile(handler)).not.toContain('reviewed by hand');
      // The next landing finds the session's version in place: nothing more is kept of that file.
      const again = await runAll();
      expect(again.output).not.toContain(`kept your edit of ${handler}`);

      await ws.commitEverything('e2e: everything as it stands');
      for (const task of TASKS) {
        const assignment = `${roots[task]}/fanout.md`;
        ws.writeFile(assignment, ws.readFile(assignment).replace(new RegExp(`wire:\\n  - ${ROUTES}\\n`), ''));
      }
      await ws.commitEverything('e2e: the tasks no longer wire the routes');
      const routes = ws.readFile(ROUTES);
      const { output, status } = await runAll();
      expect({ status, output: status === 0 ? '' : output.slice(-4000) }).toEqual({ status: 0, output: '' });
      for (const task of TASKS) {
        expect(printedAsRun(output, `${task}:fanout-session`)).toBe(true);
        expect(ws.exists(`.fanout/sessions/${task}/wired.json`)).toBe(false);
      }
      expect(ws.readFile(ROUTES)).toBe(routes);
      expect(ws.readFile(`${roots.orders}/src/lib/orders.notes.spec.ts`)).toContain('keeps my notes');
    },
    2 * TEST_LIMIT,
  );
});

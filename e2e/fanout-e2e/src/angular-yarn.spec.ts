import { lstatSync, readlinkSync } from 'node:fs';
import {
  ANGULAR_NX_VERSION,
  APP_MODULE,
  APP_MODULE_SOURCE,
  createAngularWorkspace,
  DETAIL_PAGE,
  STATE,
  TYPES,
  YARN_VERSION,
} from './angular-workspace';
import { killRunningCommands } from './run-command';
import { printedAsRun, replayedFrom } from './task-runs';
import { INSTALLING, removeWorkspace, requireEnv, TEST_LIMIT, TestWorkspace } from './workspace';

/**
 * A new user in an Angular workspace of NgModules and lazy routes, installed with Yarn 4 that only
 * corepack runs, on a prerelease of Nx 23: fanout is added with `yarn nx add`, the types and a page
 * are adopted, two pages are fanned out and registered as lazy routes of the app's root module, and
 * a second run changes nothing.
 */
describe('fanout in an Angular workspace of NgModules on Yarn 4 through corepack', () => {
  let ws: TestWorkspace;
  const TASKS = ['product-reviews', 'product-compare'];
  const pageOf = (task: string) => `products-${task}-page`;
  const PAGES = TASKS.map(pageOf);
  const yarnNx = (args: string[], timeoutMs?: number) => ws.run('corepack', ['yarn', 'nx', ...args], timeoutMs);
  const pascal = (kebab: string) => kebab.replace(/(^|-)(\w)/g, (_, _dash, letter: string) => letter.toUpperCase());
  /** The lazy route of a page as the reference's is written in the app's root module: several lines. */
  const lazyRoute = (subject: string) =>
    `        {\n          path: '${subject}',\n          loadChildren: () =>\n` +
    `            import('@shop/products-${subject}-page').then(\n` +
    `              (module) => module.Products${pascal(subject)}PageModule\n            ),\n        },\n`;

  beforeAll(async () => {
    ws = await createAngularWorkspace('angular-yarn');
  }, TEST_LIMIT);

  afterEach(killRunningCommands);
  afterAll(() => {
    killRunningCommands();
    removeWorkspace(ws);
  });

  it(
    "is added with yarn nx add, and uses the workspace's own prerelease Nx rather than a copy of its own",
    async () => {
      expect(ws.readJson<{ version: string }>('node_modules/nx/package.json').version).toBe(ANGULAR_NX_VERSION);
      const version = requireEnv('FANOUT_E2E_VERSION');
      const added = await yarnNx(['add', `fanout@${version}`], INSTALLING);
      expect(added.output).not.toMatch(/not found|fanout supports Nx/);
      expect(ws.readJson<{ devDependencies: Record<string, string> }>('package.json').devDependencies.fanout).toBe(version);
      for (const nested of ['nx', '@nx/devkit', '@nx/js']) expect(ws.exists(`node_modules/fanout/node_modules/${nested}`)).toBe(false);
      // The plugin loads on this Nx: every command computes the graph with it.
      const projects = await yarnNx(['show', 'projects']);
      expect(projects.stdout.split('\n').filter(Boolean).sort()).toEqual([DETAIL_PAGE, STATE, TYPES, 'shop']);
      expect(projects.output).not.toMatch(/Failed to load|fanout supports Nx/);
    },
    TEST_LIMIT,
  );

  it(
    'adopts the types and the detail page, which reaches the types through the state library',
    async () => {
      const contracts = await yarnNx(['g', 'fanout:contracts', `--project=${TYPES}`, '--no-interactive']);
      expect(contracts.output).toContain(`${TYPES} (libs/shared/product/types) is the contracts library`);
      const reference = await yarnNx(['g', 'fanout:reference', `--project=${DETAIL_PAGE}`, `--contracts=${TYPES}`, '--no-interactive']);
      expect(reference.output).toContain(`${DETAIL_PAGE} is the reference, with subject "product-detail"`);
      expect(reference.output).toContain(`${DETAIL_PAGE} uses the contracts ${TYPES} through ${STATE}`);
      await ws.commitEverything('shop: contracts and reference adopted');
    },
    TEST_LIMIT,
  );

  it(
    'makes the two pages beside the detail page and links them with the Yarn corepack runs, yarn itself not being on PATH',
    async () => {
      // `npx nx`: nothing puts a `yarn` on PATH (inside `yarn nx`, Yarn puts its own there).
      const generated = await ws.nx(
        ['g', 'fanout:task', TASKS.join(','), `--like=${DETAIL_PAGE}`, `--wire=${APP_MODULE}`, '--no-interactive'],
        INSTALLING,
      );
      expect(generated.output).not.toMatch(/not found|not yet linked/);
      expect(generated.output).toContain(`Yarn ${YARN_VERSION}`);
      for (const [index, task] of TASKS.entries()) {
        const root = `libs/products/${task}-page`;
        expect(ws.readJson<{ name: string }>(`${root}/project.json`).name).toBe(PAGES[index]);
        expect(ws.readJson<{ name: string; devDependencies: Record<string, string> }>(`${root}/package.json`)).toMatchObject({
          name: `@shop/${PAGES[index]}`,
          devDependencies: { [`@shop/${STATE}`]: 'workspace:*' },
        });
        // Yarn linked the new package, so the app's import of it resolves.
        const link = ws.path(`node_modules/@shop/${PAGES[index]}`);
        expect(lstatSync(link).isSymbolicLink()).toBe(true);
        expect(readlinkSync(link)).toBe(`../../${root}`);
      }
      // The app depends on each page in the workspace's own style.
      expect(ws.readJson<{ devDependencies: Record<string, string> }>('apps/shop/package.json').devDependencies).toEqual({
        [`@shop/${DETAIL_PAGE}`]: 'workspace:*',
        ...Object.fromEntries(PAGES.map((page) => [`@shop/${page}`, 'workspace:*'])),
      });
      expect((await ws.nxFailing(['sync:check'])).status).toBe(0);
      await ws.commitEverything('shop: two pages to build');
    },
    TEST_LIMIT,
  );

  it(
    "fans them out: each page a copy of the detail page, each lazy route copied whole into the app's root module, which typechecks",
    async () => {
      const run = await ws.nxFailing(['run-many', '-t', 'fanout', 'fanout-verify', '--outputStyle=static'], 2 * INSTALLING);
      expect({ status: run.status, output: run.status === 0 ? '' : run.output.slice(-4000) }).toEqual({ status: 0, output: '' });
      expect(run.output).toMatch(/fanout-verify: 2 session\(s\) verified/);
      for (const [index, task] of TASKS.entries()) {
        expect(printedAsRun(run.output, `${PAGES[index]}:fanout-session`)).toBe(true);
        const result = ws.readResult(PAGES[index]);
        expect(result.status).toBe('succeeded');
        expect(result.wired).toEqual([{ path: APP_MODULE, project: 'shop', status: 'merged' }]);
        const Task = pascal(task);
        const component = ws.readFile(`libs/products/${task}-page/src/lib/${task}-page/${task}-page.component.ts`);
        expect(component).toContain(`selector: 'shop-${task}-page'`);
        expect(component).toContain(`export class ${Task}PageComponent {`);
        expect(component).toContain(`from '@shop/${STATE}'`);
        expect(ws.readFile(`libs/products/${task}-page/src/lib/products-${task}-page.module.ts`)).toContain(
          `export class Products${Task}PageModule {}`,
        );
      }

      // Each route once, whole, after the reference's and in the order the sessions landed; the rest as it was.
      const module = ws.readFile(APP_MODULE);
      for (const subject of ['product-detail', ...TASKS]) expect(module.split(lazyRoute(subject))).toHaveLength(2);
      const landed = TASKS.map((task) => [task, module.indexOf(lazyRoute(task))] as const).sort((a, b) => a[1] - b[1]);
      expect(module).toBe(
        APP_MODULE_SOURCE.replace(
          lazyRoute('product-detail'),
          [lazyRoute('product-detail'), ...landed.map(([task]) => lazyRoute(task))].join(''),
        ),
      );
      const typecheck = await ws.nxFailing(['run-many', '-t', 'typecheck', '--outputStyle=static'], INSTALLING);
      expect({ status: typecheck.status, output: typecheck.status === 0 ? '' : typecheck.output.slice(-4000) }).toEqual({
        status: 0,
        output: '',
      });
      await ws.commitEverything('shop: the fan-out, as landed');
    },
    2 * TEST_LIMIT,
  );

  it(
    'a second run replays both sessions from the cache, lands nothing new and changes no file',
    async () => {
      const before = await ws.snapshot();
      const run = await ws.nxFailing(['run-many', '-t', 'fanout', 'fanout-verify', '--outputStyle=static'], 2 * INSTALLING);
      expect({ status: run.status, output: run.status === 0 ? '' : run.output.slice(-4000) }).toEqual({ status: 0, output: '' });
      for (const page of PAGES) {
        expect(replayedFrom(run.output, `${page}:fanout-session`)).toBe('local');
        expect(run.output).toContain(`✔ ${page}: landed (its session was replayed from Nx's cache): 0 file(s) written`);
        expect(ws.readResult(page).status).toBe('succeeded');
      }
      expect(await ws.snapshot()).toEqual(before);
    },
    2 * TEST_LIMIT,
  );
});

import { join } from 'node:path';
import { APP_PAGES, APP_PAGES_SOURCE, reactWorkspace, SETTINGS, SETTINGS_SPEC, TYPES } from './react-workspace';
import { runCommand } from './run-command';
import { killRunningCommands } from './run-command';
import { printedAsRun } from './task-runs';
import { INSTALLING, removeWorkspace, TEST_LIMIT, TestWorkspace } from './workspace';

/**
 * Fan out the workspace a React team has: an existing types library and an existing
 * page become the contracts and the reference, two pages are fanned out beside the
 * settings page, and the whole workspace is green, with nothing edited by hand.
 */
describe('fanout in an existing React workspace', () => {
  let ws: TestWorkspace;
  const PAGES = ['@shop/feature-dashboard', '@shop/feature-profile'];

  beforeAll(async () => {
    ws = await reactWorkspace('react');
  }, 4 * TEST_LIMIT);

  afterAll(() => {
    killRunningCommands();
    removeWorkspace(ws);
  });

  it(
    'adopts the types library as the contracts, changing nothing but its tag',
    async () => {
      const before = ws.readJson<Record<string, unknown>>('libs/shared-types/package.json');
      await ws.nx(['g', 'fanout:contracts', `--project=${TYPES}`, '--no-interactive']);
      const after = ws.readJson<{ nx?: { tags?: string[] } }>('libs/shared-types/package.json');
      expect(after).toEqual({ ...before, nx: { tags: ['fanout:contracts'] } });
      expect((await ws.run('git', ['status', '--porcelain'])).stdout.trim()).toBe('M libs/shared-types/package.json');
    },
    TEST_LIMIT,
  );

  it(
    'adopts the settings page as the reference, saying the subject it recorded',
    async () => {
      const generated = await ws.nx(['g', 'fanout:reference', `--project=${SETTINGS}`, `--contracts=${TYPES}`, '--no-interactive']);
      expect(generated.output).toMatch(/subject "settings"/);
      const shown = JSON.parse((await ws.nx(['show', 'project', SETTINGS, '--json'])).stdout) as { tags: string[] };
      expect(shown.tags).toEqual(expect.arrayContaining(['fanout:reference', 'fanout:subject:settings']));
      await ws.commitEverything('shop: contracts and reference adopted');
    },
    TEST_LIMIT,
  );

  it(
    'creates the pages as siblings of the reference and fans them out; the whole workspace is green',
    async () => {
      await ws.nx(['g', 'fanout:task', 'dashboard,profile', `--like=${SETTINGS}`, `--wire=${APP_PAGES}`, '--no-interactive'], INSTALLING);
      // The app may import each new page: a workspace dependency (nx sync adds the TS references).
      expect(ws.readJson<{ dependencies: Record<string, string> }>('apps/shop/package.json').dependencies).toMatchObject({
        [SETTINGS]: '*',
        '@shop/feature-dashboard': '*',
        '@shop/feature-profile': '*',
      });
      for (const page of ['dashboard', 'profile']) {
        const manifest = ws.readJson<{ name: string; dependencies?: Record<string, string> }>(`libs/feature-${page}/package.json`);
        expect(manifest.name).toBe(`@shop/feature-${page}`);
        expect(manifest.dependencies).toEqual({ [TYPES]: '*' });
        expect(ws.exists(`libs/feature-${page}/jest.config.cts`)).toBe(true);
        expect(ws.exists(`libs/feature-${page}/.babelrc`)).toBe(true);
        expect(ws.readJson<{ compilerOptions: { jsx?: string } }>(`libs/feature-${page}/tsconfig.lib.json`).compilerOptions.jsx).toBe(
          'react-jsx',
        );
        expect(ws.readFile(`libs/feature-${page}/fanout.md`)).toContain(
          `Build ${`@shop/feature-${page}`} following the same pattern as ${SETTINGS}, using the types in ${TYPES}.`,
        );
        expect(ws.readFile(`libs/feature-${page}/fanout.md`)).toMatch(new RegExp(`^wire:\\n  - ${APP_PAGES}$`, 'm'));
      }
      // nx sync has nothing left to fix: the new projects are linked and referenced.
      expect((await ws.nxFailing(['sync:check'])).status).toBe(0);
      await ws.commitEverything('shop: two pages to build');

      // The documented run: the sessions, then fanout-verify over the integrated workspace.
      const run = await ws.nx(['run-many', '-t', 'fanout', 'fanout-verify', '--outputStyle=static'], 3 * INSTALLING);
      for (const page of PAGES) expect(printedAsRun(run.output, `${page}:fanout-session`)).toBe(true);
      expect(run.output).toMatch(/fanout-verify: 2 session\(s\) verified/);
      for (const page of ['dashboard', 'profile']) {
        const Page = page[0].toUpperCase() + page.slice(1);
        const source = ws.readFile(`libs/feature-${page}/src/lib/feature-${page}.tsx`);
        expect(source).toContain(`export function ${Page}Page(`);
        expect(source).toContain(`export const ${page}Sections: Section[]`);
        expect(source).toContain(`import styles from './feature-${page}.module.css';`);
        expect(source).not.toMatch(/settings|Settings/);
        expect(ws.exists(`libs/feature-${page}/src/lib/feature-${page}.module.css`)).toBe(true);
      }

      // Both pages registered in the app's list, after the settings page, each once, in the order they landed.
      const listed = ws.readFile(APP_PAGES);
      for (const page of ['Dashboard', 'Profile']) {
        expect(listed.match(new RegExp(`import \\{ ${page}Page \\} from '@shop/feature-${page.toLowerCase()}';`, 'g'))).toHaveLength(1);
        expect(
          listed.match(new RegExp(`\\{ path: '/${page.toLowerCase()}', title: '${page}', element: <${page}Page /> \\},`, 'g')),
        ).toHaveLength(1);
      }
      expect(listed.startsWith(APP_PAGES_SOURCE.split('\n')[0])).toBe(true);
      for (const page of ['dashboard', 'profile']) {
        expect(ws.readJson<{ wired?: unknown[] }>(`.fanout/sessions/@shop/feature-${page}/result.json`).wired).toEqual([
          { path: APP_PAGES, project: '@shop/shop', status: 'merged' },
        ]);
      }

      const checks = await ws.nxFailing(['run-many', '-t', 'typecheck', 'test', 'lint', 'build', '--outputStyle=static'], 3 * INSTALLING);
      expect(checks.output).not.toMatch(/Failed tasks/);
      expect(checks.status).toBe(0);
    },
    3 * TEST_LIMIT,
  );

  it(
    "a fresh clone replays every session from the cache and ends with the same files, the app's list of pages included",
    async () => {
      // The clone uses the workspace's Nx cache and its index (Nx's workspace data), as a second checkout on one
      // machine does by default (Nx's per-user cache) or a CI machine through a remote cache.
      const clone = new TestWorkspace(join(ws.root, '..', 'clone'), {
        ...ws.env,
        NX_WORKSPACE_DATA_DIRECTORY: ws.path('.nx', 'workspace-data'),
      });
      await runCommand('git', ['clone', '-q', ws.root, clone.root], { cwd: join(ws.root, '..'), env: ws.env });
      await runCommand('cp', ['-al', ws.path('node_modules'), clone.path('node_modules')], { cwd: clone.root, env: ws.env });

      const run = await clone.nx(['run-many', '-t', 'fanout', '--outputStyle=static'], 2 * INSTALLING);
      for (const page of PAGES) {
        expect(run.output).toMatch(
          new RegExp(`nx run ${page}:fanout-session\\s+\\[(local cache|existing outputs match the cache, left as is)\\]`),
        );
        expect(run.output).toContain(`✔ ${page}: landed (its session was replayed from Nx's cache)`);
      }
      // The landing wrote each session's files and merged its recorded edit of the app's list, in landing order.
      expect(clone.readFile(APP_PAGES)).toBe(ws.readFile(APP_PAGES));
      for (const page of ['dashboard', 'profile']) {
        const file = `libs/feature-${page}/src/lib/feature-${page}.tsx`;
        expect(clone.sha256(file)).toBe(ws.sha256(file));
      }
      // Landing again changes nothing, and fanout-verify writes nothing to the workspace.
      const before = await clone.snapshot();
      await clone.nx(['run-many', '-t', 'fanout-verify', '--skipAffected', '--outputStyle=static'], 2 * INSTALLING);
      expect(await clone.snapshot()).toEqual(before);
    },
    2 * TEST_LIMIT,
  );

  it(
    'stops before any session when the reference is broken, naming the failing target',
    async () => {
      ws.writeFile(
        'libs/feature-settings/src/lib/feature-settings.spec.tsx',
        SETTINGS_SPEC.replace('toHaveLength(settingsSections.length)', 'toHaveLength(99)'),
      );
      await ws.commitEverything('shop: a broken reference');
      const worktreesBefore = await ws.worktrees();
      const run = await ws.nxFailing(['run-many', '-t', 'fanout', '--outputStyle=static'], 2 * INSTALLING);
      expect(run.status).not.toBe(0);
      expect(run.output).toContain(`${SETTINGS}:test`);
      for (const page of PAGES) expect(printedAsRun(run.output, `${page}:fanout-session`)).toBe(false);
      expect(await ws.worktrees()).toEqual(worktreesBefore);
    },
    2 * TEST_LIMIT,
  );
});

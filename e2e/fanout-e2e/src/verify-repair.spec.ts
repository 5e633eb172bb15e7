import { readFileSync } from 'node:fs';
import { APP_PAGES, reactWorkspace, SETTINGS, TYPES } from './react-workspace';
import { killRunningCommands } from './run-command';
import { INSTALLING, removeWorkspace, TEST_LIMIT, TestWorkspace } from './workspace';

/**
 * The integrated whole fails where every part passed, and the sessions that broke it
 * repair it. In the React workspace, the app's own test asserts that every page has a
 * path of its own. Two pages are fanned out with a command agent that, like a careless
 * copy of the settings page, registers each at the same path: each page passes its own
 * gate, both land, and the app's test fails. fanout-verify blames both sessions, tells
 * the first what failed through FANOUT_FEEDBACK_FILE, the agent moves its page to a path
 * of its own, the repair lands, and the run ends green, with the repair recorded.
 */

/** The app's test: what the two sessions together break. */
const PAGES_SPEC = `import { pages } from './pages';

describe('pages', () => {
  it('gives every page its own path', () => {
    const paths = pages.map((page) => page.path);
    expect(new Set(paths).size).toBe(paths.length);
  });
});
`;

/**
 * The command agent: copies the settings page for its own subject (as the pattern agent
 * would) and registers it in the app at '/page'; told a failure (FANOUT_FEEDBACK_FILE),
 * it gives its page its own path.
 */
const PAGE_AGENT = String.raw`const fs = require('fs');
const path = require('path');
const [projectRoot] = process.argv.slice(2);
const subject = path.basename(projectRoot).replace(/^feature-/, '');
const Subject = subject[0].toUpperCase() + subject.slice(1);
const pages = 'apps/shop/src/app/pages.tsx';
if (process.env.FANOUT_FEEDBACK_FILE) {
  const text = fs.readFileSync(pages, 'utf-8');
  fs.writeFileSync(pages, text.replace("{ path: '/page', title: '" + Subject + "'", "{ path: '/" + subject + "', title: '" + Subject + "'"));
  process.exit(0);
}
const copy = (from, to) => {
  for (const entry of fs.readdirSync(from, { withFileTypes: true })) {
    const source = path.join(from, entry.name);
    const target = path.join(to, entry.name.replace(/settings/g, subject));
    if (entry.isDirectory()) { fs.mkdirSync(target, { recursive: true }); copy(source, target); continue; }
    fs.writeFileSync(target, fs.readFileSync(source, 'utf-8').replace(/settings/g, subject).replace(/Settings/g, Subject));
  }
};
copy('libs/feature-settings/src', path.join(projectRoot, 'src'));
const text = fs.readFileSync(pages, 'utf-8');
fs.writeFileSync(
  pages,
  text
    .replace("import { SettingsPage } from '@shop/feature-settings';\n", "import { SettingsPage } from '@shop/feature-settings';\nimport { " + Subject + "Page } from '@shop/feature-" + subject + "';\n")
    .replace('];', "  { path: '/page', title: '" + Subject + "', element: <" + Subject + 'Page /> },\n];'),
);
`;

interface Recorded {
  verifyRepairs?: {
    task: string;
    verdict: string;
    suspects: { session: string; reasons: string[] }[];
    repairs: {
      session: string;
      outcome: string;
      mode: string;
      feedbackFile?: string;
      files?: { path: string }[];
      gate?: { target: string; ok: boolean }[];
    }[];
  }[];
}

describe('fanout-verify repairs what the sessions broke together', () => {
  let ws: TestWorkspace;
  const PAGES = ['dashboard', 'profile'];

  beforeAll(async () => {
    ws = await reactWorkspace('verify-repair');
  }, 4 * TEST_LIMIT);

  afterAll(() => {
    killRunningCommands();
    removeWorkspace(ws);
  });

  it(
    'sets up two pages whose sessions each pass their gate but together break the app test',
    async () => {
      ws.writeFile('apps/shop/src/app/pages.spec.tsx', PAGES_SPEC);
      ws.writeFile('tools/page-agent.js', PAGE_AGENT);
      // The app's vite build and its typecheck both write apps/shop/dist: run side by side by nx affected
      // they race (TS6305). The checks this test is about are the test and the typecheck.
      const nxJson = ws.readJson<{ targetDefaults?: Record<string, unknown> }>('nx.json');
      nxJson.targetDefaults = { ...nxJson.targetDefaults, 'fanout-verify': { options: { targets: ['lint', 'test', 'typecheck'] } } };
      ws.writeFile('nx.json', `${JSON.stringify(nxJson, null, 2)}\n`);
      await ws.nx(['g', 'fanout:contracts', `--project=${TYPES}`, '--no-interactive']);
      await ws.nx(['g', 'fanout:reference', `--project=${SETTINGS}`, `--contracts=${TYPES}`, '--no-interactive']);
      await ws.nx(
        [
          'g',
          'fanout:task',
          PAGES.join(','),
          `--like=${SETTINGS}`,
          `--wire=${APP_PAGES}`,
          '--agent=command',
          '--command=node tools/page-agent.js {projectRoot}',
          '--no-interactive',
        ],
        INSTALLING,
      );
      await ws.commitEverything('shop: the app test, two pages to build');
    },
    2 * INSTALLING,
  );

  it(
    'blames both sessions, resumes the first with the failure, lands its repair and ends green',
    async () => {
      const run = await ws.nxFailing(['run-many', '-t', 'fanout', 'fanout-verify', '--outputStyle=static'], 3 * INSTALLING);
      // Both are blamed, in the order they landed (the order their sessions ended).
      expect(run.output).toMatch(/@shop\/shop:test: blamed on @shop\/feature-(dashboard|profile)/);
      expect(run.status).toBe(0);

      const listed = ws.readFile(APP_PAGES);
      const paths = [...listed.matchAll(/path: '([^']+)'/g)].map((match) => match[1]);
      expect(new Set(paths).size).toBe(paths.length);
      const [first, second] = PAGES.map((page) => ws.readJson<Recorded>(`.fanout/sessions/@shop/feature-${page}/result.json`));
      const record = (first.verifyRepairs ?? second.verifyRepairs ?? [])[0];
      expect(record).toMatchObject({ task: '@shop/shop:test', verdict: 'repaired' });
      expect(record.suspects.map((suspect) => suspect.session).sort()).toEqual(PAGES.map((page) => `@shop/feature-${page}`));
      const landed = record.repairs.filter((repair) => repair.outcome === 'landed');
      expect(landed).toHaveLength(1);
      expect(landed[0]).toMatchObject({ mode: 'restarted', files: [{ path: APP_PAGES }] });
      expect(landed[0].gate?.every((target) => target.ok)).toBe(true);
      // The agent was told through FANOUT_FEEDBACK_FILE what failed, and to fix its own part.
      const feedback = readFileSync(landed[0].feedbackFile as string, 'utf-8');
      expect(feedback).toContain('gives every page its own path');
      expect(feedback).toContain('Fix your own part only');
      expect(ws.readFile('.fanout/report.md')).toContain('`@shop/shop:test`: repaired');
    },
    3 * INSTALLING,
  );

  it(
    'a second run changes nothing',
    async () => {
      const before = (await ws.run('git', ['status', '--porcelain'])).stdout;
      const pages = ws.readFile(APP_PAGES);
      const run = await ws.nxFailing(['run-many', '-t', 'fanout', 'fanout-verify', '--outputStyle=static'], 3 * INSTALLING);
      expect(run.status).toBe(0);
      expect(ws.readFile(APP_PAGES)).toBe(pages);
      expect((await ws.run('git', ['status', '--porcelain'])).stdout).toBe(before);
    },
    3 * INSTALLING,
  );
});

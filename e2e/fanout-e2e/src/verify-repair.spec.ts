import { readdirSync, readFileSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { agentRunEnv, claudeCodeEnv, cliPrefix, installCli, pinnedVersion } from './agent-cli';
import { APP_PAGES, reactWorkspace, SETTINGS, TYPES } from './react-workspace';
import { killRunningCommands } from './run-command';
import { startScriptedModelServer, type Script, type ScriptedModelServer, type ScriptedToolCall } from './scripted-model-server';
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

/** The words of fanout-verify's feedback to a repairing agent that the scripted model answers. */
const WHOLE_FEEDBACK = 'gives every page its own path';

interface Recorded {
  verifyRepairs?: {
    task: string;
    verdict: string;
    suspects: { session: string; reasons: string[] }[];
    repairs: {
      session: string;
      outcome: string;
      mode: string;
      log?: string;
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
  describe('with the real Claude Code CLI, sandboxed', () => {
    const CLAUDE_VERSION = pinnedVersion('@anthropic-ai/claude-code');
    const FAKE_API_KEY = `sk-ant-api03-${'e2e0verify0repair0key'.repeat(4)}`;
    const USAGE = { inputTokens: 1_000, outputTokens: 50 };
    const CLAUDE_PAGES = ['orders', 'reports'];
    let server: ScriptedModelServer | undefined;
    let prefix: string | undefined;
    let claude: TestWorkspace;
    /** The settings page's source files, workspace-relative, read once the workspace is ready. */
    let settingsFiles: string[] = [];
    /** Where each scripted session is: its page's model requests so far, in the session and in the repair. */
    const steps = new Map<string, number>();

    const capitalized = (page: string) => page[0].toUpperCase() + page.slice(1);
    const pageOf = (text: string) => CLAUDE_PAGES.find((page) => text.includes(`# Your assignment: @shop/feature-${page} (`));

    /** Writes of the page's library, copied from the settings page for its subject (as the command agent does). */
    const pageWrites = (worktree: string, page: string): ScriptedToolCall[] =>
      settingsFiles.map((file) => ({
        name: 'Write',
        input: {
          file_path: join(worktree, file.replace(/settings/g, page)),
          content: readFileSync(claude.path(file), 'utf-8')
            .replace(/settings/g, page)
            .replace(/Settings/g, capitalized(page)),
        },
      }));

    /**
     * The model: in the session, reads the app's page list, writes its page and registers it at
     * '/new' (where the other session registers its own); told the whole failed, reads the list
     * again and moves its page to a path of its own.
     */
    const script: Script = (turn) => {
      const page = pageOf(turn.text);
      if (!page) return { text: 'Nothing to do.', usage: { inputTokens: 1, outputTokens: 1 } };
      const worktree = /Primary working directory: (.+)/.exec(turn.text)?.[1]?.trim();
      if (!worktree) throw new Error('the request names no primary working directory');
      const list = join(worktree, APP_PAGES);
      const Page = capitalized(page);
      const repairing = turn.text.includes(WHOLE_FEEDBACK);
      const key = `${page}${repairing ? ':repair' : ''}`;
      const step = steps.get(key) ?? 0;
      steps.set(key, step + 1);
      if (turn.toolResults.some((result) => result.isError)) {
        return { text: `A tool failed: ${turn.toolResults.find((result) => result.isError)?.output}`, usage: USAGE };
      }
      if (step === 0)
        return { text: `Reading the app's page list.`, toolCalls: [{ name: 'Read', input: { file_path: list } }], usage: USAGE };
      if (repairing && step === 1) {
        return {
          text: `Giving the ${page} page a path of its own.`,
          toolCalls: [
            {
              name: 'Edit',
              input: {
                file_path: list,
                old_string: `{ path: '/new', title: '${Page}'`,
                new_string: `{ path: '/${page}', title: '${Page}'`,
              },
            },
          ],
          usage: USAGE,
        };
      }
      if (!repairing && step === 1) {
        return {
          text: `Writing the ${page} page, registered in the app.`,
          toolCalls: [
            ...pageWrites(worktree, page),
            {
              name: 'Edit',
              input: {
                file_path: list,
                old_string: "import { SettingsPage } from '@shop/feature-settings';\n",
                new_string: `import { SettingsPage } from '@shop/feature-settings';\nimport { ${Page}Page } from '@shop/feature-${page}';\n`,
              },
            },
          ],
          usage: USAGE,
        };
      }
      if (!repairing && step === 2) {
        return {
          text: `Registering the ${page} page.`,
          toolCalls: [
            {
              name: 'Edit',
              input: {
                file_path: list,
                old_string: '];',
                new_string: `  { path: '/new', title: '${Page}', element: <${Page}Page /> },\n];`,
              },
            },
          ],
          usage: USAGE,
        };
      }
      return { text: repairing ? `Moved the ${page} page to /${page}.` : `Added the ${page} page.`, usage: USAGE };
    };

    beforeAll(async () => {
      server = await startScriptedModelServer(script);
      prefix = cliPrefix();
      const bin = await installCli(prefix, '@anthropic-ai/claude-code', CLAUDE_VERSION);
      claude = new TestWorkspace(
        ws.root,
        agentRunEnv(ws.env, bin, claudeCodeEnv(server.url, FAKE_API_KEY, join(ws.root, '..', 'verify-repair-claude-config'))),
      );
      const walk = (dir: string): string[] =>
        readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
          entry.isDirectory() ? walk(join(dir, entry.name)) : [relative(ws.root, join(dir, entry.name))],
        );
      settingsFiles = walk(ws.path('libs/feature-settings/src'));
      // The command agent's pages are the user's now, and no longer tasks.
      for (const page of PAGES) rmSync(claude.path(`libs/feature-${page}/fanout.md`));
      await claude.commitEverything('shop: the pages the command agent made');
      await claude.nx(
        ['g', 'fanout:task', CLAUDE_PAGES.join(','), `--like=${SETTINGS}`, `--wire=${APP_PAGES}`, '--agent=claude', '--no-interactive'],
        INSTALLING,
      );
      await claude.commitEverything('shop: two pages for Claude Code');
    }, 2 * INSTALLING);

    afterAll(async () => {
      killRunningCommands();
      await server?.stop();
      if (prefix) rmSync(prefix, { recursive: true, force: true });
    });

    it(
      "resumes the blamed session's own conversation in the sandbox, which fixes its page; the repair lands and the run ends green",
      async () => {
        const projects = CLAUDE_PAGES.map((page) => `@shop/feature-${page}`);
        const run = await claude.nxFailing(['run-many', '-t', 'fanout', 'fanout-verify', '--outputStyle=static'], 3 * INSTALLING);
        expect(run.output).toMatch(/@shop\/shop:test: blamed on @shop\/feature-(orders|reports)/);
        expect(run.status).toBe(0);

        const listed = claude.readFile(APP_PAGES);
        expect(listed).toContain("{ path: '/new', title: '");
        const paths = [...listed.matchAll(/path: '([^']+)'/g)].map((match) => match[1]);
        expect(new Set(paths).size).toBe(paths.length);
        const results = projects.map((project) =>
          claude.readJson<Recorded & { sandbox?: { on: boolean } }>(`.fanout/sessions/${project}/result.json`),
        );
        for (const result of results) expect(result.sandbox?.on).toBe(true);
        const record = results.flatMap((result) => result.verifyRepairs ?? [])[0];
        expect(record).toMatchObject({ task: '@shop/shop:test', verdict: 'repaired' });
        const landed = record.repairs.filter((repair) => repair.outcome === 'landed');
        expect(landed).toHaveLength(1);
        // Its own conversation, resumed: the repair's requests carry the session's earlier turns.
        expect(landed[0]).toMatchObject({ mode: 'resumed', files: [{ path: APP_PAGES }] });
        const page = landed[0].session.replace('@shop/feature-', '');
        const repairRequests = (server?.requests ?? []).filter((request) => request.turn?.text.includes(WHOLE_FEEDBACK));
        expect(repairRequests.length).toBeGreaterThanOrEqual(3);
        expect(repairRequests[0].turn?.text).toContain(`Writing the ${page} page, registered in the app.`);
        expect(listed).toContain(`{ path: '/${page}', title: '${capitalized(page)}'`);
        // The session's conversation was kept only until fanout-verify was done with it.
        for (const result of results) {
          const kept = (result as { sandbox?: { keptState?: string } }).sandbox?.keptState;
          if (kept) expect(() => readdirSync(kept)).toThrow();
        }
      },
      3 * INSTALLING,
    );
  });
});

import { getProjects, logger, readNxJson, type CreateNodesContextV2, type Tree } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { execFileSync } from 'child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { minimatch } from 'minimatch';
import { tmpdir } from 'os';
import { delimiter, dirname, join, relative } from 'path';
import { parse } from 'yaml';
import { createNodesV2 } from '../../plugin';
import { pendingChanges } from '../../testing/compile-tree';
import { ciGenerator } from './ci';
import type { CiGeneratorSchema } from './schema';

// The Tree is the workspace: Nx's generators get an empty graph, not this repository's (see devkitForTrees).
jest.mock('@nx/devkit', () => require('../../testing/tree-project-graph').devkitForTrees());

const WORKFLOW = '.github/workflows/fanout.yml';
const NPM_LOCK = { 'package-lock.json': '{ "lockfileVersion": 3 }\n' };

interface Step {
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Record<string, unknown>;
  env?: Record<string, string>;
}

interface Workflow {
  name: string;
  on: Record<string, unknown>;
  permissions: Record<string, string>;
  env?: unknown;
  jobs: { main: { 'runs-on': string; env?: unknown; steps: Step[] } };
}

/** A workspace as create-nx-workspace's TypeScript preset leaves it: Nx's plugins infer lint, test, build. */
function workspace(files: Record<string, string> = NPM_LOCK, manifest: Record<string, unknown> = {}): Tree {
  const tree = createTreeWithEmptyWorkspace({ formatter: 'none' });
  tree.write('package.json', JSON.stringify({ name: '@proj/source', devDependencies: { nx: '23.2.1', '@nx/js': '23.2.1' }, ...manifest }));
  tree.write(
    'nx.json',
    JSON.stringify({
      plugins: [
        { plugin: '@nx/js/typescript', options: { typecheck: { targetName: 'typecheck' }, build: { targetName: 'build' } } },
        { plugin: '@nx/eslint/plugin', options: { targetName: 'lint' } },
        { plugin: '@nx/jest/plugin', options: { targetName: 'test' } },
      ],
    }),
  );
  for (const [path, content] of Object.entries(files)) tree.write(path, content);
  return tree;
}

function readWorkflow(tree: Tree, path = WORKFLOW): Workflow {
  const source = tree.read(path, 'utf-8');
  if (source === null) throw new Error(`${path} was not written`);
  return parse(source);
}

const steps = (workflow: Workflow) => workflow.jobs.main.steps;
const stepUsing = (workflow: Workflow, action: string) => steps(workflow).find((step) => step.uses?.split('@')[0] === action);
const isNxStep = (step: Step) => /(^| )nx affected /.test(step.run ?? '');
const nxSteps = (workflow: Workflow) => steps(workflow).filter(isNxStep);
const nxRuns = (workflow: Workflow) => nxSteps(workflow).map((step) => step.run);
const indexOf = (workflow: Workflow, step: Step | undefined) => (step ? steps(workflow).indexOf(step) : -1);
/** The targets an `nx affected -t` line runs: the words after -t, up to the first flag. */
function targetsOf(step: Step): string[] {
  const words = (step.run ?? '').split(' ');
  const flag = words.indexOf('-t');
  if (flag < 0) return [];
  const rest = words.slice(flag + 1);
  const end = rest.findIndex((word) => word.startsWith('-'));
  return end < 0 ? rest : rest.slice(0, end);
}
const stepRunning = (workflow: Workflow, target: string) => nxSteps(workflow).find((step) => targetsOf(step).includes(target));

const CACHE_ENV = {
  NX_SELF_HOSTED_REMOTE_CACHE_SERVER: '${{ secrets.NX_SELF_HOSTED_REMOTE_CACHE_SERVER }}',
  NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN:
    "${{ github.event_name == 'pull_request' && secrets.NX_SELF_HOSTED_REMOTE_CACHE_READ_ONLY_TOKEN || secrets.NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN }}",
};
const AGENT_ENV = {
  ANTHROPIC_API_KEY: '${{ secrets.ANTHROPIC_API_KEY }}',
  OPENAI_API_KEY: '${{ secrets.OPENAI_API_KEY }}',
  GEMINI_API_KEY: '${{ secrets.GEMINI_API_KEY }}',
};

/** What the fake Nx of the workflow simulation records. */
interface SimulatedEvent {
  kind: 'sessions' | 'verify' | 'check';
  target: string;
  sawIntegrated: boolean;
  agentKeys: string[];
}

/** The fake package manager and Nx of the workflow simulation (see simulate below). */
const FAKE_TOOL = `#!/usr/bin/env node
const { appendFileSync, existsSync, writeFileSync } = require('fs');
const { basename } = require('path');
const env = process.env;
const record = (entry) => appendFileSync(env.FAKE_LOG, JSON.stringify(entry) + '\\n');
const call = [basename(process.argv[1]), ...process.argv.slice(2)];
const agentKeys = env.FAKE_AGENT_KEYS.split(',').filter((name) => env[name]);
record({ call });
const nx = call.indexOf('nx');
if (nx < 0 || call[nx + 1] !== 'affected' || call[nx + 2] !== '-t') process.exit(0);
const words = call.slice(nx + 3);
const end = words.findIndex((word) => word.startsWith('-'));
const targets = end < 0 ? words : words.slice(0, end);
const integrate = () => {
  if (existsSync('integrated')) return;
  writeFileSync('integrated', '');
  record({ kind: 'sessions', target: env.FAKE_SESSION_TARGET, sawIntegrated: true, agentKeys });
};
for (const target of [...targets].reverse()) {
  if (target === env.FAKE_SESSION_TARGET) integrate();
  else if (target === env.FAKE_VERIFY_TARGET) {
    integrate();
    record({ kind: 'verify', target, sawIntegrated: true, agentKeys });
  } else record({ kind: 'check', target, sawIntegrated: existsSync('integrated'), agentKeys });
}
`;

/**
 * The targets the fanout plugin really infers: its createNodes, run over a
 * scratch workspace holding a task project, on every file its glob matches.
 */
async function fanoutInferredTargets(options: Record<string, unknown>): Promise<string[]> {
  const root = mkdtempSync(join(tmpdir(), 'fanout-ci-'));
  try {
    const files: Record<string, string> = {
      'nx.json': JSON.stringify({ plugins: [{ plugin: 'fanout', options }] }),
      'package.json': JSON.stringify({ name: '@proj/source', devDependencies: { nx: '23.2.1' } }),
      'AGENTS.md': '# Conventions\n',
      'libs/orders/fanout.md': '---\nlike: users\ncontracts: contracts\n---\n\nBuild the orders API.\n',
      'libs/orders/project.json': JSON.stringify({ name: 'orders' }),
    };
    for (const [path, content] of Object.entries(files)) {
      mkdirSync(dirname(join(root, path)), { recursive: true });
      writeFileSync(join(root, path), content);
    }
    const all = readdirSync(root, { recursive: true, withFileTypes: true })
      .filter((entry) => entry.isFile())
      .map((entry) => relative(root, join(entry.parentPath, entry.name)));
    const [glob, createNodes] = createNodesV2;
    const context: CreateNodesContextV2 = { nxJsonConfiguration: JSON.parse(files['nx.json']), workspaceRoot: root };
    const results = await createNodes(
      all.filter((file) => minimatch(file, glob, { dot: true })),
      options,
      context,
    );
    return results.flatMap(([, result]) => Object.values(result.projects ?? {}).flatMap((project) => Object.keys(project.targets ?? {})));
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}

/** Target names Nx's own plugins infer, read from their options the way each plugin reads them. */
type PluginOptions = Record<string, { targetName?: string } | string | undefined>;
const NX_PLUGIN_TARGETS: Record<string, (options: PluginOptions) => unknown[]> = {
  '@nx/js/typescript': (options) => [
    (options['typecheck'] as { targetName?: string })?.targetName,
    (options['build'] as { targetName?: string })?.targetName,
  ],
  '@nx/eslint/plugin': (options) => [options['targetName']],
  '@nx/jest/plugin': (options) => [options['targetName']],
};

/**
 * Every target the workspace has: inferred by a plugin registered in nx.json,
 * or declared in targetDefaults or a project's configuration.
 */
async function workspaceTargets(tree: Tree): Promise<Set<string>> {
  const nxJson = readNxJson(tree) ?? {};
  const targets = new Set(Object.keys(nxJson.targetDefaults ?? {}));
  for (const [, project] of getProjects(tree)) Object.keys(project.targets ?? {}).forEach((target) => targets.add(target));
  for (const entry of nxJson.plugins ?? []) {
    const plugin = typeof entry === 'string' ? entry : entry.plugin;
    const options = (typeof entry === 'string' ? {} : (entry.options ?? {})) as Record<string, unknown>;
    const inferred = plugin === 'fanout' ? await fanoutInferredTargets(options) : NX_PLUGIN_TARGETS[plugin]?.(options as PluginOptions);
    if (!inferred) throw new Error(`This test does not know which targets the plugin ${plugin} infers.`);
    inferred.forEach((target) => typeof target === 'string' && targets.add(target));
  }
  return targets;
}

describe('ci generator', () => {
  beforeEach(() => {
    jest.spyOn(logger, 'info').mockImplementation(() => undefined);
    jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
  });
  afterEach(() => jest.restoreAllMocks());

  describe('with npm and the defaults', () => {
    let tree: Tree;
    let workflow: Workflow;

    beforeEach(async () => {
      tree = workspace();
      await ciGenerator(tree, {});
      workflow = readWorkflow(tree);
    });

    it('runs on pushes to the main branch and on pull requests, with the permissions nx-set-shas needs', () => {
      expect(workflow.name).toBe('fanout');
      expect(workflow.on).toEqual({ push: { branches: ['main'] }, pull_request: null });
      expect(workflow.permissions).toEqual({ actions: 'read', contents: 'read' });
      expect(workflow.jobs.main['runs-on']).toBe('ubuntu-latest');
    });

    it('checks out the whole history, sets up Node 20 with the npm cache, installs, then sets the affected base and head', () => {
      const checkout = stepUsing(workflow, 'actions/checkout');
      const setupNode = stepUsing(workflow, 'actions/setup-node');
      const install = steps(workflow).find((step) => step.run === 'npm ci');
      const setShas = stepUsing(workflow, 'nrwl/nx-set-shas');
      expect(checkout?.with).toEqual({ 'fetch-depth': 0 });
      expect(setupNode?.with).toEqual({ 'node-version': '20', cache: 'npm' });
      expect(setShas?.with).toEqual({ 'main-branch-name': 'main' });
      const order = [checkout, setupNode, install, setShas, nxSteps(workflow)[0]].map((step) => indexOf(workflow, step));
      expect(order.every((index) => index >= 0)).toBe(true);
      expect([...order].sort((a, b) => a - b)).toEqual(order);
    });

    it('runs the sessions, fanout-verify (which leaves the checks to the next step) and the checks, one nx affected step each', () => {
      expect(nxRuns(workflow)).toEqual([
        'npx nx affected -t fanout',
        'npx nx affected -t fanout-verify --skipAffected',
        'npx nx affected -t lint test typecheck build',
      ]);
    });

    it("passes fanout-verify only an option its executor declares, the one that skips verify's own nx affected", () => {
      const schema = JSON.parse(readFileSync(join(__dirname, '../../executors/verify/schema.json'), 'utf-8')) as {
        properties: Record<string, { type: string }>;
      };
      const flags = (stepRunning(workflow, 'fanout-verify')?.run ?? '').split(' ').filter((word) => word.startsWith('--'));
      expect(flags).toEqual(['--skipAffected']);
      expect(schema.properties['skipAffected']?.type).toBe('boolean');
    });

    it('gives the remote cache settings to every nx step, and the agent keys only to the steps that can run an agent', () => {
      const [sessions, verify, checks] = nxSteps(workflow);
      expect(sessions.env).toEqual({ ...CACHE_ENV, ...AGENT_ENV });
      // fanout-verify depends on every task's session: one that no earlier step ran and no cache holds runs there.
      expect(verify.env).toEqual({ ...CACHE_ENV, ...AGENT_ENV });
      expect(checks.env).toEqual(CACHE_ENV);
      expect(workflow.env).toBeUndefined();
      expect(workflow.jobs.main.env).toBeUndefined();
      expect(steps(workflow).filter((step) => step.env !== undefined)).toEqual(nxSteps(workflow));
    });

    it('uploads .fanout/report.* as an artifact, even when a step before failed', () => {
      const upload = stepUsing(workflow, 'actions/upload-artifact');
      expect(upload?.if).toBe('always()');
      expect(upload?.with).toMatchObject({ path: '.fanout/report.*', 'include-hidden-files': true });
      expect(indexOf(workflow, upload)).toBe(steps(workflow).length - 1);
    });

    it('runs only commands the workspace has: its package manager, its own nx, and targets Nx gives its projects', async () => {
      const commands = steps(workflow).flatMap((step) => (step.run ? [step.run] : []));
      // Plain words only: nothing a shell would expand or chain.
      for (const command of commands) expect(command).toMatch(/^[\w@./:=* -]+$/);
      expect(commands).toHaveLength(4);

      const [install, ...affected] = commands.map((command) => command.split(' '));
      expect(install).toEqual(['npm', 'ci']);
      expect(tree.exists('package-lock.json')).toBe(true);

      expect(JSON.parse(tree.read('package.json', 'utf-8') ?? '{}').devDependencies.nx).toBeDefined();
      const available = await workspaceTargets(tree);
      for (const [exec, nx, subcommand, flag] of affected) expect([exec, nx, subcommand, flag]).toEqual(['npx', 'nx', 'affected', '-t']);
      const targets = nxSteps(workflow).flatMap(targetsOf);
      expect(targets).toEqual(['fanout', 'fanout-verify', 'lint', 'test', 'typecheck', 'build']);
      expect(targets.filter((target) => !available.has(target))).toEqual([]);
      expect(logger.warn).not.toHaveBeenCalled();
    });

    it('registers the fanout plugin, whose targets the workflow runs', () => {
      const plugins = readNxJson(tree)?.plugins ?? [];
      expect(plugins.some((entry) => (typeof entry === 'string' ? entry : entry.plugin) === 'fanout')).toBe(true);
    });

    it('changes nothing when run again', async () => {
      const before = pendingChanges(tree);
      await ciGenerator(tree, {});
      expect(pendingChanges(tree)).toEqual(before);
    });

    it('leaves a reformatted or commented copy of the same workflow as it is', async () => {
      const edited = `# ours\n${(tree.read(WORKFLOW, 'utf-8') ?? '').replace('node-version: "20"', "node-version: '20'")}`;
      tree.write(WORKFLOW, edited);
      await ciGenerator(tree, {});
      expect(tree.read(WORKFLOW, 'utf-8')).toBe(edited);
    });
  });

  describe('the order of the steps: every session is integrated before any check runs', () => {
    /** A workspace whose fanout target is renamed, and --targets listing the checks before the fanout targets. */
    async function renamedWorkflow(): Promise<Workflow> {
      const tree = workspace();
      tree.write('nx.json', JSON.stringify({ ...readNxJson(tree), plugins: [{ plugin: 'fanout', options: { targetName: 'agents' } }] }));
      await ciGenerator(tree, { targets: 'test,lint,agents,fanout-verify,build' });
      return readWorkflow(tree);
    }

    async function defaultWorkflow(): Promise<Workflow> {
      const tree = workspace();
      await ciGenerator(tree, {});
      return readWorkflow(tree);
    }

    const cases: [string, () => Promise<Workflow>, { sessions: string; checks: string[] }][] = [
      ['with the defaults', defaultWorkflow, { sessions: 'fanout', checks: ['lint', 'test', 'typecheck', 'build'] }],
      ['with a renamed target and the checks listed first', renamedWorkflow, { sessions: 'agents', checks: ['test', 'lint', 'build'] }],
    ];

    it.each(cases)(
      '%s: the step running the sessions comes before every step running a check, and no step mixes them',
      async (_, make, names) => {
        const workflow = await make();
        const sessions = stepRunning(workflow, names.sessions);
        const verify = stepRunning(workflow, 'fanout-verify');
        expect(sessions).toBeDefined();
        expect(targetsOf(sessions ?? {})).toEqual([names.sessions]);
        expect(targetsOf(verify ?? {})).toEqual(['fanout-verify']);
        expect(indexOf(workflow, verify)).toBeGreaterThan(indexOf(workflow, sessions));
        for (const check of names.checks) {
          const step = stepRunning(workflow, check);
          expect(indexOf(workflow, step)).toBeGreaterThan(indexOf(workflow, verify));
        }
        for (const step of nxSteps(workflow)) {
          const targets = targetsOf(step);
          const fanoutTargets = targets.filter((target) => target === names.sessions || target === 'fanout-verify');
          expect(fanoutTargets.length === 0 || targets.length === 1).toBe(true);
        }
        // A step runs only when the ones before it succeeded: no nx step may run regardless.
        for (const step of nxSteps(workflow)) expect(step.if).toBeUndefined();
      },
    );

    /**
     * Runs the workflow's `run:` lines in order, as GitHub does (a failing one stops
     * the job), in a scratch folder, with fake package manager and Nx binaries first
     * on the PATH. The fake Nx plays the one part that matters here: it runs the
     * targets of one command in an order of its own (the last listed first, which Nx
     * may do), the session target integrates files into the workspace, fanout-verify
     * runs the sessions first (its dependsOn), and every other target is a check that
     * records whether the integrated files were there and which agent keys it was given.
     */
    function simulate(workflow: Workflow, targets: { sessions: string; verify: string }): { calls: string[]; events: SimulatedEvent[] } {
      const root = mkdtempSync(join(tmpdir(), 'fanout-ci-run-'));
      try {
        const bin = join(root, 'bin');
        const work = join(root, 'work');
        mkdirSync(bin);
        mkdirSync(work);
        const log = join(root, 'calls.jsonl');
        for (const name of ['npm', 'npx', 'pnpm', 'yarn', 'bun', 'corepack']) {
          writeFileSync(join(bin, name), FAKE_TOOL);
          chmodSync(join(bin, name), 0o755);
        }
        const agentKeys = Object.keys(AGENT_ENV);
        for (const step of steps(workflow)) {
          if (!step.run) continue;
          const [program, ...args] = step.run.split(' ');
          // GitHub puts each secret's value in its expression's place.
          const secrets = Object.fromEntries(Object.entries(step.env ?? {}).map(([name]) => [name, `value of ${name}`]));
          execFileSync(program, args, {
            cwd: work,
            stdio: 'ignore',
            env: {
              PATH: [bin, dirname(process.execPath), process.env['PATH'] ?? ''].join(delimiter),
              ...secrets,
              FAKE_LOG: log,
              FAKE_AGENT_KEYS: agentKeys.join(','),
              FAKE_SESSION_TARGET: targets.sessions,
              FAKE_VERIFY_TARGET: targets.verify,
            },
          });
        }
        const lines = existsSync(log) ? readFileSync(log, 'utf-8').trim().split('\n') : [];
        const records = lines.map((line) => JSON.parse(line) as { call?: string[] } & SimulatedEvent);
        return {
          calls: records.flatMap((record) => (record.call ? [record.call.join(' ')] : [])),
          events: records.filter((record) => record.call === undefined),
        };
      } finally {
        rmSync(root, { recursive: true, force: true });
      }
    }

    it.each(cases)('%s: run in order, the checks see every session integrated, and no agent key', async (_, make, names) => {
      const workflow = await make();
      const { calls, events } = simulate(workflow, { sessions: names.sessions, verify: 'fanout-verify' });
      expect(calls[0]).toBe('npm ci');
      const sessionsCall = calls.findIndex((call) => call === `npx nx affected -t ${names.sessions}`);
      const checksCall = calls.findIndex((call) => names.checks.some((check) => call.split(' ').includes(check)));
      expect(sessionsCall).toBeGreaterThan(0);
      expect(checksCall).toBeGreaterThan(sessionsCall);

      const integrated = events.findIndex((event) => event.kind === 'sessions');
      const checks = events.filter((event) => event.kind === 'check');
      expect(checks.map((event) => event.target).sort()).toEqual([...names.checks].sort());
      expect(integrated).toBeGreaterThanOrEqual(0);
      expect(events.findIndex((event) => event.kind === 'check')).toBeGreaterThan(integrated);
      for (const check of checks) expect(check).toMatchObject({ sawIntegrated: true, agentKeys: [] });
      expect(events[integrated].agentKeys).toEqual(Object.keys(AGENT_ENV));
    });

    it('catches the one-step workflow: there, Nx may run a check before the sessions integrate', () => {
      const oneStep: Workflow = {
        name: 'one step',
        on: {},
        permissions: {},
        jobs: { main: { 'runs-on': 'ubuntu-latest', steps: [{ run: 'npx nx affected -t fanout fanout-verify lint test build' }] } },
      };
      const { events } = simulate(oneStep, { sessions: 'fanout', verify: 'fanout-verify' });
      const checks = events.filter((event) => event.kind === 'check');
      expect(checks.map((event) => event.target)).toEqual(['build', 'test', 'lint']);
      expect(checks.every((event) => event.sawIntegrated)).toBe(false);
    });
  });

  describe('package managers, from the lock file', () => {
    it.each<
      [string, Record<string, string>, Record<string, unknown>, { setup?: string; cache?: string; install: string; affected: string }]
    >([
      [
        'pnpm',
        { 'pnpm-lock.yaml': "lockfileVersion: '9.0'\n" },
        { packageManager: 'pnpm@9.15.0' },
        { setup: 'pnpm/action-setup', cache: 'pnpm', install: 'pnpm install --frozen-lockfile', affected: 'pnpm exec nx affected' },
      ],
      [
        'Yarn 1',
        { 'yarn.lock': '# THIS IS AN AUTOGENERATED FILE.\n# yarn lockfile v1\n' },
        {},
        { cache: 'yarn', install: 'yarn install --frozen-lockfile', affected: 'yarn nx affected' },
      ],
      [
        'Yarn 4',
        { 'yarn.lock': '__metadata:\n  version: 8\n' },
        { packageManager: 'yarn@4.5.0' },
        { setup: 'corepack enable', cache: 'yarn', install: 'yarn install --immutable', affected: 'yarn nx affected' },
      ],
      [
        'Bun',
        { 'bun.lock': '{ "lockfileVersion": 1 }\n' },
        {},
        { setup: 'oven-sh/setup-bun', install: 'bun install --frozen-lockfile', affected: 'bun nx affected' },
      ],
    ])('%s', async (_, files, manifest, expected) => {
      const tree = workspace(files, manifest);
      await ciGenerator(tree, {});
      const workflow = readWorkflow(tree);
      const setupNode = stepUsing(workflow, 'actions/setup-node');
      expect(setupNode?.with?.['cache']).toBe(expected.cache);
      const install = steps(workflow).find((step) => step.run === expected.install);
      expect(indexOf(workflow, install)).toBeGreaterThan(indexOf(workflow, setupNode));
      expect(nxRuns(workflow)).toEqual([
        `${expected.affected} -t fanout`,
        `${expected.affected} -t fanout-verify --skipAffected`,
        `${expected.affected} -t lint test typecheck build`,
      ]);
      if (expected.setup) {
        // The package manager must be on the runner before setup-node asks it for its cache folder.
        const setup = steps(workflow).find((step) => step.uses?.startsWith(`${expected.setup}@`) || step.run === expected.setup);
        expect(indexOf(workflow, setup)).toBeGreaterThan(0);
        expect(indexOf(workflow, setup)).toBeLessThan(indexOf(workflow, setupNode));
      } else {
        expect(indexOf(workflow, setupNode)).toBe(1);
      }
    });

    it('takes --packageManager to choose between several lock files', async () => {
      const tree = workspace({ ...NPM_LOCK, 'yarn.lock': '# yarn lockfile v1\n' });
      await ciGenerator(tree, { packageManager: 'yarn' });
      expect(steps(readWorkflow(tree)).some((step) => step.run === 'yarn install --frozen-lockfile')).toBe(true);
    });
  });

  describe('remote cache', () => {
    it('nx-cloud: the Nx Cloud token, and no self-hosted settings', async () => {
      const tree = workspace();
      await ciGenerator(tree, { remoteCache: 'nx-cloud', secrets: 'ANTHROPIC_API_KEY' });
      const workflow = readWorkflow(tree);
      expect(stepRunning(workflow, 'fanout')?.env).toEqual({
        NX_CLOUD_ACCESS_TOKEN: '${{ secrets.NX_CLOUD_ACCESS_TOKEN }}',
        ANTHROPIC_API_KEY: '${{ secrets.ANTHROPIC_API_KEY }}',
      });
      expect(stepRunning(workflow, 'lint')?.env).toEqual({ NX_CLOUD_ACCESS_TOKEN: '${{ secrets.NX_CLOUD_ACCESS_TOKEN }}' });
    });

    it('none: the agent keys only', async () => {
      const tree = workspace();
      await ciGenerator(tree, { remoteCache: 'none', secrets: 'OPENAI_API_KEY' });
      const workflow = readWorkflow(tree);
      expect(stepRunning(workflow, 'fanout')?.env).toEqual({ OPENAI_API_KEY: '${{ secrets.OPENAI_API_KEY }}' });
      expect(stepRunning(workflow, 'lint')?.env).toBeUndefined();
    });

    it('none and no secrets: no environment at all', async () => {
      const tree = workspace();
      await ciGenerator(tree, { remoteCache: 'none', secrets: '' });
      expect(nxSteps(readWorkflow(tree)).map((step) => step.env)).toEqual([undefined, undefined, undefined]);
    });

    it('defaults to Nx Cloud in a workspace nx.json connects to it', async () => {
      const tree = workspace();
      tree.write('nx.json', JSON.stringify({ ...readNxJson(tree), nxCloudId: 'abc123' }));
      await ciGenerator(tree, {});
      for (const step of nxSteps(readWorkflow(tree))) expect(Object.keys(step.env ?? {})).toContain('NX_CLOUD_ACCESS_TOKEN');
    });
  });

  describe('options', () => {
    it('names the workflow and its file, and takes the targets, Node version and main branch given', async () => {
      const tree = workspace();
      await ciGenerator(tree, { name: 'agents', targets: 'fanout, test,fanout', nodeVersion: '22', mainBranch: 'develop' });
      const workflow = readWorkflow(tree, '.github/workflows/agents.yml');
      expect(tree.exists(WORKFLOW)).toBe(false);
      expect(workflow.name).toBe('agents');
      expect(nxRuns(workflow)).toEqual(['npx nx affected -t fanout', 'npx nx affected -t test']);
      expect(stepUsing(workflow, 'actions/setup-node')?.with?.['node-version']).toBe('22');
      expect(workflow.on['push']).toEqual({ branches: ['develop'] });
      expect(stepUsing(workflow, 'nrwl/nx-set-shas')?.with).toEqual({ 'main-branch-name': 'develop' });
    });

    it("follows nx.json's defaultBase and the fanout plugin's target name", async () => {
      const tree = workspace();
      tree.write(
        'nx.json',
        JSON.stringify({
          ...readNxJson(tree),
          defaultBase: 'origin/trunk',
          plugins: [{ plugin: 'fanout', options: { targetName: 'agents' } }],
        }),
      );
      await ciGenerator(tree, {});
      const workflow = readWorkflow(tree);
      expect(workflow.on['push']).toEqual({ branches: ['trunk'] });
      expect(nxRuns(workflow)).toEqual([
        'npx nx affected -t agents',
        'npx nx affected -t fanout-verify --skipAffected',
        'npx nx affected -t lint test typecheck build',
      ]);
    });

    it('warns about a target no project, target default or plugin option names', async () => {
      const tree = workspace();
      await ciGenerator(tree, { targets: 'fanout,e2e' });
      expect(logger.warn).toHaveBeenCalledTimes(1);
      expect(jest.mocked(logger.warn).mock.calls[0][0]).toContain('target(s) e2e;');
    });
  });

  describe('an existing workflow', () => {
    it('is not replaced without --force: a clear error and nothing written', async () => {
      const tree = workspace();
      tree.write(WORKFLOW, 'name: ours\non: push\njobs: {}\n');
      const before = pendingChanges(tree);
      await expect(ciGenerator(tree, {})).rejects.toThrow(
        `${WORKFLOW} already exists and differs from the workflow fanout:ci would write. Run again with --force to replace it`,
      );
      expect(pendingChanges(tree)).toEqual(before);
    });

    it('is replaced with --force', async () => {
      const tree = workspace();
      tree.write(WORKFLOW, 'name: ours\non: push\njobs: {}\n');
      await ciGenerator(tree, { force: true });
      expect(nxRuns(readWorkflow(tree))).toEqual([
        'npx nx affected -t fanout',
        'npx nx affected -t fanout-verify --skipAffected',
        'npx nx affected -t lint test typecheck build',
      ]);
    });

    it('made with other options counts as different', async () => {
      const tree = workspace();
      await ciGenerator(tree, {});
      await expect(ciGenerator(tree, { remoteCache: 'none' })).rejects.toThrow('already exists and differs');
    });
  });

  describe('bad input: a clear error and nothing written', () => {
    it.each<[string, CiGeneratorSchema, string]>([
      ['an empty --targets', { targets: ' , ' }, '--targets is empty'],
      ['a target with shell syntax', { targets: 'lint;curl' }, 'The target "lint;curl" (--targets) is not a target name'],
      ['a name that is a path', { name: '../x' }, 'The workflow name "../x" (--name) is not a plain file name'],
      ['an unknown remote cache', { remoteCache: 's3' as CiGeneratorSchema['remoteCache'] }, 'Unknown remote cache "s3" (--remoteCache)'],
      ['a secret GitHub reserves', { secrets: 'GITHUB_TOKEN' }, '"GITHUB_TOKEN" (--secrets) is not a GitHub secret name'],
      ['a secret with a dash', { secrets: 'MY-KEY' }, '"MY-KEY" (--secrets) is not a GitHub secret name'],
      ['a remote cache setting as a secret', { secrets: 'NX_CLOUD_ACCESS_TOKEN' }, 'is a remote cache setting'],
      ['an old Node.js', { nodeVersion: '18' }, 'fanout needs Node.js 20.19 or newer'],
      ['an early Node.js 20', { nodeVersion: '20.10' }, 'fanout needs Node.js 20.19 or newer'],
      ['a Node.js version setup-node cannot read', { nodeVersion: 'twenty' }, 'is not one setup-node understands'],
      ['an unknown package manager', { packageManager: 'pip' as CiGeneratorSchema['packageManager'] }, 'Unknown package manager "pip"'],
      ['a package manager without its lock file', { packageManager: 'pnpm' }, '--packageManager=pnpm, but there is no pnpm-lock.yaml'],
      ['a bad branch', { mainBranch: 'a..b' }, '"a..b" is not a branch name'],
    ])('%s', async (_, options, message) => {
      const tree = workspace();
      const before = pendingChanges(tree);
      await expect(ciGenerator(tree, options)).rejects.toThrow(message);
      expect(pendingChanges(tree)).toEqual(before);
    });

    it.each<[string, Record<string, string>, Record<string, unknown>, string]>([
      ['no lock file', {}, {}, 'There is no lock file at the workspace root'],
      [
        'several lock files',
        { ...NPM_LOCK, 'yarn.lock': '# yarn lockfile v1\n' },
        {},
        'There are several lock files at the workspace root (package-lock.json, yarn.lock). Choose the package manager CI uses with --packageManager=npm|yarn',
      ],
      ['pnpm without a pinned version', { 'pnpm-lock.yaml': "lockfileVersion: '9.0'\n" }, {}, 'cannot tell which pnpm to install'],
      ['Yarn 4 without a pinned version', { 'yarn.lock': '__metadata:\n  version: 8\n' }, {}, 'cannot tell which Yarn to use'],
      [
        'a packageManager field that contradicts the lock file',
        NPM_LOCK,
        { packageManager: 'yarn@4.5.0' },
        `package.json's "packageManager" is "yarn@4.5.0", but CI would install with npm`,
      ],
      ['nx missing from package.json', NPM_LOCK, { devDependencies: {} }, 'but nx is not a dependency in package.json'],
    ])('%s', async (_, files, manifest, message) => {
      const tree = workspace(files, manifest);
      const before = pendingChanges(tree);
      await expect(ciGenerator(tree, {})).rejects.toThrow(message);
      expect(pendingChanges(tree)).toEqual(before);
    });
  });
});

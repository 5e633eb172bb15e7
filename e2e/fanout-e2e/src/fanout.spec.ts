import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { readJsonFile } from '@nx/devkit';
import { killRunningCommands, type CommandResult } from './run-command';
import { bareWorkspace, CHECKED, INSTALLING, removeWorkspace, requireEnv, TEST_LIMIT, type TestWorkspace } from './workspace';

// Set by global-setup.ts once the plugin is published to the local registry.
const version = requireEnv('FANOUT_E2E_VERSION');

// The fan-out scenarios: three tasks the built-in pattern agent replicates from `users`.
const PATTERN_TASKS = ['orders', 'products', 'invoices'];

// Programs for the `command` agent, each run in its session's worktree. `.cjs`: CommonJS
// whatever the workspace's package.json says.

/**
 * Writes <projectRoot>/src/generated.ts and its test, after checking what fanout
 * handed over. The test too: the gate runs the project's jest, which fails on a
 * project with no tests.
 */
const WRITE_AGENT = `const { existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } = require('node:fs');
const root = process.argv[2];
if (root !== process.env.FANOUT_PROJECT_ROOT) {
  console.error(\`{projectRoot} is \${root}, FANOUT_PROJECT_ROOT is \${process.env.FANOUT_PROJECT_ROOT}\`);
  process.exit(2);
}
if (realpathSync(process.env.FANOUT_WORKTREE) !== process.cwd()) {
  console.error(\`the agent runs in \${process.cwd()}, not in its worktree \${process.env.FANOUT_WORKTREE}\`);
  process.exit(2);
}
mkdirSync(\`\${root}/src\`, { recursive: true });
writeFileSync(\`\${root}/src/generated.ts\`, \`export const project = '\${process.env.FANOUT_PROJECT}';\\n\`);
// An ES module package (type: module, nodenext) names its relative imports with their .js extension.
const manifest = \`\${root}/package.json\`;
const ext = existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf-8')).type === 'module' ? '.js' : '';
writeFileSync(
  \`\${root}/src/generated.spec.ts\`,
  \`import { project } from './generated\${ext}';\\n\\nit('names its project', () => {\\n  expect(project).toBe('\${process.env.FANOUT_PROJECT}');\\n});\\n\`,
);
`;

/** Writes half a file in its scope, then fails. */
const FAIL_AGENT = `const { mkdirSync, writeFileSync } = require('node:fs');
const root = process.env.FANOUT_PROJECT_ROOT;
mkdirSync(\`\${root}/src\`, { recursive: true });
writeFileSync(\`\${root}/src/half-written.ts\`, 'export const half =\\n');
console.error('giving up half-way');
process.exit(3);
`;

/** Writes in its scope, at the workspace root, and in the contracts' index. */
const escapeAgent = (contractsIndex: string) => `const { appendFileSync, mkdirSync, writeFileSync } = require('node:fs');
const root = process.env.FANOUT_PROJECT_ROOT;
mkdirSync(\`\${root}/src\`, { recursive: true });
writeFileSync(\`\${root}/src/ok.ts\`, 'export const ok = true;\\n');
writeFileSync('HACKED.md', 'written outside the session scope\\n');
appendFileSync(${JSON.stringify(contractsIndex)}, 'export const hacked = true;\\n');
`;

/** A file of the root project that two tasks are wired to, both changing its one line. */
const REGISTRY = 'tools/registry.ts';
const REGISTRY_SOURCE = "export const registered = 'none';\n";

/** WRITE_AGENT, and then it puts its project's name in the registry's line. */
const WIRE_AGENT = `${WRITE_AGENT}
const registry = ${JSON.stringify(REGISTRY)};
writeFileSync(registry, readFileSync(registry, 'utf-8').replace("'none'", \`'\${process.env.FANOUT_PROJECT}'\`));
`;

/** The tasks run by the `command` agent, all made by one generator call. */
const COMMAND_TASKS = ['alpha', 'beta', 'gamma', 'delta', 'epsilon', 'zeta', 'eta'];

describe('fanout in a new Nx workspace', () => {
  let ws: TestWorkspace;
  /** Roots of the command-agent tasks and of the contracts, set when the tasks are made. */
  let commandRoots: Record<string, string> = {};

  const showProject = async (name: string) =>
    JSON.parse((await ws.nx(['show', 'project', name, '--json'])).stdout) as {
      root: string;
      tags?: string[];
    };

  beforeAll(async () => {
    ws = await bareWorkspace('fanout');
  }, TEST_LIMIT);

  // A test that timed out leaves its command running: stop it before the next test starts.
  afterEach(killRunningCommands);

  afterAll(() => {
    killRunningCommands();
    removeWorkspace(ws);
  });

  it(
    'nx add fanout registers the plugin, ignores .fanout/ and writes the agent conventions',
    async () => {
      await ws.nx(['add', `fanout@${version}`], INSTALLING);

      expect(ws.readJson<{ version: string }>('node_modules/fanout/package.json').version).toBe(version);
      const nxJson = ws.readJson<{
        plugins?: (string | { plugin: string })[];
        targetDefaults?: Record<string, { cache?: boolean }>;
      }>('nx.json');
      expect(nxJson.plugins).toContainEqual(expect.objectContaining({ plugin: 'fanout' }));
      // The plugin caches the sessions itself; the landing target must never be cached.
      expect(nxJson.targetDefaults?.fanout).toBeUndefined();
      expect(ws.readFile('.gitignore').split(/\r?\n/)).toContain('.fanout/');
      expect(existsSync(ws.path('AGENTS.md'))).toBe(true);
      expect(existsSync(ws.path('CLAUDE.md'))).toBe(true);
    },
    TEST_LIMIT,
  );

  it(
    'fanout:contracts creates the contracts library with one file per entity',
    async () => {
      await ws.nx(['g', 'fanout:contracts', 'contracts', '--entities=user,order,product', ...CHECKED, '--no-interactive'], INSTALLING);

      const project = await showProject('contracts');
      expect(project.tags).toContain('fanout:contracts');
      for (const entity of ['user', 'order', 'product']) {
        expect(existsSync(ws.path(project.root, 'src/lib/entities', `${entity}.ts`))).toBe(true);
      }
    },
    TEST_LIMIT,
  );

  it(
    'fanout:reference creates a project that depends on the contracts library',
    async () => {
      await ws.nx(['g', 'fanout:reference', 'users', '--contracts=contracts', ...CHECKED, '--no-interactive'], INSTALLING);

      expect((await showProject('users')).tags).toContain('fanout:reference');
      const graphFile = join(dirname(ws.root), 'graph.json');
      await ws.nx(['graph', `--file=${graphFile}`]);
      const { graph } = readJsonFile<{
        graph: { dependencies: Record<string, { target: string }[]> };
      }>(graphFile);
      expect(graph.dependencies.users?.map((dependency) => dependency.target)).toContain('contracts');
    },
    TEST_LIMIT,
  );

  it(
    'the generated projects typecheck, test and lint green, and the workspace is in sync',
    async () => {
      await ws.nx(['run-many', '-t', 'typecheck', 'test', 'lint'], INSTALLING);
      await ws.nx(['sync:check']);
    },
    TEST_LIMIT + 60_000,
  );

  it(
    'rejects a name that is a path, and writes nothing',
    async () => {
      const before = await ws.snapshot();
      const result = await ws.nxFailing(['g', 'fanout:reference', '../x', '--contracts=contracts', '--no-interactive']);

      expectFailure(result, 'not a valid name');
      expect(await ws.snapshot()).toEqual(before);
    },
    TEST_LIMIT,
  );

  it(
    'rejects an unknown contracts library by name, and writes nothing',
    async () => {
      const before = await ws.snapshot();
      const result = await ws.nxFailing(['g', 'fanout:reference', 'orders', '--contracts=nope', '--no-interactive']);

      expectFailure(result, 'nope');
      expect(await ws.snapshot()).toEqual(before);
    },
    TEST_LIMIT,
  );

  it(
    '--dry-run lists what it would create and writes nothing',
    async () => {
      const before = await ws.snapshot();
      const result = await ws.nx(['g', 'fanout:contracts', 'contracts', '--entities=invoice', '--dry-run', '--no-interactive']);

      expect(result.output).toMatch(/^CREATE .*invoice/m);
      expect(await ws.snapshot()).toEqual(before);
    },
    TEST_LIMIT,
  );

  it(
    'fan-out: three uncommitted tasks run as sessions at the same time, each integrated into its own src/',
    async () => {
      await ws.nx(['g', 'fanout:contracts', 'contracts', '--entities=invoice', '--no-interactive'], INSTALLING);
      await ws.commitEverything('e2e: contracts and reference');
      // The tasks stay uncommitted: a session starts from HEAD plus the user's uncommitted files.
      await ws.nx(['g', 'fanout:task', PATTERN_TASKS.join(','), '--like=users', '--no-interactive'], INSTALLING);
      const projects = await ws.projectGraphNodes();
      for (const task of PATTERN_TASKS) {
        expect(projects[task]?.tags).toContain('fanout:task');
      }
      const root = (task: string) => projects[task]?.root ?? task;
      expect((await ws.run('git', ['status', '--porcelain', '--', ...PATTERN_TASKS.map(root)])).stdout).not.toBe('');

      await ws.nx(['run-many', '-t', 'fanout', '--parallel=3'], INSTALLING);

      const results = PATTERN_TASKS.map((task) => ws.readResult(task));
      PATTERN_TASKS.forEach((task, index) => {
        const result = results[index];
        expect(result).toMatchObject({ status: 'succeeded', agent: 'pattern' });
        expect(result.files.length).toBeGreaterThan(0);
        // Each proved itself in its sparse worktree (the default): the project's own targets passed there.
        expect(readFileSync(result.log, 'utf-8')).toContain('(sparse: projects it does not need left out)');
        expect(result.gate).toMatchObject({ ok: true, project: task });
        expect(result.gate?.targets.map((target) => target.target)).toEqual(expect.arrayContaining(['test', 'typecheck']));
        expect(result.gate?.targets.every((target) => target.ok)).toBe(true);
        for (const file of result.files) {
          expect(file.path.startsWith(`${root(task)}/src/`)).toBe(true);
          expect(ws.sha256(file.path)).toBe(file.sha256);
        }
      });
      // The sessions ran at the same time: each one started before any other ended.
      for (const a of results) {
        for (const b of results) {
          expect(Date.parse(a.startedAt)).toBeLessThan(Date.parse(b.endedAt));
        }
      }
      expect(ws.readFile(`${root('orders')}/src/lib/orders.handler.ts`)).toContain('createOrdersHandlers');
      expect(await ws.worktrees()).toHaveLength(1);
      expect(await ws.fanoutBranches()).toEqual([]);

      await ws.nx(['run-many', '-t', 'test', 'typecheck', '-p', PATTERN_TASKS.join(',')], INSTALLING);
    },
    4 * INSTALLING,
  );

  it(
    'fan-out again: every session replays from the cache, and the target is cacheable',
    async () => {
      const before = PATTERN_TASKS.map((task) => ws.readRecord(task));

      const result = await ws.nx(['run-many', '-t', 'fanout', '--parallel=3'], INSTALLING);

      // Every session, and the checks that gate them, came from the cache; only the landings ran, and changed nothing.
      const cached = /for (\d+) out of (\d+) tasks/.exec(result.output);
      expect(Number(cached?.[2]) - Number(cached?.[1])).toBe(PATTERN_TASKS.length);
      for (const task of PATTERN_TASKS) {
        expect(result.output).toMatch(
          new RegExp(`nx run ${task}:fanout-session\\s+\\[(local cache|existing outputs match the cache, left as is)\\]`),
        );
        expect(ws.readResult(task).landing).toMatchObject({ ranNow: false });
        expect(ws.readResult(task).landing?.files.every((file) => file.action === 'in-place')).toBe(true);
      }
      // No session ran: each record is the one the first run wrote.
      expect(PATTERN_TASKS.map((task) => ws.readRecord(task))).toEqual(before);

      const { targets } = JSON.parse((await ws.nx(['show', 'project', 'orders', '--json'])).stdout) as {
        targets: Record<string, { cache?: boolean; inputs?: unknown[]; outputs?: string[] }>;
      };
      expect(targets['fanout-session']?.cache).toBe(true);
      expect(targets['fanout-session']?.outputs).toEqual(['{workspaceRoot}/.fanout/sessions/{projectName}']);
      expect(targets['fanout-session']?.inputs).toContain('{projectRoot}/fanout.md');
      expect(targets.fanout?.cache).toBe(false);
    },
    TEST_LIMIT,
  );

  it(
    'fanout-verify checks the integrated whole after every session and writes a report naming each one',
    async () => {
      const result = await ws.nx(
        // static: Nx prints the output of successful tasks too, verify's summary among them.
        ['run-many', '-t', 'fanout', 'fanout-verify', '--parallel=3', '--outputStyle=static'],
        2 * INSTALLING,
      );

      expect(result.output).toContain('✔ fanout-verify: 3 session(s) verified together');
      expect(result.output).toMatch(/nx affected -t lint test typecheck build --base=[0-9a-f]{40}/);
      const base = ws.readResult('orders').baseCommit;
      expect(result.output).toContain(`--base=${base}`);
      const markdown = ws.readFile('.fanout/report.md');
      const html = ws.readFile('.fanout/report.html');
      for (const task of PATTERN_TASKS) {
        expect(markdown).toContain(task);
        expect(html).toContain(`data-session="${task}"`);
      }
      // One self-contained file: nothing loaded from the network.
      expect(html).not.toMatch(/(src|href)=["']https?:/);
    },
    2 * INSTALLING + 60_000,
  );

  it(
    'a task whose project depends on another task waits for it, and running them together fails before any session',
    async () => {
      commandRoots = await generateCommandTasks();
      const betaConfig = `${commandRoots.beta}/project.json`;
      const betaProject = ws.readJson<{
        implicitDependencies?: string[];
      }>(betaConfig);
      ws.writeFile(
        betaConfig,
        JSON.stringify(
          {
            ...betaProject,
            implicitDependencies: [...(betaProject.implicitDependencies ?? []), 'alpha'],
          },
          null,
          2,
        ) + '\n',
      );

      await ws.nx(['run-many', '-t', 'fanout', '-p', 'alpha,beta', '--parallel=2'], INSTALLING);

      const alpha = ws.readResult('alpha');
      const beta = ws.readResult('beta');
      for (const [result, project] of [
        [alpha, 'alpha'],
        [beta, 'beta'],
      ] as const) {
        const generated = `${commandRoots[project]}/src/generated.ts`;
        expect(result).toMatchObject({ status: 'succeeded', agent: 'command' });
        expect(result.files.map((file) => file.path).sort()).toEqual([generated, generatedSpec(project)].sort());
        expect(ws.readFile(generated)).toContain(`'${project}'`);
      }
      // dependsOn ^fanout: beta's session started once alpha's had ended.
      expect(Date.parse(beta.startedAt)).toBeGreaterThanOrEqual(Date.parse(alpha.endedAt));

      // Only removing the ordering makes them run together: Nx 23 keeps the dependency
      // between two tasks of the same run even with --exclude-task-dependencies.
      const ordered = ws.readFile(betaConfig);
      ws.writeFile(
        betaConfig,
        JSON.stringify(
          {
            ...ws.readJson<object>(betaConfig),
            targets: { 'fanout-session': { dependsOn: [] } },
          },
          null,
          2,
        ) + '\n',
      );
      const before = await ws.snapshot();

      const together = await ws.nxFailing(['run-many', '-t', 'fanout', '-p', 'alpha,beta', '--parallel=2', '--skip-nx-cache']);

      expect(together.status).not.toBe(0);
      for (const project of ['alpha', 'beta']) {
        expect(together.output).toContain(`✖ ${project}: the tasks of this run are not independent`);
      }
      expect(together.output).toContain('"beta" and "alpha"');
      expect(together.output).toContain('beta → alpha');
      // No session ran: no result rewritten, no file written, no worktree made.
      expect(ws.readResult('alpha')).toEqual(alpha);
      expect(ws.readResult('beta')).toEqual(beta);
      expect(await ws.snapshot()).toEqual(before);
      expect(await ws.worktrees()).toHaveLength(1);
      expect(await ws.fanoutBranches()).toEqual([]);
      ws.writeFile(betaConfig, ordered);
    },
    2 * INSTALLING,
  );

  it(
    'a failing agent fails only its own task, keeps its worktree and integrates nothing',
    async () => {
      const result = await ws.nxFailing(['run-many', '-t', 'fanout', '-p', 'gamma,delta', '--skip-nx-cache']);

      expect(result.status).not.toBe(0);
      const generated = `${commandRoots.gamma}/src/generated.ts`;
      const gamma = ws.readResult('gamma');
      expect(gamma.status).toBe('succeeded');
      expect(gamma.files.map((file) => file.path).sort()).toEqual([generated, generatedSpec('gamma')].sort());
      expect(ws.sha256(generated)).toBe(gamma.files.find((file) => file.path === generated)?.sha256);

      const halfWritten = `${commandRoots.delta}/src/half-written.ts`;
      const delta = ws.readResult('delta');
      expect(delta.status).toBe('failed');
      expect(delta.error).toContain('exited with code 3');
      expect(result.output).toContain('exited with code 3');
      expect(delta.files).toEqual([]);
      const kept = join('.fanout', 'worktrees', 'delta');
      expect(delta.worktree?.endsWith(kept)).toBe(true);
      expect(existsSync(ws.path(kept, halfWritten))).toBe(true);
      expect(existsSync(ws.path(halfWritten))).toBe(false);
    },
    TEST_LIMIT,
  );

  it(
    'two sessions that change the same line of their wired file: the first lands, the second fails with the lines both changed',
    async () => {
      const result = await ws.nxFailing(['run-many', '-t', 'fanout', '-p', 'zeta,eta', '--parallel=2', '--skip-nx-cache']);

      expect(result.status).not.toBe(0);
      const [zeta, eta] = [ws.readResult('zeta'), ws.readResult('eta')];
      const [landed, refused] = zeta.status === 'succeeded' ? [zeta, eta] : [eta, zeta];
      expect([landed.status, refused.status]).toEqual(['succeeded', 'failed']);
      expect(landed.wired).toEqual([{ path: REGISTRY, project: expect.any(String), status: 'merged' }]);
      expect(ws.readFile(REGISTRY)).toBe(`export const registered = '${landed.project}';\n`);
      expect(refused.wired).toEqual([{ path: REGISTRY, project: landed.wired?.[0]?.project, status: 'conflict' }]);
      expect(refused.error).toContain(`the session's edit of ${REGISTRY} conflicts with the workspace's`);
      expect(refused.error).toContain(
        `${REGISTRY}:1: both changed these lines\n  the workspace:\n    export const registered = '${landed.project}';\n` +
          `  merge base:\n    export const registered = 'none';\n  ${refused.project}:\n    export const registered = '${refused.project}';`,
      );
      expect(result.output).toContain('both changed these lines');
      // All or nothing: none of the refused session's own files landed.
      expect(refused.integratedAt).toBeUndefined();
      expect(ws.exists(`${commandRoots[refused.project]}/src/generated.ts`)).toBe(false);
      expect(ws.exists(`${commandRoots[landed.project]}/src/generated.ts`)).toBe(true);
    },
    TEST_LIMIT,
  );

  it(
    'a session that writes outside its scope is rejected and nothing of it is integrated',
    async () => {
      const contractsIndex = `${commandRoots.contracts}/src/index.ts`;
      const contractsBefore = readFileSync(ws.path(contractsIndex));
      const before = await ws.snapshot();

      const result = await ws.nxFailing(['run-many', '-t', 'fanout', '-p', 'epsilon', '--skip-nx-cache']);

      expect(result.status).not.toBe(0);
      const epsilon = ws.readResult('epsilon');
      expect(epsilon.status).toBe('failed');
      expect(epsilon.rejected.map((change) => change.path).sort()).toEqual(['HACKED.md', contractsIndex].sort());
      expect(epsilon.files).toEqual([]);
      expect(existsSync(ws.path('HACKED.md'))).toBe(false);
      expect(readFileSync(ws.path(contractsIndex))).toEqual(contractsBefore);
      expect(existsSync(ws.path(commandRoots.epsilon ?? '', 'src/ok.ts'))).toBe(false);
      expect(await ws.snapshot()).toEqual(before);
    },
    TEST_LIMIT,
  );

  /** The test WRITE_AGENT writes next to generated.ts. */
  function generatedSpec(project: string): string {
    return `${commandRoots[project]}/src/generated.spec.ts`;
  }

  /**
   * Writes each command-agent task's agent, `tools/agents/<task>.cjs`, commits them, and
   * makes every task with one generator call (a generator call installs packages: minutes
   * on a busy machine). The template's `{project}` picks each task's own agent.
   */
  async function generateCommandTasks(): Promise<Record<string, string>> {
    const before = await ws.projectGraphNodes();
    const contractsRoot = before.contracts?.root ?? 'contracts';
    const agents: Record<string, string> = {
      alpha: WRITE_AGENT,
      beta: WRITE_AGENT,
      gamma: WRITE_AGENT,
      delta: FAIL_AGENT,
      epsilon: escapeAgent(`${contractsRoot}/src/index.ts`),
      zeta: WIRE_AGENT,
      eta: WIRE_AGENT,
    };
    for (const task of COMMAND_TASKS) {
      ws.writeFile(`tools/agents/${task}.cjs`, agents[task] ?? '');
    }
    ws.writeFile(REGISTRY, REGISTRY_SOURCE);
    await ws.commitEverything('e2e: agents', ['tools/agents', REGISTRY]);
    await ws.nx(
      [
        'g',
        'fanout:task',
        COMMAND_TASKS.join(','),
        '--like=users',
        '--agent=command',
        '--command=node tools/agents/{project}.cjs {projectRoot}',
        '--no-interactive',
      ],
      INSTALLING,
    );
    const after = await ws.projectGraphNodes();
    const roots: Record<string, string> = { contracts: contractsRoot };
    for (const task of COMMAND_TASKS) {
      const node = after[task];
      expect(node?.tags).toContain('fanout:task');
      roots[task] = node?.root ?? task;
      expect(ws.readFile(`${roots[task]}/fanout.md`)).toMatch(/^agent: command$/m);
    }
    // zeta and eta may edit the registry: their fanout.md says so.
    for (const task of ['zeta', 'eta']) {
      const file = `${roots[task]}/fanout.md`;
      ws.writeFile(file, ws.readFile(file).replace(/^agent: command$/m, `agent: command\nwire: [${REGISTRY}]`));
    }
    return roots;
  }
});

function expectFailure(result: CommandResult, message: string): void {
  expect(result.status).not.toBe(0);
  expect(result.output).toContain(message);
}

import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { readJsonFile, workspaceRoot } from '@nx/devkit';
import {
  childEnv,
  killRunningCommands,
  runCommand,
  type CommandResult,
} from './run-command';

// Set by global-setup.ts once the plugin is published to the local registry.
const version = requireEnv('FANOUT_E2E_VERSION');
const registryEnv = JSON.parse(requireEnv('FANOUT_E2E_REGISTRY_ENV')) as Record<
  string,
  string
>;
// The workspace under test gets the Nx this plugin is built and tested with, never @latest.
const nxVersion = readJsonFile<{ version: string }>(
  join(workspaceRoot, 'node_modules/nx/package.json'),
).version;

// Limits for a busy machine: on an idle one the slowest install takes about a third of
// INSTALLING. A command's limit is below its test's, so a timeout reports its output.
const INSTALLING = 5 * 60_000;
const TEST_LIMIT = INSTALLING + 60_000;

// The fan-out scenarios: three tasks the built-in pattern agent replicates from `users`.
const PATTERN_TASKS = ['orders', 'products', 'invoices'];

// Programs for the `command` agent, each run in its session's worktree. `.cjs`: CommonJS
// whatever the workspace's package.json says.

/** Writes <projectRoot>/src/generated.ts, after checking what fanout handed over. */
const WRITE_AGENT = `const { mkdirSync, realpathSync, writeFileSync } = require('node:fs');
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
const escapeAgent = (
  contractsIndex: string,
) => `const { appendFileSync, mkdirSync, writeFileSync } = require('node:fs');
const root = process.env.FANOUT_PROJECT_ROOT;
mkdirSync(\`\${root}/src\`, { recursive: true });
writeFileSync(\`\${root}/src/ok.ts\`, 'export const ok = true;\\n');
writeFileSync('HACKED.md', 'written outside the session scope\\n');
appendFileSync(${JSON.stringify(contractsIndex)}, 'export const hacked = true;\\n');
`;

/** The tasks run by the `command` agent, all made by one generator call. */
const COMMAND_TASKS = ['alpha', 'beta', 'gamma', 'delta', 'epsilon'];

/** What the tests read of `.fanout/sessions/<project>/result.json`. */
interface SessionResult {
  status: 'succeeded' | 'failed';
  agent: string;
  startedAt: string;
  endedAt: string;
  files: { path: string; status: string; sha256?: string }[];
  rejected: { path: string; status: string; reason: string }[];
  error?: string;
  worktree?: string;
}

const env = childEnv({
  ...registryEnv,
  NX_DAEMON: 'false',
  NX_NO_CLOUD: 'true',
  NX_TUI: 'false',
});

describe('fanout in a new Nx workspace', () => {
  let tempRoot: string;
  let workspace: string;
  /** Roots of the command-agent tasks and of the contracts, set when the tasks are made. */
  let commandRoots: Record<string, string> = {};

  const inWorkspace = (command: string, args: string[], timeoutMs?: number) =>
    runCommand(command, args, { cwd: workspace, env, timeoutMs });
  const nx = (args: string[], timeoutMs?: number) =>
    inWorkspace('npx', ['nx', ...args], timeoutMs);
  const nxFailing = (args: string[]) =>
    runCommand('npx', ['nx', ...args], {
      cwd: workspace,
      env,
      allowFailure: true,
    });
  const readWorkspaceJson = <T extends object>(path: string) =>
    readJsonFile<T>(join(workspace, path));
  const showProject = async (name: string) =>
    JSON.parse((await nx(['show', 'project', name, '--json'])).stdout) as {
      root: string;
      tags?: string[];
    };

  beforeAll(
    async () => {
      tempRoot = mkdtempSync(join(tmpdir(), 'fanout-e2e-'));
      workspace = join(tempRoot, 'e2e-ws');
      await runCommand(
        'npx',
        [
          '-y',
          `create-nx-workspace@${nxVersion}`,
          'e2e-ws',
          '--preset=ts',
          '--nxCloud=skip',
          '--interactive=false',
          '--packageManager=npm',
        ],
        { cwd: tempRoot, env, timeoutMs: INSTALLING },
      );
      // create-nx-workspace installs TypeScript 6 here, with which the jest.config.cts files
      // Nx 23 generates do not compile (TS2591: cannot find name 'require'/'module').
      await inWorkspace(
        'npm',
        ['install', '-D', 'typescript@~5.9.3'],
        INSTALLING,
      );
      await commitEverything('e2e: workspace as created');
    },
    2 * INSTALLING + 60_000,
  );

  // A test that timed out leaves its command running: stop it before the next test starts.
  afterEach(killRunningCommands);

  afterAll(() => {
    killRunningCommands();
    if (!tempRoot) return;
    if (process.env.FANOUT_E2E_KEEP === '1') {
      console.log(
        `FANOUT_E2E_KEEP=1: the workspace under test is kept in ${workspace}`,
      );
    } else {
      rmSync(tempRoot, { recursive: true, force: true });
    }
  });

  it(
    'nx add fanout registers the plugin, ignores .fanout/ and writes the agent conventions',
    async () => {
      await nx(['add', `fanout@${version}`], INSTALLING);

      expect(
        readWorkspaceJson<{ version: string }>(
          'node_modules/fanout/package.json',
        ).version,
      ).toBe(version);
      const nxJson = readWorkspaceJson<{
        plugins?: (string | { plugin: string })[];
        targetDefaults?: Record<string, { cache?: boolean }>;
      }>('nx.json');
      expect(nxJson.plugins).toContainEqual(
        expect.objectContaining({ plugin: 'fanout' }),
      );
      expect(nxJson.targetDefaults?.fanout?.cache).toBe(true);
      expect(readWorkspaceFile('.gitignore').split(/\r?\n/)).toContain(
        '.fanout/',
      );
      expect(existsSync(join(workspace, 'AGENTS.md'))).toBe(true);
      expect(existsSync(join(workspace, 'CLAUDE.md'))).toBe(true);
    },
    TEST_LIMIT,
  );

  it(
    'fanout:contracts creates the contracts library with one file per entity',
    async () => {
      await nx(
        [
          'g',
          'fanout:contracts',
          'contracts',
          '--entities=user,order,product',
          '--no-interactive',
        ],
        INSTALLING,
      );

      const project = await showProject('contracts');
      expect(project.tags).toContain('fanout:contracts');
      for (const entity of ['user', 'order', 'product']) {
        expect(
          existsSync(
            join(workspace, project.root, 'src/lib/entities', `${entity}.ts`),
          ),
        ).toBe(true);
      }
    },
    TEST_LIMIT,
  );

  it(
    'fanout:reference creates a project that depends on the contracts library',
    async () => {
      await nx(
        [
          'g',
          'fanout:reference',
          'users',
          '--contracts=contracts',
          '--no-interactive',
        ],
        INSTALLING,
      );

      expect((await showProject('users')).tags).toContain('fanout:reference');
      const graphFile = join(tempRoot, 'graph.json');
      await nx(['graph', `--file=${graphFile}`]);
      const { graph } = readJsonFile<{
        graph: { dependencies: Record<string, { target: string }[]> };
      }>(graphFile);
      expect(
        graph.dependencies.users?.map((dependency) => dependency.target),
      ).toContain('contracts');
    },
    TEST_LIMIT,
  );

  it(
    'the generated projects typecheck, test and lint green, and the workspace is in sync',
    async () => {
      await nx(['run-many', '-t', 'typecheck', 'test', 'lint'], INSTALLING);
      await nx(['sync:check']);
    },
    TEST_LIMIT + 60_000,
  );

  it(
    'rejects a name that is a path, and writes nothing',
    async () => {
      const before = await snapshot();
      const result = await nxFailing([
        'g',
        'fanout:reference',
        '../x',
        '--contracts=contracts',
        '--no-interactive',
      ]);

      expectFailure(result, 'not a valid name');
      expect(await snapshot()).toEqual(before);
    },
    TEST_LIMIT,
  );

  it(
    'rejects an unknown contracts library by name, and writes nothing',
    async () => {
      const before = await snapshot();
      const result = await nxFailing([
        'g',
        'fanout:reference',
        'orders',
        '--contracts=nope',
        '--no-interactive',
      ]);

      expectFailure(result, 'nope');
      expect(await snapshot()).toEqual(before);
    },
    TEST_LIMIT,
  );

  it(
    '--dry-run lists what it would create and writes nothing',
    async () => {
      const before = await snapshot();
      const result = await nx([
        'g',
        'fanout:contracts',
        'contracts',
        '--entities=invoice',
        '--dry-run',
        '--no-interactive',
      ]);

      expect(result.output).toMatch(/^CREATE .*invoice/m);
      expect(await snapshot()).toEqual(before);
    },
    TEST_LIMIT,
  );

  it(
    'fan-out: three uncommitted tasks run as sessions at the same time, each integrated into its own src/',
    async () => {
      await nx(
        [
          'g',
          'fanout:contracts',
          'contracts',
          '--entities=invoice',
          '--no-interactive',
        ],
        INSTALLING,
      );
      await commitEverything('e2e: contracts and reference');
      // The tasks stay uncommitted: a session starts from HEAD plus the user's uncommitted files.
      await nx(
        [
          'g',
          'fanout:task',
          PATTERN_TASKS.join(','),
          '--like=users',
          '--no-interactive',
        ],
        INSTALLING,
      );
      const projects = await projectGraphNodes();
      for (const task of PATTERN_TASKS) {
        expect(projects[task]?.tags).toContain('fanout:task');
      }
      const root = (task: string) => projects[task]?.root ?? task;
      expect(
        (
          await inWorkspace('git', [
            'status',
            '--porcelain',
            '--',
            ...PATTERN_TASKS.map(root),
          ])
        ).stdout,
      ).not.toBe('');

      await nx(['run-many', '-t', 'fanout', '--parallel=3'], INSTALLING);

      const results = PATTERN_TASKS.map(readResult);
      PATTERN_TASKS.forEach((task, index) => {
        const result = results[index];
        expect(result).toMatchObject({ status: 'succeeded', agent: 'pattern' });
        expect(result.files.length).toBeGreaterThan(0);
        for (const file of result.files) {
          expect(file.path.startsWith(`${root(task)}/src/`)).toBe(true);
          expect(sha256OfWorkspaceFile(file.path)).toBe(file.sha256);
        }
      });
      // The sessions ran at the same time: each one started before any other ended.
      for (const a of results) {
        for (const b of results) {
          expect(Date.parse(a.startedAt)).toBeLessThan(Date.parse(b.endedAt));
        }
      }
      expect(
        readWorkspaceFile(`${root('orders')}/src/lib/orders.handler.ts`),
      ).toContain('createOrdersHandlers');
      expect(await worktrees()).toHaveLength(1);
      expect(await fanoutBranches()).toEqual([]);

      await nx(
        ['run-many', '-t', 'test', 'typecheck', '-p', PATTERN_TASKS.join(',')],
        INSTALLING,
      );
    },
    4 * INSTALLING,
  );

  it(
    'fan-out again: every session replays from the cache, and the target is cacheable',
    async () => {
      const before = PATTERN_TASKS.map(readResult);

      const result = await nx(
        ['run-many', '-t', 'fanout', '--parallel=3'],
        INSTALLING,
      );

      expect(result.output).toContain('3 out of 3 tasks');
      for (const task of PATTERN_TASKS) {
        expect(result.output).toMatch(
          new RegExp(
            `nx run ${task}:fanout\\s+\\[(local cache|existing outputs match the cache, left as is)\\]`,
          ),
        );
      }
      // No session ran: each result.json is the one the first run wrote.
      expect(PATTERN_TASKS.map(readResult)).toEqual(before);

      const { targets } = JSON.parse(
        (await nx(['show', 'project', 'orders', '--json'])).stdout,
      ) as {
        targets: Record<
          string,
          { cache?: boolean; inputs?: unknown[]; outputs?: string[] }
        >;
      };
      expect(targets.fanout?.cache).toBe(true);
      expect(targets.fanout?.outputs).toContain('{projectRoot}/src');
      expect(targets.fanout?.inputs).toContain('{projectRoot}/fanout.md');
    },
    TEST_LIMIT,
  );

  it(
    'a task whose project depends on another task waits for it, and running them together fails before any session',
    async () => {
      commandRoots = await generateCommandTasks();
      const betaConfig = `${commandRoots.beta}/project.json`;
      const betaProject = readWorkspaceJson<{
        implicitDependencies?: string[];
      }>(betaConfig);
      writeWorkspaceFile(
        betaConfig,
        JSON.stringify(
          {
            ...betaProject,
            implicitDependencies: [
              ...(betaProject.implicitDependencies ?? []),
              'alpha',
            ],
          },
          null,
          2,
        ) + '\n',
      );

      await nx(
        ['run-many', '-t', 'fanout', '-p', 'alpha,beta', '--parallel=2'],
        INSTALLING,
      );

      const alpha = readResult('alpha');
      const beta = readResult('beta');
      for (const [result, project] of [
        [alpha, 'alpha'],
        [beta, 'beta'],
      ] as const) {
        const generated = `${commandRoots[project]}/src/generated.ts`;
        expect(result).toMatchObject({ status: 'succeeded', agent: 'command' });
        expect(result.files.map((file) => file.path)).toEqual([generated]);
        expect(readWorkspaceFile(generated)).toContain(`'${project}'`);
      }
      // dependsOn ^fanout: beta's session started once alpha's had ended.
      expect(Date.parse(beta.startedAt)).toBeGreaterThanOrEqual(
        Date.parse(alpha.endedAt),
      );

      // Only removing the ordering makes them run together: Nx 23 keeps the dependency
      // between two tasks of the same run even with --exclude-task-dependencies.
      const ordered = readWorkspaceFile(betaConfig);
      writeWorkspaceFile(
        betaConfig,
        JSON.stringify(
          {
            ...readWorkspaceJson<object>(betaConfig),
            targets: { fanout: { dependsOn: [] } },
          },
          null,
          2,
        ) + '\n',
      );
      const before = await snapshot();

      const together = await nxFailing([
        'run-many',
        '-t',
        'fanout',
        '-p',
        'alpha,beta',
        '--parallel=2',
        '--skip-nx-cache',
      ]);

      expect(together.status).not.toBe(0);
      for (const project of ['alpha', 'beta']) {
        expect(together.output).toContain(
          `✖ ${project}: the tasks of this run are not independent`,
        );
      }
      expect(together.output).toContain('"beta" and "alpha"');
      expect(together.output).toContain('beta → alpha');
      // No session ran: no result rewritten, no file written, no worktree made.
      expect(readResult('alpha')).toEqual(alpha);
      expect(readResult('beta')).toEqual(beta);
      expect(await snapshot()).toEqual(before);
      expect(await worktrees()).toHaveLength(1);
      expect(await fanoutBranches()).toEqual([]);
      writeWorkspaceFile(betaConfig, ordered);
    },
    2 * INSTALLING,
  );

  it(
    'a failing agent fails only its own task, keeps its worktree and integrates nothing',
    async () => {
      const result = await nxFailing([
        'run-many',
        '-t',
        'fanout',
        '-p',
        'gamma,delta',
        '--skip-nx-cache',
      ]);

      expect(result.status).not.toBe(0);
      const generated = `${commandRoots.gamma}/src/generated.ts`;
      const gamma = readResult('gamma');
      expect(gamma.status).toBe('succeeded');
      expect(gamma.files.map((file) => file.path)).toEqual([generated]);
      expect(sha256OfWorkspaceFile(generated)).toBe(gamma.files[0]?.sha256);

      const halfWritten = `${commandRoots.delta}/src/half-written.ts`;
      const delta = readResult('delta');
      expect(delta.status).toBe('failed');
      expect(delta.error).toContain('exited with code 3');
      expect(result.output).toContain('exited with code 3');
      expect(delta.files).toEqual([]);
      const kept = join('.fanout', 'worktrees', 'delta');
      expect(delta.worktree?.endsWith(kept)).toBe(true);
      expect(existsSync(join(workspace, kept, halfWritten))).toBe(true);
      expect(existsSync(join(workspace, halfWritten))).toBe(false);
    },
    TEST_LIMIT,
  );

  it(
    'a session that writes outside its scope is rejected and nothing of it is integrated',
    async () => {
      const contractsIndex = `${commandRoots.contracts}/src/index.ts`;
      const contractsBefore = readFileSync(join(workspace, contractsIndex));
      const before = await snapshot();

      const result = await nxFailing([
        'run-many',
        '-t',
        'fanout',
        '-p',
        'epsilon',
        '--skip-nx-cache',
      ]);

      expect(result.status).not.toBe(0);
      const epsilon = readResult('epsilon');
      expect(epsilon.status).toBe('failed');
      expect(epsilon.rejected.map((change) => change.path).sort()).toEqual(
        ['HACKED.md', contractsIndex].sort(),
      );
      expect(epsilon.files).toEqual([]);
      expect(existsSync(join(workspace, 'HACKED.md'))).toBe(false);
      expect(readFileSync(join(workspace, contractsIndex))).toEqual(
        contractsBefore,
      );
      expect(
        existsSync(join(workspace, commandRoots.epsilon ?? '', 'src/ok.ts')),
      ).toBe(false);
      expect(await snapshot()).toEqual(before);
    },
    TEST_LIMIT,
  );

  /**
   * Writes each command-agent task's agent, `tools/agents/<task>.cjs`, commits them, and
   * makes every task with one generator call (a generator call installs packages: minutes
   * on a busy machine). The template's `{project}` picks each task's own agent.
   */
  async function generateCommandTasks(): Promise<Record<string, string>> {
    const before = await projectGraphNodes();
    const contractsRoot = before.contracts?.root ?? 'contracts';
    const agents: Record<string, string> = {
      alpha: WRITE_AGENT,
      beta: WRITE_AGENT,
      gamma: WRITE_AGENT,
      delta: FAIL_AGENT,
      epsilon: escapeAgent(`${contractsRoot}/src/index.ts`),
    };
    for (const task of COMMAND_TASKS) {
      writeWorkspaceFile(`tools/agents/${task}.cjs`, agents[task] ?? '');
    }
    await commitEverything('e2e: agents', ['tools/agents']);
    await nx(
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
    const after = await projectGraphNodes();
    const roots: Record<string, string> = { contracts: contractsRoot };
    for (const task of COMMAND_TASKS) {
      const node = after[task];
      expect(node?.tags).toContain('fanout:task');
      roots[task] = node?.root ?? task;
      expect(readWorkspaceFile(`${roots[task]}/fanout.md`)).toMatch(
        /^agent: command$/m,
      );
    }
    return roots;
  }

  /** Every project's root and tags, from one `nx graph` (each nx call computes the graph). */
  async function projectGraphNodes(): Promise<
    Record<string, { root: string; tags?: string[] }>
  > {
    const graphFile = join(tempRoot, 'graph.json');
    await nx(['graph', `--file=${graphFile}`]);
    const { graph } = readJsonFile<{
      graph: {
        nodes: Record<string, { data: { root: string; tags?: string[] } }>;
      };
    }>(graphFile);
    return Object.fromEntries(
      Object.entries(graph.nodes).map(([name, node]) => [name, node.data]),
    );
  }

  function readResult(project: string): SessionResult {
    return readWorkspaceJson<SessionResult>(
      `.fanout/sessions/${project}/result.json`,
    );
  }

  function writeWorkspaceFile(path: string, content: string): void {
    const file = join(workspace, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content);
  }

  function sha256OfWorkspaceFile(path: string): string {
    return createHash('sha256')
      .update(readFileSync(join(workspace, path)))
      .digest('hex');
  }

  /** The paths of the repository's worktrees, the workspace's own first. */
  async function worktrees(): Promise<string[]> {
    const list = (await inWorkspace('git', ['worktree', 'list', '--porcelain']))
      .stdout;
    return list
      .split('\n')
      .filter((line) => line.startsWith('worktree '))
      .map((line) => line.slice('worktree '.length));
  }

  async function fanoutBranches(): Promise<string[]> {
    const list = (
      await inWorkspace('git', [
        'branch',
        '--list',
        'fanout/*',
        '--format=%(refname:short)',
      ])
    ).stdout;
    return list.split('\n').filter(Boolean);
  }

  function readWorkspaceFile(path: string): string {
    return readFileSync(join(workspace, path), 'utf8');
  }

  /** `git status` and a hash of every file git does not ignore: what a command must not change. */
  async function snapshot(): Promise<{
    status: string;
    files: Record<string, string>;
  }> {
    const status = (await inWorkspace('git', ['status', '--porcelain'])).stdout;
    const listed = (
      await inWorkspace('git', [
        'ls-files',
        '-z',
        '--cached',
        '--others',
        '--exclude-standard',
      ])
    ).stdout;
    const files: Record<string, string> = {};
    for (const path of listed.split('\0').filter(Boolean)) {
      const file = join(workspace, path);
      files[path] = existsSync(file)
        ? createHash('sha1').update(readFileSync(file)).digest('hex')
        : 'deleted';
    }
    return { status, files };
  }

  /**
   * Commits every change (or only those under `paths`); the workspace is made a git
   * repository first if it is not one, whatever git's global settings.
   */
  async function commitEverything(
    message: string,
    paths: string[] = [],
  ): Promise<void> {
    if (!existsSync(join(workspace, '.git')))
      await inWorkspace('git', ['init', '-q']);
    await inWorkspace('git', ['config', 'user.name', 'fanout e2e']);
    await inWorkspace('git', [
      'config',
      'user.email',
      'fanout-e2e@example.com',
    ]);
    await inWorkspace('git', ['add', '-A', '--', ...paths]);
    await inWorkspace('git', [
      'commit',
      '-q',
      '--allow-empty',
      '--no-verify',
      '-m',
      message,
    ]);
  }
});

function expectFailure(result: CommandResult, message: string): void {
  expect(result.status).not.toBe(0);
  expect(result.output).toContain(message);
}

function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value)
    throw new Error(
      `${name} is not set: run this suite with \`npx nx e2e fanout-e2e\`, whose global setup sets it.`,
    );
  return value;
}

import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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

const env = childEnv({
  ...registryEnv,
  NX_DAEMON: 'false',
  NX_NO_CLOUD: 'true',
  NX_TUI: 'false',
});

describe('fanout in a new Nx workspace', () => {
  let tempRoot: string;
  let workspace: string;

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

  /** The workspace is a git repository with a first commit, whatever git's global settings. */
  async function commitEverything(message: string): Promise<void> {
    if (!existsSync(join(workspace, '.git')))
      await inWorkspace('git', ['init', '-q']);
    await inWorkspace('git', ['config', 'user.name', 'fanout e2e']);
    await inWorkspace('git', [
      'config',
      'user.email',
      'fanout-e2e@example.com',
    ]);
    await inWorkspace('git', ['add', '-A']);
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

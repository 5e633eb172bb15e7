import { logger, type CreateNodesContextV2, type CreateNodesResult, type ExecutorContext, type TargetConfiguration } from '@nx/devkit';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { minimatch } from 'minimatch';
import { tmpdir } from 'os';
import { basename, join } from 'path';
import { sessionDir } from './core/session/session';
import { createNodesV2, PLUGIN_VERSION } from './plugin';
import { FanoutPluginOptions } from './constants';
import verifyExecutor from './executors/verify/verify';
import { spawnTypeScript } from './testing/git-workspace';

const ASSIGNMENT = `---
like: users
contracts: contracts
---

Build the orders API following the same pattern as the users API, using the types in contracts.
`;

describe('fanout plugin', () => {
  let workspaceRoot: string;

  beforeEach(() => {
    workspaceRoot = mkdtempSync(join(tmpdir(), 'fanout-plugin-'));
  });

  afterEach(() => {
    rmSync(workspaceRoot, { recursive: true, force: true });
  });

  function writeAssignment(projectRoot: string, content: string): string {
    mkdirSync(join(workspaceRoot, projectRoot), { recursive: true });
    writeFileSync(join(workspaceRoot, projectRoot, 'fanout.md'), content);
    return `${projectRoot}/fanout.md`;
  }

  async function createNodes(
    files: string[],
    options: FanoutPluginOptions = {},
    namedInputs: Record<string, string[]> = { production: ['default'] },
  ): Promise<Map<string, CreateNodesResult>> {
    const context: CreateNodesContextV2 = { workspaceRoot, nxJsonConfiguration: { namedInputs } };
    const results = await createNodesV2[1](files, options, context);
    return new Map(results);
  }

  async function targetsOf(
    content: string,
    options?: FanoutPluginOptions,
    namedInputs?: Record<string, string[]>,
  ): Promise<Record<string, TargetConfiguration>> {
    const file = writeAssignment('libs/orders', content);
    const result = (await createNodes([file], options, namedInputs)).get(file);
    return result?.projects?.['libs/orders']?.targets ?? {};
  }

  it('matches fanout.md in any folder', () => {
    const [glob] = createNodesV2;
    expect(glob).toBe('**/fanout.md');
    expect(minimatch('libs/orders/fanout.md', glob)).toBe(true);
    expect(minimatch('apps/shop/api/orders/fanout.md', glob)).toBe(true);
    expect(minimatch('libs/orders/README.md', glob)).toBe(false);
    expect(minimatch('libs/orders/fanout.md.bak', glob)).toBe(false);
  });

  it('infers a cached fanout-session target run by fanout:run, after the landing of the tasks it depends on', async () => {
    const { 'fanout-session': session } = await targetsOf(ASSIGNMENT);
    expect(session).toMatchObject({ executor: 'fanout:run', cache: true });
    expect(session.dependsOn?.[0]).toBe('^fanout');
  });

  it('infers the fanout target users run: an uncached landing after the session, which gets the options given to it', async () => {
    const { fanout, ...others } = await targetsOf(ASSIGNMENT);
    expect(Object.keys(others)).toEqual(['fanout-session']);
    expect(fanout).toMatchObject({ executor: 'fanout:run', cache: false });
    expect(fanout.dependsOn).toEqual([{ target: 'fanout-session', params: 'forward' }]);
    expect(fanout.inputs).toBeUndefined();
    expect(fanout.outputs).toBeUndefined();
  });

  it("declares in the landing's schema every option of the session's, which Nx forwards to it", () => {
    const read = (name: string) =>
      Object.keys(
        (JSON.parse(readFileSync(join(__dirname, `executors/${name}/schema.json`), 'utf-8')) as { properties: object }).properties,
      );
    const landing = read('land');
    for (const option of read('run')) expect(landing).toContain(option);
  });

  it('waits for the reference and the contracts to pass their own typecheck, test and lint before any session', async () => {
    const { 'fanout-session': fanout } = await targetsOf(ASSIGNMENT);
    expect(fanout.dependsOn).toEqual([
      '^fanout',
      { projects: ['users', 'contracts'], target: 'typecheck' },
      { projects: ['users', 'contracts'], target: 'test' },
      { projects: ['users', 'contracts'], target: 'lint' },
    ]);
    const { 'fanout-session': custom } = await targetsOf(ASSIGNMENT, { foundationTargets: ['check'] });
    expect(custom.dependsOn).toEqual(['^fanout', { projects: ['users', 'contracts'], target: 'check' }]);
    const { 'fanout-session': none } = await targetsOf(ASSIGNMENT, { foundationTargets: [] });
    expect(none.dependsOn).toEqual(['^fanout']);
  });

  it('takes the assignment and the production files of the reference and the contracts as inputs', async () => {
    const { 'fanout-session': fanout } = await targetsOf(ASSIGNMENT);
    expect(fanout.inputs).toContain('{projectRoot}/fanout.md');
    expect(fanout.inputs).toContainEqual({ input: 'production', projects: ['users', 'contracts'] });
  });

  it('takes as inputs exactly the assignment, the production files of the reference and the contracts, the conventions, and no npm package', async () => {
    const { 'fanout-session': fanout } = await targetsOf(ASSIGNMENT);
    expect(fanout.inputs).toEqual([
      '{projectRoot}/fanout.md',
      { input: 'production', projects: ['users', 'contracts'] },
      '{workspaceRoot}/AGENTS.md',
      { externalDependencies: [] },
    ]);
  });

  it("puts fanout's own version, not its dependency tree, into the cache key through the target's options", async () => {
    const { version } = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf-8')) as { version: string };
    const { 'fanout-session': fanout } = await targetsOf(ASSIGNMENT);
    expect(PLUGIN_VERSION).toBe(version);
    expect(fanout.options?.pluginVersion).toBe(version);
    expect(fanout.inputs).not.toContainEqual({ externalDependencies: expect.arrayContaining(['fanout']) });
  });

  it('puts the agent and its options into the cache key, env by name only, never its values or retry settings', async () => {
    const agents = {
      claude: {
        model: 'sonnet',
        maxTurns: 30,
        args: ['--verbose'],
        env: { ANTHROPIC_BASE_URL: 'http://127.0.0.1:8080', X_TOKEN: 'value' },
        retries: 5,
        retryDelay: '1s',
      },
    };
    const { 'fanout-session': fanout } = await targetsOf(
      ASSIGNMENT.replace('contracts: contracts', 'contracts: contracts\nagent: claude'),
      { agents },
    );
    expect(fanout.options).toMatchObject({
      agent: 'claude',
      agents: { claude: { model: 'sonnet', maxTurns: 30, args: ['--verbose'], env: ['ANTHROPIC_BASE_URL', 'X_TOKEN'] } },
    });
    expect(JSON.stringify(fanout.options)).not.toMatch(/127\.0\.0\.1|value|retries|retryDelay/);
    const schema = JSON.parse(readFileSync(join(__dirname, 'executors/run/schema.json'), 'utf-8')) as { properties: object };
    for (const option of Object.keys(fanout.options ?? {})) expect(Object.keys(schema.properties)).toContain(option);
  });

  it("puts the gate and the repair rounds into the cache key: fanout.md's over the plugin options'", async () => {
    const fromPlugin = await targetsOf(ASSIGNMENT, { gate: ['typecheck'], repairs: 1 });
    expect(fromPlugin['fanout-session'].options).toMatchObject({ gate: ['typecheck'], repairs: 1 });
    const fromTask = await targetsOf(ASSIGNMENT.replace('contracts: contracts', 'contracts: contracts\ngate: []\nrepairs: 3'), {
      gate: ['typecheck'],
      repairs: 1,
    });
    expect(fromTask['fanout-session'].options).toMatchObject({ gate: [], repairs: 3 });
    // Unset anywhere: the executor's defaults, and nothing in the options.
    const unset = await targetsOf(ASSIGNMENT);
    expect(unset['fanout-session'].options).not.toHaveProperty('gate');
    expect(unset['fanout-session'].options).not.toHaveProperty('repairs');
  });

  it('infers only options the fanout:run executor declares, so that Nx accepts them', async () => {
    const { 'fanout-session': fanout } = await targetsOf(ASSIGNMENT);
    const schema = JSON.parse(readFileSync(join(__dirname, 'executors/run/schema.json'), 'utf-8')) as { properties: object };
    const declared = Object.keys(schema.properties);
    expect(Object.keys(fanout.options ?? {}).length).toBeGreaterThan(0);
    for (const option of Object.keys(fanout.options ?? {})) expect(declared).toContain(option);
  });

  it('never takes what a session writes as an input', async () => {
    const { 'fanout-session': fanout } = await targetsOf(ASSIGNMENT.replace('contracts: contracts', 'contracts: contracts\nscope: .'));
    const paths = (fanout.inputs ?? []).filter((input): input is string => typeof input === 'string');
    for (const path of paths) expect(path).not.toMatch(/\.fanout|\/src(\/|$)/);
    expect(paths).toContain('{projectRoot}/fanout.md');
  });

  it.each([
    ['the default scope', ASSIGNMENT],
    ['a scope list', ASSIGNMENT.replace('contracts: contracts', 'contracts: contracts\nscope: [lib, docs/api/]')],
    ['the whole project', ASSIGNMENT.replace('contracts: contracts', 'contracts: contracts\nscope: .')],
  ])("has the session's record as its only output, never the project's files, with %s", async (_, content) => {
    const { 'fanout-session': fanout } = await targetsOf(content);
    expect(fanout.outputs).toEqual(['{workspaceRoot}/.fanout/sessions/{projectName}']);
    const resolved = (fanout.outputs ?? []).map((output) =>
      output.replace('{workspaceRoot}', workspaceRoot).replace('{projectName}', 'orders'),
    );
    expect(resolved).toEqual([sessionDir(workspaceRoot, 'orders')]);
  });

  it.each([
    ['the default scope', ASSIGNMENT],
    ['a scope list', ASSIGNMENT.replace('contracts: contracts', 'contracts: contracts\nscope: [src, test]')],
  ])('has no input under its outputs, with %s', async (_, content) => {
    const { 'fanout-session': fanout } = await targetsOf(content);
    const outputs = fanout.outputs ?? [];
    const inputPaths = (fanout.inputs ?? []).filter((input): input is string => typeof input === 'string');
    expect(inputPaths.length).toBeGreaterThan(0);
    for (const input of inputPaths) {
      for (const output of outputs) {
        expect(input === output || input.startsWith(`${output}/`)).toBe(false);
      }
    }
  });

  it('renames the targets with the targetName option', async () => {
    const targets = await targetsOf(ASSIGNMENT, { targetName: 'agents' });
    expect(Object.keys(targets).sort()).toEqual(['agents', 'agents-session']);
    expect(targets['agents-session'].executor).toBe('fanout:run');
    expect(targets['agents'].executor).toBe('fanout:run');
    expect(targets['agents'].dependsOn).toEqual([{ target: 'agents-session', params: 'forward' }]);
  });

  describe('with the target renamed by targetName', () => {
    const options: FanoutPluginOptions = { targetName: 'agents' };

    it('orders the sessions by the new name: agents depends on ^agents, and so does fanout-verify', async () => {
      const files = [writeAssignment('libs/orders', ASSIGNMENT), writeAssignment('libs/products', ASSIGNMENT)];
      const results = await createNodes(files, options);
      for (const file of files) {
        const targets = results.get(file)?.projects?.[file.replace('/fanout.md', '')]?.targets ?? {};
        expect(Object.keys(targets).sort()).toEqual(['agents', 'agents-session']);
        expect(targets['agents-session']).toMatchObject({ executor: 'fanout:run' });
        expect(targets['agents-session'].dependsOn?.[0]).toBe('^agents');
      }
      const root = results.get('nx.json')?.projects?.['.'];
      expect(root?.targets?.['fanout-verify']?.dependsOn).toEqual(['^agents']);
      // No dependency is left on a target named fanout, which no project has any more.
      const dependsOn = [...results.values()].flatMap((result) =>
        Object.values(result.projects ?? {}).flatMap((project) =>
          Object.values(project.targets ?? {}).flatMap((target) => target.dependsOn ?? []),
        ),
      );
      expect(dependsOn).not.toContain('^fanout');
    });

    it('lets fanout-verify find the tasks under the new name', async () => {
      const files = [writeAssignment('libs/orders', ASSIGNMENT), writeAssignment('libs/products', ASSIGNMENT)];
      const results = await createNodes(files, options);
      // The project graph Nx would build from what the plugin inferred.
      const nodes = Object.fromEntries(
        [...results.values()].flatMap((result) =>
          Object.entries(result.projects ?? {}).map(([root, project]) => {
            const name = root === '.' ? 'workspace' : basename(root);
            return [name, { name, type: 'lib' as const, data: { root, targets: project.targets ?? {} } }];
          }),
        ),
      );
      const context: ExecutorContext = {
        root: workspaceRoot,
        cwd: workspaceRoot,
        isVerbose: false,
        projectName: 'workspace',
        targetName: 'fanout-verify',
        projectGraph: { nodes, dependencies: {} },
        projectsConfigurations: { version: 2, projects: {} },
        nxJsonConfiguration: { plugins: [{ plugin: 'fanout', options }] },
      };
      const errors: string[] = [];
      jest.spyOn(logger, 'error').mockImplementation((message: unknown) => void errors.push(String(message)));
      jest.spyOn(logger, 'info').mockImplementation(() => undefined);
      try {
        // No session has run: verify must find both tasks by the new name and say how to run them.
        expect(await verifyExecutor({ skipAffected: true }, context)).toEqual({ success: false });
      } finally {
        jest.restoreAllMocks();
      }
      expect(errors).toHaveLength(1);
      expect(errors[0]).toContain('orders, products have no session result. Run nx run-many -t agents fanout-verify.');
      expect(errors[0]).not.toContain('no project has');
    });
  });

  it('still infers the target from an invalid fanout.md, so that running it reports the problem', async () => {
    const { 'fanout-session': fanout } = await targetsOf('no front matter here\n');
    expect(fanout).toMatchObject({ executor: 'fanout:run', cache: true });
    expect(fanout.inputs).toContain('{projectRoot}/fanout.md');
    expect(fanout.inputs).not.toContainEqual(expect.objectContaining({ projects: expect.anything() }));
    expect(fanout.outputs).toEqual(['{workspaceRoot}/.fanout/sessions/{projectName}']);
  });

  it("uses the 'default' named input when the workspace has no 'production'", async () => {
    const { 'fanout-session': fanout } = await targetsOf(ASSIGNMENT, {}, {});
    expect(fanout.inputs).toContainEqual({ input: 'default', projects: ['users', 'contracts'] });
  });

  it('gives one project per fanout.md, rooted at its folder', async () => {
    const files = [writeAssignment('libs/orders', ASSIGNMENT), writeAssignment('libs/shop/products', ASSIGNMENT)];
    const results = await createNodes(files);
    expect(Object.keys(results.get('libs/orders/fanout.md')?.projects ?? {})).toEqual(['libs/orders']);
    expect(Object.keys(results.get('libs/shop/products/fanout.md')?.projects ?? {})).toEqual(['libs/shop/products']);
  });

  it('tags every task, and puts one fanout-verify on the root project that depends on all of them', async () => {
    writeFileSync(join(workspaceRoot, 'package.json'), JSON.stringify({ name: '@acme/source' }));
    const files = [writeAssignment('libs/orders', ASSIGNMENT), writeAssignment('libs/products', ASSIGNMENT)];
    const results = await createNodes(files);
    expect(results.get('libs/orders/fanout.md')?.projects?.['libs/orders']?.tags).toEqual(['fanout:task']);
    const root = results.get('nx.json')?.projects?.['.'];
    expect(root).toMatchObject({ name: '@acme/source', implicitDependencies: ['tag:fanout:task'] });
    expect(root?.targets?.['fanout-verify']).toMatchObject({ executor: 'fanout:verify', cache: false, dependsOn: ['^fanout'] });
  });

  it("keeps the root project's own name for fanout-verify, and names a nameless root 'workspace'", async () => {
    const files = [writeAssignment('libs/orders', ASSIGNMENT)];
    expect((await createNodes(files)).get('nx.json')?.projects?.['.']?.name).toBe('workspace');
    writeFileSync(join(workspaceRoot, 'package.json'), JSON.stringify({ name: '@acme/source' }));
    writeFileSync(join(workspaceRoot, 'project.json'), JSON.stringify({ name: 'acme' }));
    expect((await createNodes(files)).get('nx.json')?.projects?.['.']?.name).toBe('acme');
  });

  it('adds no root project to a workspace without tasks', async () => {
    expect((await createNodes([])).size).toBe(0);
  });

  describe("each target's description and help, as Nx Console and nx show project show them", () => {
    const manifest = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf-8')) as { bin: Record<string, string> };
    const schemaOptions = (executor: string) =>
      (
        JSON.parse(readFileSync(join(__dirname, 'executors', executor, 'schema.json'), 'utf-8')) as {
          properties: Record<string, { 'x-priority'?: string }>;
        }
      ).properties;

    async function allTargets(): Promise<Record<string, TargetConfiguration>> {
      const file = writeAssignment('libs/orders', ASSIGNMENT);
      const results = await createNodes([file]);
      return { ...results.get(file)?.projects?.['libs/orders']?.targets, ...results.get('nx.json')?.projects?.['.']?.targets };
    }

    /** Runs a help command as the installed package would: its bin, mapped from dist/ back to the source. */
    function runHelp(command: string): Promise<{ code: number | null; output: string }> {
      const [exec, bin, ...args] = command.split(' ');
      expect(exec).toBe('npx');
      expect(manifest.bin[bin]).toMatch(/^\.\/dist\/.*\.js$/);
      const child = spawnTypeScript(join(__dirname, manifest.bin[bin].replace(/^\.\/dist\/(.*)\.js$/, '$1.ts')), args);
      return new Promise((resolve) => child.on('close', (code) => resolve({ code, output: child.output() })));
    }

    it('gives every target a description and a help command with an example of options its executor declares', async () => {
      const targets = await allTargets();
      expect(Object.keys(targets).sort()).toEqual(['fanout', 'fanout-session', 'fanout-verify']);
      for (const target of Object.values(targets)) {
        const executor = target.executor?.replace(/^fanout:/, '') ?? '';
        expect(target.metadata?.description).toEqual(expect.any(String));
        expect(target.metadata?.help?.command).toBe(`npx fanout-options ${executor}`);
        const options = Object.keys(target.metadata?.help?.example?.options ?? {});
        expect(options.length).toBeGreaterThan(0);
        for (const option of options) expect(Object.keys(schemaOptions(executor))).toContain(option);
      }
    });

    it("runs the bin of the workspace's package manager", async () => {
      writeFileSync(join(workspaceRoot, 'pnpm-lock.yaml'), 'lockfileVersion: 9.0\n');
      writeFileSync(join(workspaceRoot, 'package.json'), JSON.stringify({ name: '@acme/source', packageManager: 'pnpm@9.15.0' }));
      const { 'fanout-session': session } = await allTargets();
      expect(session.metadata?.help?.command).toBe('pnpm exec fanout-options run');
    });

    it("prints each target's options from its executor's schema when run", async () => {
      const targets = await allTargets();
      for (const target of Object.values(targets)) {
        const executor = target.executor?.replace(/^fanout:/, '') ?? '';
        const { code, output } = await runHelp(target.metadata?.help?.command ?? '');
        expect(code).toBe(0);
        for (const [option, property] of Object.entries(schemaOptions(executor))) {
          if (property['x-priority'] === 'internal') expect(output).not.toContain(`--${option} `);
          else expect(output).toContain(`--${option} `);
        }
      }
    }, 120_000);
  });
});

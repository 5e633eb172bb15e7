import { logger, type ExecutorContext, type ProjectGraph } from '@nx/devkit';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { dirname, join, relative } from 'path';
import { listFiles } from '../../core/system/files';
import { gitIn } from '../../testing/git-workspace';
import verifyExecutor from './verify';

const ASSIGNMENT = '---\nlike: users\ncontracts: contracts\n---\n\nBuild it.\n';

describe('fanout:verify', () => {
  let root: string;
  const write = (file: string, text: string) => {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    writeFileSync(join(root, file), text);
  };
  const session = (project: string, files: string[], status = 'succeeded', baseCommit = 'f'.repeat(40)) =>
    write(
      `.fanout/sessions/${project}/result.json`,
      JSON.stringify({
        project,
        status,
        agent: 'command',
        startedAt: '2026-01-01T00:00:00.000Z',
        endedAt: '2026-01-01T00:00:02.000Z',
        durationMs: 2000,
        baseCommit,
        baseContextHash: 'hash',
        files: files.map((path) => ({ path, status: 'added' })),
        rejected: [],
        steps: [],
        findings: [],
        log: 'session.log',
        promptFile: 'prompt.md',
        ...(status === 'failed' ? { error: 'the agent failed: node exited with code 3.' } : {}),
      }),
    );
  const context = (): ExecutorContext => {
    const node = (name: string, root: string, targets: Record<string, object>) => ({ name, type: 'lib' as const, data: { root, targets } });
    const projectGraph: ProjectGraph = {
      nodes: {
        users: node('users', 'libs/users', {}),
        orders: node('orders', 'libs/orders', { fanout: {} }),
        products: node('products', 'libs/products', { fanout: {} }),
        workspace: node('workspace', '.', { 'fanout-verify': {} }),
      },
      dependencies: {},
    };
    return {
      root,
      cwd: root,
      isVerbose: false,
      projectName: 'workspace',
      targetName: 'fanout-verify',
      projectGraph,
      projectsConfigurations: { version: 2, projects: {} },
      nxJsonConfiguration: { plugins: ['fanout'] },
    };
  };

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'fanout-verify-executor-'));
    write('libs/users/src/users.routes.ts', "export const routes = [{ method: 'GET', path: '/users' }];\n");
    write('libs/orders/fanout.md', ASSIGNMENT);
    write('libs/products/fanout.md', ASSIGNMENT);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('passes sessions that fit together, and writes the report', async () => {
    write('libs/orders/src/orders.routes.ts', "export const routes = [{ method: 'GET', path: '/orders' }];\n");
    write('libs/products/src/products.routes.ts', "export const routes = [{ method: 'GET', path: '/products' }];\n");
    session('orders', ['libs/orders/src/orders.routes.ts']);
    session('products', ['libs/products/src/products.routes.ts']);

    expect(await verifyExecutor({ skipAffected: true }, context())).toEqual({ success: true });
    const report = readFileSync(join(root, '.fanout/report.md'), 'utf-8');
    expect(report).toContain('orders');
    expect(report).toContain('products');
    expect(existsSync(join(root, '.fanout/report.html'))).toBe(true);
  });

  it('writes nothing to the workspace but the report, even for a session whose record has not landed (the fanout target lands it)', async () => {
    write('libs/orders/src/orders.routes.ts', "export const routes = [{ method: 'GET', path: '/orders' }];\n");
    session('orders', ['libs/orders/src/orders.routes.ts', 'libs/orders/src/orders.ts']);
    session('products', []);
    write('.fanout/sessions/orders/files/libs/orders/src/orders.ts', 'export const orders = 1;\n');
    const snapshot = () => new Map(listFiles(root).map((file) => [relative(root, file), readFileSync(file, 'utf-8')]));
    const before = snapshot();

    await verifyExecutor({ skipAffected: true }, context());
    const after = snapshot();
    expect([...after.keys()].filter((file) => !before.has(file)).sort()).toEqual(['.fanout/report.html', '.fanout/report.md']);
    for (const [file, content] of before) expect(after.get(file)).toBe(content);
  });

  it('fails on two sessions serving one route, and the report names the problem and both sessions', async () => {
    write('libs/orders/src/orders.routes.ts', "export const routes = [{ method: 'GET', path: '/items' }];\n");
    write('libs/products/src/products.routes.ts', "export const routes = [{ method: 'GET', path: '/items' }];\n");
    session('orders', ['libs/orders/src/orders.routes.ts']);
    session('products', ['libs/products/src/products.routes.ts']);

    expect(await verifyExecutor({ skipAffected: true }, context())).toEqual({ success: false });
    const report = readFileSync(join(root, '.fanout/report.md'), 'utf-8');
    expect(report).toContain('GET /items is served by several sessions');
    expect(report).toMatch(/orders.*products/s);
  });

  it('fails when a task has no session result or its session failed', async () => {
    session('orders', [], 'failed');
    expect(await verifyExecutor({ skipAffected: true }, context())).toEqual({ success: false });
    const report = readFileSync(join(root, '.fanout/report.md'), 'utf-8');
    expect(report).toContain('products has no session result');
    expect(report).toContain('the session of orders failed');
  });

  describe('the base of nx affected', () => {
    /** Where the stand-in nx writes the arguments it was run with. */
    const argvFile = () => join(root, 'node_modules', '.bin', 'argv.json');
    let info: jest.SpyInstance;
    let error: jest.SpyInstance;

    beforeEach(() => {
      // A stand-in for the workspace's nx: it records its arguments (the real nx runs in the e2e suite).
      write('.gitignore', 'node_modules\n.fanout/\n');
      write(
        'node_modules/.bin/nx',
        "#!/usr/bin/env node\nrequire('fs').writeFileSync(require('path').join(__dirname, 'argv.json'), JSON.stringify(process.argv.slice(2)));\nconsole.log('affected checks ran');\n",
      );
      chmodSync(join(root, 'node_modules/.bin/nx'), 0o755);
      gitIn(root, 'init', '-q', '-b', 'main');
      gitIn(root, 'add', '-A');
      gitIn(root, 'commit', '-q', '-m', 'tasks');
      info = jest.spyOn(logger, 'info').mockImplementation(() => undefined);
      error = jest.spyOn(logger, 'error').mockImplementation(() => undefined);
    });
    afterEach(() => jest.restoreAllMocks());

    const logged = (spy: jest.SpyInstance) => spy.mock.calls.map((call) => String(call[0])).join('\n');

    it('is the commit the sessions recorded, when the repository has it', async () => {
      const recorded = gitIn(root, 'rev-parse', 'HEAD').trim();
      session('orders', [], 'succeeded', recorded);
      session('products', [], 'succeeded', recorded);

      expect(await verifyExecutor({ targets: ['test'] }, context())).toEqual({ success: true });

      expect(JSON.parse(readFileSync(argvFile(), 'utf-8'))).toContain(`--base=${recorded}`);
      expect(logged(info)).toContain(`[fanout] base ${recorded.slice(0, 7)} (recorded by the sessions)`);
    });

    it("for sessions replayed from another clone's cache, is the last commit that changed the tasks' inputs, and the log and report say so", async () => {
      write('libs/users/src/users.routes.ts', "export const routes = [{ method: 'GET', path: '/people' }];\n");
      gitIn(root, 'commit', '-q', '-am', 'reference');
      const inputsChanged = gitIn(root, 'rev-parse', 'HEAD').trim();
      write('README.md', '# Not an input of any task\n');
      gitIn(root, 'add', 'README.md');
      gitIn(root, 'commit', '-q', '-m', 'readme');
      write('libs/orders/src/orders.routes.ts', "export const routes = [{ method: 'GET', path: '/orders' }];\n");
      session('orders', ['libs/orders/src/orders.routes.ts']);
      session('products', []);

      expect(await verifyExecutor({ targets: ['test'] }, context())).toEqual({ success: true });

      expect(JSON.parse(readFileSync(argvFile(), 'utf-8'))).toEqual([
        'affected',
        '-t',
        'test',
        `--base=${inputsChanged}`,
        '--outputStyle=static',
        '--exclude=workspace',
      ]);
      const note =
        `base ${inputsChanged.slice(0, 7)}: the recorded base fffffff is not in this repository (a replay from another clone's cache); ` +
        "using the last commit that changed the tasks' inputs";
      expect(logged(info)).toContain(`[fanout] ${note}`);
      const report = readFileSync(join(root, '.fanout/report.md'), 'utf-8');
      expect(report).toContain(`against base \`${inputsChanged}\``);
      expect(report).toContain(note);
    });

    it('refuses a --base that names no commit, naming it, and runs nothing', async () => {
      session('orders', []);
      session('products', []);

      expect(await verifyExecutor({ base: 'cb6f1e5' }, context())).toEqual({ success: false });

      expect(logged(error)).toContain(`--base=cb6f1e5 is not a commit of the repository at ${root}`);
      expect(existsSync(argvFile())).toBe(false);
    });
  });

  it('refuses to run the fanout targets from inside verify, and writes nothing', async () => {
    expect(await verifyExecutor({ targets: ['test', 'fanout'] }, context())).toEqual({ success: false });
    expect(existsSync(join(root, '.fanout/report.md'))).toBe(false);
  });
});

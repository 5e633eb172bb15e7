import type { ExecutorContext, ProjectGraph } from '@nx/devkit';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { dirname, join } from 'path';
import verifyExecutor from './verify';

const ASSIGNMENT = '---\nlike: users\ncontracts: contracts\n---\n\nBuild it.\n';

describe('fanout:verify', () => {
  let root: string;
  const write = (file: string, text: string) => {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    writeFileSync(join(root, file), text);
  };
  const session = (project: string, files: string[], status = 'succeeded') =>
    write(
      `.fanout/sessions/${project}/result.json`,
      JSON.stringify({
        project,
        status,
        agent: 'command',
        startedAt: '2026-01-01T00:00:00.000Z',
        endedAt: '2026-01-01T00:00:02.000Z',
        durationMs: 2000,
        baseCommit: 'f'.repeat(40),
        baseContextHash: 'hash',
        files: files.map((path) => ({ path, status: 'added' })),
        rejected: [],
        checks: [],
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

  it('refuses to run the fanout targets from inside verify, and writes nothing', async () => {
    expect(await verifyExecutor({ targets: ['test', 'fanout'] }, context())).toEqual({ success: false });
    expect(existsSync(join(root, '.fanout/report.md'))).toBe(false);
  });
});

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { dirname, join } from 'path';
import type { SessionResult } from '../session/result';
import { findCrossSessionProblems } from './cross-session';

function result(project: string, files: string[], extra: Partial<SessionResult> = {}): SessionResult {
  return {
    id: `record-${project}`,
    project,
    status: 'succeeded',
    agent: 'command',
    startedAt: '2026-01-01T00:00:00.000Z',
    endedAt: '2026-01-01T00:00:01.000Z',
    durationMs: 1000,
    baseCommit: 'abc',
    baseContextHash: 'hash',
    files: files.map((path) => ({ path, status: 'added' as const })),
    rejected: [],
    steps: [],
    findings: [],
    log: 'session.log',
    promptFile: 'prompt.md',
    ...extra,
  };
}

describe('findCrossSessionProblems', () => {
  let root: string;
  const write = (file: string, text: string) => {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    writeFileSync(join(root, file), text);
  };

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'fanout-verify-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('finds nothing in sessions that each keep to their own names, routes, ports and versions', () => {
    write(
      'libs/orders/src/routes.ts',
      "export const ORDERS_BASE_PATH = '/orders';\nexport const routes = [{ method: 'GET', path: ORDERS_BASE_PATH }];\nexport const ORDERS_PORT = 20001;\n",
    );
    write(
      'libs/products/src/routes.ts',
      "export const PRODUCTS_BASE_PATH = '/products';\nexport const routes = [{ method: 'GET', path: PRODUCTS_BASE_PATH }];\nexport const PRODUCTS_PORT = 20101;\n",
    );
    write('libs/orders/package.json', JSON.stringify({ dependencies: { zod: '^3.23.0' } }));
    write('libs/products/package.json', JSON.stringify({ dependencies: { zod: '^3.23.0' } }));
    const problems = findCrossSessionProblems({
      workspaceRoot: root,
      results: [
        result('orders', ['libs/orders/src/routes.ts', 'libs/orders/package.json']),
        result('products', ['libs/products/src/routes.ts', 'libs/products/package.json']),
      ],
      sharedNames: new Set(['routes']),
    });
    expect(problems).toEqual([]);
  });

  it('names each symbol, route, port and dependency version two sessions both claim, with file:line and the sessions', () => {
    write(
      'libs/orders/src/lib/api.ts',
      "export function formatMoney() {}\nconst BASE = '/items';\nexport const routes = [{ method: 'GET', path: `${BASE}/:id` }];\napp.listen(3000);\n",
    );
    write(
      'libs/products/src/lib/api.ts',
      "export class formatMoney {}\nrouter.get('/items/:itemId', handler);\nexport const port = Number(process.env.PORT ?? 3000);\n",
    );
    write('libs/orders/package.json', JSON.stringify({ dependencies: { zod: '^3.23.0' } }));
    write('libs/products/package.json', JSON.stringify({ devDependencies: { zod: '^4.0.0' } }));
    const problems = findCrossSessionProblems({
      workspaceRoot: root,
      results: [
        result('orders', ['libs/orders/src/lib/api.ts', 'libs/orders/package.json']),
        result('products', ['libs/products/src/lib/api.ts', 'libs/products/package.json']),
      ],
      sharedNames: new Set(['routes']),
    });
    expect(problems.map((problem) => [problem.kind, problem.sessions])).toEqual([
      ['symbol-collision', ['orders', 'products']],
      ['route-collision', ['orders', 'products']],
      ['port-collision', ['orders', 'products']],
      ['dependency-conflict', ['orders', 'products']],
    ]);
    expect(problems[0].message).toContain(
      'formatMoney is exported by several sessions: libs/orders/src/lib/api.ts:1 (orders), libs/products/src/lib/api.ts:1 (products)',
    );
    expect(problems[1].message).toContain(
      'GET /items/:param is served by several sessions: libs/orders/src/lib/api.ts:3 (orders), libs/products/src/lib/api.ts:2 (products)',
    );
    expect(problems[2].message).toContain(
      'port 3000 is claimed by several sessions: libs/orders/src/lib/api.ts:4 (orders), libs/products/src/lib/api.ts:3 (products)',
    );
    expect(problems[3].message).toContain(
      'zod is added with different versions: ^3.23.0 in libs/orders/package.json dependencies (orders); ^4.0.0 in libs/products/package.json devDependencies (products)',
    );
  });

  it('names a page path or a barrel export two sessions both registered in the same wired file, and not what each registered alone', () => {
    const pages = 'apps/shop/src/app/pages.tsx';
    const barrel = 'libs/pages/src/index.ts';
    const base =
      "import { SettingsPage } from '@shop/feature-settings';\n\nexport const pages = [\n  { path: '/settings', element: <SettingsPage /> },\n];\n";
    const entry = (page: string, path: string) =>
      base
        .replace('];\n', `  { path: '${path}', element: <${page} /> },\n];\n`)
        .replace("';\n\n", `';\nimport { ${page} } from '@shop/x';\n\n`);
    const record = (project: string, edits: { path: string; base: string; session: string }[]) =>
      write(`.fanout/sessions/${project}/wired.json`, JSON.stringify(edits.map((edit) => ({ ...edit, project: 'shop' }))));
    record('dashboard', [
      { path: pages, base, session: entry('DashboardPage', '/dashboard') },
      { path: barrel, base: '', session: "export { Panel } from './panel';\n" },
    ]);
    record('profile', [
      { path: pages, base, session: entry('ProfilePage', '/dashboard') },
      { path: barrel, base: '', session: "export { Panel } from './profile-panel';\n" },
    ]);
    record('billing', [{ path: pages, base, session: entry('BillingPage', '/billing') }]);
    const wired = (project: string) => result(project, [], { wired: [{ path: pages, project: 'shop', status: 'merged' }] });

    const problems = findCrossSessionProblems({ workspaceRoot: root, results: [wired('dashboard'), wired('profile'), wired('billing')] });

    expect(problems).toEqual([
      {
        kind: 'wiring-collision',
        message: `path /dashboard is registered in ${pages} by several sessions: ${pages}:6 (dashboard), ${pages}:6 (profile). Each session must register its own: give each its own path.`,
        sessions: ['dashboard', 'profile'],
      },
      {
        kind: 'wiring-collision',
        message: `export Panel is registered in ${barrel} by several sessions: ${barrel}:1 (dashboard), ${barrel}:1 (profile). Each session must register its own: give each its own name.`,
        sessions: ['dashboard', 'profile'],
      },
    ]);
  });

  it("does not count a registration the workspace's wired file no longer holds (a repair gave it a path of its own)", () => {
    const pages = 'apps/shop/src/pages.ts';
    const base = 'export const pages = [\n];\n';
    const edit = (name: string) => ({
      path: pages,
      project: 'shop',
      base,
      session: `export const pages = [\n  { path: '/page', name: '${name}' },\n];\n`,
    });
    write('.fanout/sessions/orders/wired.json', JSON.stringify([edit('orders')]));
    write('.fanout/sessions/products/wired.json', JSON.stringify([edit('products')]));
    const wired = (project: string) => result(project, [], { wired: [{ path: pages, project: 'shop', status: 'merged' }] });
    const results = [wired('orders'), wired('products')];
    write(pages, "export const pages = [\n  { path: '/page', name: 'orders' },\n  { path: '/page', name: 'products' },\n];\n");
    expect(findCrossSessionProblems({ workspaceRoot: root, results }).map((problem) => problem.kind)).toEqual(['wiring-collision']);

    write(pages, "export const pages = [\n  { path: '/orders', name: 'orders' },\n  { path: '/page', name: 'products' },\n];\n");
    expect(findCrossSessionProblems({ workspaceRoot: root, results })).toEqual([]);
  });

  it("does not count one session's own repetitions, deleted files or specs", () => {
    write('libs/orders/src/a.ts', 'export const shared = 1;\n');
    write('libs/orders/src/b.ts', "export { shared } from './a';\n");
    write('libs/products/src/a.spec.ts', 'export const shared = 1;\n');
    const problems = findCrossSessionProblems({
      workspaceRoot: root,
      results: [
        result('orders', ['libs/orders/src/a.ts', 'libs/orders/src/b.ts']),
        result('products', ['libs/products/src/a.spec.ts', 'libs/products/src/gone.ts']),
      ],
    });
    expect(problems).toEqual([]);
  });
});

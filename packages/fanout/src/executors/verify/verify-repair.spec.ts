import { logger, type ExecutorContext, type ProjectGraph } from '@nx/devkit';
import { chmodSync, existsSync, readFileSync } from 'fs';
import { join } from 'path';
import type { SessionResult } from '../../core/session/result';
import {
  agentScript,
  commandTask,
  createWorkspace,
  gitIn,
  sessionSpec,
  snapshot,
  write,
  type TestWorkspace,
} from '../../testing/git-workspace';
import { runAndLand } from '../../testing/run-and-land';
import verifyExecutor from './verify';

/**
 * Repairs of the integrated whole, with real git, real worktrees, real landings and
 * command agents. Two page sessions each pass their own gate, but both register the
 * same path in the shop's wired pages file, and the shop's test (every page has its
 * own path) fails once both have landed. A stand-in for the workspace's nx runs each
 * project's test (a node script) and writes Nx's task profile, as the real nx does in
 * the e2e suite.
 */
const PAGES = 'apps/shop/src/pages.ts';
const BASE_PAGES = `export const pages = [\n  { path: '/users', name: 'users' },\n];\n`;

/** The shop's test: every page of pages.ts (and of the user's extra-pages.json, when there is one) has its own path. */
const SHOP_TEST = String.raw`const fs = require('fs');
const text = fs.readFileSync('apps/shop/src/pages.ts', 'utf-8');
const paths = [...text.matchAll(/path: '([^']+)', name: '([^']+)'/g)].map((m) => [m[1], m[2]]);
if (fs.existsSync('apps/shop/extra-pages.json')) for (const p of JSON.parse(fs.readFileSync('apps/shop/extra-pages.json', 'utf-8'))) paths.push([p, 'extra']);
const seen = new Map();
let failed = false;
for (const [path, name] of paths) {
  if (seen.has(path)) { console.log('FAIL src/pages.spec.ts\n  ● shop › gives every page its own path\n\n    ' + path + ' is claimed by ' + seen.get(path) + ' and ' + name + ' (apps/shop/src/pages.ts)'); failed = true; }
  seen.set(path, name);
}
if (process.env.SHOP_BROKEN_BEFORE && !text.includes('orders') && !text.includes('products')) { console.log('FAIL src/pages.spec.ts\n  ● shop › loads\n    broken before'); failed = true; }
if (fs.existsSync('apps/shop/broken.txt')) { console.log('FAIL src/pages.spec.ts\n  ● shop › loads\n    broken.txt'); failed = true; }
if (!failed) console.log('PASS src/pages.spec.ts');
process.exit(failed ? 1 : 0);
`;

/**
 * The stand-in nx: \`affected\` runs the shop's test (the only affected target with a test),
 * \`run-many --targets=.. --projects=..\` the given ones; each task under its \`> nx run\`
 * heading, and a task profile at NX_PROFILE, as Nx writes them.
 */
const NX = String.raw`#!/usr/bin/env node
const fs = require('fs'); const path = require('path'); const cp = require('child_process');
const args = process.argv.slice(2);
const value = (name) => (args.find((arg) => arg.startsWith('--' + name + '=')) || '').split('=')[1];
let tasks = [];
if (args[0] === 'affected') tasks = [['shop', 'test']];
else if (args[0] === 'run-many') for (const p of value('projects').split(',')) for (const t of value('targets').split(',')) tasks.push([p, t]);
const events = [];
let ok = true;
for (const [project, target] of tasks) {
  const started = Date.now();
  console.log('> nx run ' + project + ':' + target + '\n');
  let status = 'success';
  if (project === 'shop' && target === 'test') {
    const run = cp.spawnSync(process.execPath, ['apps/shop/test.js'], { encoding: 'utf-8', env: process.env });
    process.stdout.write(run.stdout);
    if (run.status !== 0) status = 'failure';
  }
  if (status !== 'success') ok = false;
  events.push({ ph: 'X', name: project + ':' + target, dur: (Date.now() - started) * 1000, args: { status } });
}
if (process.env.NX_PROFILE) fs.writeFileSync(path.resolve(process.cwd(), process.env.NX_PROFILE), JSON.stringify(events));
console.log(ok ? '\n NX   Successfully ran ' + tasks.length + ' tasks' : '\n NX   Ran ' + tasks.length + ' tasks, some failed');
process.exit(ok ? 0 : 1);
`;

describe('fanout:verify repairs the integrated whole', () => {
  let ws: TestWorkspace;
  // Real processes and git on a shared machine: a generous bound, not a speed requirement.
  jest.setTimeout(180_000);
  const wired = [{ path: PAGES, project: 'shop' }];
  const read = (file: string) => readFileSync(join(ws.root, file), 'utf-8');
  const result = (project: string) => JSON.parse(read(`.fanout/sessions/${project}/result.json`)) as SessionResult;
  const feedbackLog = (name: string) => join(ws.scripts, `${name}.feedback`);

  /**
   * A page session: writes its page and registers it at '/page' (the reference's habit: the
   * same path for everyone). Told a verify failure (FANOUT_FEEDBACK_FILE), it keeps the
   * feedback for the test to read and, when `fixes`, moves its page to a path of its own.
   */
  const pageAgent = (name: string, fixes: boolean) =>
    agentScript(
      ws,
      name,
      `if (process.env.FANOUT_FEEDBACK_FILE) {
  fs.writeFileSync(${JSON.stringify(feedbackLog(name))}, fs.readFileSync(process.env.FANOUT_FEEDBACK_FILE, 'utf-8'));
  const pages = fs.readFileSync(${JSON.stringify(PAGES)}, 'utf-8');
  if (${fixes}) fs.writeFileSync(${JSON.stringify(PAGES)}, pages.replace("{ path: '/page', name: '${name}' }", "{ path: '/${name}', name: '${name}' }"));
  else fs.appendFileSync('libs/${name}/src/index.ts', '// looked at it\\n');
} else {
  fs.writeFileSync('libs/${name}/src/index.ts', "export const ${name}Page = '${name}';\\n");
  const pages = fs.readFileSync(${JSON.stringify(PAGES)}, 'utf-8');
  fs.writeFileSync(${JSON.stringify(PAGES)}, pages.replace('];', "  { path: '/page', name: '${name}' },\\n];"));
}`,
    );

  const context = (): ExecutorContext => {
    const node = (name: string, root: string, targets: Record<string, object>) => ({ name, type: 'lib' as const, data: { root, targets } });
    const projectGraph: ProjectGraph = {
      nodes: {
        shop: { name: 'shop', type: 'app', data: { root: 'apps/shop', targets: { test: {} } } },
        orders: node('orders', 'libs/orders', { fanout: {}, 'fanout-session': {}, test: {} }),
        products: node('products', 'libs/products', { fanout: {}, 'fanout-session': {}, test: {} }),
        users: node('users', 'libs/users', {}),
        contracts: node('contracts', 'libs/contracts', {}),
        workspace: node('workspace', '.', { 'fanout-verify': {} }),
      },
      dependencies: {
        shop: [
          { source: 'shop', target: 'orders', type: 'static' },
          { source: 'shop', target: 'products', type: 'static' },
        ],
      },
    };
    return {
      root: ws.root,
      cwd: ws.root,
      isVerbose: false,
      projectName: 'workspace',
      targetName: 'fanout-verify',
      projectGraph,
      projectsConfigurations: { version: 2, projects: {} },
      nxJsonConfiguration: { plugins: [{ plugin: 'fanout', options: { sandbox: 'off' } }] },
    };
  };

  /** Both sessions, one after the other, each passing its own gate and landing; returns the workspace as integrated. */
  const fanOut = async (fixes: boolean) => {
    for (const name of ['orders', 'products']) {
      const landed = await runAndLand(
        sessionSpec(ws.root, name, commandTask(`node ${pageAgent(name, fixes)}`, `wire: [${PAGES}]\n`), {
          wired,
          gate: { run: ['test'], missing: [] },
        }),
      );
      expect(landed.status).toBe('succeeded');
    }
    expect(read(PAGES)).toContain("{ path: '/page', name: 'orders' },\n  { path: '/page', name: 'products' },");
    return snapshot(ws.root, (path) => path === '.fanout' || path === 'node_modules' || path === '.git');
  };
  const workspaceNow = () => snapshot(ws.root, (path) => path === '.fanout' || path === 'node_modules' || path === '.git');

  beforeEach(() => {
    ws = createWorkspace(['orders', 'products']);
    write(ws.root, PAGES, BASE_PAGES);
    write(ws.root, 'apps/shop/test.js', SHOP_TEST);
    write(ws.root, 'node_modules/.bin/nx', NX);
    chmodSync(join(ws.root, 'node_modules/.bin/nx'), 0o755);
    gitIn(ws.root, 'add', '-A');
    gitIn(ws.root, 'commit', '-q', '-m', 'the shop app');
    jest.spyOn(logger, 'info').mockImplementation(() => undefined);
    jest.spyOn(logger, 'error').mockImplementation(() => undefined);
  });
  afterEach(() => {
    jest.restoreAllMocks();
    ws.remove();
  });

  it('blames both sessions, resumes the first with the failure, lands its fix, ends green, and a second verify changes nothing', async () => {
    await fanOut(true);

    expect(await verifyExecutor({ targets: ['test'] }, context())).toEqual({ success: true });

    expect(read(PAGES)).toBe(
      `${BASE_PAGES.replace('];\n', '')}  { path: '/orders', name: 'orders' },\n  { path: '/page', name: 'products' },\n];\n`,
    );
    // Told through FANOUT_FEEDBACK_FILE: the failed task, its error, who else touched the same files, and to fix its own part.
    const feedback = readFileSync(feedbackLog('orders'), 'utf-8');
    expect(feedback).toContain('together they break shop:test');
    expect(feedback).toContain('● shop › gives every page its own path');
    expect(feedback).toContain('/page is claimed by orders and products');
    expect(feedback).toMatch(/Other sessions touched the same projects[^\n]*\n- products: .*apps\/shop\/src\/pages\.ts/);
    expect(feedback).toContain('Fix your own part only');
    // One repair was enough: the second suspect was not asked.
    expect(existsSync(feedbackLog('products'))).toBe(false);

    const [record] = result('orders').verifyRepairs ?? [];
    expect(record).toMatchObject({ task: 'shop:test', verdict: 'repaired', atBase: expect.stringContaining('passes at the base') });
    expect(record.suspects.map((suspect) => suspect.session)).toEqual(['orders', 'products']);
    expect(record.suspects[0].reasons).toContain(`edited ${PAGES}, a wired file of shop, the failed task's project`);
    expect(record.repairs).toEqual([
      expect.objectContaining({
        session: 'orders',
        round: 1,
        mode: 'restarted',
        outcome: 'landed',
        files: [{ path: PAGES, status: 'modified', wired: true }],
        gate: [
          { target: 'test', ok: true, durationMs: expect.any(Number) },
          { target: 'shop:test', ok: true, durationMs: expect.any(Number) },
        ],
      }),
      expect.objectContaining({ session: 'products', outcome: 'not-needed' }),
    ]);
    expect(result('products').verifyRepairs).toEqual([record]);
    const report = read('.fanout/report.md');
    expect(report).toContain('`shop:test`: repaired');
    expect(report).toContain("-  { path: '/page', name: 'orders' },");
    expect(report).toContain("+  { path: '/orders', name: 'orders' },");

    // Landing the records again (a replay) and verifying again change nothing.
    const repaired = workspaceNow();
    const { landRecord } = require('../../core/landing/land-record') as typeof import('../../core/landing/land-record');
    for (const project of ['orders', 'products']) {
      await landRecord(ws.root, project, { sessionTarget: 'fanout-session', wired: [PAGES], log: () => undefined });
    }
    expect(await verifyExecutor({ targets: ['test'] }, context())).toEqual({ success: true });
    expect(workspaceNow()).toEqual(repaired);
    expect(result('orders').verifyRepairs?.[0].verdict).toBe('repaired');
  });

  it('reports a failure already there at the base as failing before the fan-out, and resumes nobody', async () => {
    write(ws.root, 'apps/shop/broken.txt', 'broken\n');
    gitIn(ws.root, 'add', '-A');
    gitIn(ws.root, 'commit', '-q', '-m', 'a broken shop');
    const integrated = await fanOut(true);

    expect(await verifyExecutor({ targets: ['test'] }, context())).toEqual({ success: false });

    expect(existsSync(feedbackLog('orders'))).toBe(false);
    expect(existsSync(feedbackLog('products'))).toBe(false);
    expect(workspaceNow()).toEqual(integrated);
    const [record] = result('orders').verifyRepairs ?? [];
    expect(record).toMatchObject({ task: 'shop:test', verdict: 'failing-before', repairs: [] });
    expect(record.atBase).toMatch(/^shop:test fails at the base [0-9a-f]{7} too: failing before the fan-out$/);
    expect(read('.fanout/report.md')).toContain('`shop:test`: failing before the fan-out: nobody was asked to repair it');
  });

  it('puts the workspace back as integrated when the failure persists after the rounds, and fails', async () => {
    const integrated = await fanOut(true);
    // The user's uncommitted work, which the repair's worktree leaves out: it claims /orders too.
    write(ws.root, 'apps/shop/extra-pages.json', '["/orders"]\n');
    const before = workspaceNow();

    expect(await verifyExecutor({ targets: ['test'], verifyRepairs: 1 }, context())).toEqual({ success: false });

    expect(workspaceNow()).toEqual(before);
    expect(workspaceNow()[PAGES]).toBe(integrated[PAGES]);
    const [record] = result('orders').verifyRepairs ?? [];
    expect(record).toMatchObject({ task: 'shop:test', verdict: 'still-failing', restored: [PAGES] });
    expect(record.repairs[0]).toMatchObject({ session: 'orders', outcome: 'landed' });
    expect(read('.fanout/report.md')).toContain('the workspace was put back as it was integrated');
  });

  it("starts no repair once the run's budget is reached, and says so", async () => {
    const integrated = await fanOut(true);
    // The run (this Nx command) spent its budget in its sessions.
    const { BudgetLedger, ledgerFile } = require('../../core/budget/ledger') as typeof import('../../core/budget/ledger');
    const { runKey } = require('../../core/session/cache-prefix-lead') as typeof import('../../core/session/cache-prefix-lead');
    await new BudgetLedger(ledgerFile(ws.root, runKey()), { usd: 1 }, runKey()).add('orders', { usd: 1.2 });

    expect(await verifyExecutor({ targets: ['test'] }, context())).toEqual({ success: false });

    expect(existsSync(feedbackLog('orders'))).toBe(false);
    expect(existsSync(feedbackLog('products'))).toBe(false);
    expect(workspaceNow()).toEqual(integrated);
    const [record] = result('orders').verifyRepairs ?? [];
    expect(record.repairs.map((repair) => repair.outcome)).toEqual(['over-budget', 'over-budget']);
    expect(record.repairs[0].message).toMatch(/^budget reached: \$1\.20 of \$1\.00 spent; the repair did not start\./);
  });

  it('with verifyRepairs 0, blames the sessions and repairs nothing', async () => {
    const integrated = await fanOut(true);

    expect(await verifyExecutor({ targets: ['test'], verifyRepairs: 0 }, context())).toEqual({ success: false });

    expect(existsSync(feedbackLog('orders'))).toBe(false);
    expect(workspaceNow()).toEqual(integrated);
    expect(result('orders').verifyRepairs?.[0]).toMatchObject({ verdict: 'not-repaired', repairs: [] });
  });

  it('refuses a verifyRepairs that is not a whole number from 0 to 5, before any work', async () => {
    const error = jest.spyOn(logger, 'error');
    expect(await verifyExecutor({ targets: ['test'], verifyRepairs: 9 }, context())).toEqual({ success: false });
    expect(String(error.mock.calls[0][0])).toContain('--verifyRepairs is a whole number from 0 to 5 (got 9).');
  });
});

import { existsSync, readFileSync, statSync, utimesSync, writeFileSync } from 'fs';
import { spawnSync } from 'child_process';
import { join } from 'path';
import { resultLine } from '../../executors/run/run';
import {
  agentScript,
  commandTask,
  createWorkspace,
  eventually,
  gitIn,
  groupMembers,
  sessionSpec,
  snapshot,
  spawnTypeScript,
  type TestWorkspace,
} from '../../testing/git-workspace';
import { LOG_HEAD_BYTES, LOG_TAIL_BYTES } from '../system/capped-output';
import { discardSession } from './session';
import type { SessionResult } from './result';
import { runAndLand } from '../../testing/run-and-land';

/**
 * Faults injected with scripted command agents and signals, against a real git
 * repository: one bad session never harms the others, an interrupted run leaves
 * nothing half-done, and the next run recovers without manual cleanup.
 */
describe('faults', () => {
  let ws: TestWorkspace;

  // Real processes and git on a shared machine: a generous bound, not a speed requirement.
  jest.setTimeout(180_000);

  afterEach(() => ws.remove());

  const run = (project: string, script: string, extra = '') =>
    runAndLand(sessionSpec(ws.root, project, commandTask(`node ${script}`, extra)));
  const read = (file: string) => readFileSync(join(ws.root, file), 'utf-8');
  const worktrees = () => (gitIn(ws.root, 'worktree', 'list', '--porcelain').match(/^worktree /gm) ?? []).length;
  const fanoutBranches = () => gitIn(ws.root, 'branch', '--list', '--format=%(refname:short)', 'fanout/*').trim();
  /** The workspace as the user sees it: fanout's own folder, git and node_modules aside. */
  const userFiles = () => snapshot(ws.root, (path) => ['.git', '.fanout', 'node_modules'].includes(path));
  const readPids = (file: string) => JSON.parse(readFileSync(file, 'utf-8')) as { agent: number; helper: number };

  it('fails only the session that crashes, is killed, hangs or floods; the others finish and integrate', async () => {
    ws = createWorkspace(['good', 'crash', 'killed', 'hang', 'flood', 'straggler']);
    const hangPids = join(ws.scripts, 'hang.json');
    const stragglerPids = join(ws.scripts, 'straggler.json');
    const floodBytes = 50 * 1024 * 1024;
    const agents = {
      good: agentScript(ws, 'good', `fs.writeFileSync('libs/good/src/index.ts', 'export const good = 1;\\n');`),
      crash: agentScript(ws, 'crash', `fs.writeFileSync('libs/crash/src/half.ts', 'half'); process.exit(3);`),
      killed: agentScript(ws, 'killed', `fs.writeFileSync('libs/killed/src/half.ts', 'half'); process.kill(process.pid, 'SIGKILL');`),
      // Hangs, with a helper that ignores SIGTERM: only killing the whole group with SIGKILL ends it.
      hang: agentScript(
        ws,
        'hang',
        `const helper = cp.spawn(process.execPath, ['-e', "process.on('SIGTERM', () => {}); setInterval(() => {}, 1000)"], { stdio: 'ignore' });
         fs.writeFileSync(${JSON.stringify(hangPids)}, JSON.stringify({ agent: process.pid, helper: helper.pid }));
         setInterval(() => {}, 1000);`,
      ),
      // 50 MB on stdout, then a normal result.
      flood: agentScript(
        ws,
        'flood',
        `process.stdout.write('FLOOD-START\\n');
         const block = ('x'.repeat(1023) + '\\n').repeat(1024);
         for (let i = 0; i < ${floodBytes / (1024 * 1024)}; i++) process.stdout.write(block);
         process.stdout.write('FLOOD-END\\n');
         fs.writeFileSync('libs/flood/src/index.ts', 'export const flood = 1;\\n');`,
      ),
      // Finishes, but leaves a helper running that holds its output open.
      straggler: agentScript(
        ws,
        'straggler',
        `const helper = cp.spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'inherit' });
         helper.unref();
         fs.writeFileSync(${JSON.stringify(stragglerPids)}, JSON.stringify({ agent: process.pid, helper: helper.pid }));
         fs.writeFileSync('libs/straggler/src/index.ts', 'export const straggler = 1;\\n');`,
      ),
    };
    const results = await Promise.all(
      Object.entries(agents).map(([project, script]) => run(project, script, project === 'hang' ? 'timeout: 2s\n' : 'timeout: 60s\n')),
    );
    const by = Object.fromEntries(results.map((result) => [result.project, result])) as Record<keyof typeof agents, SessionResult>;

    expect(
      results
        .filter((result) => result.status === 'succeeded')
        .map((result) => result.project)
        .sort(),
    ).toEqual(['flood', 'good', 'straggler']);
    expect(read('libs/good/src/index.ts')).toBe('export const good = 1;\n');
    expect(read('libs/flood/src/index.ts')).toBe('export const flood = 1;\n');
    expect(read('libs/straggler/src/index.ts')).toBe('export const straggler = 1;\n');

    expect(by.crash.error).toContain('exited with code 3');
    expect(by.killed.error).toContain('was killed by SIGKILL');
    expect(by.hang.error).toContain('did not finish within 2 s and was killed with its process group');
    for (const failed of [by.crash, by.killed, by.hang]) {
      // Kept for inspection, and the message says where.
      expect(failed.worktree).toBe(join(ws.root, '.fanout/worktrees', failed.project));
      expect(existsSync(failed.worktree as string)).toBe(true);
      expect(existsSync(failed.log)).toBe(true);
      expect(resultLine(failed)).toContain(`worktree kept at ${failed.worktree}`);
      expect(resultLine(failed)).toContain(`log: ${failed.log}`);
    }
    expect(existsSync(join(ws.root, '.fanout/worktrees/crash/libs/crash/src/half.ts'))).toBe(true);
    // Nothing of the failed sessions reached the workspace.
    expect(gitIn(ws.root, 'status', '--porcelain', '--untracked-files=all').trimEnd().split('\n').sort()).toEqual([
      ' M libs/flood/src/index.ts',
      ' M libs/good/src/index.ts',
      ' M libs/straggler/src/index.ts',
      '?? libs/crash/fanout.md',
      '?? libs/flood/fanout.md',
      '?? libs/good/fanout.md',
      '?? libs/hang/fanout.md',
      '?? libs/killed/fanout.md',
      '?? libs/straggler/fanout.md',
    ]);

    // No process of the hanging or the straggling session's group survives.
    for (const file of [hangPids, stragglerPids]) {
      const { agent } = readPids(file);
      await eventually(() => groupMembers(agent).length === 0, `process group ${agent} to end`);
    }

    // The flood's log keeps its start and its end, says what it dropped, and stays bounded.
    const log = read('.fanout/sessions/flood/session.log');
    const printed = 'FLOOD-START\n'.length + floodBytes + 'FLOOD-END\n'.length;
    expect(statSync(by.flood.log).size).toBeLessThan(LOG_HEAD_BYTES + LOG_TAIL_BYTES + 4096);
    expect(log).toContain('FLOOD-START\n');
    expect(log).toContain('FLOOD-END\n');
    expect(log).toContain(`[fanout] output truncated: ${printed - LOG_HEAD_BYTES - LOG_TAIL_BYTES} bytes (40.0 MB) dropped`);
  });

  /** The pid of a process that has already ended. */
  const deadPid = () => spawnSync(process.execPath, ['-e', '0']).pid as number;

  it.each(['SIGTERM', 'SIGINT'] as const)(
    '%s to the process running fanout ends every agent process group and lands nothing; the next run recovers on its own',
    async (signal) => {
      ws = createWorkspace(['orders']);
      // An earlier run integrated this: fanout's own output, which a later run may replace.
      const first = agentScript(ws, 'first', `fs.writeFileSync('libs/orders/src/index.ts', 'export const v = 1;\\n');`);
      expect((await run('orders', first)).status).toBe('succeeded');

      const pids = join(ws.scripts, 'pids.json');
      const slow = agentScript(
        ws,
        'slow',
        `fs.writeFileSync('libs/orders/src/index.ts', 'export const v = 2;\\n');
         fs.writeFileSync('libs/orders/src/extra.ts', 'export {};\\n');
         const helper = cp.spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
         fs.writeFileSync(${JSON.stringify(pids)}, JSON.stringify({ agent: process.pid, helper: helper.pid }));
         setInterval(() => {}, 1000);`,
      );
      sessionSpec(ws.root, 'orders', commandTask(`node ${slow}`));
      const before = userFiles();
      const runner = spawnTypeScript(join(__dirname, '..', '..', 'testing', 'session-child.ts'), [
        ws.root,
        'orders',
        commandTask(`node ${slow}`),
      ]);
      const ended = new Promise<NodeJS.Signals | null>((resolve) => runner.on('exit', (_code, received) => resolve(received)));
      await eventually(() => existsSync(pids) && readFileSync(pids, 'utf-8').endsWith('}'), 'the agent to start');
      const { agent, helper } = readPids(pids);
      expect(groupMembers(agent).sort()).toEqual([agent, helper].sort());

      runner.kill(signal);
      expect(await ended).toBe(signal);
      await eventually(() => groupMembers(agent).length === 0, `process group ${agent} to end`);
      expect(userFiles()).toEqual(before);

      // What the killed run left: its worktree and branch. Add what a killed lock holder and a killed git leave.
      expect(existsSync(join(ws.root, '.fanout/worktrees/orders'))).toBe(true);
      expect(fanoutBranches()).toBe('fanout/orders');
      writeFileSync(join(ws.root, '.fanout/git.lock'), JSON.stringify({ pid: deadPid(), since: '2020-01-01T00:00:00.000Z' }));
      const refLock = join(ws.root, '.git/refs/heads/fanout/orders.lock');
      writeFileSync(refLock, '');
      utimesSync(refLock, new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));

      const next = agentScript(ws, 'next', `fs.writeFileSync('libs/orders/src/index.ts', 'export const v = 3;\\n');`);
      const result = await run('orders', next);
      expect(result.error).toBeUndefined();
      expect(read('libs/orders/src/index.ts')).toBe('export const v = 3;\n');
      expect(existsSync(join(ws.root, 'libs/orders/src/extra.ts'))).toBe(false);
      expect(worktrees()).toBe(1);
      expect(fanoutBranches()).toBe('');
      expect(existsSync(join(ws.root, '.fanout/git.lock'))).toBe(false);
      expect(existsSync(refLock)).toBe(false);
    },
  );

  it('ends the agents that a run killed with SIGKILL left running, before the next session replaces their worktree', async () => {
    ws = createWorkspace(['orders']);
    const pids = join(ws.scripts, 'pids.json');
    const slow = agentScript(
      ws,
      'slow',
      `const helper = cp.spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
       fs.writeFileSync(${JSON.stringify(pids)}, JSON.stringify({ agent: process.pid, helper: helper.pid }));
       setInterval(() => {}, 1000);`,
    );
    const runner = spawnTypeScript(join(__dirname, '..', '..', 'testing', 'session-child.ts'), [
      ws.root,
      'orders',
      commandTask(`node ${slow}`),
    ]);
    const ended = new Promise((resolve) => runner.on('exit', resolve));
    await eventually(() => existsSync(pids) && readFileSync(pids, 'utf-8').endsWith('}'), 'the agent to start');
    const { agent, helper } = readPids(pids);
    try {
      runner.kill('SIGKILL');
      await ended;
      // No handler runs on SIGKILL: the agent and its helper are still at work in the worktree.
      expect(groupMembers(agent).sort()).toEqual([agent, helper].sort());

      const next = agentScript(ws, 'next', `fs.writeFileSync('libs/orders/src/index.ts', 'export const v = 1;\\n');`);
      const result = await run('orders', next);
      expect(result.error).toBeUndefined();
      await eventually(() => groupMembers(agent).length === 0, `process group ${agent} to end`);
      expect(worktrees()).toBe(1);
    } finally {
      // Whatever happened above, nothing of this test keeps running.
      for (const pid of [agent, helper]) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // Already gone.
        }
      }
    }
  });

  it("re-runs a failed task without touching a succeeded task's outputs, replacing the kept worktree", async () => {
    ws = createWorkspace(['orders', 'products']);
    const orders = agentScript(ws, 'orders', `fs.writeFileSync('libs/orders/src/index.ts', 'export const orders = 1;\\n');`);
    const broken = agentScript(ws, 'broken', `fs.writeFileSync('libs/products/src/half.ts', 'half'); process.exit(1);`);
    const first = await Promise.all([run('orders', orders), run('products', broken)]);
    expect(first.map((result) => result.status)).toEqual(['succeeded', 'failed']);
    expect(existsSync(join(ws.root, '.fanout/worktrees/products/libs/products/src/half.ts'))).toBe(true);
    // What Nx caches and replays for orders: its scope and its session folder.
    const outputs = () => [snapshot(join(ws.root, 'libs/orders/src')), snapshot(join(ws.root, '.fanout/sessions/orders'))];
    const cached = outputs();

    const fixed = agentScript(ws, 'fixed', `fs.writeFileSync('libs/products/src/index.ts', 'export const products = 1;\\n');`);
    const again = await run('products', fixed);
    expect(again.error).toBeUndefined();
    expect(again.files.map((file) => file.path)).toEqual(['libs/products/src/index.ts']);
    expect(existsSync(join(ws.root, 'libs/products/src/half.ts'))).toBe(false);
    expect(outputs()).toEqual(cached);
    expect(worktrees()).toBe(1);
    expect(fanoutBranches()).toBe('');
  });

  it('--fresh discards the kept worktree, branch and session files of a task, and nothing else', async () => {
    ws = createWorkspace(['orders', 'products']);
    const orders = agentScript(ws, 'orders', `fs.writeFileSync('libs/orders/src/index.ts', 'export const orders = 1;\\n');`);
    const broken = agentScript(ws, 'broken', 'process.exit(1);');
    await Promise.all([run('orders', orders), run('products', broken)]);
    const kept = userFiles();

    await discardSession(ws.root, 'products');
    expect(existsSync(join(ws.root, '.fanout/worktrees/products'))).toBe(false);
    expect(existsSync(join(ws.root, '.fanout/sessions/products'))).toBe(false);
    expect(fanoutBranches()).toBe('');
    expect(worktrees()).toBe(1);
    expect(existsSync(join(ws.root, '.fanout/sessions/orders/result.json'))).toBe(true);
    expect(userFiles()).toEqual(kept);
  });
});

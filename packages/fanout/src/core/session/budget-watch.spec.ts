import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { BudgetLedger, ledgerFile } from '../budget/ledger';
import { priceFor } from '../budget/prices';
import { processAlive } from '../system/lock';
import { runAndLand } from '../../testing/run-and-land';
import { agentScript, commandTask, createWorkspace, sessionSpec, type TestWorkspace } from '../../testing/git-workspace';

/**
 * Sessions under the run's budget and maxConcurrent, end to end in a real git workspace: a fake
 * `claude` that streams Claude Code's stream-json usage, slowly, and command agents that record
 * when they ran.
 */

const TASK = '---\nlike: users\ncontracts: contracts\nagent: claude\nrepairs: 0\n---\n\nBuild the orders API.\n';

/**
 * A fake Claude Code that prints an `assistant` event every 200 ms, each a new message of 400
 * output tokens, as `--output-format stream-json` does; it writes its pid first, and `finished`
 * (and the file) only if it gets through all of them.
 */
function streamingClaude(bin: string, messages: number): NodeJS.ProcessEnv {
  mkdirSync(bin, { recursive: true });
  writeFileSync(
    join(bin, 'claude'),
    `#!${process.execPath}
const fs = require('fs');
const path = require('path');
fs.writeFileSync(path.join(${JSON.stringify(bin)}, 'pid'), String(process.pid));
let sent = 0;
const timer = setInterval(() => {
  sent++;
  console.log(JSON.stringify({ type: 'assistant', message: { id: 'msg_' + sent, usage: { input_tokens: 10, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 400 } } }));
  if (sent < ${messages}) return;
  clearInterval(timer);
  fs.mkdirSync('libs/orders/src', { recursive: true });
  fs.writeFileSync('libs/orders/src/orders.ts', 'export const orders = [];\\n');
  fs.writeFileSync(path.join(${JSON.stringify(bin)}, 'finished'), 'yes');
  console.log(JSON.stringify({ type: 'result', subtype: 'success', is_error: false, result: 'Done.', session_id: 's-1', total_cost_usd: 0.5, usage: { input_tokens: 10, output_tokens: 400 * sent } }));
}, 200);
`,
  );
  chmodSync(join(bin, 'claude'), 0o755);
  return { PATH: `${bin}:/usr/bin:/bin`, HOME: bin, ANTHROPIC_API_KEY: 'sk-ant-api03-TESTKEY0123456789' };
}

describe('a session under the run budget', () => {
  let workspace: TestWorkspace;

  beforeEach(() => {
    workspace = createWorkspace(['orders']);
  });
  afterEach(() => workspace.remove());

  const opus = priceFor('claude-opus-4', 'claude')?.price;

  it('is stopped at the cap while its agent streams usage: its process group ended, its worktree kept, nothing recorded', async () => {
    const bin = join(workspace.scripts, 'bin');
    const env = streamingClaude(bin, 20);
    // 400 output tokens at $75 a million are $0.03 a message: the second message reaches $0.05.
    const ledger = new BudgetLedger(ledgerFile(workspace.root, 'test-run'), { usd: 0.05 });
    await ledger.start('orders', 0);
    const result = await runAndLand(
      sessionSpec(workspace.root, 'orders', TASK, { env, agentOptions: { model: 'claude-opus-4' }, budget: ledger.guard('orders', opus) }),
    );
    expect(result.status).toBe('failed');
    // At least the two messages that reached the cap; how many more arrived before its process group ended depends on the machine's load.
    expect(result.error).toMatch(/^budget reached: \$0\.\d+ of \$0\.0500 spent; the session was stopped at the cap/);
    expect(result.error).toContain('Its worktree is kept for inspection, and nothing of it lands.');
    expect(result.budget).toMatchObject({ stopped: true });
    expect(result.budget?.spentUsd).toBeGreaterThanOrEqual(0.05);
    expect(result.budget?.spentUsd).toBeLessThan(0.2);
    expect(result.model).toBe('claude-opus-4');
    // Stopped long before its 20 messages: its process is gone, and it wrote nothing.
    expect(existsSync(join(bin, 'finished'))).toBe(false);
    expect(processAlive(Number(readFileSync(join(bin, 'pid'), 'utf-8')))).toBe(false);
    expect(result.worktree && existsSync(result.worktree)).toBe(true);
    expect(existsSync(join(workspace.root, '.fanout/sessions/orders/files'))).toBe(false);
    expect(existsSync(join(workspace.root, 'libs/orders/src/orders.ts'))).toBe(false);
    expect(readFileSync(result.log, 'utf-8')).toContain('the run has spent its budget: this session is stopped');
    const state = ledger.read();
    expect(state.projects['orders']).toMatchObject({ stopped: true, reserved: 0 });
    expect(state.spent.usd).toBeGreaterThanOrEqual(0.05);
  }, 30_000);

  it('under the budget, runs to its end, and the ledger takes the cost the CLI reported in place of what streamed', async () => {
    const bin = join(workspace.scripts, 'bin');
    const env = streamingClaude(bin, 2);
    const ledger = new BudgetLedger(ledgerFile(workspace.root, 'test-run'), { usd: 5 });
    await ledger.start('orders', 0);
    const result = await runAndLand(
      sessionSpec(workspace.root, 'orders', TASK, {
        env,
        agentOptions: { model: 'claude-opus-4' },
        budget: ledger.guard('orders', opus),
        gate: { run: [], missing: [] },
      }),
    );
    expect(result.status).toBe('succeeded');
    expect(result.budget).toEqual({ spentUsd: 0.5, tokens: 810 });
    expect(ledger.read().spent.usd).toBeCloseTo(0.5);
  }, 30_000);

  it('starts no agent once the run has spent its budget, and says so', async () => {
    const bin = join(workspace.scripts, 'bin');
    const env = streamingClaude(bin, 2);
    const ledger = new BudgetLedger(ledgerFile(workspace.root, 'test-run'), { usd: 0.05 });
    await ledger.start('orders', 0);
    // Another session of the run spent it while this one set up.
    await ledger.add('cart', { usd: 0.07 });
    const result = await runAndLand(
      sessionSpec(workspace.root, 'orders', TASK, { env, agentOptions: { model: 'claude-opus-4' }, budget: ledger.guard('orders', opus) }),
    );
    expect(result.status).toBe('failed');
    expect(result.error).toMatch(/^budget reached: \$0\.0700 of \$0\.0500 spent; its agent did not start\./);
    expect(existsSync(join(bin, 'pid'))).toBe(false);
    expect(ledger.read().projects['orders']).toMatchObject({ stopped: true });
  });
});

describe('maxConcurrent', () => {
  let workspace: TestWorkspace;
  let slots: string;

  beforeEach(() => {
    workspace = createWorkspace(['orders', 'invoices']);
    slots = mkdtempSync(join(tmpdir(), 'fanout-slots-'));
  });
  afterEach(() => {
    workspace.remove();
    rmSync(slots, { recursive: true, force: true });
  });

  it('1: never two sessions of the agent at once; the one that waits says for whom', async () => {
    const times = join(workspace.scripts, 'times');
    const script = agentScript(
      workspace,
      'slow',
      `const project = process.env.FANOUT_PROJECT;
const start = Date.now();
Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 800);
fs.mkdirSync('libs/' + project + '/src', { recursive: true });
fs.writeFileSync('libs/' + project + '/src/' + project + '.ts', 'export const x = 1;\\n');
fs.appendFileSync(${JSON.stringify(times)}, JSON.stringify({ project, start, end: Date.now() }) + '\\n');`,
    );
    const results = await Promise.all(
      ['orders', 'invoices'].map((project) =>
        runAndLand(sessionSpec(workspace.root, project, commandTask(`node ${script}`), { maxConcurrent: 1, slotsDir: slots })),
      ),
    );
    expect(results.map((result) => result.status)).toEqual(['succeeded', 'succeeded']);
    const [first, second] = readFileSync(times, 'utf-8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { project: string; start: number; end: number })
      .sort((a, b) => a.start - b.start);
    expect(second.start).toBeGreaterThanOrEqual(first.end);
    const waited = results.find((result) => result.project === second.project);
    expect(readFileSync(waited?.log ?? '', 'utf-8')).toContain(
      `waiting for a command slot: maxConcurrent allows 1 command session(s) at once on this machine, held by ${first.project} (pid ${process.pid})`,
    );
    // Both slots were given back.
    expect(readdirSync(join(slots, 'command')).filter((name) => name.endsWith('.slot'))).toEqual([]);
  }, 30_000);
});

import { existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  agentRunEnv,
  assignedTask,
  claudeCodeEnv,
  cliPrefix,
  generateAgentTasks,
  installCli,
  pinnedVersion,
  summaryPath,
  summarySource,
} from './agent-cli';
import { killRunningCommands } from './run-command';
import { startScriptedModelServer, type Script, type ScriptedModelServer } from './scripted-model-server';
import { INSTALLING, readyWorkspace, removeWorkspace, TEST_LIMIT, TestWorkspace } from './workspace';

/**
 * The run budget (docs/cost.md) with the real Claude Code CLI against a scripted model server that
 * reports usage. Each session takes two model turns (a Write call, then a final message), each of
 * 20,000 output tokens: about $0.30 a turn at the model's $15 per million output tokens, $0.60 a
 * session. The budget, $1.00, is above what one session costs and below what two do. The run at
 * --parallel=3 is made to cost more than its estimate, so that it starts and then reaches its cap.
 */

const CLAUDE_VERSION = pinnedVersion('@anthropic-ai/claude-code');
const MODEL = 'claude-sonnet-4-5';
const BUDGET = '1';
const TASKS = [
  { name: 'orders', type: 'Order' },
  { name: 'invoices', type: 'Invoice' },
  { name: 'products', type: 'Product' },
];
const FAKE_API_KEY = `sk-ant-api03-${'e2e0budget0fake0key00'.repeat(4)}`;
const TURN_USAGE = { inputTokens: 2_000, outputTokens: 20_000 };
/**
 * The run at --parallel=3 costs twice what the first run's sessions did (about $0.60 a turn), so that
 * its estimate (calibrated on the first run's sessions: about $1.90 for three) lets it start under a
 * budget of $2.50 that its sessions then cross: four turns spend $2.40, the fifth crosses the cap.
 */
const COSTLIER_TURN_USAGE = { inputTokens: 2_000, outputTokens: 40_000 };
/**
 * What a turn of 40,000 output tokens writes, about: a session is stopped at the cap on what its
 * CLI streams as it writes, counted from the text (the API's output count arrives only at the end).
 */
const COSTLIER_TURN_TEXT = `\n${'cost '.repeat(40_000)}`;
const PARALLEL_BUDGET = '2.5';

interface Ledger {
  budget: { usd?: number };
  spent: { usd: number };
  estimate?: { low: number; high: number };
  projects: Record<string, { usd: number; stopped?: boolean; notStarted?: boolean }>;
}

describe('the run budget, with the real Claude Code CLI', () => {
  let ws: TestWorkspace;
  let prefix: string | undefined;
  let server: ScriptedModelServer | undefined;
  let roots: Record<string, string> = {};
  let contractsImportPath = '';
  let turnUsage = TURN_USAGE;

  const script: Script = (turn) => {
    const task = assignedTask(TASKS, turn.text);
    if (!task) return { text: 'Nothing to do.', usage: { inputTokens: 1, outputTokens: 1 } };
    const worktree = /Primary working directory: (.+)/.exec(turn.text)?.[1]?.trim();
    if (!worktree) throw new Error('the request names no primary working directory');
    const padding = turnUsage === COSTLIER_TURN_USAGE ? COSTLIER_TURN_TEXT : '';
    if (turn.toolResults.length > 0) return { text: `Wrote ${summaryPath(roots[task.name], task.name)}.${padding}`, usage: turnUsage };
    const file = join(worktree, summaryPath(roots[task.name], task.name));
    return {
      text: `Adding a summary of each ${task.type}.${padding}`,
      toolCalls: [{ name: 'Write', input: { file_path: file, content: summarySource(task.type, contractsImportPath) } }],
      usage: turnUsage,
    };
  };

  /** The tasks whose session reached the model, from the server's record. */
  const reachedModel = () =>
    new Set((server?.requests ?? []).flatMap((request) => (request.turn ? [assignedTask(TASKS, request.turn.text)?.name] : [])));

  /** The ledger of the latest run under a budget. */
  const latestLedger = (): Ledger => {
    const dir = ws.path('.fanout/budget');
    const files = readdirSync(dir).filter((name) => name.endsWith('.json'));
    const newest = files.sort((a, b) => statSync(join(dir, b)).mtimeMs - statSync(join(dir, a)).mtimeMs)[0];
    return JSON.parse(readFileSync(join(dir, newest), 'utf-8')) as Ledger;
  };

  const landed = (task: string) => ws.exists(summaryPath(roots[task], task));

  beforeAll(async () => {
    server = await startScriptedModelServer(script, { promptCache: true });
    prefix = cliPrefix();
    const [ready, bin] = await Promise.all([readyWorkspace('budget'), installCli(prefix, '@anthropic-ai/claude-code', CLAUDE_VERSION)]);
    ws = new TestWorkspace(
      ready.root,
      agentRunEnv(ready.env, bin, claudeCodeEnv(server.url, FAKE_API_KEY, join(ready.root, '..', 'claude-config'))),
    );
    ({ roots, contractsImportPath } = await generateAgentTasks(ws, 'claude', TASKS));
  }, 2 * TEST_LIMIT);

  afterAll(async () => {
    killRunningCommands();
    await server?.stop();
    removeWorkspace(ws);
    if (prefix) rmSync(prefix, { recursive: true, force: true });
  });

  it(
    'at --parallel=1: the estimate first, at most two sessions reach the model, the run fails naming the budget, nothing unfinished lands',
    async () => {
      const result = await ws.nxFailing(
        ['run-many', '-t', 'fanout', '--parallel=1', `--budget=${BUDGET}`, `--model=${MODEL}`, '--skip-nx-cache'],
        INSTALLING,
      );
      expect(result.status).not.toBe(0);
      const estimateAt = result.output.indexOf('estimate: 3 session(s) to run');
      expect(estimateAt).toBeGreaterThanOrEqual(0);
      const firstAgent = result.output.search(/worktree .* on fanout\//);
      if (firstAgent >= 0) expect(estimateAt).toBeLessThan(firstAgent);
      expect(result.output).toMatch(/budget reached: \$[\d.]+ of \$1\.00 spent/);

      expect(reachedModel().size).toBeLessThanOrEqual(2);
      const ledger = latestLedger();
      expect(ledger.budget.usd).toBe(1);
      expect(ledger.estimate?.low).toBeLessThan(1);
      expect(ledger.spent.usd).toBeGreaterThanOrEqual(1);
      const unfinished = TASKS.filter(({ name }) => ledger.projects[name]?.stopped || ledger.projects[name]?.notStarted);
      expect(unfinished.length).toBeGreaterThanOrEqual(1);
      for (const { name } of unfinished) expect(landed(name)).toBe(false);
      const notStarted = TASKS.filter(({ name }) => ledger.projects[name]?.notStarted);
      for (const { name } of notStarted) expect(reachedModel().has(name)).toBe(false);
      // The report's totals say the budget, the spend, the estimate and who stopped.
      expect(ws.readFile('.fanout/report.md')).toMatch(/budget: \$[\d.]+ of \$1\.00 spent \(estimate \$[\d.]+ to \$[\d.]+\)/);
    },
    2 * INSTALLING,
  );

  it(
    'at --parallel=3: a running session is stopped at the cap, with its process group, and nothing of it lands',
    async () => {
      if (server) server.requests.length = 0;
      turnUsage = COSTLIER_TURN_USAGE;
      for (const { name } of TASKS) rmSync(ws.path(summaryPath(roots[name], name)), { force: true });
      const result = await ws.nxFailing(
        ['run-many', '-t', 'fanout', '--parallel=3', `--budget=${PARALLEL_BUDGET}`, `--model=${MODEL}`, '--skip-nx-cache', '--fresh'],
        INSTALLING,
      );
      expect(result.status).not.toBe(0);
      const estimate = /estimate: 3 session\(s\) to run, .*: \$([\d.]+) to \$([\d.]+)/.exec(result.output);
      expect(Number(estimate?.[1])).toBeLessThan(Number(PARALLEL_BUDGET));
      // All three started: each reached the model.
      expect(reachedModel().size).toBe(3);
      const recorded = (name: string) => existsSync(ws.path(`.fanout/sessions/${name}/result.json`));
      const stopped = TASKS.filter(({ name }) => recorded(name) && ws.readResult(name).budget?.stopped);
      expect(stopped.length).toBeGreaterThanOrEqual(1);
      for (const { name } of stopped) {
        const record = ws.readResult(name);
        expect(record.status).toBe('failed');
        expect(record.error).toMatch(/^budget reached: \$[\d.]+ of \$2\.50 spent; the session was stopped at the cap/);
        // Its worktree is kept for inspection, and nothing of it landed.
        expect(record.worktree && existsSync(record.worktree)).toBeTruthy();
        expect(landed(name)).toBe(false);
        expect(readFileSync(record.log, 'utf-8')).toContain('the run has spent its budget: this session is stopped');
      }
      // Sandboxed, and no fanout-verify in the command: no session kept its CLI's conversation.
      for (const { name } of TASKS.filter(({ name }) => recorded(name))) {
        const record = ws.readResult(name) as { sandbox?: { on: boolean; keptState?: string } };
        expect(record.sandbox).toMatchObject({ on: true });
        expect(record.sandbox?.keptState).toBeUndefined();
      }
      const ledger = latestLedger();
      expect(ledger.spent.usd).toBeGreaterThanOrEqual(2.5);
      // Stopped at its next usage: the run overshoots by at most a turn of each running session.
      expect(ledger.spent.usd).toBeLessThan(2.5 + 3 * 0.65);
    },
    2 * INSTALLING,
  );
});

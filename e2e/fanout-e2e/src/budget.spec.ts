import { mkdirSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import {
  agentRunEnv,
  assignedTask,
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
 * session. The budget, $1.00, is above what one session costs and below what two do.
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

  const script: Script = (turn) => {
    const task = assignedTask(TASKS, turn.text);
    if (!task) return { text: 'Nothing to do.', usage: { inputTokens: 1, outputTokens: 1 } };
    const worktree = /Primary working directory: (.+)/.exec(turn.text)?.[1]?.trim();
    if (!worktree) throw new Error('the request names no primary working directory');
    if (turn.toolResults.length > 0) return { text: `Wrote ${summaryPath(roots[task.name], task.name)}.`, usage: TURN_USAGE };
    const file = join(worktree, summaryPath(roots[task.name], task.name));
    return {
      text: `Adding a summary of each ${task.type}.`,
      toolCalls: [{ name: 'Write', input: { file_path: file, content: summarySource(task.type, contractsImportPath) } }],
      usage: TURN_USAGE,
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
    const configDir = join(ready.root, '..', 'claude-config');
    mkdirSync(configDir);
    ws = new TestWorkspace(
      ready.root,
      agentRunEnv(ready.env, bin, {
        ANTHROPIC_BASE_URL: server.url,
        ANTHROPIC_API_KEY: FAKE_API_KEY,
        CLAUDE_CONFIG_DIR: configDir,
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
        DISABLE_TELEMETRY: '1',
        DISABLE_ERROR_REPORTING: '1',
        DISABLE_AUTOUPDATER: '1',
      }),
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
});

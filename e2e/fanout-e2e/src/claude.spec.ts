import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import {
  agentRunEnv,
  assignedTask,
  assignmentText,
  claudeCodeEnv,
  cliPrefix,
  generateAgentTasks,
  installCli,
  pinnedVersion,
  REPAIR_MESSAGE,
  AGENT_GATE,
  repairedSource,
  summaryPath,
  summarySource,
  TYPE_ERROR,
} from './agent-cli';
import { killRunningCommands } from './run-command';
import { startScriptedModelServer, type Script, type ScriptedModelServer } from './scripted-model-server';
import { INSTALLING, readyWorkspace, removeWorkspace, TEST_LIMIT, TestWorkspace } from './workspace';

/**
 * The real Claude Code CLI, installed from the npm registry, as the agent of fanout
 * tasks. Its model is a scripted server on 127.0.0.1 speaking the Messages API: it
 * answers a session's first request with a Write tool call for the task's file, and
 * the request that brings the tool's result with a final message.
 */

const CLAUDE_VERSION = pinnedVersion('@anthropic-ai/claude-code');

// Entities of the ready workspace's contracts. Each session's usage grows with its
// task's position (1, 2), so its cost must too.
const TASKS = [
  { name: 'orders', type: 'Order', scale: 1 },
  { name: 'invoices', type: 'Invoice', scale: 2 },
  // Its first attempt does not compile: the gate fails, fanout resumes the conversation with the error.
  { name: 'products', type: 'Product', scale: 1, repair: true },
];
const FIRST_TRY = TASKS.filter((task) => !task.repair);
const REPAIRED = TASKS.find((task) => task.repair) ?? TASKS[0];

/** Shaped like a real key, so that both redactions (by variable name and by shape) apply. */
const FAKE_API_KEY = `sk-ant-api03-${'e2e0fanout0fake0key0'.repeat(4)}`;

describe('agent: claude, the real Claude Code CLI against a scripted model server', () => {
  let ws: TestWorkspace;
  let prefix: string | undefined;
  let server: ScriptedModelServer | undefined;
  let roots: Record<string, string> = {};
  let contractsImportPath = '';

  const summaryFile = (task: string) => summaryPath(roots[task], task);
  /** How many requests of each task came after fanout's repair message: the script's place in the repair. */
  const repairTurns = new Map<string, number>();

  const script: Script = (turn) => {
    const task = assignedTask(TASKS, turn.text);
    // Requests that are no session's turn (none are expected) get a plain answer.
    if (!task)
      return {
        text: 'Nothing to do.',
        usage: { inputTokens: 1, outputTokens: 1 },
      };
    // The Write tool takes an absolute path: the CLI names its working directory (the worktree).
    const worktree = /Primary working directory: (.+)/.exec(turn.text)?.[1]?.trim();
    if (!worktree) throw new Error('the request names no primary working directory');
    const file = join(worktree, summaryFile(task.name));
    if (task.repair && turn.text.includes(REPAIR_MESSAGE)) {
      // The resumed conversation: read the file the error names, rewrite it, then say so.
      const step = repairTurns.get(task.name) ?? 0;
      repairTurns.set(task.name, step + 1);
      if (step === 0) {
        if (!turn.text.includes(TYPE_ERROR)) throw new Error('the repair message does not quote the type error');
        return { text: 'Reading the file the error names.', toolCalls: [{ name: 'Read', input: { file_path: file } }], usage: USAGE };
      }
      if (step === 1) {
        return {
          text: 'Fixing the type of summaryWidth.',
          toolCalls: [{ name: 'Write', input: { file_path: file, content: repairedSource(task.type, contractsImportPath, true) } }],
          usage: USAGE,
        };
      }
      return { text: `Fixed ${summaryFile(task.name)}.`, usage: USAGE };
    }
    if (turn.toolResults.length > 0) {
      const failed = turn.toolResults.filter((result) => result.isError);
      return {
        text: failed.length ? `The Write failed: ${failed[0].output}` : `Wrote ${summaryFile(task.name)}.`,
        usage: {
          inputTokens: 1500 * task.scale,
          outputTokens: 20 * task.scale,
        },
      };
    }
    if (!turn.tools.includes('Write')) throw new Error(`the Write tool is not offered (tools: ${turn.tools.join(', ')})`);
    return {
      text: `Adding a summary of each ${task.type}.`,
      toolCalls: [
        {
          name: 'Write',
          input: {
            file_path: file,
            content: task.repair ? repairedSource(task.type, contractsImportPath, false) : summarySource(task.type, contractsImportPath),
          },
        },
      ],
      usage: { inputTokens: 1000 * task.scale, outputTokens: 100 * task.scale },
    };
  };

  beforeAll(async () => {
    // Each is set before anything can fail, so that afterAll removes it whatever happens.
    // Usage as the provider's prompt cache would report it: what each request read from the cache and wrote to it.
    server = await startScriptedModelServer(script, { promptCache: true });
    prefix = cliPrefix();
    const [ready, bin] = await Promise.all([readyWorkspace('claude'), installCli(prefix, '@anthropic-ai/claude-code', CLAUDE_VERSION)]);
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

  /** The recorded model requests of one task's session, in order. */
  const sessionRequests = (task: string) =>
    (server?.requests ?? []).filter((request) => request.turn && assignedTask(TASKS, request.turn.text)?.name === task);

  it(
    'runs a Claude Code session per task and integrates the file each one wrote',
    async () => {
      for (const { name } of TASKS) {
        expect(ws.readFile(`${roots[name]}/fanout.md`)).toMatch(/^agent: claude$/m);
      }

      await ws.nx(['run-many', '-t', 'fanout', '--parallel=3'], INSTALLING);

      for (const { name, type } of FIRST_TRY) {
        const result = ws.readResult(name);
        expect(result).toMatchObject({ status: 'succeeded', agent: 'claude' });
        expect(result.rounds).toHaveLength(1);
        expect(result.files.map((file) => file.path)).toEqual([summaryFile(name)]);
        expect(ws.readFile(summaryFile(name))).toBe(summarySource(type, contractsImportPath));
        expect(ws.sha256(summaryFile(name))).toBe(result.files[0]?.sha256);
      }
      expect(await ws.worktrees()).toHaveLength(1);
    },
    2 * INSTALLING,
  );

  it('lands a first attempt that does not compile only after a repair round: the gate fails, the resumed session fixes it', () => {
    const { name, type } = REPAIRED;
    const result = ws.readResult(name);
    expect(result).toMatchObject({ status: 'succeeded', agent: 'claude' });
    expect(ws.readFile(summaryFile(name))).toBe(repairedSource(type, contractsImportPath, true));
    // Two rounds: the first failed the project's typecheck in its worktree, the second passed every target.
    const rounds = result.rounds ?? [];
    expect(rounds.map((round) => round.failed)).toEqual(['gate', undefined]);
    expect(rounds[0].gate).toContainEqual(expect.objectContaining({ target: 'typecheck', ok: false }));
    expect(rounds[1].gate.length).toBeGreaterThan(0);
    expect(rounds[1].gate.every((target) => target.ok)).toBe(true);
    expect(rounds[1].gate.map((target) => target.target)).toEqual(AGENT_GATE);
    // The feedback quoted the compiler's error, and the same conversation continued with it.
    const feedback = ws.readFile(`.fanout/sessions/${name}/feedback.round-1.md`);
    expect(feedback).toContain(TYPE_ERROR);
    expect(feedback).toContain(`${summaryFile(name)}`);
    const requests = sessionRequests(name);
    const resumed = requests.filter((request) => request.turn?.text.includes(REPAIR_MESSAGE));
    expect(resumed).toHaveLength(3);
    expect(resumed[1].turn?.toolResults).toEqual([expect.objectContaining({ isError: false })]);
    const sessionIds = new Set(requests.map((request) => request.headers['x-claude-code-session-id']));
    expect(sessionIds).toEqual(new Set([result.sessionId]));
    // Both rounds' usage is counted.
    expect(result.tokens?.output).toBe(sum(requests.map((request) => request.reply?.usage.outputTokens ?? 0)));
    expect(rounds.every((round) => (round.costUsd ?? 0) > 0)).toBe(true);
    expect(result.costUsd).toBeCloseTo((rounds[0].costUsd ?? 0) + (rounds[1].costUsd ?? 0), 12);
  });

  it('each session was the pinned CLI, in two turns: the Write call, then the final message after its result', () => {
    for (const { name } of FIRST_TRY) {
      const requests = sessionRequests(name);
      expect(requests.map((request) => request.reply?.toolCalls?.length ?? 0)).toEqual([1, 0]);
      expect(requests[1]?.turn?.toolResults).toEqual([expect.objectContaining({ isError: false })]);
      for (const request of requests) {
        expect(request.headers['user-agent']).toMatch(new RegExp(`^claude-cli/${CLAUDE_VERSION.replace(/\./g, '\\.')} `));
        // The key travelled in the environment to the CLI, which sent it to the server.
        expect(request.headers['x-api-key']).toBe(FAKE_API_KEY);
        expect(request.body?.['stream']).toBe(true);
      }
    }
    // The server heard nothing but model requests.
    expect(new Set(server?.requests.map((request) => `${request.method} ${request.path}`))).toEqual(new Set(['POST /v1/messages']));
  });

  it('result.json holds the session id, and the tokens and cost the CLI reported, the cache reads and writes included', () => {
    for (const { name } of FIRST_TRY) {
      const result = ws.readResult(name);
      const requests = sessionRequests(name);
      expect(result.sessionId).toBe(requests[0]?.headers['x-claude-code-session-id']);
      const cache = requests.map((request) => request.cache ?? { input: 0, cacheRead: 0, cacheWrite: 0 });
      expect(result.tokens).toEqual({
        input: sum(cache.map((usage) => usage.input + usage.cacheRead + usage.cacheWrite)),
        output: sum(requests.map((request) => request.reply?.usage.outputTokens ?? 0)),
        cacheRead: sum(cache.map((usage) => usage.cacheRead)),
        cacheWrite: sum(cache.map((usage) => usage.cacheWrite)),
      });
      expect(result.costUsd).toBeGreaterThan(0);
    }
  });

  it("sessions 2 and 3 read the shared base context from the prompt cache, once the lead's first response had begun", () => {
    const results = TASKS.map(({ name }) => ({ name, result: ws.readResult(name), first: sessionRequests(name)[0] }));
    const leads = results.filter(({ result }) => result.lead?.role === 'lead');
    expect(leads).toHaveLength(1);
    const [lead] = leads;
    const leadResponded = lead.first?.respondedAt ?? Infinity;
    // Every session's base context is the same file, and it travels in the system prompt.
    const base = ws.readFile(`.fanout/sessions/${lead.name}/base.md`);
    expect(base.length).toBeGreaterThan(2_000);
    for (const { name, result, first } of results) {
      expect(ws.readFile(`.fanout/sessions/${name}/base.md`)).toBe(base);
      const system = JSON.stringify(first?.body?.['system']);
      expect(system).toContain(JSON.stringify(base.trim()).slice(1, 200));
      if (name === lead.name) continue;
      expect(result.lead).toMatchObject({ role: 'follower', lead: lead.name, outcome: 'response' });
      // Its first request came after the lead's first response began: the prefix was readable.
      expect(first?.receivedAt).toBeGreaterThanOrEqual(leadResponded);
      // At least 90% of the base context was read from the cache, not written again.
      const cache = first?.cache;
      if (!cache) throw new Error(`${name}: its first request has no cache usage`);
      const start = cache.prefixText.indexOf(base.trim().slice(0, 200));
      expect(start).toBeGreaterThan(0);
      const readOfBase = Math.min(Math.max(cache.readChars - start, 0), base.trim().length);
      expect(readOfBase / base.trim().length).toBeGreaterThanOrEqual(0.9);
      expect(result.tokens?.cacheRead).toBeGreaterThan(0);
    }
    // The run's report shows the share of input read from the cache.
    expect(ws.readFile('.fanout/report.md')).toMatch(
      /prompt cache \d+% of input tokens read from it \([\d,]+ read, [\d,]+ written, reported by 3 of 3\)/,
    );
  });

  it('every session prompt held the contracts, the reference and its own assignment', () => {
    for (const { name, type } of TASKS) {
      const text = sessionRequests(name)[0]?.turn?.text ?? '';
      expect(text).toContain(`export interface ${type} extends StoredRecord`);
      expect(text).toContain(contractsImportPath);
      expect(text).toContain('export function createUsersHandlers');
      expect(text).toContain(`# Your assignment: ${name} (${roots[name]})`);
      expect(text).toContain(assignmentText(name));
    }
  });

  it('the API key appears in no prompt, log or result file', () => {
    for (const { name } of TASKS) {
      const dir = `.fanout/sessions/${name}`;
      for (const file of ['prompt.md', 'session.log', 'result.json']) {
        expect(readFileSync(ws.path(dir, file), 'utf8')).not.toContain(FAKE_API_KEY);
      }
    }
  });
});

const USAGE = { inputTokens: 800, outputTokens: 40 };

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

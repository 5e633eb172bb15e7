import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  agentRunEnv,
  assignedTask,
  assignmentText,
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
 * The real Codex CLI, installed from the npm registry, as the agent of fanout tasks.
 * A model provider in its config.toml points it at a scripted server on 127.0.0.1
 * speaking the Responses API: the server answers a session's first request with an
 * apply_patch that adds the task's file, and the request that brings the patch's
 * result with a final message.
 */

const CODEX_VERSION = pinnedVersion('@openai/codex');

// Entities of the ready workspace's contracts.
const TASKS = [
  { name: 'orders', type: 'Order' },
  { name: 'products', type: 'Product' },
  // Its first attempt does not compile: the gate fails, fanout resumes the thread with the error.
  { name: 'invoices', type: 'Invoice', repair: true },
];
const FIRST_TRY = TASKS.filter((task) => !task.repair);
const REPAIRED = TASKS.find((task) => task.repair) ?? TASKS[0];

/** Shaped like a real key, so that both redactions (by variable name and by shape) apply. */
const FAKE_API_KEY = `sk-proj-${'e2e0fanout0fake0key0'.repeat(4)}`;

/** A patch in Codex's apply_patch format that adds one file. */
function addFilePatch(path: string, content: string): string {
  const lines = content
    .replace(/\n$/, '')
    .split('\n')
    .map((line) => `+${line}`);
  return ['*** Begin Patch', `*** Add File: ${path}`, ...lines, '*** End Patch'].join('\n');
}

/** A patch that replaces one line of a file. */
function replaceLinePatch(path: string, from: string, to: string): string {
  return ['*** Begin Patch', `*** Update File: ${path}`, '@@', `-${from}`, `+${to}`, '*** End Patch'].join('\n');
}

describe('agent: codex, the real Codex CLI against a scripted model server', () => {
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
    if (!task)
      return {
        text: 'Nothing to do.',
        usage: { inputTokens: 1, outputTokens: 1 },
      };
    // Codex states its working root (the worktree) in the environment context it sends.
    const worktree = /<cwd>([^<]+)<\/cwd>/.exec(turn.text)?.[1];
    if (!worktree) throw new Error('the request names no <cwd>');
    const file = join(worktree, summaryFile(task.name));
    let patch: string;
    if (task.repair && turn.text.includes(REPAIR_MESSAGE)) {
      // The resumed thread: patch the line the error names, then say so.
      const step = repairTurns.get(task.name) ?? 0;
      repairTurns.set(task.name, step + 1);
      if (step > 0) return { text: `Fixed ${summaryFile(task.name)}.`, usage: { inputTokens: 900, outputTokens: 30 } };
      if (!turn.text.includes(TYPE_ERROR)) throw new Error('the repair message does not quote the type error');
      const [from, to] = [false, true].map(
        (fixed) => repairedSource(task.type, contractsImportPath, fixed).trimEnd().split('\n').pop() ?? '',
      );
      patch = replaceLinePatch(file, from, to);
    } else if (turn.toolResults.length > 0) {
      return {
        text: `Wrote ${summaryFile(task.name)}.`,
        usage: { inputTokens: 1500, outputTokens: 20 },
      };
    } else {
      const source = task.repair ? repairedSource(task.type, contractsImportPath, false) : summarySource(task.type, contractsImportPath);
      patch = addFilePatch(file, source);
    }
    // apply_patch is a freeform tool; this version offers it inside `exec`, a JavaScript tool that calls the others.
    const call = turn.tools.includes('apply_patch')
      ? { name: 'apply_patch', input: patch }
      : turn.tools.includes('exec')
        ? {
            name: 'exec',
            input: `text(await tools.apply_patch(${JSON.stringify(patch)}));`,
          }
        : undefined;
    if (!call) throw new Error(`neither apply_patch nor exec is offered (tools: ${turn.tools.join(', ')})`);
    return {
      text: `Adding a summary of each ${task.type}.`,
      toolCalls: [call],
      usage: { inputTokens: 1000, outputTokens: 100 },
    };
  };

  beforeAll(async () => {
    // Each is set before anything can fail, so that afterAll removes it whatever happens.
    server = await startScriptedModelServer(script);
    prefix = cliPrefix();
    const [ready, bin] = await Promise.all([readyWorkspace('codex'), installCli(prefix, '@openai/codex', CODEX_VERSION)]);
    // The provider is plain configuration, as a user pointing Codex at a gateway writes it.
    const codexHome = join(ready.root, '..', 'codex-home');
    mkdirSync(codexHome);
    writeFileSync(
      join(codexHome, 'config.toml'),
      [
        'model_provider = "scripted"',
        // Nothing but model requests: no update check, analytics or feedback uploads.
        'check_for_update_on_startup = false',
        '',
        '[analytics]',
        'enabled = false',
        '',
        '[feedback]',
        'enabled = false',
        '',
        '[model_providers.scripted]',
        'name = "Scripted model server"',
        `base_url = "${server.url}/v1"`,
        'wire_api = "responses"',
        'env_key = "OPENAI_API_KEY"',
        '',
      ].join('\n'),
    );
    ws = new TestWorkspace(
      ready.root,
      agentRunEnv(ready.env, bin, {
        CODEX_HOME: codexHome,
        OPENAI_API_KEY: FAKE_API_KEY,
      }),
    );
    ({ roots, contractsImportPath } = await generateAgentTasks(ws, 'codex', TASKS));
  }, 2 * TEST_LIMIT);

  afterAll(async () => {
    killRunningCommands();
    await server?.stop();
    removeWorkspace(ws);
    if (prefix) rmSync(prefix, { recursive: true, force: true });
  });

  const sessionRequests = (task: string) =>
    (server?.requests ?? []).filter((request) => request.turn && assignedTask(TASKS, request.turn.text)?.name === task);

  it(
    'runs a Codex session per task and integrates the file each one patched in',
    async () => {
      for (const { name } of TASKS) {
        expect(ws.readFile(`${roots[name]}/fanout.md`)).toMatch(/^agent: codex$/m);
      }

      await ws.nx(['run-many', '-t', 'fanout', '--parallel=3'], INSTALLING);

      for (const { name, type } of FIRST_TRY) {
        const result = ws.readResult(name);
        expect(result).toMatchObject({ status: 'succeeded', agent: 'codex' });
        expect(result.rounds).toHaveLength(1);
        expect(result.files.map((file) => file.path)).toEqual([summaryFile(name)]);
        expect(ws.readFile(summaryFile(name))).toBe(summarySource(type, contractsImportPath));
        expect(ws.sha256(summaryFile(name))).toBe(result.files[0]?.sha256);
      }
      expect(await ws.worktrees()).toHaveLength(1);
    },
    2 * INSTALLING,
  );

  it('lands a first attempt that does not compile only after a repair round: the gate fails, the resumed thread fixes it', () => {
    const { name, type } = REPAIRED;
    const result = ws.readResult(name);
    expect(result).toMatchObject({ status: 'succeeded', agent: 'codex' });
    expect(ws.readFile(summaryFile(name))).toBe(repairedSource(type, contractsImportPath, true));
    const rounds = result.rounds ?? [];
    expect(rounds.map((round) => round.failed)).toEqual(['gate', undefined]);
    expect(rounds[0].gate).toContainEqual(expect.objectContaining({ target: 'typecheck', ok: false }));
    expect(rounds[1].gate.every((target) => target.ok)).toBe(true);
    expect(rounds[1].gate.map((target) => target.target)).toEqual(AGENT_GATE);
    expect(ws.readFile(`.fanout/sessions/${name}/feedback.round-1.md`)).toContain(TYPE_ERROR);
    // `codex exec resume` continued the same thread with the feedback.
    const requests = sessionRequests(name);
    expect(requests.filter((request) => request.turn?.text.includes(REPAIR_MESSAGE))).toHaveLength(2);
    expect(new Set(requests.map((request) => request.headers['thread-id']))).toEqual(new Set([result.sessionId]));
    expect(result.tokens?.output).toBe(sum(requests.map((request) => request.reply?.usage.outputTokens ?? 0)));
  });

  it('each session was the pinned CLI, in two turns: the patch, then the final message after its result', () => {
    for (const { name } of FIRST_TRY) {
      const requests = sessionRequests(name);
      expect(requests.map((request) => request.reply?.toolCalls?.length ?? 0)).toEqual([1, 0]);
      expect(requests[1]?.turn?.toolResults).toHaveLength(1);
      for (const request of requests) {
        expect(request.headers['user-agent']).toMatch(new RegExp(`^codex_exec/${CODEX_VERSION.replace(/\./g, '\\.')} `));
        expect(request.headers['authorization']).toBe(`Bearer ${FAKE_API_KEY}`);
        expect(request.body?.['stream']).toBe(true);
      }
    }
    expect(new Set(server?.requests.map((request) => `${request.method} ${request.path}`))).toEqual(new Set(['POST /v1/responses']));
  });

  it('result.json holds the thread id and the tokens Codex reported, and no cost (Codex reports none)', () => {
    for (const { name } of FIRST_TRY) {
      const result = ws.readResult(name);
      const requests = sessionRequests(name);
      expect(result.sessionId).toBe(requests[0]?.headers['thread-id']);
      expect(result.tokens).toMatchObject({
        input: sum(requests.map((request) => request.reply?.usage.inputTokens ?? 0)),
        output: sum(requests.map((request) => request.reply?.usage.outputTokens ?? 0)),
      });
      expect(result.costUsd).toBeUndefined();
    }
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

function sum(values: number[]): number {
  return values.reduce((total, value) => total + value, 0);
}

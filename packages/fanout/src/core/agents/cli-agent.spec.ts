import { runAndLand } from '../../testing/run-and-land';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { createWorkspace, gitIn, sessionSpec, type TestWorkspace } from '../../testing/git-workspace';
import type { AgentSession, RepairRound } from './agent';
import { checkAgentOptions, hashedAgentOptions, agentOptionsForRun } from './agent-options';
import { claudeCli } from './claude';
import {
  createCliAgent,
  findProgram,
  MAX_PROMPT_ARGUMENT_BYTES,
  MAX_SANDBOXED_PROMPT_ARGUMENT_BYTES,
  placePrompt,
  RESTART_SEPARATOR,
  runCliAgent,
} from './cli-agent';
import { cliSession, recordingDeps } from '../../testing/cli-session';

/**
 * The shared CLI runner, driven through the claude adapter against a fake
 * `claude`: a small node script that records each call (argv, stdin, whether it
 * got the API key) and answers as Claude Code 2.1.332 does, rate limit included.
 */
const API_KEY = 'sk-ant-api03-TESTKEYtestkey0123456789abcdef';
const SUCCESS = {
  type: 'result',
  subtype: 'success',
  is_error: false,
  result: 'Wrote the orders API.',
  session_id: 'session-2',
  total_cost_usd: 0.002,
  usage: { input_tokens: 100, cache_creation_input_tokens: 0, cache_read_input_tokens: 20, output_tokens: 30 },
};
const RATE_LIMITED = {
  type: 'result',
  subtype: 'success',
  is_error: true,
  result: 'API Error: Request rejected (429) · Number of request tokens has exceeded your per-minute rate limit',
  session_id: 'session-1',
  total_cost_usd: 0.001,
  api_error_status: 429,
  api_error_type: 'rate_limit_error',
  usage: { input_tokens: 10, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 1 },
};

interface FakePlan {
  /** How many calls answer with a rate limit before one succeeds. */
  rateLimited?: number;
  /** Exit 2 with an error on stderr instead. */
  crash?: boolean;
  /** Printed on stdout and stderr before the answer. */
  say?: string;
  /** Files written (relative to the cwd) on success. */
  write?: Record<string, string>;
  result?: string;
  /** The session id its result reports (null: none). */
  sessionId?: string | null;
  /** Rate-limited calls print the API's retry-after (seconds) on stderr, as an API error quoting its headers does. */
  retryAfter?: number;
  /** Print an assistant event (stream-json) before the result, as when the model's response began. */
  assistant?: boolean;
  /** Wait this long before the assistant event, and record when it was printed (assistant-at, in the bin folder). */
  assistantDelayMs?: number;
}

interface FakeCall {
  startedAt: number;
  argv: string[];
  stdin: string;
  cwd: string;
  keyInEnv: boolean;
}

/** Installs the fake `claude` in `bin` and returns the env that drives it. */
function fakeClaude(bin: string, plan: FakePlan): { env: NodeJS.ProcessEnv; calls: () => FakeCall[] } {
  mkdirSync(bin, { recursive: true });
  const callsFile = join(bin, 'calls.json');
  const planFile = join(bin, 'plan.json');
  writeFileSync(planFile, JSON.stringify({ ...plan, calls: callsFile, expectKey: API_KEY }));
  writeFileSync(
    join(bin, 'claude'),
    `#!${process.execPath}
const fs = require('fs');
const path = require('path');
const plan = JSON.parse(fs.readFileSync(process.env.FAKE_CLAUDE_PLAN, 'utf-8'));
const calls = fs.existsSync(plan.calls) ? JSON.parse(fs.readFileSync(plan.calls, 'utf-8')) : [];
calls.push({ argv: process.argv.slice(2), stdin: fs.readFileSync(0, 'utf-8'), cwd: process.cwd(), keyInEnv: process.env.ANTHROPIC_API_KEY === plan.expectKey, startedAt: Date.now() });
fs.writeFileSync(plan.calls, JSON.stringify(calls));
if (plan.say) { console.log(plan.say); console.error(plan.say); }
if (calls.length <= (plan.rateLimited || 0) && plan.retryAfter) console.error('API Error: 429 {"type":"error","error":{"type":"rate_limit_error"}} retry-after: ' + plan.retryAfter);
if (calls.length <= (plan.rateLimited || 0)) { console.log(JSON.stringify(${JSON.stringify(RATE_LIMITED)})); process.exit(1); }
if (plan.crash) { console.error('Error: the session store is corrupt'); process.exit(2); }
if (plan.assistantDelayMs) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, plan.assistantDelayMs);
if (plan.assistant) {
  console.log(JSON.stringify({ type: 'assistant', message: { content: [{ type: 'text', text: 'Working.' }] } }));
  fs.writeFileSync(path.join(path.dirname(plan.calls), 'assistant-at'), String(Date.now()));
}
for (const [file, text] of Object.entries(plan.write || {})) { fs.mkdirSync(path.dirname(file), { recursive: true }); fs.writeFileSync(file, text); }
console.log(JSON.stringify({ ...${JSON.stringify(SUCCESS)}, result: plan.result || ${JSON.stringify(SUCCESS.result)}, ...(plan.sessionId !== undefined ? { session_id: plan.sessionId ?? undefined } : {}) }));
`,
  );
  chmodSync(join(bin, 'claude'), 0o755);
  return {
    env: { PATH: `${bin}:/usr/bin:/bin`, HOME: bin, FAKE_CLAUDE_PLAN: planFile, ANTHROPIC_API_KEY: API_KEY },
    calls: () => (existsSync(callsFile) ? JSON.parse(readFileSync(callsFile, 'utf-8')) : []),
  };
}

describe('CLI agent runner', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'fanout-cli-agent-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const session = (env: NodeJS.ProcessEnv, overrides: Partial<AgentSession> = {}, prompt = '# Build the orders API\n'): AgentSession =>
    cliSession(dir, env, { prompt, overrides });

  describe('finding the program', () => {
    const executable = (path: string) => {
      mkdirSync(join(path, '..'), { recursive: true });
      writeFileSync(path, '#!/bin/sh\n');
      chmodSync(path, 0o755);
    };

    it("prefers the workspace's node_modules/.bin, then PATH, and skips what is not executable", () => {
      const workspace = join(dir, 'ws');
      executable(join(dir, 'path-a', 'claude'));
      writeFileSync(join(dir, 'path-a', 'codex'), 'not executable');
      executable(join(dir, 'path-b', 'codex'));
      const env = { PATH: `${join(dir, 'path-a')}:${join(dir, 'path-b')}` };
      expect(findProgram('claude', env, workspace)).toBe(join(dir, 'path-a', 'claude'));
      expect(findProgram('codex', env, workspace)).toBe(join(dir, 'path-b', 'codex'));
      executable(join(workspace, 'node_modules', '.bin', 'claude'));
      expect(findProgram('claude', env, workspace)).toBe(join(workspace, 'node_modules', '.bin', 'claude'));
      expect(findProgram('gemini', env, workspace)).toBeUndefined();
    });
  });

  describe('delivering the prompt', () => {
    it('passes a prompt as one argument up to the argv limit, and on stdin beyond it', () => {
      const file = join(dir, 'prompt.md');
      writeFileSync(file, 'x'.repeat(MAX_PROMPT_ARGUMENT_BYTES));
      expect(placePrompt('argument', file)).toEqual({ prompt: { via: 'argument', text: 'x'.repeat(MAX_PROMPT_ARGUMENT_BYTES) } });
      // Bytes, not characters: "é" is two bytes in UTF-8.
      writeFileSync(file, 'é'.repeat(MAX_PROMPT_ARGUMENT_BYTES / 2 + 1));
      expect(placePrompt('argument', file)).toEqual({ prompt: { via: 'stdin' }, stdin: 'é'.repeat(MAX_PROMPT_ARGUMENT_BYTES / 2 + 1) });
      expect(placePrompt('file', file)).toEqual({ prompt: { via: 'file', file } });
      // Sandboxed, the whole command line is one argument of the sandbox's shell: a lower cap.
      writeFileSync(file, 'x'.repeat(MAX_SANDBOXED_PROMPT_ARGUMENT_BYTES + 1));
      expect(placePrompt('argument', file, MAX_SANDBOXED_PROMPT_ARGUMENT_BYTES)).toEqual({
        prompt: { via: 'stdin' },
        stdin: 'x'.repeat(MAX_SANDBOXED_PROMPT_ARGUMENT_BYTES + 1),
      });
    });

    it('sends a long prompt to the real command on stdin, not in argv', async () => {
      const fake = fakeClaude(join(dir, 'bin'), {});
      const prompt = `# Orders\n${'contracts '.repeat(15_000)}`;
      const report = await runCliAgent(claudeCli, session(fake.env, {}, prompt), recordingDeps());
      expect(report.ok).toBe(true);
      const [call] = fake.calls();
      expect(call.stdin).toBe(prompt);
      expect(call.argv).not.toContain('--');
      expect(call.argv.some((arg) => arg.includes('contracts contracts'))).toBe(false);
    });

    it('passes a short prompt as the last argument, after "--", with stdin closed', async () => {
      const fake = fakeClaude(join(dir, 'bin'), {});
      await runCliAgent(claudeCli, session(fake.env), recordingDeps());
      const [call] = fake.calls();
      expect(call.argv.slice(-2)).toEqual(['--', '# Build the orders API\n']);
      expect(call.stdin).toBe('');
      expect(call.cwd).toBe(join(dir, 'worktree'));
    });
  });

  describe('rate limits', () => {
    it('retries a rate-limited run with exponential backoff, then succeeds, adding up cost and tokens', async () => {
      const fake = fakeClaude(join(dir, 'bin'), { rateLimited: 2 });
      const deps = recordingDeps();
      const report = await runCliAgent(claudeCli, session(fake.env), deps);
      expect(report).toMatchObject({ ok: true, attempts: 3, summary: 'Wrote the orders API.', sessionId: 'session-2' });
      expect(fake.calls()).toHaveLength(3);
      // retryDelay 1s, jitter 0.5: half of 1 s, then half of 2 s.
      expect(deps.waits).toEqual([500, 1000]);
      expect(report.costUsd).toBeCloseTo(0.004);
      expect(report.tokens).toEqual({ input: 140, output: 32, cacheRead: 20, cacheWrite: 0 });
      const log = readFileSync(join(dir, 'session.log'), 'utf-8');
      expect(log).toContain('[fanout] claude attempt 3 of 4:');
      expect(log).toContain('[fanout] claude was rate-limited (429) on attempt 2; waiting 1.0 s before attempt 3');
    });

    it("waits out the provider's retry-after (with jitter on top) before the next run, says so in the log, then succeeds", async () => {
      const fake = fakeClaude(join(dir, 'bin'), { rateLimited: 1, retryAfter: 40 });
      const deps = recordingDeps();
      const report = await runCliAgent(claudeCli, session(fake.env), deps);
      expect(report).toMatchObject({ ok: true, attempts: 2 });
      // 40 s asked, plus half (random 0.5) of a fifth of it: never less than asked, and not in step with other sessions.
      expect(deps.waits).toEqual([44_000]);
      const log = readFileSync(join(dir, 'session.log'), 'utf-8');
      expect(log).toContain(
        '[fanout] claude was rate-limited (429) on attempt 1; waiting 44.0 s, as the provider asked (retry-after: 40.0 s) before attempt 2',
      );
    });

    it('does not wait for a retry-after the session has no time for, and says how long was asked and how long was left', async () => {
      const fake = fakeClaude(join(dir, 'bin'), { rateLimited: 1, retryAfter: 120 });
      const deps = recordingDeps();
      const report = await runCliAgent(claudeCli, session(fake.env, { timeoutMs: 60_000 }), deps);
      expect(report).toMatchObject({ ok: false, attempts: 1 });
      expect(deps.waits).toEqual([]);
      expect(report.error).toContain('the provider asks to wait 2 min 0 s (retry-after), and the session');
      expect(fake.calls()).toHaveLength(1);
    });

    it('gives up after the configured retries and says what to change', async () => {
      const fake = fakeClaude(join(dir, 'bin'), { rateLimited: 10 });
      const deps = recordingDeps();
      const report = await runCliAgent(claudeCli, session(fake.env, { options: { retries: 1, retryDelay: '1s' } }), deps);
      expect(report).toMatchObject({ ok: false, attempts: 2 });
      expect(deps.waits).toEqual([500]);
      expect(report.error).toContain('Claude Code reported an error (API status 429)');
      expect(report.error).toContain('still rate-limited or overloaded after 2 attempt(s): raise agents.claude.retries');
    });

    it('does not retry any other failure, and quotes what the CLI said', async () => {
      const fake = fakeClaude(join(dir, 'bin'), { crash: true });
      const deps = recordingDeps();
      const report = await runCliAgent(claudeCli, session(fake.env), deps);
      expect(report).toMatchObject({ ok: false, attempts: 1, exitCode: 2 });
      expect(deps.waits).toEqual([]);
      expect(report.error).toBe('claude exited with code 2. Claude Code said: Error: the session store is corrupt');
    });

    it('stops retrying when the wait would outlast the session timeout', async () => {
      const fake = fakeClaude(join(dir, 'bin'), { rateLimited: 10 });
      const deps = { ...recordingDeps(), random: () => 1 };
      const report = await runCliAgent(claudeCli, session(fake.env, { timeoutMs: 30_000, options: { retryDelay: '1m' } }), deps);
      expect(report).toMatchObject({ ok: false, attempts: 1 });
      expect(report.error).toContain("It was rate-limited or overloaded, and the session's timeout leaves");
      expect(report.error).toContain('too little to try again');
    });
  });

  describe('the cache prefix', () => {
    /** A session whose prompt is also in two parts: the run's base context and its assignment. */
    const cachePrefixSession = (env: NodeJS.ProcessEnv, overrides: Partial<AgentSession> = {}) => {
      const cachePrefix = { baseFile: join(dir, 'base.md'), assignmentFile: join(dir, 'assignment.md') };
      writeFileSync(cachePrefix.baseFile, '# Shared context for every session of this fan-out\n');
      writeFileSync(
        cachePrefix.assignmentFile,
        'The shared context of this fan-out is in your system prompt.\n# Your assignment: orders\n',
      );
      return session(env, { cachePrefix, ...overrides }, '# Shared context for every session of this fan-out\n# Your assignment: orders\n');
    };

    it('sends the base context in the system prompt and the assignment alone as the prompt, and says so in the log', async () => {
      const fake = fakeClaude(join(dir, 'bin'), {});
      expect((await runCliAgent(claudeCli, cachePrefixSession(fake.env), recordingDeps())).ok).toBe(true);
      const [call] = fake.calls();
      expect(call.argv[call.argv.indexOf('--append-system-prompt-file') + 1]).toBe(join(dir, 'base.md'));
      expect(call.argv.slice(-2)).toEqual([
        '--',
        'The shared context of this fan-out is in your system prompt.\n# Your assignment: orders\n',
      ]);
      expect(readFileSync(join(dir, 'session.log'), 'utf-8')).toContain(
        '[fanout] claude: the base context goes in the system prompt, the assignment alone in the prompt',
      );
    });

    it('falls back to the whole prompt, saying why once, where the options turn it off or the CLI cannot', async () => {
      const fake = fakeClaude(join(dir, 'bin'), {});
      await runCliAgent(claudeCli, cachePrefixSession(fake.env, { options: { sharedPrefix: false } }), recordingDeps());
      const whole = '# Shared context for every session of this fan-out\n# Your assignment: orders\n';
      expect(fake.calls()[0].argv.slice(-2)).toEqual(['--', whole]);
      expect(fake.calls()[0].argv).not.toContain('--append-system-prompt-file');
      expect(readFileSync(join(dir, 'session.log'), 'utf-8')).toContain(
        'the base context goes in the prompt, ahead of the assignment: Claude Code was told not to take it apart (options)',
      );
      const unable = { ...claudeCli, sharesCachePrefix: undefined, title: 'Some CLI' };
      writeFileSync(join(dir, 'session.log'), '');
      await runCliAgent(unable, cachePrefixSession(fake.env), recordingDeps());
      expect(fake.calls()[1].argv.slice(-2)).toEqual(['--', whole]);
      const log = readFileSync(join(dir, 'session.log'), 'utf-8');
      expect(log.match(/the base context goes in the prompt/g)).toHaveLength(1);
      expect(log).toContain('Some CLI cannot take it apart, so sessions share no cache prefix beyond its own');
      expect(createCliAgent(unable).sharesCachePrefix).toBeUndefined();
    });

    it("calls onResponse once, when the CLI's first assistant event arrives, and never without one", async () => {
      const fake = fakeClaude(join(dir, 'bin'), { assistant: true });
      const began: string[] = [];
      await runCliAgent(claudeCli, cachePrefixSession(fake.env, { onResponse: () => began.push('began') }), recordingDeps());
      expect(began).toEqual(['began']);
      const quiet = fakeClaude(join(dir, 'quiet'), {});
      await runCliAgent(claudeCli, cachePrefixSession(quiet.env, { onResponse: () => began.push('again') }), recordingDeps());
      expect(began).toEqual(['began']);
    });
  });

  describe('repair rounds', () => {
    const feedback = (overrides: Partial<RepairRound> = {}): RepairRound => {
      const file = join(dir, 'feedback.round-1.md');
      writeFileSync(file, 'Repair round 1: your work does not pass yet.\nerror TS2322 at src/a.ts(1,1)\n');
      return { round: 1, message: readFileSync(file, 'utf-8'), file, ...overrides };
    };

    it('continues the conversation it reported: --resume <session id> with the feedback alone as the prompt', async () => {
      const fake = fakeClaude(join(dir, 'bin'), { sessionId: null });
      const repair = feedback({ sessionId: 'session-1' });
      const report = await runCliAgent(claudeCli, session(fake.env, { repair }), recordingDeps());
      expect(report.ok).toBe(true);
      const [call] = fake.calls();
      expect(call.argv.slice(-4)).toEqual(['--resume', 'session-1', '--', repair.message]);
      // The CLI named no session of its own: it is still the one it continued.
      expect(report.sessionId).toBe('session-1');
      expect(readFileSync(join(dir, 'session.log'), 'utf-8')).toContain('[fanout] claude: resuming session-1, repair round 1');
    });

    it("counts a resumed round's own tokens where the CLI reports the conversation's running totals", async () => {
      const usedTokens = { input: 40, output: 10, cacheRead: 5, cacheWrite: 0 };
      const resumed = session(fakeClaude(join(dir, 'bin-totals'), { sessionId: null }).env, {
        repair: feedback({ sessionId: 'session-1', usedTokens }),
      });
      // The fake reports input 120 (100, and 20 read from the cache), output 30: the conversation's totals here.
      const own = await runCliAgent({ ...claudeCli, resumedTokensAreTotals: true }, resumed, recordingDeps());
      expect(own.tokens).toEqual({ input: 80, output: 20, cacheRead: 15, cacheWrite: 0 });
      // A CLI that reports each run's own usage is counted as it reports.
      const asReported = await runCliAgent(claudeCli, resumed, recordingDeps());
      expect(asReported.tokens).toEqual({ input: 120, output: 30, cacheRead: 20, cacheWrite: 0 });
    });

    it('starts again with the feedback before the original prompt where there is no session to resume, or the CLI cannot', async () => {
      for (const spec of [claudeCli, { ...claudeCli, resume: undefined }]) {
        const fake = fakeClaude(join(dir, `bin-${spec.resume ? 'resume' : 'restart'}`), { sessionId: 'session-2' });
        const report = await runCliAgent(spec, session(fake.env, { repair: feedback() }), recordingDeps());
        expect(report).toMatchObject({ ok: true, sessionId: 'session-2' });
        const [call] = fake.calls();
        expect(call.argv).not.toContain('--resume');
        const prompt = call.argv[call.argv.length - 1];
        expect(prompt.startsWith('Repair round 1: your work does not pass yet.')).toBe(true);
        expect(prompt).toContain(`${RESTART_SEPARATOR}\n\n# Build the orders API\n`);
        expect(prompt.indexOf('error TS2322')).toBeLessThan(prompt.indexOf(RESTART_SEPARATOR));
      }
      // Kept beside the prompt, in the session's folder, never in the worktree.
      expect(existsSync(join(dir, 'prompt.round-1.md'))).toBe(true);
    });

    it('declares how each CLI takes a repair round', () => {
      expect(createCliAgent(claudeCli).repair).toBe('resume');
      expect(createCliAgent({ ...claudeCli, resume: undefined }).repair).toBe('restart');
    });
  });

  describe('options', () => {
    it('checks options against what the agent takes, naming every problem and where', () => {
      const rules = createCliAgent(claudeCli).options;
      expect(checkAgentOptions('claude', rules, { model: 'opus', maxTurns: 5, env: { A: 'b' } }, 'nx.json')).toEqual({
        model: 'opus',
        maxTurns: 5,
        env: { A: 'b' },
      });
      expect(() =>
        checkAgentOptions('claude', rules, { permissionMode: 'yolo', maxTurns: 0, modle: 'x', args: ['--api-key', API_KEY] }, 'nx.json'),
      ).toThrow(
        new Error(
          'nx.json: agent "claude" has 4 problems:\n' +
            '  - unknown option(s) modle. Agent "claude" takes: model, args, env, retries, retryDelay, permissionMode, allowedTools, maxTurns, sharedPrefix.\n' +
            '  - "permissionMode" must be one of acceptEdits, auto, bypassPermissions, manual, dontAsk, plan (got "yolo"): Claude Code\'s permission mode (default acceptEdits).\n' +
            '  - "maxTurns" must be a whole number above 0 (got 0): the most agentic turns a session may take.\n' +
            '  - "args" holds what looks like an API key: keys travel only in the environment, never in arguments; set it in your shell\'s environment.',
        ),
      );
      expect(() => checkAgentOptions('claude', rules, { sharedPrefix: 'no' }, 'nx.json')).toThrow(
        'nx.json: agent "claude": "sharedPrefix" must be true or false (got "no")',
      );
      expect(() => checkAgentOptions('pattern', undefined, { model: 'opus' }, 'nx.json')).toThrow(
        'nx.json: agent "pattern" takes no options (got model); remove them.',
      );
    });

    it('puts what decides the work in the cache key, env by name only, and takes the rest from nx.json at run time', () => {
      const configured = {
        claude: {
          model: 'opus',
          allowedTools: ['Read'],
          env: { ANTHROPIC_BASE_URL: 'http://proxy', B_TOKEN: 'secret-value' },
          retries: 5,
          retryDelay: '2s',
        },
        codex: 'not an object',
      };
      const hashed = hashedAgentOptions(configured);
      expect(hashed).toEqual({ claude: { model: 'opus', allowedTools: ['Read'], env: ['ANTHROPIC_BASE_URL', 'B_TOKEN'] } });
      expect(JSON.stringify(hashed)).not.toContain('secret-value');
      expect(agentOptionsForRun(hashed['claude'], configured.claude)).toEqual({
        model: 'opus',
        allowedTools: ['Read'],
        env: { ANTHROPIC_BASE_URL: 'http://proxy', B_TOKEN: 'secret-value' },
        retries: 5,
        retryDelay: '2s',
      });
      expect(agentOptionsForRun(undefined, configured.claude)).toBe(configured.claude);
    });
  });
});

describe('claude sessions', () => {
  let workspace: TestWorkspace;
  const task = '---\nlike: users\ncontracts: contracts\nagent: claude\n---\n\nBuild the orders API.\n';

  beforeEach(() => {
    workspace = createWorkspace(['orders']);
  });
  afterEach(() => {
    workspace.remove();
  });

  it('fails before any worktree exists when the CLI is not installed, with the install command', async () => {
    const result = await runAndLand(
      sessionSpec(workspace.root, 'orders', task, { env: { PATH: '/usr/bin:/bin', HOME: workspace.scripts } }),
    );
    expect(result.status).toBe('failed');
    expect(result.error).toContain('agent "claude" needs Claude Code, but "claude" is neither in');
    expect(result.error).toContain('Install it with: npm install -g @anthropic-ai/claude-code');
    expect(existsSync(join(workspace.root, '.fanout/worktrees/orders'))).toBe(false);
    expect(gitIn(workspace.root, 'worktree', 'list').trim().split('\n')).toHaveLength(1);
  });

  it("leads the run: the run's other sessions start their agent once the lead's model has begun its response", async () => {
    const other = createWorkspace(['orders', 'invoices']);
    try {
      const fakes = ['orders', 'invoices'].map((project) =>
        fakeClaude(join(other.scripts, `bin-${project}`), {
          assistant: true,
          assistantDelayMs: 1500,
          write: { [`libs/${project}/src/${project}.ts`]: `export const ${project} = [];\n` },
        }),
      );
      const lead = { run: `test-${process.pid}`, waitMs: 30_000 };
      const [orders, invoices] = await Promise.all(
        ['orders', 'invoices'].map((project, index) =>
          runAndLand(sessionSpec(other.root, project, task.replace('orders', project), { env: fakes[index].env, lead })),
        ),
      );
      expect([orders.status, invoices.status]).toEqual(['succeeded', 'succeeded']);
      const roles = [orders, invoices].map((result) => result.lead?.role).sort();
      expect(roles).toEqual(['follower', 'lead']);
      const [leader, follower] = orders.lead?.role === 'lead' ? [0, 1] : [1, 0];
      const followed = [orders, invoices][follower];
      expect(followed.lead).toMatchObject({ role: 'follower', lead: ['orders', 'invoices'][leader], outcome: 'response' });
      // Its agent started only after the lead's printed its first assistant event.
      const leadResponse = Number(readFileSync(join(other.scripts, `bin-${['orders', 'invoices'][leader]}`, 'assistant-at'), 'utf-8'));
      expect(fakes[follower].calls()[0].startedAt).toBeGreaterThanOrEqual(leadResponse);
      expect(followed.timings?.waitMs).toBeGreaterThan(0);
      expect(readFileSync(followed.log, 'utf-8')).toMatch(
        /waited \d+\.\d s for the lead session \((orders|invoices)\): its model's response has begun/,
      );
      // Each got the base context in its system prompt: the same file content, and its own assignment.
      for (const [index, project] of ['orders', 'invoices'].entries()) {
        const argv = fakes[index].calls()[0].argv;
        const baseFile = argv[argv.indexOf('--append-system-prompt-file') + 1];
        expect(baseFile).toBe(join(other.root, `.fanout/sessions/${project}/base.md`));
        expect(argv.at(-1)).toContain(`# Your assignment: ${project}`);
        expect(argv.at(-1)).not.toContain('# Shared context');
      }
      expect(readFileSync(join(other.root, '.fanout/sessions/orders/base.md'), 'utf-8')).toBe(
        readFileSync(join(other.root, '.fanout/sessions/invoices/base.md'), 'utf-8'),
      );
    } finally {
      other.remove();
    }
  });

  it('checks its options before any worktree exists', async () => {
    const fake = fakeClaude(join(workspace.scripts, 'bin'), {});
    const result = await runAndLand(sessionSpec(workspace.root, 'orders', task, { env: fake.env, agentOptions: { maxTurns: 'many' } }));
    expect(result.error).toBe(
      'nx.json (fanout plugin options, agents.claude): agent "claude": "maxTurns" must be a whole number above 0 (got "many"): the most agentic turns a session may take.',
    );
    expect(fake.calls()).toEqual([]);
    expect(existsSync(join(workspace.root, '.fanout/worktrees/orders'))).toBe(false);
  });

  // One session for both, since a session that integrates takes seconds.
  it('starts staggered, and keeps API keys in the environment only: never in argv, the prompt, session.log or result.json', async () => {
    const serviceToken = 'svc-token-0123456789-abcdef';
    const fake = fakeClaude(join(workspace.scripts, 'bin'), {
      say: `key ${API_KEY} token ${serviceToken}`,
      result: `Done; the key was ${API_KEY}`,
      write: { 'libs/orders/src/orders.ts': 'export const orders = [];\n' },
    });
    const waits: string[] = [];
    const result = await runAndLand(
      sessionSpec(workspace.root, 'orders', task, {
        env: fake.env,
        agentOptions: { model: 'sonnet', env: { SERVICE_TOKEN: serviceToken } },
        model: 'opus',
        startDelayMs: 4000,
        sleep: async (ms) => void waits.push(`slept ${ms} with ${fake.calls().length} call(s) made`),
      }),
    );
    expect(result.error).toBeUndefined();
    expect(waits).toEqual(['slept 4000 with 0 call(s) made']);
    expect(readFileSync(result.log, 'utf-8')).toContain('[fanout] the agent starts in 4.0 s (stagger)');
    expect(readFileSync(join(workspace.root, 'libs/orders/src/orders.ts'), 'utf-8')).toBe('export const orders = [];\n');
    expect(result).toMatchObject({ status: 'succeeded', attempts: 1, costUsd: 0.002, tokens: { input: 120, output: 30 } });
    const [call] = fake.calls();
    expect(call.keyInEnv).toBe(true);
    // --model from the run wins over the option.
    expect(call.argv.slice(call.argv.indexOf('--model'), call.argv.indexOf('--model') + 2)).toEqual(['--model', 'opus']);
    for (const text of [
      call.argv.join(' '),
      readFileSync(result.promptFile, 'utf-8'),
      readFileSync(result.log, 'utf-8'),
      readFileSync(join(workspace.root, '.fanout/sessions/orders/result.json'), 'utf-8'),
    ]) {
      expect(text).not.toContain(API_KEY);
      expect(text).not.toContain(serviceToken);
    }
    expect(readFileSync(result.log, 'utf-8')).toContain(`key [REDACTED] token [REDACTED]`);
    expect(result.summary).toBe('Done; the key was [REDACTED]');
  });
});

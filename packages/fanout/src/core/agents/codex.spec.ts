import { spawnSync } from 'child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { createServer, type Server } from 'http';
import type { AddressInfo } from 'net';
import { tmpdir } from 'os';
import { dirname, join } from 'path';
import { createRedactor } from '../system/redact';
import type { AgentSession } from './agent';
import { checkAgentOptions } from './agent-options';
import { runCliAgent } from './cli-agent';
import { CODEX_SANDBOX, CODEX_SANDBOX_MODES, codexAgent, codexCli, parseCodexOutput } from './codex';
import { SessionSandbox } from '../sandbox/session-sandbox';
import { sessionSandboxSetting } from '../sandbox/settings';
import { cliSession, recordingDeps } from '../../testing/cli-session';

const WORKTREE = '/ws/.fanout/worktrees/orders';
const session = { worktree: WORKTREE } as AgentSession;
const PROMPT = { via: 'argument', text: '# Build the orders API' } as const;

/** Everything the adapter can emit: every option set. */
const CONFIGURED = { model: 'gpt-5-codex', sandbox: 'read-only' };

const jsonl = (events: readonly object[]) => events.map((event) => `${JSON.stringify(event)}\n`).join('');

/** Shaped like what `codex exec --json` 0.171.0 printed for a session that ran one command and answered. */
const SUCCESS = [
  { type: 'thread.started', thread_id: '01a21fed-fcf7-7431-af6c-b9e4342a16b2' },
  // A warning, not a failure: Codex reports some as error items and carries on.
  {
    type: 'item.completed',
    item: { id: 'item_0', type: 'error', message: 'Model metadata for `gpt-5-codex` not found. Defaulting to fallback metadata.' },
  },
  { type: 'turn.started' },
  { type: 'item.completed', item: { id: 'item_1', type: 'agent_message', text: 'I will write the handler first.' } },
  {
    type: 'item.completed',
    item: {
      id: 'item_2',
      type: 'command_execution',
      command: "/bin/bash -lc 'mkdir -p src'",
      aggregated_output: '',
      exit_code: 0,
      status: 'completed',
    },
  },
  { type: 'item.completed', item: { id: 'item_3', type: 'agent_message', text: 'Wrote libs/orders/src/orders.handler.ts.' } },
  {
    type: 'turn.completed',
    usage: { input_tokens: 2200, cached_input_tokens: 1200, cache_write_input_tokens: 0, output_tokens: 70, reasoning_output_tokens: 10 },
  },
];
const RATE_LIMIT = 'exceeded retry limit, last status: 429 Too Many Requests';
/** What it printed when the API kept answering 429 until its own reconnects gave up (exit code 1). */
const RATE_LIMITED = [
  { type: 'thread.started', thread_id: '01a21fed-5510-7b92-a201-db7ba72efa74' },
  { type: 'turn.started' },
  { type: 'error', message: `Reconnecting... 1/5 (${RATE_LIMIT})` },
  { type: 'error', message: RATE_LIMIT },
  { type: 'turn.failed', error: { message: RATE_LIMIT } },
];
const failedWith = (message: string) => [
  { type: 'thread.started', thread_id: 'thread-failed' },
  { type: 'turn.started' },
  { type: 'error', message },
  { type: 'turn.failed', error: { message } },
];

describe('codex agent', () => {
  describe('argv', () => {
    it('runs codex exec with JSON events, the workspace-write sandbox and the worktree, with the prompt last after "--"', () => {
      expect(codexCli.args({}, PROMPT, session)).toEqual([
        'exec',
        '--json',
        '--sandbox',
        'workspace-write',
        '-C',
        WORKTREE,
        '--',
        '# Build the orders API',
      ]);
    });

    it('passes the configured sandbox, model and extra arguments', () => {
      expect(codexCli.args({ ...CONFIGURED, args: ['-c', 'model_reasoning_effort="high"'] }, PROMPT, session)).toEqual([
        'exec',
        '--json',
        '--sandbox',
        'read-only',
        '-C',
        WORKTREE,
        '--model',
        'gpt-5-codex',
        '-c',
        'model_reasoning_effort="high"',
        '--',
        '# Build the orders API',
      ]);
    });

    it('leaves the prompt out of argv when it goes to stdin', () => {
      expect(codexCli.args({}, { via: 'stdin' }, session)).toEqual(['exec', '--json', '--sandbox', 'workspace-write', '-C', WORKTREE]);
    });

    it('takes a sandbox option besides the common ones, and refuses a sandbox Codex does not have', () => {
      expect(Object.keys(codexAgent.options ?? {}).sort()).toEqual(['args', 'env', 'model', 'retries', 'retryDelay', 'sandbox']);
      expect(() => checkAgentOptions('codex', codexAgent.options, { sandbox: 'none' }, 'nx.json')).toThrow(
        'nx.json: agent "codex": "sandbox" must be one of read-only, workspace-write, danger-full-access (got "none"): ' +
          'the sandbox for the commands Codex runs (default workspace-write).',
      );
    });
  });

  describe('reading its JSON events', () => {
    it('reads the thread id, tokens and the last agent message, and reports no cost', () => {
      expect(parseCodexOutput({ stdout: jsonl(SUCCESS), stderr: 'Reading additional input from stdin...\n', exitCode: 0 })).toEqual({
        ok: true,
        summary: 'Wrote libs/orders/src/orders.handler.ts.',
        // input counts the cached tokens too; cacheRead and cacheWrite say how many the cache served and stored.
        tokens: { input: 2200, output: 70, cacheRead: 1200, cacheWrite: 0 },
        sessionId: '01a21fed-fcf7-7431-af6c-b9e4342a16b2',
      });
    });

    it('adds up the tokens of every completed turn', () => {
      const secondTurn = { type: 'turn.completed', usage: { input_tokens: 300, cached_input_tokens: 0, output_tokens: 5 } };
      expect(
        parseCodexOutput({ stdout: jsonl([...SUCCESS, { type: 'turn.started' }, secondTurn]), stderr: '', exitCode: 0 }).tokens,
      ).toEqual({
        input: 2500,
        output: 75,
        cacheRead: 1200,
        cacheWrite: 0,
      });
    });

    it('turns a failed turn into a failure with its message, and no summary', () => {
      expect(parseCodexOutput({ stdout: jsonl(RATE_LIMITED), stderr: '', exitCode: 1 })).toEqual({
        ok: false,
        error: `Codex reported an error: ${RATE_LIMIT}`,
        sessionId: '01a21fed-5510-7b92-a201-db7ba72efa74',
        tokens: undefined,
      });
    });

    it('fails on an error event that ended the run with no turn.failed after it', () => {
      const stdout = jsonl([
        { type: 'thread.started', thread_id: 't' },
        { type: 'error', message: 'Missing environment variable: `LOCAL_KEY`.' },
      ]);
      expect(parseCodexOutput({ stdout, stderr: '', exitCode: 1 })).toMatchObject({
        ok: false,
        error: 'Codex reported an error: Missing environment variable: `LOCAL_KEY`.',
      });
    });

    it('fails a run that exited 0 without events or without finishing its turn, and leaves a crash to its exit code', () => {
      expect(parseCodexOutput({ stdout: 'plain text\n', stderr: '', exitCode: 0 })).toMatchObject({ ok: false });
      expect(parseCodexOutput({ stdout: jsonl(SUCCESS.slice(0, 3)), stderr: '', exitCode: 0 }).error).toBe(
        'codex ended without finishing its turn (no turn.completed event); see the session log.',
      );
      expect(parseCodexOutput({ stdout: '', stderr: "error: unexpected argument '--modle' found", exitCode: 2 })).toEqual({});
    });

    it('recognises rate-limit and overload failures, and nothing else', () => {
      const transient = (text: string) => codexCli.transient.patterns.some((pattern) => pattern.test(text));
      expect(transient(jsonl(RATE_LIMITED))).toBe(true);
      // rate_limit_exceeded inside the response stream.
      expect(
        transient(
          jsonl(failedWith('rate limit exceeded: Rate limit reached for gpt-5 on tokens per min (TPM). Please try again in 20ms.')),
        ),
      ).toBe(true);
      // server_is_overloaded, in the stream or with a 503.
      expect(transient(jsonl(failedWith('Selected model is at capacity. Please try a different model.')))).toBe(true);
      expect(
        transient(jsonl(failedWith('unexpected status 503 Service Unavailable: busy, url: https://api.openai.com/v1/responses'))),
      ).toBe(true);
      // HTTP 500 after its retries; the apostrophe typographic, or escaped.
      expect(transient(jsonl(failedWith('We’re currently experiencing high demand, which may cause temporary errors.')))).toBe(true);
      expect(transient('{"type":"turn.failed","error":{"message":"We\\u2019re currently experiencing high demand"}}')).toBe(true);
      // Not worth a retry within minutes.
      expect(transient(jsonl(failedWith('Quota exceeded. Check your plan and billing details.')))).toBe(false);
      expect(transient(jsonl(failedWith('unexpected status 401 Unauthorized: Incorrect API key provided')))).toBe(false);
      // A reconnect on its way, or a message that only talks about rate limits, is not one.
      expect(transient(jsonl(failedWith('unexpected status 401 Unauthorized')).concat(jsonl([RATE_LIMITED[2]])))).toBe(false);
      const mention = { type: 'item.completed', item: { id: 'i', type: 'agent_message', text: `Handled "${RATE_LIMIT}" in the client.` } };
      expect(transient(jsonl([...SUCCESS.slice(0, 3), mention]))).toBe(false);
    });
  });

  describe('run by the CLI runner (a fake codex on PATH)', () => {
    let dir: string;

    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'fanout-codex-'));
    });
    afterEach(() => {
      rmSync(dir, { recursive: true, force: true });
    });

    /** A fake `codex` that records each call and answers with a 429 failure `rateLimited` times, then writes a file and succeeds. */
    function fakeCodex(plan: { rateLimited?: number; failure?: string }) {
      const bin = join(dir, 'bin');
      mkdirSync(bin, { recursive: true });
      const callsFile = join(dir, 'calls.json');
      const failure = jsonl(failedWith(plan.failure ?? RATE_LIMIT));
      writeFileSync(
        join(bin, 'codex'),
        `#!${process.execPath}
const fs = require('fs');
const calls = fs.existsSync(${JSON.stringify(callsFile)}) ? JSON.parse(fs.readFileSync(${JSON.stringify(callsFile)}, 'utf-8')) : [];
calls.push({ argv: process.argv.slice(2), stdin: fs.readFileSync(0, 'utf-8'), cwd: process.cwd() });
fs.writeFileSync(${JSON.stringify(callsFile)}, JSON.stringify(calls));
if (${JSON.stringify(plan.failure !== undefined)} || calls.length <= ${plan.rateLimited ?? 0}) { process.stdout.write(${JSON.stringify(failure)}); process.exit(1); }
fs.mkdirSync('src', { recursive: true });
fs.writeFileSync('src/orders.ts', 'export const orders = [];\\n');
process.stdout.write(${JSON.stringify(jsonl(SUCCESS))});
`,
      );
      chmodSync(join(bin, 'codex'), 0o755);
      return {
        env: { PATH: `${bin}:/usr/bin:/bin`, HOME: dir },
        calls: (): { argv: string[]; stdin: string; cwd: string }[] =>
          existsSync(callsFile) ? JSON.parse(readFileSync(callsFile, 'utf-8')) : [],
      };
    }

    const runSession = (env: NodeJS.ProcessEnv, prompt: string, options: AgentSession['options'] = { retryDelay: '1s' }): AgentSession =>
      cliSession(dir, env, { prompt, overrides: { options } });

    it('retries a rate-limited run with backoff, in the worktree with stdin closed, then reads the success', async () => {
      const fake = fakeCodex({ rateLimited: 2 });
      const deps = recordingDeps();
      const report = await runCliAgent(codexCli, runSession(fake.env, '# Build the orders API\n'), deps);
      expect(report).toMatchObject({
        ok: true,
        attempts: 3,
        summary: 'Wrote libs/orders/src/orders.handler.ts.',
        sessionId: '01a21fed-fcf7-7431-af6c-b9e4342a16b2',
        tokens: { input: 2200, output: 70 },
      });
      expect(report.costUsd).toBeUndefined();
      expect(deps.waits).toEqual([500, 1000]);
      const worktree = join(dir, 'worktree');
      expect(readFileSync(join(worktree, 'src/orders.ts'), 'utf-8')).toBe('export const orders = [];\n');
      const calls = fake.calls();
      expect(calls).toHaveLength(3);
      for (const call of calls) {
        expect(call.argv).toEqual(['exec', '--json', '--sandbox', 'workspace-write', '-C', worktree, '--', '# Build the orders API\n']);
        expect(call.stdin).toBe('');
        expect(call.cwd).toBe(worktree);
      }
      expect(readFileSync(join(dir, 'session.log'), 'utf-8')).toContain(
        '[fanout] codex was rate-limited (429) on attempt 2; waiting 1.0 s before attempt 3',
      );
    });

    it('sends a prompt too long for argv on stdin', async () => {
      const fake = fakeCodex({});
      const prompt = `# Orders\n${'contracts '.repeat(15_000)}`;
      const report = await runCliAgent(codexCli, runSession(fake.env, prompt), recordingDeps());
      expect(report.ok).toBe(true);
      const [call] = fake.calls();
      expect(call.stdin).toBe(prompt);
      expect(call.argv).toEqual(['exec', '--json', '--sandbox', 'workspace-write', '-C', join(dir, 'worktree')]);
    });

    it('does not retry an exhausted quota, and says what Codex said', async () => {
      const fake = fakeCodex({ failure: 'Quota exceeded. Check your plan and billing details.' });
      const deps = recordingDeps();
      const report = await runCliAgent(codexCli, runSession(fake.env, '# Orders\n'), deps);
      expect(report).toMatchObject({ ok: false, attempts: 1, exitCode: 1 });
      expect(report.error).toBe('Codex reported an error: Quota exceeded. Check your plan and billing details.');
      expect(deps.waits).toEqual([]);
    });
  });

  describe('against the installed CLI (@openai/codex)', () => {
    const packageDir = dirname(require.resolve('@openai/codex/package.json'));
    // The package's launcher starts the native binary of this platform.
    const launcher = join(packageDir, 'bin', 'codex.js');
    let home: string;

    beforeAll(() => {
      home = mkdtempSync(join(tmpdir(), 'fanout-codex-home-'));
    });
    afterAll(() => {
      rmSync(home, { recursive: true, force: true });
    });

    /** Runs the CLI with stdin closed and its own home; without a prompt it never gets as far as a model. */
    const codex = (args: string[]) =>
      spawnSync(process.execPath, [launcher, ...args], {
        encoding: 'utf-8',
        input: '',
        timeout: 60_000,
        env: { PATH: process.env['PATH'], HOME: home, CODEX_HOME: home },
      });

    /** Everything the adapter emits with every option set; -C names the (existing) home as the worktree. */
    const emitted = () => codexCli.args({ ...CONFIGURED, args: [] }, { via: 'stdin' }, { worktree: home } as AgentSession);

    it('lists in `codex exec --help` every flag the adapter emits, and the sandbox modes fanout offers', () => {
      const help = codex(['exec', '--help']);
      expect(help.status).toBe(0);
      const flags = emitted().filter((arg) => arg.startsWith('-'));
      expect(flags).toEqual(['--json', '--sandbox', '-C', '--model']);
      expect(flags.filter((flag) => !new RegExp(`(^|[\\s,])${flag}\\b`, 'm').test(help.stdout))).toEqual([]);
      expect(help.stdout).toContain(`[possible values: ${CODEX_SANDBOX_MODES.join(', ')}]`);
    });

    it("passes the CLI's own parser with every option set, and the parser does reject a wrong flag", () => {
      const accepted = codex(emitted());
      // Parsing succeeded: the CLI got as far as looking for a prompt on stdin.
      expect(accepted.stderr).toContain('No prompt provided via stdin.');
      expect(accepted.stderr).not.toMatch(/unexpected argument|invalid value/);

      const rejected = codex(emitted().map((arg) => (arg === '--model' ? '--modle' : arg)));
      expect(rejected.stderr).toContain("unexpected argument '--modle' found");
    });

    it('resumes a thread with `codex exec resume`: every flag in its --help, and its parser takes them', () => {
      const id = '01a21fed-fcf7-7431-af6c-b9e4342a16b2';
      const resumed = codexCli.resume?.({ ...CONFIGURED, args: [] }, { via: 'stdin' }, { worktree: home } as AgentSession, id) ?? [];
      expect(resumed).toEqual(['exec', 'resume', '--json', '-c', 'sandbox_mode="read-only"', '--model', CONFIGURED.model, '--', id, '-']);
      const help = codex(['exec', 'resume', '--help']);
      expect(help.status).toBe(0);
      const flags = resumed.filter((arg) => arg.startsWith('-') && arg !== '--' && arg !== '-');
      expect(flags.filter((flag) => !new RegExp(`(^|[\\s,])${flag}\\b`, 'm').test(help.stdout))).toEqual([]);
      // Parsed: it got as far as looking for the thread, which this home does not have.
      const parsed = codex(resumed);
      expect(parsed.stderr).not.toMatch(/unexpected argument|invalid value/);
    });

    /**
     * A whole session of the real CLI against a scripted model on 127.0.0.1 that
     * speaks the Responses API (what Codex speaks): first an overloaded answer,
     * which fanout retries, then a shell call that writes the task's file, then a
     * final message with usage.
     */
    /**
     * A real session against a local Responses API: `sandboxed` in fanout's sandbox (Codex's own off), else
     * in Codex's own. The provider is defined in Codex's config.toml, as users (and the e2e suite) do, or
     * with -c in the agent's args; in neither case does the sandbox setting name its host.
     */
    async function realSession(sandboxed: boolean, provider: 'config.toml' | 'args' = 'config.toml') {
      const key = 'sk-local-test-0123456789abcdefghij';
      const requests: { authorization?: string; body: { input?: { content?: { text?: string }[] }[] } }[] = [];
      const sse = (events: object[]) =>
        events.map((event) => `event: ${(event as { type: string }).type}\ndata: ${JSON.stringify(event)}\n\n`).join('');
      const completed = (id: string, output: object[], input: number, cached: number, out: number) => ({
        type: 'response.completed',
        response: {
          id,
          object: 'response',
          status: 'completed',
          output,
          usage: { input_tokens: input, input_tokens_details: { cached_tokens: cached }, output_tokens: out, total_tokens: input + out },
        },
      });
      const write = {
        type: 'function_call',
        id: 'fc_1',
        call_id: 'call_1',
        name: 'exec_command',
        arguments: JSON.stringify({ cmd: "mkdir -p src && printf 'export const orders = [];\\n' > src/orders.ts" }),
      };
      const answer = {
        type: 'message',
        id: 'msg_1',
        role: 'assistant',
        status: 'completed',
        content: [{ type: 'output_text', text: 'Wrote src/orders.ts.', annotations: [] }],
      };
      const script = [
        [
          { type: 'response.created', response: { id: 'resp_0' } },
          {
            type: 'response.failed',
            response: { id: 'resp_0', status: 'failed', error: { code: 'server_is_overloaded', message: 'busy' } },
          },
        ],
        [
          { type: 'response.created', response: { id: 'resp_1' } },
          { type: 'response.output_item.done', output_index: 0, item: write },
          completed('resp_1', [write], 900, 0, 40),
        ],
        [
          { type: 'response.created', response: { id: 'resp_2' } },
          { type: 'response.output_item.done', output_index: 0, item: answer },
          completed('resp_2', [answer], 1000, 800, 12),
        ],
      ];
      const server: Server = createServer((request, response) => {
        let body = '';
        request.on('data', (chunk) => (body += chunk));
        request.on('end', () => {
          requests.push({ authorization: request.headers.authorization, body: body ? JSON.parse(body) : {} });
          const events = request.method === 'POST' && request.url === '/v1/responses' ? script[requests.length - 1] : undefined;
          if (!events) return void response.writeHead(404).end('{}');
          response.writeHead(200, { 'content-type': 'text/event-stream' }).end(sse(events));
        });
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      const dir = mkdtempSync(join(tmpdir(), 'fanout-codex-real-'));
      try {
        const port = (server.address() as AddressInfo).port;
        const worktree = join(dir, 'worktree');
        mkdirSync(worktree);
        spawnSync('git', ['init', '-q'], { cwd: worktree });
        writeFileSync(join(dir, 'prompt.md'), '# Build the orders API\n');
        writeFileSync(join(dir, 'session.log'), '');
        const codexHome = join(dir, 'codex-home');
        mkdirSync(codexHome);
        const env = { PATH: process.env['PATH'], HOME: codexHome, CODEX_HOME: codexHome, LOCAL_MODEL_KEY: key };
        // A provider of its own on 127.0.0.1; nothing that would reach any other host (plugin sync, analytics).
        const settings = [
          'model_provider="local"',
          'model_providers.local.name="local"',
          `model_providers.local.base_url="http://127.0.0.1:${port}/v1"`,
          'model_providers.local.env_key="LOCAL_MODEL_KEY"',
          'model_providers.local.wire_api="responses"',
          'analytics.enabled=false',
        ];
        if (provider === 'config.toml') writeFileSync(join(codexHome, 'config.toml'), `${settings.join('\n')}\n`);
        const options = {
          model: 'gpt-test',
          retryDelay: '1s',
          args: [...(provider === 'args' ? settings.flatMap((setting) => ['-c', setting]) : []), '--disable', 'plugins'],
        };
        const deps = recordingDeps();
        // The key variable, as a user would allow it for a provider of their own; the provider's host is not listed.
        const sandbox = sandboxed ? SessionSandbox.open(sessionSandboxSetting({ plugin: { env: ['LOCAL_MODEL_KEY'] } })) : undefined;
        const sessionEnv = sandbox ? sandbox.env(env, CODEX_SANDBOX) : env;
        const processSandbox = sandbox?.process({ worktree, checkout: join(dir, 'checkout'), env: sessionEnv, needs: CODEX_SANDBOX });
        const started = Date.now();
        const report = await runCliAgent(
          codexCli,
          {
            project: 'orders',
            projectRoot: 'libs/orders',
            // Where node_modules/.bin/codex is: the installed CLI, not a fake.
            workspaceRoot: join(packageDir, '..', '..', '..'),
            worktree,
            promptFile: join(dir, 'prompt.md'),
            logFile: join(dir, 'session.log'),
            subjects: { reference: 'users', task: 'orders' },
            reference: { project: 'users', root: 'libs/users' },
            contracts: { project: 'contracts', root: 'libs/contracts', importPath: '@ws/contracts' },
            options,
            timeoutMs: 90_000,
            env: sessionEnv,
            echo: false,
            redact: createRedactor(env),
            ...(sandbox && processSandbox ? { sandbox: { ...processSandbox, privateTemp: sandbox.privateTemp } } : {}),
          },
          deps,
        );
        sandbox?.close();
        if (provider === 'args') {
          // fanout cannot see a provider given with -c: Codex, sent straight to the sandbox's own loopback,
          // waits for the network; the attempt ends at its first word of it, not at the session's timeout.
          expect(report).toMatchObject({ ok: false, attempts: 1 });
          expect(report.error).toMatch(
            /^Codex could not connect to its model provider from inside fanout's sandbox \(Codex said: Reconnecting\.\.\. waiting for network.*sandbox\.allowedDomains/,
          );
          expect(Date.now() - started).toBeLessThan(30_000);
          expect(requests).toHaveLength(0);
          expect(deps.waits).toEqual([]);
          return;
        }
        if (!sandboxed && !report.ok) {
          // Where Codex's own sandbox writes nothing (bubblewrap installed, as here), the run says so rather than passing.
          expect(report.error).toMatch(
            /its own "workspace-write" sandbox .*wrote nothing|but the worktree is unchanged: its own "workspace-write" sandbox/,
          );
          expect(existsSync(join(worktree, 'src/orders.ts'))).toBe(false);
          return;
        }
        const log = readFileSync(join(dir, 'session.log'), 'utf-8');
        expect({ report, log }).toMatchObject({
          report: { ok: true, attempts: 2, summary: 'Wrote src/orders.ts.', tokens: { input: 1900, output: 52 } },
        });
        expect(report.sessionId).toMatch(/^[0-9a-f-]{36}$/);
        expect(deps.waits).toEqual([500]);
        expect(readFileSync(join(worktree, 'src/orders.ts'), 'utf-8')).toBe('export const orders = [];\n');
        expect(requests).toHaveLength(3);
        expect(requests.every((request) => request.authorization === `Bearer ${key}`)).toBe(true);
        // The prompt reached the model as the user's message, whole.
        const inputTexts = (request: (typeof requests)[number]) =>
          (request.body.input ?? []).flatMap((item) => item.content ?? []).map((part) => part.text);
        expect(inputTexts(requests[1])).toContain('# Build the orders API\n');
        expect(log).not.toContain(key);
      } finally {
        await new Promise<void>((resolve) => server.close(() => resolve()));
        rmSync(dir, { recursive: true, force: true });
      }
    }

    it(
      "runs a real session in fanout's sandbox against a local Responses API: retried overload, file written, tokens and thread id read",
      () => realSession(true),
      120_000,
    );

    it(
      "runs a real session in Codex's own sandbox, and fails it, naming the cause, where that sandbox writes nothing",
      () => realSession(false),
      120_000,
    );

    it(
      "stops a sandboxed session whose provider fanout cannot reach at once, naming the cause, rather than at the session's timeout",
      () => realSession(true, 'args'),
      120_000,
    );
  });
});

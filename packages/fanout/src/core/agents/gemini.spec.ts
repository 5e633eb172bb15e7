import { spawnSync } from 'child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { dirname, join } from 'path';
import type { AgentSession } from './agent';
import { runCliAgent } from './cli-agent';
import { GEMINI_APPROVAL_MODES, geminiAgent, geminiCli, parseGeminiOutput } from './gemini';
import { AGENTS } from './registry';
import { cliSession, recordingDeps } from '../../testing/cli-session';

const WORKSPACE = '/ws';
const session = { workspaceRoot: WORKSPACE } as AgentSession;
const PROMPT = { via: 'argument', text: '# Build the orders API' } as const;

/** Everything the adapter can emit: every option set. */
const CONFIGURED = {
  model: 'gemini-2.5-pro',
  approvalMode: 'yolo',
  policies: ['tools/gemini/fanout.toml', '/etc/gemini/deny-web.toml'],
};

/**
 * Shaped like Gemini CLI 0.61.0's report with --output-format json (its api and
 * roles blocks trimmed): one entry per model, here the router's small model and the main one.
 */
const SUCCESS = {
  session_id: 'dc7c89c8-28f5-47e4-9ccb-283c55ee14ba',
  response: 'Wrote libs/orders/src/lib/orders.handler.ts.',
  stats: {
    models: {
      'gemini-2.5-flash-lite': {
        api: { totalRequests: 1, totalErrors: 0, totalLatencyMs: 478, errorsByType: {} },
        tokens: { input: 1500, prompt: 1520, candidates: 12, total: 1532, cached: 20, thoughts: 0, tool: 0 },
      },
      'gemini-2.5-pro': {
        api: { totalRequests: 3, totalErrors: 0, totalLatencyMs: 5436, errorsByType: {} },
        tokens: { input: 9000, prompt: 12000, candidates: 300, total: 12780, cached: 3000, thoughts: 450, tool: 30 },
      },
    },
    tools: { totalCalls: 2, totalSuccess: 2, totalFail: 0, totalDurationMs: 463, byName: {} },
    files: { totalLinesAdded: 40, totalLinesRemoved: 0 },
  },
};

/** Gemini CLI prints its report indented, with no newline after it. */
const pretty = (json: unknown) => JSON.stringify(json, null, 2);

/** A rate limit as Gemini CLI 0.61.0 reports it on stderr once its own retries gave up, exit status 173 (429 modulo 256). */
const rateLimitedStderr = (message = 'Resource has been exhausted (e.g. check quota).') =>
  [
    `Attempt 10 failed: ${message}. Max attempts reached`,
    `Error when talking to Gemini API Full report available at: /tmp/gemini-client-error-Turn.run-sendMessageStream-2026-11-28T02-17-09-251Z.json RetryableQuotaError: ${message}`,
    '  cause: {',
    '    code: 429,',
    `    message: '${message}',`,
    '    details: []',
    '  },',
    '  retryDelayMs: undefined,',
    '  status: 429',
    '}',
    pretty({ session_id: 'bab40c78-3e13-45ae-9a23-b1bd1ec741a3', error: { type: 'Error', message, code: 429 } }),
  ].join('\n');

const OVERLOADED = pretty({
  session_id: 'a0fd4873-94c0-4c77-8961-4559ac93e213',
  error: { type: 'Error', message: 'The model is overloaded. Please try again later.', code: 503 },
});

describe('gemini agent', () => {
  describe('argv', () => {
    it('asks for JSON, auto_edit and a trusted worktree, with the prompt last as the value of --prompt=', () => {
      expect(geminiCli.args({}, PROMPT, session)).toEqual([
        '--output-format',
        'json',
        '--approval-mode',
        'auto_edit',
        '--skip-trust',
        '--prompt=# Build the orders API',
      ]);
    });

    it('passes the approval mode, the policies (relative to the workspace root), the model and extra arguments', () => {
      expect(geminiCli.args({ ...CONFIGURED, args: ['--include-directories', '../shared'] }, PROMPT, session)).toEqual([
        '--output-format',
        'json',
        '--approval-mode',
        'yolo',
        '--skip-trust',
        '--policy',
        '/ws/tools/gemini/fanout.toml',
        '--policy',
        '/etc/gemini/deny-web.toml',
        '--model',
        'gemini-2.5-pro',
        '--include-directories',
        '../shared',
        '--prompt=# Build the orders API',
      ]);
    });

    it('keeps a prompt starting with "-" one value, and leaves the prompt out of argv when it goes to stdin', () => {
      expect(geminiCli.args({}, { via: 'argument', text: '--- a\nb' }, session).pop()).toBe('--prompt=--- a\nb');
      expect(geminiCli.args({}, { via: 'stdin' }, session)).toEqual([
        '--output-format',
        'json',
        '--approval-mode',
        'auto_edit',
        '--skip-trust',
      ]);
    });

    it('takes its own options besides the common ones, and is registered', () => {
      expect(Object.keys(geminiAgent.options ?? {}).sort()).toEqual(
        ['approvalMode', 'args', 'env', 'model', 'policies', 'retries', 'retryDelay'].sort(),
      );
      expect(AGENTS.get('gemini')).toBe(geminiAgent);
    });
  });

  describe('reading its JSON report', () => {
    it('reads the response, the session id and the tokens of every model; no cost', () => {
      expect(
        parseGeminiOutput({ stdout: pretty(SUCCESS), stderr: 'Ripgrep is not available. Falling back to GrepTool.\n', exitCode: 0 }),
      ).toEqual({
        ok: true,
        summary: 'Wrote libs/orders/src/lib/orders.handler.ts.',
        // prompt + tool over both models; candidates + thoughts.
        tokens: { input: 13550, output: 762 },
        sessionId: 'dc7c89c8-28f5-47e4-9ccb-283c55ee14ba',
      });
    });

    it('reads the error document from stderr, after the debug output', () => {
      expect(parseGeminiOutput({ stdout: '', stderr: rateLimitedStderr(), exitCode: 173 })).toEqual({
        ok: false,
        error: 'Gemini CLI reported an error (code 429): Resource has been exhausted (e.g. check quota).',
        tokens: undefined,
        sessionId: 'bab40c78-3e13-45ae-9a23-b1bd1ec741a3',
      });
    });

    it('reads the error document from stdout where the CLI put it there (no credentials, exit 41)', () => {
      const stdout = pretty({
        session_id: 'bcad436b-f250-4a52-818f-da328d971d86',
        error: {
          type: 'Error',
          message:
            'Please set an Auth method in your /root/.gemini/settings.json or specify one of the following environment variables before running: GEMINI_API_KEY, GOOGLE_GENAI_USE_VERTEXAI, GOOGLE_GENAI_USE_GCA',
          code: 41,
        },
      });
      const read = parseGeminiOutput({ stdout, stderr: '', exitCode: 41 });
      expect(read).toMatchObject({ ok: false, sessionId: 'bcad436b-f250-4a52-818f-da328d971d86' });
      expect(read.error).toMatch(/^Gemini CLI reported an error \(code 41\): Please set an Auth method .*GEMINI_API_KEY/);
    });

    it('fails a run that exited 0 with an error in its report, or that stopped early, and keeps other warnings', () => {
      const blocked = {
        ...SUCCESS,
        response: '',
        error: { type: 'INVALID_STREAM', message: 'Model stream ended with empty response text.' },
      };
      expect(parseGeminiOutput({ stdout: pretty(blocked), stderr: '', exitCode: 0 })).toMatchObject({
        ok: false,
        error: 'Gemini CLI reported an error (INVALID_STREAM): Model stream ended with empty response text.',
        tokens: { input: 13550, output: 762 },
      });
      const looped = { ...SUCCESS, warnings: ['Loop detected, stopping execution'] };
      expect(parseGeminiOutput({ stdout: pretty(looped), stderr: '', exitCode: 0 })).toMatchObject({
        ok: false,
        error: 'Gemini CLI stopped before it was done: Loop detected, stopping execution',
      });
      const warned = { ...SUCCESS, warnings: ['Agent execution blocked: a hook said no'] };
      expect(parseGeminiOutput({ stdout: pretty(warned), stderr: '', exitCode: 0 })).toMatchObject({
        ok: true,
        summary: `${SUCCESS.response}\n\nGemini CLI warned: Agent execution blocked: a hook said no`,
      });
    });

    it('fails a run that exited 0 without a report, and leaves a crash to its exit code', () => {
      expect(parseGeminiOutput({ stdout: 'plain text\n', stderr: '', exitCode: 0 })).toMatchObject({ ok: false });
      expect(parseGeminiOutput({ stdout: '', stderr: 'Gemini CLI is not running in a trusted directory.', exitCode: 55 })).toEqual({});
    });

    it('recognises rate-limit and overload failures, and nothing else', () => {
      const transient = (text: string) => geminiCli.transient.patterns.some((pattern) => pattern.test(text));
      expect(transient(rateLimitedStderr())).toBe(true);
      expect(transient(OVERLOADED)).toBe(true);
      // A per-minute quota, with the escaped newlines of the API's message.
      const perMinute =
        'You exceeded your current quota, please check your plan and billing details.\n* Quota exceeded for metric: ' +
        'generativelanguage.googleapis.com/generate_content_paid_tier_input_token_count, limit: 2000000, model: gemini-2.5-pro\n' +
        'Please retry in 21.5s.\nSuggested retry after 21s.';
      expect(transient(rateLimitedStderr(perMinute))).toBe(true);
      // The daily quota and a quota of 0 do not come back within minutes.
      expect(transient(rateLimitedStderr('You have exhausted your daily quota on this model.'))).toBe(false);
      expect(transient(rateLimitedStderr(perMinute.replace('limit: 2000000', 'limit: 0')))).toBe(false);
      expect(transient(pretty({ error: { type: 'Error', message: 'API key not valid. Please pass a valid API key.', code: 400 } }))).toBe(
        false,
      );
      // A response that only talks about rate limits is not one.
      expect(transient(pretty({ ...SUCCESS, response: 'Handled "code": 429 and RESOURCE_EXHAUSTED with a retry.' }))).toBe(false);
    });
  });

  describe('run by the shared runner', () => {
    const API_KEY = 'AIzaSyTESTtestTEST0123456789abcdefghijk';
    let dir: string;

    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'fanout-gemini-'));
    });
    afterEach(() => {
      rmSync(dir, { recursive: true, force: true });
    });

    interface FakeCall {
      argv: string[];
      stdin: string;
      keyInEnv: boolean;
    }

    /** A fake `gemini` on PATH: answers `rateLimited` calls with the given error (exit 173), then with SUCCESS. */
    function fakeGemini(rateLimited: number, stderr = rateLimitedStderr()): { env: NodeJS.ProcessEnv; calls: () => FakeCall[] } {
      const bin = join(dir, 'bin');
      mkdirSync(bin);
      const callsFile = join(bin, 'calls.json');
      writeFileSync(
        join(bin, 'gemini'),
        `#!${process.execPath}
const fs = require('fs');
const calls = fs.existsSync(${JSON.stringify(callsFile)}) ? JSON.parse(fs.readFileSync(${JSON.stringify(callsFile)}, 'utf-8')) : [];
calls.push({ argv: process.argv.slice(2), stdin: fs.readFileSync(0, 'utf-8'), keyInEnv: process.env.GEMINI_API_KEY === ${JSON.stringify(API_KEY)} });
fs.writeFileSync(${JSON.stringify(callsFile)}, JSON.stringify(calls));
if (calls.length <= ${rateLimited}) { process.stderr.write(${JSON.stringify(stderr)}); process.exit(173); }
process.stdout.write(${JSON.stringify(pretty(SUCCESS))});
`,
      );
      chmodSync(join(bin, 'gemini'), 0o755);
      return {
        env: { PATH: `${bin}:/usr/bin:/bin`, HOME: dir, GEMINI_API_KEY: API_KEY },
        calls: () => (existsSync(callsFile) ? JSON.parse(readFileSync(callsFile, 'utf-8')) : []),
      };
    }

    const geminiSession = (env: NodeJS.ProcessEnv, prompt: string, options: AgentSession['options'] = { retryDelay: '1s' }): AgentSession =>
      cliSession(dir, env, { prompt, overrides: { options } });

    it('retries a rate limit with backoff, then reads the report; the log shows the prompt by its size only', async () => {
      const fake = fakeGemini(2);
      const deps = recordingDeps();
      const report = await runCliAgent(geminiCli, geminiSession(fake.env, '-- Build the orders API\n'), deps);
      expect(report).toMatchObject({ ok: true, attempts: 3, summary: SUCCESS.response, sessionId: SUCCESS.session_id });
      expect(deps.waits).toEqual([500, 1000]);
      expect(report.tokens).toEqual({ input: 13550, output: 762 });
      const calls = fake.calls();
      expect(calls).toHaveLength(3);
      expect(calls[0].argv.pop()).toBe('--prompt=-- Build the orders API\n');
      expect(calls[0]).toMatchObject({ stdin: '', keyInEnv: true });
      const log = readFileSync(join(dir, 'session.log'), 'utf-8');
      expect(log).toContain('--skip-trust "--prompt=<prompt: 24 bytes>"');
      expect(log).not.toContain('Build the orders API');
      expect(log).toContain('[fanout] gemini was rate-limited or overloaded on attempt 2; waiting 1.0 s before attempt 3');
    });

    it('does not retry the daily quota', async () => {
      const fake = fakeGemini(5, rateLimitedStderr('You have exhausted your daily quota on this model.'));
      const deps = recordingDeps();
      const report = await runCliAgent(geminiCli, geminiSession(fake.env, '# Build the orders API\n'), deps);
      expect(report).toMatchObject({ ok: false, attempts: 1, exitCode: 173 });
      expect(report.error).toBe('Gemini CLI reported an error (code 429): You have exhausted your daily quota on this model.');
      expect(deps.waits).toEqual([]);
    });

    it('sends a prompt beyond the argv limit on stdin, without --prompt', async () => {
      const fake = fakeGemini(0);
      const prompt = `# Orders\n${'contracts '.repeat(15_000)}`;
      const report = await runCliAgent(geminiCli, geminiSession(fake.env, prompt), recordingDeps());
      expect(report.ok).toBe(true);
      const [call] = fake.calls();
      expect(call.stdin).toBe(prompt);
      expect(call.argv).toEqual(['--output-format', 'json', '--approval-mode', 'auto_edit', '--skip-trust']);
    });
  });

  describe('against the installed CLI (@google/gemini-cli)', () => {
    const launcher = join(dirname(require.resolve('@google/gemini-cli/package.json')), 'bundle', 'gemini.js');
    let home: string;
    let policy: string;

    beforeAll(() => {
      home = mkdtempSync(join(tmpdir(), 'fanout-gemini-home-'));
      mkdirSync(join(home, '.gemini'));
      // A project folder of its own: Gemini CLI warns when it runs in the home directory.
      mkdirSync(join(home, 'project'));
      // API-key auth, and nothing that phones home: no usage statistics, telemetry or update checks.
      writeFileSync(
        join(home, '.gemini', 'settings.json'),
        JSON.stringify({
          security: { auth: { selectedType: 'gemini-api-key' } },
          general: { enableAutoUpdate: false, enableAutoUpdateNotification: false },
          privacy: { usageStatisticsEnabled: false },
          telemetry: { enabled: false },
        }),
      );
      policy = join(home, 'policy.toml');
      writeFileSync(policy, '[[rule]]\ntoolName = "web_fetch"\ndecision = "deny"\npriority = 100\n');
    });
    afterAll(() => {
      rmSync(home, { recursive: true, force: true });
    });

    /**
     * Runs the CLI in `home` with stdin closed: it never gets a prompt, so it never
     * talks to a model, and its API and any proxy point at a closed port on 127.0.0.1.
     */
    const gemini = (args: string[]) =>
      spawnSync(process.execPath, [launcher, ...args], {
        cwd: join(home, 'project'),
        encoding: 'utf-8',
        input: '',
        timeout: 150_000,
        env: {
          PATH: process.env['PATH'],
          HOME: home,
          GEMINI_API_KEY: 'AIza-test-not-a-key',
          GOOGLE_GEMINI_BASE_URL: 'http://127.0.0.1:9',
          HTTPS_PROXY: 'http://127.0.0.1:9',
          HTTP_PROXY: 'http://127.0.0.1:9',
          // One process instead of a launcher that starts the CLI again with more memory.
          GEMINI_CLI_NO_RELAUNCH: 'true',
        },
      });

    /** Everything the adapter emits with every option set; the policy file must exist for the CLI to load it. */
    const emitted = () => geminiCli.args({ ...CONFIGURED, policies: [policy] }, { via: 'stdin' }, session);

    it('lists in --help every flag the adapter emits, and the approval modes it offers', () => {
      const help = gemini(['--help']);
      expect(help.status).toBe(0);
      const flags = [...emitted(), '--prompt=x'].filter((arg) => arg.startsWith('-')).map((arg) => arg.replace(/=.*$/s, ''));
      expect(flags).toEqual(['--output-format', '--approval-mode', '--skip-trust', '--policy', '--model', '--prompt']);
      // Whole flags only: "--prompt" is not "--prompt-interactive".
      const missing = flags.filter((flag) => !new RegExp(`(^|[\\s,])${flag}(?![\\w-])`, 'm').test(help.stdout));
      expect(missing).toEqual([]);
      expect(help.stdout).toContain(`[choices: ${GEMINI_APPROVAL_MODES.map((mode) => `"${mode}"`).join(', ')}]`);
    }, 160_000);

    it("passes the CLI's own parser with every option set, and the parser does reject a wrong flag", () => {
      const accepted = gemini(emitted());
      // Parsing succeeded: the CLI got as far as asking for a prompt.
      expect(accepted.stderr).toContain('No input provided via stdin');
      expect(accepted.status).toBe(42);

      const rejected = gemini([...emitted().filter((arg) => arg !== '--skip-trust'), '--skip-trusted']);
      expect(rejected.status).toBe(1);
      expect(rejected.stderr).toContain('Unknown arguments: skip-trusted');
    }, 320_000);
  });
});

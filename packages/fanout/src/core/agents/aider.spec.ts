import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { dirname, join } from 'path';
import type { AgentSession } from './agent';
import { checkAgentOptions } from './agent-options';
import {
  AIDER_CHAT_HISTORY,
  AIDER_INPUT_HISTORY,
  AIDER_MODEL_SOURCES,
  aiderAgent,
  aiderCli,
  aiderModelProblem,
  parseAiderOutput,
} from './aider';
import { MAX_PROMPT_ARGUMENT_BYTES, runCliAgent } from './cli-agent';
import { cliSession, recordingDeps } from '../../testing/cli-session';

const SESSION_DIR = '/ws/.fanout/sessions/orders';
const PROMPT_FILE = `${SESSION_DIR}/prompt.md`;
const session = { logFile: `${SESSION_DIR}/session.log`, worktree: '/ws/.fanout/worktrees/orders' } as AgentSession;
const PROMPT = { via: 'file', file: PROMPT_FILE } as const;

/** What fanout always passes, after --message-file <prompt>. */
const FIXED = [
  '--yes-always',
  '--no-auto-commits',
  '--no-dirty-commits',
  '--no-gitignore',
  '--map-tokens',
  '0',
  '--chat-history-file',
  `${SESSION_DIR}/${AIDER_CHAT_HISTORY}`,
  '--input-history-file',
  `${SESSION_DIR}/${AIDER_INPUT_HISTORY}`,
  '--no-pretty',
  '--no-stream',
  '--no-check-update',
  '--no-show-release-notes',
  '--no-show-model-warnings',
  '--no-analytics',
  '--no-detect-urls',
  '--no-suggest-shell-commands',
];

/** Everything the adapter can emit: every option set. */
const CONFIGURED = { model: 'anthropic/claude-sonnet-4-20250514', git: 'off' };

/**
 * aider cannot be installed here (it is a Python tool and PyPI is out of reach),
 * so its --help cannot be run. Each flag the adapter emits is checked instead
 * against aider's documented options: the parser in aider/args.py (get_parser,
 * by argument group) and the options reference generated from it,
 * aider/website/docs/config/options.md, in Aider-AI/aider (aider 0.86). A
 * `--no-x` flag is the negative form of a BooleanOptionalAction `--x`. Flags
 * that take a value say so.
 */
const DOCUMENTED: Record<string, { source: string; value?: true }> = {
  '--model': { source: 'Main model: --model MODEL', value: true },
  '--message-file': { source: 'Modes: --message-file MESSAGE_FILE (alias -f)', value: true },
  '--yes-always': { source: 'Other settings: --yes-always (store_true)' },
  '--no-auto-commits': { source: 'Git settings: --auto-commits | --no-auto-commits' },
  '--no-dirty-commits': { source: 'Git settings: --dirty-commits | --no-dirty-commits' },
  '--no-gitignore': { source: 'Git settings: --gitignore | --no-gitignore' },
  '--no-git': { source: 'Git settings: --git | --no-git' },
  '--map-tokens': { source: 'Repomap settings: --map-tokens VALUE (int, 0 disables the map)', value: true },
  '--chat-history-file': { source: 'History Files: --chat-history-file CHAT_HISTORY_FILE', value: true },
  '--input-history-file': { source: 'History Files: --input-history-file INPUT_HISTORY_FILE', value: true },
  '--no-pretty': { source: 'Output settings: --pretty | --no-pretty' },
  '--no-stream': { source: 'Output settings: --stream | --no-stream' },
  '--no-check-update': { source: 'Upgrading: --check-update | --no-check-update' },
  '--no-show-release-notes': { source: 'Upgrading: --show-release-notes | --no-show-release-notes' },
  '--no-show-model-warnings': { source: 'Model settings: --show-model-warnings | --no-show-model-warnings' },
  '--no-analytics': { source: 'Analytics: --analytics | --no-analytics (this session only)' },
  '--no-detect-urls': { source: 'Other settings: --detect-urls | --no-detect-urls' },
  '--no-suggest-shell-commands': { source: 'Other settings: --suggest-shell-commands | --no-suggest-shell-commands' },
};

const BANNER = [
  'Detected dumb terminal, disabling fancy input and pretty output.',
  '',
  'Aider v0.86.2',
  'Main model: anthropic/claude-sonnet-4-20250514 with diff edit format, infinite output',
  'Weak model: anthropic/claude-3-5-haiku-20241022',
  'Git repo: .git with 41 files',
  'Repo-map: disabled',
  '',
].join('\n');

/**
 * Shaped like aider 0.86's stdout with --no-pretty (no terminal, so 80 columns):
 * a reply, a lint fix (a second reply, with prompt caching), each followed by its
 * usage report and the edits it applied.
 */
const SUCCESS = `${BANNER}
I will add the handler and export it.

libs/orders/src/lib/orders.handler.ts
<<<<<<< SEARCH
=======
export function listOrders() {
  return [];
}
>>>>>>> REPLACE

Tokens: 4.2k sent, 310 received. Cost: $0.02 message, $0.02 session.
Applied edit to libs/orders/src/lib/orders.handler.ts
Applied edit to libs/orders/src/index.ts

# Fix any errors below, if possible.

libs/orders/src/lib/orders.handler.ts
<<<<<<< SEARCH
  return [];
=======
  return [] as Order[];
>>>>>>> REPLACE

Tokens: 12k sent, 1.1k cache write, 9.8k cache hit, 95 received.
Cost: $0.0081 message, $0.03 session.
Applied edit to libs/orders/src/lib/orders.handler.ts
`;

const RATE_LIMIT_REPORT = `litellm.RateLimitError: AnthropicException -
{"type":"error","error":{"type":"rate_limit_error","message":"Number of request
tokens has exceeded your per-minute rate limit"}}
The API provider has rate limited you. Try again later or check your quotas.`;

/** aider after its own retries gave up on a rate limit: it exits 0 all the same. */
const RATE_LIMITED = `${BANNER}
${RATE_LIMIT_REPORT}
Retrying in 0.2 seconds...
${RATE_LIMIT_REPORT}
Retrying in 0.5 seconds...
${RATE_LIMIT_REPORT}

`;

const OVERLOADED = `${BANNER}
litellm.InternalServerError: AnthropicException -
{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}
The API provider's servers are down or overloaded.

`;

const BAD_KEY = `${BANNER}
litellm.AuthenticationError: AnthropicException -
{"type":"error","error":{"type":"authentication_error","message":"invalid x-api-key"}}
The API provider is not able to authenticate you. Check your API key.

`;

/** A rate limit aider retried past, then a reply. */
const RECOVERED = `${BANNER}
${RATE_LIMIT_REPORT}
Retrying in 0.2 seconds...
Done.

Tokens: 3.1k sent, 40 received. Cost: $0.01 message, $0.01 session.
Applied edit to libs/orders/src/orders.ts
`;

const ok = (stdout: string) => ({ stdout, stderr: '', exitCode: 0 });

describe('aider agent', () => {
  describe('argv', () => {
    it('reads the prompt from its file, says yes to edits, never commits, and keeps its files out of the worktree', () => {
      expect(aiderCli.args({}, PROMPT, session)).toEqual(['--message-file', PROMPT_FILE, ...FIXED]);
    });

    it('passes the configured model, git mode and extra arguments, the arguments last', () => {
      expect(aiderCli.args({ ...CONFIGURED, args: ['--edit-format', 'whole'] }, PROMPT, session)).toEqual([
        '--message-file',
        PROMPT_FILE,
        ...FIXED.slice(0, 4),
        '--no-git',
        ...FIXED.slice(4),
        '--model',
        'anthropic/claude-sonnet-4-20250514',
        '--edit-format',
        'whole',
      ]);
      expect(aiderCli.args({ git: 'no-commits' }, PROMPT, session)).not.toContain('--no-git');
    });

    it('reads the prompt only from a file, and refuses any other placement', () => {
      expect(aiderCli.promptVia).toBe('file');
      expect(() => aiderCli.args({}, { via: 'argument', text: '# Orders' }, session)).toThrow(
        'aider reads its prompt from a file (--message-file)',
      );
      expect(() => aiderCli.args({}, { via: 'stdin' }, session)).toThrow('--message-file');
    });

    it('takes a git option besides the common ones, and says what it accepts', () => {
      expect(Object.keys(aiderAgent.options ?? {}).sort()).toEqual(['args', 'env', 'git', 'model', 'retries', 'retryDelay']);
      expect(() => checkAgentOptions('aider', aiderAgent.options, { git: 'on' }, 'nx.json')).toThrow(
        'nx.json: agent "aider": "git" must be one of no-commits, off (got "on")',
      );
    });

    it("emits only flags found in aider's documented options, each value after its flag", () => {
      const emitted = aiderCli.args(CONFIGURED, PROMPT, session);
      const flags = emitted.filter((arg) => arg.startsWith('-'));
      expect(flags.filter((flag) => !(flag in DOCUMENTED))).toEqual([]);
      // Every documented flag is one the adapter uses: the list cannot drift from the code.
      expect(Object.keys(DOCUMENTED).filter((flag) => !flags.includes(flag))).toEqual([]);
      emitted.forEach((arg, index) => {
        if (!arg.startsWith('-')) return;
        const next = emitted[index + 1];
        if (DOCUMENTED[arg].value) expect([arg, next !== undefined && !next.startsWith('-')]).toEqual([arg, true]);
        else expect([arg, next === undefined || next.startsWith('-')]).toEqual([arg, true]);
      });
      // Permanently, in the user's home: not a choice for the user to have made by running fanout.
      expect(flags).not.toContain('--analytics-disable');
    });
  });

  describe('reading what it printed', () => {
    it('adds up the tokens of every reply, takes the session cost, and lists the edited files', () => {
      expect(parseAiderOutput(ok(SUCCESS))).toEqual({
        ok: true,
        summary: 'Applied edits to libs/orders/src/lib/orders.handler.ts, libs/orders/src/index.ts.',
        costUsd: 0.03,
        tokens: { input: 16_200, output: 405 },
      });
    });

    it('reads reports its console wrapped at 80 columns, thousands separators and M suffixes', () => {
      const wrapped = [
        'Tokens: 12k sent, 9.8k cache hit, 1.2k received. Cost: $0.0123 message, $0.0456',
        'session.',
        'Applied edit to',
        'libs/orders/src/lib/a-very-long-directory-name/orders-with-a-long-name.handler.ts',
      ].join('\n');
      expect(parseAiderOutput(ok(wrapped))).toEqual({
        ok: true,
        summary: 'Applied edits to libs/orders/src/lib/a-very-long-directory-name/orders-with-a-long-name.handler.ts.',
        costUsd: 0.0456,
        tokens: { input: 12_000, output: 1_200 },
      });
      const older = 'Tokens: 1,234 sent, 567 received. Cost: $0.01 request, $0.02 session.\n';
      expect(parseAiderOutput(ok(older))).toMatchObject({ costUsd: 0.02, tokens: { input: 1234, output: 567 } });
      expect(parseAiderOutput(ok('Tokens: 1.5M sent, 12k received.\n'))).toMatchObject({ tokens: { input: 1_500_000, output: 12_000 } });
    });

    it('leaves the cost out for a model aider has no prices for, and says when nothing was edited', () => {
      expect(parseAiderOutput(ok(`${BANNER}\nThe orders API already does that.\n\nTokens: 672 sent, 23 received.\n`))).toEqual({
        ok: true,
        summary: 'aider answered without editing any file.',
        costUsd: undefined,
        tokens: { input: 672, output: 23 },
      });
    });

    it('fails a run that exited 0 after giving up on an API error, quoting it in one line', () => {
      const read = parseAiderOutput(ok(RATE_LIMITED));
      expect(read).toMatchObject({ ok: false, tokens: undefined, costUsd: undefined });
      expect(read.error).toBe(
        'aider gave up on an API error: litellm.RateLimitError: AnthropicException - ' +
          '{"type":"error","error":{"type":"rate_limit_error","message":"Number of request ' +
          'tokens has exceeded your per-minute rate limit"}} The API provider has rate limited you. Try again later or check your quotas.',
      );
      expect(parseAiderOutput(ok(BAD_KEY)).error).toContain('aider gave up on an API error: litellm.AuthenticationError');
    });

    it('succeeds when aider retried past an API error itself', () => {
      expect(parseAiderOutput(ok(RECOVERED))).toMatchObject({ ok: true, tokens: { input: 3100, output: 40 }, costUsd: 0.01 });
    });

    it('fails a run that hit the token limit, ran out of reflections, or had no model', () => {
      const limit = parseAiderOutput(
        ok(`${BANNER}\nModel anthropic/claude-sonnet-4-20250514 has hit a token limit!\nToken counts below are approximate.\n`),
      );
      expect(limit.error).toContain('aider stopped: "Model anthropic/claude-sonnet-4-20250514 has hit a token limit!"');
      const reflections = parseAiderOutput(ok(`${SUCCESS}\nOnly 3 reflections allowed, stopping.\n`));
      expect(reflections).toMatchObject({ ok: false, tokens: { input: 16_200, output: 405 }, costUsd: 0.03 });
      expect(reflections.error).toContain('aider stopped before finishing: "Only 3 reflections allowed, stopping."');
      const noModel = parseAiderOutput({
        stdout: 'No LLM model was specified and no API keys were provided.\nOpenRouter provides free and paid access to many LLMs.\n',
        stderr: '',
        exitCode: 1,
      });
      expect(noModel.error).toContain('aider found no model and no API key');
    });

    it('fails a run that exited 0 without a reply, and leaves any other exit code to the runner', () => {
      expect(parseAiderOutput(ok(BANNER))).toMatchObject({ ok: false, error: expect.stringContaining('without a reply from the model') });
      expect(parseAiderOutput({ stdout: '', stderr: 'aider: error: unrecognized arguments: --bogus\n', exitCode: 2 })).toEqual({
        costUsd: undefined,
        tokens: undefined,
      });
    });

    it('recognises the rate limit or overload it gave up on, and nothing else', () => {
      const transient = (text: string) => aiderCli.transient.patterns.some((pattern) => pattern.test(text));
      expect(transient(RATE_LIMITED)).toBe(true);
      expect(transient(OVERLOADED)).toBe(true);
      // Older aider releases printed only litellm's exception, and "Retry in".
      expect(
        transient(
          'litellm.ServiceUnavailableError: OpenAIException - 503\nRetry in 0.5 seconds.\nlitellm.ServiceUnavailableError: OpenAIException - 503\n',
        ),
      ).toBe(true);
      expect(transient('OpenRouter or the upstream API provider is down, overloaded or rate limiting\nyour requests.\n')).toBe(true);
      expect(transient(RECOVERED)).toBe(false);
      expect(transient(BAD_KEY)).toBe(false);
      // A reply that only talks about rate limits is not one.
      expect(
        transient(`${BANNER}\nHandle litellm.RateLimitError: The API provider has rate limited you.\n\nTokens: 1k sent, 9 received.\n`),
      ).toBe(false);
    });
  });

  describe('before a session starts', () => {
    it('needs a model, or what aider picks one from, rather than an OpenRouter login in a browser', () => {
      expect(aiderModelProblem({}, {})).toContain('agent "aider" has no model: set agents.aider.model in the plugin options');
      expect(aiderModelProblem({}, { ANTHROPIC_API_KEY: '' })).toContain('would offer an OpenRouter login in a browser');
      expect(aiderModelProblem({ model: 'sonnet' }, {})).toBeUndefined();
      for (const name of AIDER_MODEL_SOURCES) expect([name, aiderModelProblem({}, { [name]: 'x' })]).toEqual([name, undefined]);
    });
  });
});

/**
 * The adapter run by the shared runner against a fake `aider`: a node script
 * that records each call (argv, stdin, cwd, the message file it was given,
 * whether it got the key) and prints what aider 0.86 prints: a rate limit it gave
 * up on (exit 0) for the first calls, then a reply with its edits.
 */
const API_KEY = 'sk-ant-api03-TESTKEYtestkey0123456789abcdef';

interface FakeCall {
  argv: string[];
  stdin: string;
  cwd: string;
  message: string;
  keyInEnv: boolean;
}

function fakeAider(
  bin: string,
  plan: { rateLimited?: number; write?: Record<string, string> },
): { env: NodeJS.ProcessEnv; calls: () => FakeCall[] } {
  mkdirSync(bin, { recursive: true });
  const callsFile = join(bin, 'calls.json');
  const planFile = join(bin, 'plan.json');
  writeFileSync(planFile, JSON.stringify({ ...plan, calls: callsFile, expectKey: API_KEY }));
  writeFileSync(
    join(bin, 'aider'),
    `#!${process.execPath}
const fs = require('fs');
const path = require('path');
const plan = JSON.parse(fs.readFileSync(process.env.FAKE_AIDER_PLAN, 'utf-8'));
const calls = fs.existsSync(plan.calls) ? JSON.parse(fs.readFileSync(plan.calls, 'utf-8')) : [];
const argv = process.argv.slice(2);
const messageFile = argv[argv.indexOf('--message-file') + 1];
calls.push({ argv, stdin: fs.readFileSync(0, 'utf-8'), cwd: process.cwd(), message: fs.readFileSync(messageFile, 'utf-8'), keyInEnv: process.env.ANTHROPIC_API_KEY === plan.expectKey });
fs.writeFileSync(plan.calls, JSON.stringify(calls));
process.stdout.write(${JSON.stringify(BANNER)});
if (calls.length <= (plan.rateLimited || 0)) { process.stdout.write(${JSON.stringify(RATE_LIMITED.slice(BANNER.length))}); process.exit(0); }
const files = Object.keys(plan.write || {});
for (const file of files) { fs.mkdirSync(path.dirname(file), { recursive: true }); fs.writeFileSync(file, plan.write[file]); }
process.stdout.write('\\nWrote the orders API.\\n\\nTokens: 2.5k sent, 120 received. Cost: $0.01 message, $0.01 session.\\n');
for (const file of files) process.stdout.write('Applied edit to ' + file + '\\n');
`,
  );
  chmodSync(join(bin, 'aider'), 0o755);
  return {
    env: { PATH: `${bin}:/usr/bin:/bin`, HOME: bin, FAKE_AIDER_PLAN: planFile, ANTHROPIC_API_KEY: API_KEY },
    calls: () => (existsSync(callsFile) ? JSON.parse(readFileSync(callsFile, 'utf-8')) : []),
  };
}

describe('aider sessions against a fake aider', () => {
  let dir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'fanout-aider-'));
  });
  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  const fakeSession = (env: NodeJS.ProcessEnv, prompt: string, options: AgentSession['options'] = { retryDelay: '1s' }): AgentSession =>
    cliSession(dir, env, { prompt, sessionDir: join(dir, 'sessions', 'orders'), overrides: { options } });

  it('retries the rate limit aider gave up on, with backoff, then reads the reply; the prompt goes by file, even a long one', async () => {
    const fake = fakeAider(join(dir, 'bin'), { rateLimited: 2, write: { 'libs/orders/src/orders.ts': 'export const orders = [];\n' } });
    const prompt = `# Orders\n${'contracts '.repeat(MAX_PROMPT_ARGUMENT_BYTES / 5)}`;
    const deps = recordingDeps();
    const run = fakeSession(fake.env, prompt);
    const report = await runCliAgent(aiderCli, run, deps);

    expect(report).toMatchObject({ ok: true, attempts: 3, summary: 'Applied edits to libs/orders/src/orders.ts.', costUsd: 0.01 });
    expect(report.tokens).toEqual({ input: 2500, output: 120 });
    // retryDelay 1s, jitter 0.5: half of 1 s, then half of 2 s.
    expect(deps.waits).toEqual([500, 1000]);
    expect(readFileSync(join(run.worktree, 'libs/orders/src/orders.ts'), 'utf-8')).toBe('export const orders = [];\n');

    const calls = fake.calls();
    expect(calls).toHaveLength(3);
    const [call] = calls;
    expect(call.argv.slice(0, 2)).toEqual(['--message-file', run.promptFile]);
    expect(call.message).toBe(prompt);
    expect(call.argv.some((arg) => arg.includes('contracts contracts'))).toBe(false);
    expect(call.stdin).toBe('');
    expect(call.cwd).toBe(run.worktree);
    expect(call.keyInEnv).toBe(true);
    // aider's transcripts go next to session.log, never into the worktree.
    for (const flag of ['--chat-history-file', '--input-history-file']) {
      const file = call.argv[call.argv.indexOf(flag) + 1];
      expect(dirname(file)).toBe(dirname(run.logFile));
    }
    const log = readFileSync(run.logFile, 'utf-8');
    expect(log).toContain('[fanout] aider attempt 3 of 4: ');
    expect(log).toContain('[fanout] aider was rate-limited (429) on attempt 2; waiting 1.0 s before attempt 3');
    expect(log).toContain('The API provider has rate limited you.');
  });

  it('gives up after the configured retries and says what to change', async () => {
    const fake = fakeAider(join(dir, 'bin'), { rateLimited: 10 });
    const report = await runCliAgent(aiderCli, fakeSession(fake.env, '# Orders\n', { retries: 1, retryDelay: '1s' }), recordingDeps());
    expect(report).toMatchObject({ ok: false, attempts: 2, exitCode: 0 });
    expect(report.error).toContain('aider gave up on an API error: litellm.RateLimitError');
    expect(report.error).toContain('still rate-limited or overloaded after 2 attempt(s): raise agents.aider.retries');
  });

  it('fails before anything starts when aider is not installed, or has no model to use', () => {
    const context = (env: NodeJS.ProcessEnv, options = {}) => ({ workspaceRoot: join(dir, 'workspace'), env, options });
    expect(() => aiderAgent.preflight?.(context({ PATH: '/usr/bin:/bin' }, { model: 'sonnet' }))).toThrow(
      'Install it with: python -m pip install aider-install && aider-install',
    );
    const fake = fakeAider(join(dir, 'bin'), {});
    const { ANTHROPIC_API_KEY: key, ...keyless } = fake.env;
    expect(key).toBe(API_KEY);
    expect(() => aiderAgent.preflight?.(context(keyless))).toThrow('agent "aider" has no model');
    expect(() => aiderAgent.preflight?.(context(keyless, { model: 'sonnet' }))).not.toThrow();
    expect(() => aiderAgent.preflight?.(context(fake.env))).not.toThrow();
    expect(fake.calls()).toEqual([]);
  });
});

import { spawnSync } from 'child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { dirname, join } from 'path';
import type { AgentSession } from './agent';
import {
  CLAUDE_DEFAULT_ALLOWED_TOOLS,
  CLAUDE_PERMISSION_MODES,
  claudeAgent,
  claudeCli,
  installedVersion,
  parseClaudeOutput,
  cachePrefixBlockerOf,
} from './claude';

const session = {} as AgentSession;
/** A session whose prompt comes in two parts: the run's base context and its own assignment. */
const WITH_CACHE_PREFIX = {
  cachePrefix: { baseFile: '/ws/.fanout/sessions/orders/base.md', assignmentFile: '/ws/.fanout/sessions/orders/assignment.md' },
} as AgentSession;
const PROMPT = { via: 'argument', text: '# Build the orders API' } as const;

/** Everything the adapter can emit: every option set. */
const CONFIGURED = {
  model: 'claude-sonnet-4-5',
  permissionMode: 'plan',
  allowedTools: ['Read', 'Edit', 'Bash(npm test *)'],
  maxTurns: 12,
};

/** Shaped like Claude Code 2.1.332's final line in print mode with --output-format json (trimmed). */
const SUCCESS = {
  type: 'result',
  subtype: 'success',
  is_error: false,
  num_turns: 3,
  result: 'Wrote libs/orders/src/lib/orders.handler.ts.',
  session_id: 'f991cbc8-7997-4471-ac50-7f5d11915979',
  total_cost_usd: 0.0005115,
  usage: { input_tokens: 120, cache_creation_input_tokens: 10, cache_read_input_tokens: 30, output_tokens: 7 },
};
const RATE_LIMITED = {
  type: 'result',
  subtype: 'success',
  is_error: true,
  num_turns: 1,
  result: 'API Error: Request rejected (429) · Number of request tokens has exceeded your per-minute rate limit',
  session_id: 'ba209190-175f-4d43-83f7-4fc1d5b0bfaf',
  total_cost_usd: 0,
  api_error_status: 429,
  api_error_type: 'rate_limit_error',
  usage: { input_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: 0 },
};

describe('claude agent', () => {
  describe('argv', () => {
    it('asks for print mode, JSON events, acceptEdits and the default tools, with the prompt last after "--"', () => {
      expect(claudeCli.args({}, PROMPT, session)).toEqual([
        '--print',
        '--output-format',
        'stream-json',
        '--verbose',
        '--permission-mode',
        'acceptEdits',
        '--allowedTools',
        ...CLAUDE_DEFAULT_ALLOWED_TOOLS,
        '--tools',
        'Read,Edit,Write,Glob,Grep,Bash',
        '--',
        '# Build the orders API',
      ]);
    });

    it('passes the configured model, permission mode, tools, max turns and extra arguments', () => {
      expect(claudeCli.args({ ...CONFIGURED, args: ['--add-dir', '../shared'] }, PROMPT, session)).toEqual([
        '--print',
        '--output-format',
        'stream-json',
        '--verbose',
        '--permission-mode',
        'plan',
        '--allowedTools',
        'Read',
        'Edit',
        'Bash(npm test *)',
        '--tools',
        'Read,Edit,Write,Bash',
        '--model',
        'claude-sonnet-4-5',
        '--max-turns',
        '12',
        '--add-dir',
        '../shared',
        '--',
        '# Build the orders API',
      ]);
    });

    it('leaves the prompt out of argv when it goes to stdin, and drops --allowedTools for an empty list', () => {
      const argv = claudeCli.args({ allowedTools: [] }, { via: 'stdin' }, session);
      expect(argv).toEqual(['--print', '--output-format', 'stream-json', '--verbose', '--permission-mode', 'acceptEdits']);
    });

    it('sends the base context in the system prompt when the session has it apart, unless sharedPrefix is false', () => {
      const argv = claudeCli.args({}, PROMPT, WITH_CACHE_PREFIX);
      expect(argv.slice(argv.indexOf('--append-system-prompt-file'), argv.indexOf('--') + 1)).toEqual([
        '--append-system-prompt-file',
        '/ws/.fanout/sessions/orders/base.md',
        '--',
      ]);
      expect(claudeCli.sharesCachePrefix?.({})).toBe(true);
      expect(claudeCli.sharesCachePrefix?.({ sharedPrefix: false })).toBe(false);
      expect(claudeCli.args({ sharedPrefix: false }, PROMPT, WITH_CACHE_PREFIX)).not.toContain('--append-system-prompt-file');
      expect(claudeAgent.sharesCachePrefix?.({})).toBe(true);
      expect(claudeAgent.sharesCachePrefix?.({ sharedPrefix: false })).toBe(false);
    });

    it("sees the model's response begin at the first assistant event of its stream, not before", () => {
      const began = (line: string) => claudeCli.responseBegan?.(line);
      expect(began('{"type":"system","subtype":"init","cwd":"/ws"}')).toBe(false);
      expect(began('{"type":"system","subtype":"status","status":"requesting"}')).toBe(false);
      expect(began('{"type":"assistant","message":{"id":"msg_1","content":[{"type":"text","text":"Done."}]}}')).toBe(true);
      // Text that merely quotes such an event is not one.
      expect(began('{"type":"user","message":{"content":"{\\"type\\":\\"assistant\\"}"}}')).toBe(false);
    });

    it('takes its own options besides the common ones', () => {
      expect(Object.keys(claudeAgent.options ?? {}).sort()).toEqual(
        ['allowedTools', 'args', 'env', 'maxTurns', 'model', 'permissionMode', 'retries', 'retryDelay', 'sharedPrefix'].sort(),
      );
    });
  });

  describe('reading its JSON result', () => {
    it('reads result, cost, tokens (cache tokens counted as input) and session id from the last line of its events', () => {
      const events = [
        { type: 'system', subtype: 'init', session_id: SUCCESS.session_id },
        { type: 'assistant', message: { content: [{ type: 'text', text: 'Done.' }] } },
      ];
      const stdout = `${[...events, SUCCESS].map((event) => JSON.stringify(event)).join('\n')}\n`;
      expect(parseClaudeOutput({ stdout, stderr: '', exitCode: 0 })).toEqual({
        ok: true,
        summary: 'Wrote libs/orders/src/lib/orders.handler.ts.',
        costUsd: 0.0005115,
        tokens: { input: 160, output: 7, cacheRead: 30, cacheWrite: 10 },
        sessionId: 'f991cbc8-7997-4471-ac50-7f5d11915979',
      });
    });

    it('turns an error result into a failure with the API status, and no summary', () => {
      const read = parseClaudeOutput({ stdout: JSON.stringify(RATE_LIMITED), stderr: '', exitCode: 1 });
      expect(read).toMatchObject({ ok: false, costUsd: 0, sessionId: 'ba209190-175f-4d43-83f7-4fc1d5b0bfaf' });
      expect(read.error).toBe(`Claude Code reported an error (API status 429): ${RATE_LIMITED.result}`);
      expect(read.summary).toBeUndefined();
    });

    it('fails a run that exited 0 without a JSON result, and leaves a crash to its exit code', () => {
      expect(parseClaudeOutput({ stdout: 'plain text\n', stderr: '', exitCode: 0 })).toMatchObject({ ok: false });
      expect(parseClaudeOutput({ stdout: '', stderr: 'boom', exitCode: 2 })).toEqual({});
    });

    it('recognises rate-limit and overload failures, and nothing else', () => {
      const transient = (text: string) => claudeCli.transient.patterns.some((pattern) => pattern.test(text));
      expect(transient(JSON.stringify(RATE_LIMITED))).toBe(true);
      expect(transient('{"is_error":true,"api_error_status":529,"api_error_type":"overloaded_error"}')).toBe(true);
      expect(transient('{"is_error":true,"api_error_status":null,"api_error_type":"rate_limit_error"}')).toBe(true);
      expect(transient('Retrying.\nAPI Error: 529 Overloaded. This is a server-side issue, usually temporary')).toBe(true);
      expect(transient('{"type":"error","error":{"type":"rate_limit_error","message":"slow down"}}')).toBe(true);
      expect(transient(JSON.stringify({ ...SUCCESS, is_error: true, result: 'Invalid API key' }))).toBe(false);
      // A result that only talks about rate limits is not one.
      expect(
        transient(JSON.stringify({ ...SUCCESS, is_error: true, result: 'API Error: 429 handling added; rate_limit_error is retried' })),
      ).toBe(false);
    });
  });

  describe('against the installed CLI (@anthropic-ai/claude-code)', () => {
    // The package's launcher runs the native binary whether or not npm ran its postinstall.
    const launcher = join(dirname(require.resolve('@anthropic-ai/claude-code/package.json')), 'cli-wrapper.cjs');
    /**
     * Flags the CLI accepts but leaves out of --help. Each is checked by the
     * parser test below, which fails on any unknown option.
     */
    const HIDDEN = ['--max-turns', '--append-system-prompt-file'];
    let home: string;
    /** The CLI reads the base context's file as it parses its arguments: a real one. */
    const baseFile = join(tmpdir(), `fanout-claude-base-${process.pid}.md`);

    beforeAll(() => {
      home = mkdtempSync(join(tmpdir(), 'fanout-claude-home-'));
      writeFileSync(baseFile, '# Shared context for every session of this fan-out\n');
    });
    afterAll(() => {
      rmSync(home, { recursive: true, force: true });
      rmSync(baseFile, { force: true });
    });

    /** Runs the CLI with stdin closed; it never gets to talk to a model (no prompt), and could only reach 127.0.0.1. */
    const claude = (args: string[]) =>
      spawnSync(process.execPath, [launcher, ...args], {
        encoding: 'utf-8',
        input: '',
        timeout: 60_000,
        env: {
          PATH: process.env['PATH'],
          HOME: home,
          ANTHROPIC_BASE_URL: 'http://127.0.0.1:9',
          ANTHROPIC_API_KEY: 'sk-ant-test-not-a-key',
          CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
          DISABLE_AUTOUPDATER: '1',
        },
      });

    const emitted = claudeCli.args({ ...CONFIGURED, args: [] }, { via: 'stdin' }, {
      cachePrefix: { baseFile, assignmentFile: '' },
    } as AgentSession);

    it('lists in --help every flag the adapter emits', () => {
      const help = claude(['--help']);
      expect(help.status).toBe(0);
      const flags = emitted.filter((arg) => arg.startsWith('-'));
      expect(flags).toEqual([
        '--print',
        '--output-format',
        '--verbose',
        '--permission-mode',
        '--allowedTools',
        '--tools',
        '--model',
        '--max-turns',
        '--append-system-prompt-file',
      ]);
      const missing = flags.filter((flag) => !HIDDEN.includes(flag) && !new RegExp(`(^|[\\s,])${flag}\\b`, 'm').test(help.stdout));
      expect(missing).toEqual([]);
      // The permission modes fanout offers are the CLI's.
      for (const mode of CLAUDE_PERMISSION_MODES) expect(help.stdout).toContain(`"${mode}"`);
    });

    it("passes the CLI's own parser with every option set, and the parser does reject a wrong flag", () => {
      const accepted = claude(emitted);
      // Parsing succeeded: the CLI got as far as asking for a prompt.
      expect(accepted.stderr).toContain('Input must be provided');
      expect(accepted.stderr).not.toMatch(/unknown option|is invalid/);

      const rejected = claude([...emitted.filter((arg) => arg !== '--max-turns' && arg !== '12'), '--max-turnz', '12']);
      expect(rejected.stderr).toContain("unknown option '--max-turnz'");
    });

    it('resumes a conversation with --resume <session id>, a flag of its --help, and with the same options as the first round', () => {
      const id = '0d5a6c8e-4a61-4d7e-9a1e-2f1f3b9f6c11';
      const resumed =
        claudeCli.resume?.({ ...CONFIGURED, args: [] }, { via: 'argument', text: 'Repair round 1' }, WITH_CACHE_PREFIX, id) ?? [];
      const first = claudeCli.args({ ...CONFIGURED, args: [] }, { via: 'argument', text: 'Repair round 1' }, WITH_CACHE_PREFIX);
      // The base context goes with every request of the resumed conversation too.
      expect(resumed).toContain('--append-system-prompt-file');
      expect(resumed).toEqual([...first.slice(0, -2), '--resume', id, '--', 'Repair round 1']);
      expect(claude(['--help']).stdout).toMatch(/^\s+-r, --resume \[value\]/m);
    });
  });
});

describe('the cache prefix by Claude Code version', () => {
  it('says why the sessions of a version before 2.1.198 share no prefix, and which version does', () => {
    expect(cachePrefixBlockerOf('2.1.197')).toContain("Claude Code 2.1.197 puts each session's working directory before the base context");
    expect(cachePrefixBlockerOf('2.1.197')).toContain('Claude Code 2.1.198 or later shares it (it needs Node.js 22');
    expect(cachePrefixBlockerOf('2.1.198')).toBeUndefined();
    expect(cachePrefixBlockerOf('2.1.332')).toBeUndefined();
    expect(cachePrefixBlockerOf(undefined)).toBeUndefined();
  });

  it('reads the installed version from the package the program belongs to', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fanout-claude-version-'));
    try {
      mkdirSync(join(dir, 'node_modules/@anthropic-ai/claude-code/bin'), { recursive: true });
      mkdirSync(join(dir, 'node_modules/.bin'), { recursive: true });
      writeFileSync(
        join(dir, 'node_modules/@anthropic-ai/claude-code/package.json'),
        JSON.stringify({ name: '@anthropic-ai/claude-code', version: '2.1.197' }),
      );
      writeFileSync(join(dir, 'node_modules/@anthropic-ai/claude-code/bin/claude.js'), '');
      chmodSync(join(dir, 'node_modules/@anthropic-ai/claude-code/bin/claude.js'), 0o755);
      symlinkSync('../@anthropic-ai/claude-code/bin/claude.js', join(dir, 'node_modules/.bin/claude'));
      expect(installedVersion(join(dir, 'node_modules/.bin/claude'))).toBe('2.1.197');
      expect(claudeAgent.cachePrefixBlocker?.({ workspaceRoot: dir, env: { PATH: '' }, options: {} })).toContain('Claude Code 2.1.197');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

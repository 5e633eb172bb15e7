import { runAndLand } from '../../testing/run-and-land';
import { spawnSync } from 'child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { dirname, join } from 'path';
import { createWorkspace, gitIn, sessionSpec, type TestWorkspace } from '../../testing/git-workspace';
import type { AgentSession } from './agent';
import { checkAgentOptions, type AgentOptions } from './agent-options';
import { MAX_PROMPT_ARGUMENT_BYTES, placePrompt, runCliAgent } from './cli-agent';
import { OPENCODE_DEFAULT_ALLOWED_COMMANDS, opencodeAgent, opencodeAgentDefinition, opencodeCli, parseOpencodeOutput } from './opencode';
import { cliSession, recordingDeps } from '../../testing/cli-session';

const WORKTREE = '/ws/.fanout/worktrees/orders';
const session = { worktree: WORKTREE } as AgentSession;
const STDIN = { via: 'stdin' } as const;

/** Everything the adapter can emit: every option set. */
const CONFIGURED = {
  model: 'anthropic/claude-sonnet-4-5',
  allowedCommands: ['npm test *'],
};

const jsonl = (events: readonly object[]) => events.map((event) => `${JSON.stringify(event)}\n`).join('');
const SESSION = 'ses_ddff70b83ffeWY9i1cp1Wjggbw';
const at = (type: string, part: object) => ({
  type,
  timestamp: 1795833818732,
  sessionID: SESSION,
  part: { sessionID: SESSION, ...part },
});

/**
 * Shaped like what `opencode run --format json` 1.18.33 printed for a session that
 * wrote a file, then answered (two model calls, so two steps), trimmed.
 */
const SUCCESS = [
  at('step_start', {
    id: 'prt_1',
    messageID: 'msg_1',
    type: 'step-start',
    snapshot: '4b825dc642cb6eb9a060e54bf8d69288fbee4904',
  }),
  at('text', {
    id: 'prt_2',
    messageID: 'msg_1',
    type: 'text',
    text: 'I will write the handler first.',
    time: { start: 1, end: 2 },
  }),
  at('tool_use', {
    id: 'prt_3',
    messageID: 'msg_1',
    type: 'tool',
    tool: 'write',
    callID: 'call_0',
    state: {
      status: 'completed',
      input: { filePath: 'src/orders.handler.ts', content: 'export {};\n' },
      output: 'Wrote file successfully.',
      title: 'src/orders.handler.ts',
    },
  }),
  at('step_finish', {
    id: 'prt_4',
    messageID: 'msg_1',
    type: 'step-finish',
    reason: 'tool-calls',
    tokens: {
      total: 1230,
      input: 1000,
      output: 30,
      reasoning: 0,
      cache: { write: 0, read: 200 },
    },
    cost: 0.00351,
  }),
  at('step_start', { id: 'prt_5', messageID: 'msg_2', type: 'step-start' }),
  at('text', {
    id: 'prt_6',
    messageID: 'msg_2',
    type: 'text',
    text: 'Wrote the orders handler.',
    time: { start: 3, end: 4 },
  }),
  at('step_finish', {
    id: 'prt_7',
    messageID: 'msg_2',
    type: 'step-finish',
    reason: 'stop',
    tokens: {
      total: 1400,
      input: 1040,
      output: 45,
      reasoning: 5,
      cache: { write: 100, read: 210 },
    },
    cost: 0.0038,
  }),
];
/** What it printed when the provider kept answering 429 until OpenCode's own retries gave up (exit code 1). */
const RATE_LIMITED = {
  type: 'error',
  timestamp: 1795833495073,
  sessionID: 'ses_ddffd3cc5ffeCDPDqDsgJuhMqB',
  error: {
    name: 'APIError',
    data: {
      message: 'Rate limit reached for requests',
      statusCode: 429,
      isRetryable: true,
      responseHeaders: { 'content-type': 'application/json' },
      responseBody: '{"error":{"message":"Rate limit reached for requests","type":"rate_limit_exceeded","code":"rate_limit_exceeded"}}',
      metadata: { url: 'http://127.0.0.1:4555/v1/chat/completions' },
    },
  },
};
const OVERLOADED = {
  ...RATE_LIMITED,
  error: {
    name: 'APIError',
    data: {
      message: 'Overloaded',
      statusCode: 529,
      isRetryable: true,
      responseBody: '{"error":{"message":"Overloaded","type":"overloaded_error"}}',
    },
  },
};
const UNAUTHORIZED = {
  ...RATE_LIMITED,
  error: {
    name: 'APIError',
    data: {
      message: 'Incorrect API key provided',
      statusCode: 401,
      isRetryable: false,
    },
  },
};
/** What it printed for a model no provider has. */
const UNKNOWN_MODEL = {
  type: 'error',
  timestamp: 1795834359681,
  sessionID: 'ses_ddfee7ccbffeBj6x2AA4Fy2XrO',
  error: {
    name: 'UnknownError',
    data: {
      message: 'Unexpected server error. Check server logs for details.',
      ref: 'err_885b0a33',
    },
  },
};

/** The `fanout` agent OpenCode gets, from the environment the adapter sets. */
function agentConfig(env: Record<string, string>): Record<string, unknown> {
  return JSON.parse(env['OPENCODE_CONFIG_CONTENT'])['agent']['fanout'];
}

describe('opencode agent', () => {
  describe('argv', () => {
    it('runs opencode run with JSON events, in the worktree, as the fanout agent, with no prompt in argv', () => {
      expect(opencodeCli.args({}, STDIN, session)).toEqual(['run', '--format', 'json', '--dir', WORKTREE, '--agent', 'fanout']);
    });

    it('passes the configured model and extra arguments, and drops --agent when opencode.json decides', () => {
      expect(opencodeCli.args({ ...CONFIGURED, args: ['--variant', 'high'] }, STDIN, session)).toEqual([
        'run',
        '--format',
        'json',
        '--dir',
        WORKTREE,
        '--agent',
        'fanout',
        '--model',
        'anthropic/claude-sonnet-4-5',
        '--variant',
        'high',
      ]);
      expect(opencodeCli.args({ permissions: 'config' }, STDIN, session)).toEqual(['run', '--format', 'json', '--dir', WORKTREE]);
    });

    it('takes its own options besides the common ones, and refuses a permissions mode it does not have', () => {
      expect(Object.keys(opencodeAgent.options ?? {}).sort()).toEqual(
        ['allowedCommands', 'args', 'env', 'model', 'permissions', 'retries', 'retryDelay'].sort(),
      );
      expect(() => checkAgentOptions('opencode', opencodeAgent.options, { permissions: 'yolo' }, 'nx.json')).toThrow(
        'nx.json: agent "opencode": "permissions" must be one of worktree, config (got "yolo")',
      );
    });
  });

  describe('prompt', () => {
    let dir: string;
    beforeAll(() => {
      dir = mkdtempSync(join(tmpdir(), 'fanout-opencode-prompt-'));
    });
    afterAll(() => {
      rmSync(dir, { recursive: true, force: true });
    });

    it('goes to stdin whatever its size, since an argument reaches the model quoted', () => {
      const file = join(dir, 'prompt.md');
      const short = '# Orders\nSay "hi" to the {orders} API.\n';
      writeFileSync(file, short);
      expect(placePrompt(opencodeCli.promptVia, file)).toEqual({
        prompt: STDIN,
        stdin: short,
      });
      const long = 'contracts '.repeat(MAX_PROMPT_ARGUMENT_BYTES / 5);
      writeFileSync(file, long);
      expect(placePrompt(opencodeCli.promptVia, file)).toEqual({
        prompt: STDIN,
        stdin: long,
      });
    });
  });

  describe('permissions (OPENCODE_CONFIG_CONTENT)', () => {
    const env = (options: AgentOptions, given: NodeJS.ProcessEnv = {}) => opencodeCli.env?.(options, given) ?? {};

    it('defines the fanout agent: everything denied, then reading, searching, editing and git status/diff/log allowed', () => {
      expect(Object.keys(env({}))).toEqual(['OPENCODE_CONFIG_CONTENT']);
      expect(agentConfig(env({}))).toEqual({
        mode: 'primary',
        description: 'A fanout session: reads, searches and edits its git worktree.',
        permission: {
          '*': 'deny',
          read: {
            '*': 'allow',
            '*.env': 'deny',
            '*.env.*': 'deny',
            '*.env.example': 'allow',
          },
          edit: 'allow',
          glob: 'allow',
          grep: 'allow',
          list: 'allow',
          todowrite: 'allow',
          bash: {
            '*': 'deny',
            'git status *': 'allow',
            'git diff *': 'allow',
            'git log *': 'allow',
          },
        },
      });
      // OpenCode takes the last rule that matches: the blanket deny has to come first.
      const permission = agentConfig(env({}))['permission'] as Record<string, unknown>;
      expect(Object.keys(permission)[0]).toBe('*');
      expect(Object.keys(permission['bash'] as object)[0]).toBe('*');
    });

    it('allows the configured commands instead of the default ones', () => {
      const bash = (agentConfig(env({ allowedCommands: ['npm test *', 'npx nx lint *'] }))['permission'] as Record<string, unknown>)[
        'bash'
      ];
      expect(bash).toEqual({
        '*': 'deny',
        'npm test *': 'allow',
        'npx nx lint *': 'allow',
      });
      expect(opencodeAgentDefinition(OPENCODE_DEFAULT_ALLOWED_COMMANDS)).toEqual(agentConfig(env({})));
    });

    it("keeps the user's own OPENCODE_CONFIG_CONTENT (providers, other agents) and adds the agent to it", () => {
      const given = {
        provider: {
          local: { options: { baseURL: 'http://127.0.0.1:4555/v1' } },
        },
        agent: { review: { mode: 'subagent' } },
      };
      const config = JSON.parse(env({}, { OPENCODE_CONFIG_CONTENT: JSON.stringify(given) })['OPENCODE_CONFIG_CONTENT']);
      expect(config.provider).toEqual(given.provider);
      expect(Object.keys(config.agent)).toEqual(['review', 'fanout']);
    });

    it('sets nothing when opencode.json decides, and refuses what it cannot honour, saying what to change', () => {
      expect(env({ permissions: 'config' }, { OPENCODE_CONFIG_CONTENT: '{"model":"x/y"}' })).toEqual({});
      expect(() => env({ permissions: 'config', allowedCommands: ['npm test *'] })).toThrow(
        'agent "opencode": "allowedCommands" only applies with permissions "worktree"; with "config" your opencode.json decides.',
      );
      expect(() => env({}, { OPENCODE_CONFIG_CONTENT: '{ // jsonc\n}' })).toThrow(
        'agent "opencode": OPENCODE_CONFIG_CONTENT in the environment is not a JSON object, so fanout cannot add its "fanout" agent to it.',
      );
      expect(() => env({ model: 'sonnet' })).toThrow(
        'agent "opencode": the model must be "provider/model", e.g. "anthropic/claude-sonnet-4-5" (got "sonnet").',
      );
      expect(() => env({ model: 'openrouter/anthropic/claude-sonnet-4.5' })).not.toThrow();
    });
  });

  describe('reading its JSON events', () => {
    it('adds up cost and tokens over every step (cache counted as input, reasoning as output), with the session id and last answer', () => {
      const read = parseOpencodeOutput({
        stdout: jsonl(SUCCESS),
        stderr: '',
        exitCode: 0,
      });
      expect(read).toMatchObject({
        ok: true,
        summary: 'Wrote the orders handler.',
        sessionId: SESSION,
        tokens: { input: 2550, output: 80 },
      });
      expect(read.costUsd).toBeCloseTo(0.00731, 10);
    });

    it('turns an error event into a failure with the API status, keeping what the session spent', () => {
      const read = parseOpencodeOutput({
        stdout: jsonl([...SUCCESS.slice(0, 4), RATE_LIMITED]),
        stderr: '',
        exitCode: 1,
      });
      expect(read).toMatchObject({
        ok: false,
        costUsd: 0.00351,
        tokens: { input: 1200, output: 30 },
        sessionId: SESSION,
      });
      expect(read.error).toBe('OpenCode reported an error (API status 429): APIError: Rate limit reached for requests');
      expect(read.summary).toBeUndefined();
      expect(
        parseOpencodeOutput({
          stdout: jsonl([UNKNOWN_MODEL]),
          stderr: '',
          exitCode: 1,
        }),
      ).toEqual({
        ok: false,
        error: 'OpenCode reported an error: UnknownError: Unexpected server error. Check server logs for details.',
        sessionId: 'ses_ddfee7ccbffeBj6x2AA4Fy2XrO',
        costUsd: undefined,
        tokens: undefined,
      });
    });

    it('fails a run that exited 0 without events, and leaves a crash to its exit code', () => {
      expect(parseOpencodeOutput({ stdout: 'Wrote it.\n', stderr: '', exitCode: 0 })).toMatchObject({ ok: false });
      expect(
        parseOpencodeOutput({
          stdout: '',
          stderr: 'Error: You must provide a message or a command',
          exitCode: 1,
        }),
      ).toEqual({});
    });

    it('recognises rate-limit and overload failures, and nothing else', () => {
      const transient = (text: string) => opencodeCli.transient.patterns.some((pattern) => pattern.test(text));
      expect(transient(jsonl([...SUCCESS.slice(0, 4), RATE_LIMITED]))).toBe(true);
      expect(transient(JSON.stringify(OVERLOADED))).toBe(true);
      // A provider that streams its error has no status, only words.
      expect(
        transient(
          JSON.stringify({
            ...UNKNOWN_MODEL,
            error: {
              name: 'UnknownError',
              data: { message: 'Too Many Requests' },
            },
          }),
        ),
      ).toBe(true);
      expect(transient(JSON.stringify(UNAUTHORIZED))).toBe(false);
      expect(transient(JSON.stringify(UNKNOWN_MODEL))).toBe(false);
      // A session that only talks about rate limits is not rate-limited.
      expect(
        transient(
          jsonl([
            at('text', {
              messageID: 'msg_1',
              type: 'text',
              text: 'Added a 429 rate limit handler; "statusCode":429 is retried',
            }),
          ]),
        ),
      ).toBe(false);
    });
  });

  describe('run by the CLI runner (a fake opencode on PATH)', () => {
    let dir: string;
    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'fanout-opencode-'));
    });
    afterEach(() => {
      rmSync(dir, { recursive: true, force: true });
    });

    /** A fake `opencode` that records each call, answers `rateLimited` times as OpenCode does after its retries gave up, then succeeds. */
    function fakeOpencode(rateLimited: number): {
      env: NodeJS.ProcessEnv;
      calls: () => {
        argv: string[];
        stdin: string;
        cwd: string;
        config: string;
      }[];
    } {
      const bin = join(dir, 'bin');
      mkdirSync(bin, { recursive: true });
      const callsFile = join(bin, 'calls.json');
      writeFileSync(
        join(bin, 'opencode'),
        `#!${process.execPath}
const fs = require('fs');
const calls = fs.existsSync(${JSON.stringify(callsFile)}) ? JSON.parse(fs.readFileSync(${JSON.stringify(callsFile)}, 'utf-8')) : [];
calls.push({ argv: process.argv.slice(2), stdin: fs.readFileSync(0, 'utf-8'), cwd: process.cwd(), config: process.env.OPENCODE_CONFIG_CONTENT });
fs.writeFileSync(${JSON.stringify(callsFile)}, JSON.stringify(calls));
if (calls.length <= ${rateLimited}) { process.stdout.write(${JSON.stringify(jsonl([RATE_LIMITED]))}); process.exit(1); }
process.stdout.write(${JSON.stringify(jsonl(SUCCESS))});
`,
      );
      chmodSync(join(bin, 'opencode'), 0o755);
      return {
        env: { PATH: `${bin}:/usr/bin:/bin`, HOME: dir },
        calls: () => (existsSync(callsFile) ? JSON.parse(readFileSync(callsFile, 'utf-8')) : []),
      };
    }

    const opencodeSession = (env: NodeJS.ProcessEnv, prompt: string): AgentSession =>
      cliSession(dir, env, { prompt, overrides: { options: { retryDelay: '1s', model: 'anthropic/claude-sonnet-4-5' } } });

    it('retries a rate-limited run with backoff, with the prompt on stdin as written and the fanout agent in its environment', async () => {
      const fake = fakeOpencode(2);
      const deps = recordingDeps();
      const prompt = '# Orders\nImplement `handle("order")` as in "libs/users".\n';
      const report = await runCliAgent(opencodeCli, opencodeSession(fake.env, prompt), deps);
      expect(report).toMatchObject({
        ok: true,
        attempts: 3,
        summary: 'Wrote the orders handler.',
        sessionId: SESSION,
        tokens: { input: 2550, output: 80 },
      });
      expect(deps.waits).toEqual([500, 1000]);
      const calls = fake.calls();
      expect(calls).toHaveLength(3);
      const worktree = join(dir, 'worktree');
      expect(calls[2].argv).toEqual([
        'run',
        '--format',
        'json',
        '--dir',
        worktree,
        '--agent',
        'fanout',
        '--model',
        'anthropic/claude-sonnet-4-5',
      ]);
      expect(calls[2].stdin).toBe(prompt);
      expect(calls[2].cwd).toBe(worktree);
      expect(JSON.parse(calls[2].config).agent.fanout.permission['*']).toBe('deny');
      const log = readFileSync(join(dir, 'session.log'), 'utf-8');
      expect(log).toContain(`bytes on stdin>`);
      expect(log).toContain('[fanout] opencode was rate-limited (429) on attempt 2; waiting 1.0 s before attempt 3');
    });
  });

  describe('in a session', () => {
    let workspace: TestWorkspace;
    beforeEach(() => {
      workspace = createWorkspace(['orders']);
    });
    afterEach(() => {
      workspace.remove();
    });

    it('refuses a model without its provider before any worktree exists', async () => {
      const bin = join(workspace.scripts, 'bin');
      mkdirSync(bin, { recursive: true });
      writeFileSync(join(bin, 'opencode'), `#!/bin/sh\ntouch ${join(bin, 'called')}\n`);
      chmodSync(join(bin, 'opencode'), 0o755);
      const task = '---\nlike: users\ncontracts: contracts\nagent: opencode\n---\n\nBuild the orders API.\n';
      const result = await runAndLand(
        sessionSpec(workspace.root, 'orders', task, {
          env: { PATH: `${bin}:/usr/bin:/bin`, HOME: workspace.scripts },
          model: 'sonnet',
        }),
      );
      expect(result.status).toBe('failed');
      expect(result.error).toContain('agent "opencode": the model must be "provider/model"');
      expect(existsSync(join(bin, 'called'))).toBe(false);
      expect(existsSync(join(workspace.root, '.fanout/worktrees/orders'))).toBe(false);
      expect(gitIn(workspace.root, 'worktree', 'list').trim().split('\n')).toHaveLength(1);
    });
  });

  describe('against the installed CLI (opencode-ai)', () => {
    /**
     * The native binary from OpenCode's platform package: it runs whether or not npm
     * ran opencode-ai's postinstall, which only copies it over a placeholder script.
     */
    function opencodeBinary(): string {
      const os = process.platform === 'win32' ? 'windows' : process.platform;
      const names = ['', '-baseline', '-musl', '-baseline-musl'].map((variant) => `opencode-${os}-${process.arch}${variant}`);
      for (const name of names) {
        try {
          const binary = join(dirname(require.resolve(`${name}/package.json`)), 'bin', os === 'windows' ? 'opencode.exe' : 'opencode');
          if (existsSync(binary)) return binary;
        } catch {
          // Not installed on this platform: try the next variant.
        }
      }
      throw new Error(`none of ${names.join(', ')} is installed: run npm ci at the workspace root.`);
    }
    let home: string;

    beforeAll(() => {
      home = mkdtempSync(join(tmpdir(), 'fanout-opencode-home-'));
      mkdirSync(join(home, 'worktree'));
    });
    afterAll(() => {
      rmSync(home, { recursive: true, force: true });
    });

    /**
     * Runs the CLI with stdin empty, so it stops at "You must provide a message" and
     * never reaches a model; without a models.dev fetch it opens no connection, and any
     * HTTP it tried would go to a proxy on 127.0.0.1 that is not there.
     */
    const opencode = (args: string[], extraEnv: Record<string, string> = {}) =>
      spawnSync(opencodeBinary(), args, {
        cwd: join(home, 'worktree'),
        encoding: 'utf-8',
        input: '',
        timeout: 75_000,
        env: {
          PATH: process.env['PATH'],
          HOME: home,
          XDG_CONFIG_HOME: join(home, '.config'),
          XDG_DATA_HOME: join(home, '.local', 'share'),
          XDG_CACHE_HOME: join(home, '.cache'),
          XDG_STATE_HOME: join(home, '.local', 'state'),
          OPENCODE_DISABLE_MODELS_FETCH: '1',
          OPENCODE_DISABLE_AUTOUPDATE: '1',
          HTTP_PROXY: 'http://127.0.0.1:9',
          HTTPS_PROXY: 'http://127.0.0.1:9',
          ...extraEnv,
        },
      });

    it('lists in `opencode run --help` every flag the adapter emits', () => {
      // It prints its help on stderr.
      const help = opencode(['run', '--help']);
      expect(help.status).toBe(0);
      const flags = opencodeCli.args({ ...CONFIGURED, args: [] }, STDIN, session).filter((arg) => arg.startsWith('-'));
      expect(flags).toEqual(['--format', '--dir', '--agent', '--model']);
      const missing = flags.filter((flag) => !new RegExp(`(^|[\\s,])${flag}\\b`, 'm').test(help.stderr));
      expect(missing).toEqual([]);
      expect(help.stderr).toMatch(/--format\s[^[]*\[string\] \[choices: "default", "json"\]/);
    });

    // Three starts of a 180 MB binary, each loading its configuration: slow on a busy machine, hence the timeout.
    it("passes the CLI's parser and config schema with every option set, and the parser does reject a wrong flag", () => {
      const args = opencodeCli.args({ ...CONFIGURED, args: [] }, STDIN, {
        worktree: join(home, 'worktree'),
      } as AgentSession);
      const accepted = opencode(args, opencodeCli.env?.(CONFIGURED, {}) ?? {});
      // Parsing and the fanout agent's definition passed: the CLI got as far as asking for a message.
      expect(accepted.stderr).toContain('You must provide a message or a command');
      expect(accepted.stderr).not.toContain('Configuration is invalid');

      const invalid = opencode(args, {
        OPENCODE_CONFIG_CONTENT: JSON.stringify({
          agent: {
            fanout: { mode: 'primary', permission: { edit: 'sometimes' } },
          },
        }),
      });
      expect(invalid.stderr).toContain('Configuration is invalid at OPENCODE_CONFIG_CONTENT');

      const rejected = opencode([...args, '--formatt', 'json']);
      expect(rejected.status).not.toBe(0);
      expect(rejected.stderr).toMatch(/^opencode run \[message\.\.\]/);
      expect(rejected.stderr).not.toContain('You must provide a message');
    }, 240_000);
  });
});

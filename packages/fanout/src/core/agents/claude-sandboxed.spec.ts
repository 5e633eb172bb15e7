import { spawnSync } from 'child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { dirname, join } from 'path';
import { describeUnavailable, sandboxAvailabilityHere } from '../sandbox/availability';
import { SessionSandbox } from '../sandbox/session-sandbox';
import { sessionSandboxSetting } from '../sandbox/settings';
import { createRedactor } from '../system/redact';
import { startMessagesServer, type MessagesServer } from '../../testing/messages-server';
import { ASSIGNMENT_OPENING, writeCachePrefixFiles } from './cache-prefix';
import { CLAUDE_SANDBOX, claudeCli } from './claude';
import { runCliAgent } from './cli-agent';
import { recordingDeps } from '../../testing/cli-session';

const availability = sandboxAvailabilityHere();
const describeSandboxed = availability.available ? describe : describe.skip;

/** The repository's node_modules: its nx and its Claude Code (node_modules/.bin/claude). */
const repositoryRoot = join(dirname(require.resolve('nx/package.json')), '..', '..');

describeSandboxed(
  `the real Claude Code in fanout's sandbox${availability.available ? '' : ` (skipped: ${describeUnavailable(availability)})`}`,
  () => {
    let dir: string;
    let server: MessagesServer;

    beforeEach(() => {
      dir = mkdtempSync(join(tmpdir(), 'fanout-claude-sandboxed-'));
    });
    afterEach(async () => {
      await server?.stop();
      rmSync(dir, { recursive: true, force: true });
    });

    it("runs the task's test target through nx with its Bash tool, writes its file, and reaches only its model", async () => {
      // A workspace of one project whose test target prints a marker: what the model must see in the tool's result.
      const worktree = join(dir, 'worktree');
      mkdirSync(join(worktree, 'libs', 'orders', 'src'), { recursive: true });
      writeFileSync(join(worktree, 'package.json'), JSON.stringify({ name: 'ws', private: true }));
      writeFileSync(join(worktree, 'nx.json'), JSON.stringify({}));
      writeFileSync(
        join(worktree, 'libs', 'orders', 'project.json'),
        JSON.stringify({ name: 'orders', targets: { test: { command: `node -e "console.log('ORDERS-TESTS-' + 'PASSED')"` } } }),
      );
      symlinkSync(join(repositoryRoot, 'node_modules'), join(worktree, 'node_modules'));
      spawnSync('git', ['init', '-q'], { cwd: worktree });
      writeFileSync(join(dir, 'prompt.md'), '# Build the orders API, then run its tests\n');
      writeFileSync(join(dir, 'session.log'), '');
      const file = join(worktree, 'libs', 'orders', 'src', 'orders.ts');

      server = await startMessagesServer((turn) => {
        // Claude Code's side requests (a title, a summary) offer no tools.
        if (!turn.tools.includes('Bash')) return { text: 'Orders' };
        if (turn.toolResults.length === 0)
          return { tool: 'Bash', input: { command: 'npx nx run orders:test', description: 'Run the tests' } };
        if (turn.toolResults.length === 1) return { tool: 'Write', input: { file_path: file, content: 'export const ORDERS = [];\n' } };
        return { text: 'Wrote orders.ts; its tests pass.' };
      });

      const home = join(dir, 'home');
      mkdirSync(home);
      const parent = {
        PATH: process.env['PATH'],
        HOME: home,
        ANTHROPIC_BASE_URL: server.url,
        ANTHROPIC_API_KEY: 'sk-ant-test-not-a-key',
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
        DISABLE_AUTOUPDATER: '1',
        GITHUB_TOKEN: 'ghp_not_for_the_agent',
      };
      const sandbox = SessionSandbox.open(sessionSandboxSetting({ run: 'on' }));
      try {
        const env = sandbox.env(parent, CLAUDE_SANDBOX);
        const processSandbox = sandbox.process({ worktree, checkout: join(dir, 'checkout'), env, needs: CLAUDE_SANDBOX });
        const report = await runCliAgent(
          claudeCli,
          {
            project: 'orders',
            projectRoot: 'libs/orders',
            workspaceRoot: repositoryRoot,
            worktree,
            promptFile: join(dir, 'prompt.md'),
            logFile: join(dir, 'session.log'),
            subjects: { reference: 'users', task: 'orders' },
            reference: { project: 'users', root: 'libs/users' },
            contracts: { project: 'contracts', root: 'libs/contracts', importPath: '@ws/contracts' },
            options: { retryDelay: '1s', model: 'claude-test' },
            timeoutMs: 120_000,
            env,
            echo: false,
            redact: createRedactor(env),
            sandbox: { ...processSandbox, privateTemp: sandbox.privateTemp },
          },
          recordingDeps(),
        );
        const log = readFileSync(join(dir, 'session.log'), 'utf-8');
        expect({ ok: report.ok, error: report.error, summary: report.summary }).toEqual({
          ok: true,
          error: undefined,
          summary: 'Wrote orders.ts; its tests pass.',
        });
        // The test target ran inside the sandbox, and its output reached the model's next request.
        const main = server.turns.filter((turn) => turn.tools.includes('Bash'));
        expect(main[1].toolResults[0]).toContain('ORDERS-TESTS-PASSED');
        expect(readFileSync(file, 'utf-8')).toBe('export const ORDERS = [];\n');
        // Its tools were the sandboxed defaults, the project's own targets among them.
        expect(log).toContain('Bash(npx nx run orders:test)');
        // Nothing it needed was refused (what it may try besides, an update check say, is reported, not fatal).
        // Claude Code may also try to write its settings-review store in the real home folder
        // (~/.claude/state, whatever CLAUDE_CONFIG_DIR says), depending on its timing: refused, and not needed.
        const optional = join(home, '.claude', 'state') + '/';
        expect(processSandbox.denied.filter((denial) => denial.kind === 'filesystem' && !denial.target.startsWith(optional))).toEqual([]);
        expect(processSandbox.denied.map((denial) => denial.target)).not.toContain(server.url.slice('http://'.length));
        expect(env['GITHUB_TOKEN']).toBeUndefined();
        // Its state went to the session's own folder, not the home folder.
        expect(existsSync(join(home, '.claude'))).toBe(false);
        expect(existsSync(join(home, '.claude.json'))).toBe(false);
      } finally {
        sandbox.close();
      }
    }, 180_000);

    it('gives two sessions, each with its own state folder, one system prompt: the base context is their shared cache prefix', async () => {
      // One repository, a worktree per session, as a run makes them.
      const repository = join(dir, 'repository');
      mkdirSync(repository);
      const git = (cwd: string, ...args: string[]) => spawnSync('git', args, { cwd, encoding: 'utf-8' });
      git(repository, 'init', '-q');
      git(repository, '-c', 'user.name=fanout', '-c', 'user.email=fanout@example.com', 'commit', '-q', '--allow-empty', '-m', 'base');
      const base = `# Conventions\n\n${'Every handler validates its input before it touches the store.\n'.repeat(40)}`;

      server = await startMessagesServer(() => ({ text: 'Done.' }));
      const parent = {
        PATH: process.env['PATH'],
        HOME: join(dir, 'home'),
        ANTHROPIC_BASE_URL: server.url,
        ANTHROPIC_API_KEY: 'sk-ant-test-not-a-key',
        CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
        DISABLE_AUTOUPDATER: '1',
      };
      mkdirSync(parent.HOME);

      /** The system prompt of the session's first model request that offers its tools (its side requests offer none). */
      const systemOf = async (project: string): Promise<string | undefined> => {
        const worktree = join(dir, project);
        git(repository, 'worktree', 'add', '-q', '-b', project, worktree);
        const files = join(dir, `${project}-files`);
        mkdirSync(files);
        const cachePrefix = writeCachePrefixFiles(files, base, `${ASSIGNMENT_OPENING}\n# Your assignment: ${project}\n`);
        writeFileSync(join(files, 'session.log'), '');
        const sandbox = SessionSandbox.open(sessionSandboxSetting({ run: 'on' }));
        const before = server.turns.length;
        try {
          const env = sandbox.env(parent, CLAUDE_SANDBOX);
          const processSandbox = sandbox.process({ worktree, checkout: repository, env, needs: CLAUDE_SANDBOX });
          const report = await runCliAgent(
            claudeCli,
            {
              project,
              projectRoot: `libs/${project}`,
              workspaceRoot: repository,
              worktree,
              promptFile: join(files, 'prompt.md'),
              logFile: join(files, 'session.log'),
              subjects: { reference: 'users', task: project },
              reference: { project: 'users', root: 'libs/users' },
              contracts: { project: 'contracts', root: 'libs/contracts', importPath: '@ws/contracts' },
              options: { retryDelay: '1s', model: 'claude-test' },
              timeoutMs: 120_000,
              env,
              echo: false,
              redact: createRedactor(env),
              cachePrefix,
              sandbox: { ...processSandbox, privateTemp: sandbox.privateTemp },
            },
            recordingDeps(),
          );
          expect({ project, ok: report.ok, error: report.error }).toEqual({ project, ok: true, error: undefined });
        } finally {
          sandbox.close();
        }
        return server.turns.slice(before).find((turn) => turn.tools.includes('Write'))?.system;
      };

      const orders = await systemOf('orders');
      const invoices = await systemOf('invoices');
      expect(orders).toContain(base.trim());
      // Byte for byte: a path of either session's own (its state folder, its memory) would end the shared prefix there.
      expect(invoices).toBe(orders);
    }, 180_000);
  },
);

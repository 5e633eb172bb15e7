import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { createServer, type Server } from 'http';
import type { AddressInfo } from 'net';
import { tmpdir } from 'os';
import { join } from 'path';
import { describeUnavailable, sandboxAvailabilityHere } from './availability';
import { sandboxEnv } from './env';
import { sandboxPolicy, type SandboxPolicyOptions } from './policy';
import { parseDenials, sandboxCommand, sandboxSettings, type SandboxedCommand } from './sandbox';
import { closeIdleRunners, expectSessions, releaseRunner, sessionRunner, startSandboxRunner, type SandboxRunner } from './sandbox-runner';
import { runProcess } from '../system/process';
import { processRunning } from '../../testing/processes';

describe('parseDenials', () => {
  it("reads the library's violation lines", () => {
    const log = [
      'deny openat /work/ws/src/escape.ts',
      'deny network-outbound example.com:443 (host is not on the allow list)',
      'deny mkdir /home/ada/.npm',
      'deny openat /work/ws/src/escape.ts',
    ].join('\n');
    expect(parseDenials(log)).toEqual([
      { kind: 'filesystem', target: '/work/ws/src/escape.ts' },
      { kind: 'network', target: 'example.com:443' },
      { kind: 'filesystem', target: '/home/ada/.npm' },
    ]);
  });

  it('reads what shells and Node print for a read-only mount', () => {
    const stderr = [
      '/usr/bin/bash: line 1: /work/ws/.git/hooks/post-checkout: Read-only file system',
      'sh: 1: cannot create /work/ws/escape.txt: Read-only file system',
      "Error: EROFS: read-only file system, open '/work/ws/node_modules/x/index.js'",
    ].join('\n');
    expect(parseDenials(stderr)).toEqual([
      { kind: 'filesystem', target: '/work/ws/.git/hooks/post-checkout' },
      { kind: 'filesystem', target: '/work/ws/escape.txt' },
      { kind: 'filesystem', target: '/work/ws/node_modules/x/index.js' },
    ]);
  });

  it('finds nothing in ordinary output', () => {
    expect(parseDenials('PASS src/orders.spec.ts\nTests: 3 passed\n')).toEqual([]);
  });
});

describe('sandboxSettings', () => {
  it("is the library's settings file for the policy", () => {
    const policy = sandboxPolicy({ worktree: '/w/ws/.fanout/worktrees/a', privateTemp: '/t/a', checkout: '/w/ws', home: '/h' });
    expect(sandboxSettings(policy)).toEqual({
      network: { allowedDomains: [], deniedDomains: [] },
      filesystem: { denyRead: policy.denyRead, allowWrite: policy.allowWrite, denyWrite: [] },
    });
  });
});

const availability = sandboxAvailabilityHere();
const describeSandboxed = availability.available ? describe : describe.skip;

describeSandboxed(`the sandbox on this machine${availability.available ? '' : ` (skipped: ${describeUnavailable(availability)})`}`, () => {
  let root: string;
  let checkout: string;
  let worktree: string;
  let home: string;
  let options: SandboxPolicyOptions;
  const started: SandboxedCommand[] = [];

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'fanout-sandbox-spec-'));
    checkout = join(root, 'checkout');
    worktree = join(checkout, '.fanout', 'worktrees', 'orders');
    home = join(root, 'home');
    mkdirSync(join(checkout, '.git', 'hooks'), { recursive: true });
    mkdirSync(join(checkout, 'node_modules'), { recursive: true });
    mkdirSync(worktree, { recursive: true });
    mkdirSync(join(home, '.ssh'), { recursive: true });
    writeFileSync(join(home, '.ssh', 'id_rsa'), 'PRIVATE KEY\n');
    options = { worktree, privateTemp: join(root, 'private'), checkout, home };
  });

  afterEach(() => {
    for (const command of started.splice(0)) command.cleanup();
    rmSync(root, { recursive: true, force: true });
  });

  const agentEnv = (parentEnv: NodeJS.ProcessEnv = {}) => sandboxEnv({ ...process.env, HOME: home, ...parentEnv });

  function sandboxed(
    policyOptions: Partial<SandboxPolicyOptions>,
    argv: string[],
    parentEnv: NodeJS.ProcessEnv = {},
    runner?: SandboxRunner,
  ) {
    const policy = sandboxPolicy({ ...options, ...policyOptions });
    const command = sandboxCommand(policy, argv[0], argv.slice(1), { cwd: worktree, env: agentEnv(parentEnv), runner });
    started.push(command);
    return command;
  }

  function run(command: SandboxedCommand) {
    const child = command.child;
    child.stdin?.end();
    let output = '';
    child.stdout?.on('data', (chunk) => (output += chunk));
    child.stderr?.on('data', (chunk) => (output += chunk));
    const done = new Promise<{ code: number | null; output: string }>((resolve) => child.on('close', (code) => resolve({ code, output })));
    // The command's process group, once the runner has started it.
    return { pid: () => child.pid, done };
  }

  const sh = (script: string) => ['/bin/sh', '-c', script];

  it('lets the process write its worktree and private temp folder', async () => {
    const command = sandboxed({}, sh('echo done > result.txt && echo scratch > "$TMPDIR/scratch" && echo "$TMPDIR"'));
    const { code, output } = await run(command).done;
    expect({ code, output }).toEqual({ code: 0, output: `${join(root, 'private')}\n` });
    expect(readFileSync(join(worktree, 'result.txt'), 'utf8')).toBe('done\n');
    expect(readFileSync(join(root, 'private', 'scratch'), 'utf8')).toBe('scratch\n');
    expect(command.denials()).toEqual([]);
  });

  it("refuses writes into the user's checkout, its .git/hooks and node_modules, and names them", async () => {
    const targets = [
      join(checkout, 'escape.txt'),
      join(checkout, '.git', 'hooks', 'post-checkout'),
      join(checkout, 'node_modules', 'x.js'),
    ];
    const command = sandboxed({}, sh(targets.map((target) => `echo evil > '${target}'`).join('; ')));
    const { code, output } = await run(command).done;
    expect(code).not.toBe(0);
    for (const target of targets) {
      expect(existsSync(target)).toBe(false);
      expect(output).toContain(`${target}: Read-only file system`);
    }
    expect(command.denials()).toEqual(targets.map((target) => ({ kind: 'filesystem', target })));
  });

  it('hides the credential stores of the home folder', async () => {
    const command = sandboxed({}, sh(`cat "$HOME/.ssh/id_rsa"`));
    const { code, output } = await run(command).done;
    expect(code).not.toBe(0);
    expect(output).not.toContain('PRIVATE KEY');
    expect(output).toContain('No such file or directory');
  });

  it("runs no shell startup file of the user's before the command", async () => {
    writeFileSync(join(home, '.bashrc'), 'echo "bashrc ran" >&2\n');
    const command = sandboxed({}, sh('echo done'));
    expect(await run(command).done).toEqual({ code: 0, output: 'done\n' });
  });

  it('leaves secrets out of the environment', async () => {
    const command = sandboxed({}, ['node', '-e', 'console.log(process.env.GITHUB_TOKEN ?? "absent", process.env.FANOUT_RUN)'], {
      GITHUB_TOKEN: 'ghp_secret',
      FANOUT_RUN: 'r1',
    });
    const { code, output } = await run(command).done;
    expect({ code, output }).toEqual({ code: 0, output: 'absent r1\n' });
  });

  describe('a server on 127.0.0.1', () => {
    let server: Server;
    let port: number;
    let client: string;

    beforeEach(async () => {
      server = createServer((_request, response) => response.end('hello from the host'));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      port = (server.address() as AddressInfo).port;
      // An HTTP client that goes through the proxy the sandbox names (Node's own ignores proxy variables).
      client = join(root, 'client.js');
      writeFileSync(
        client,
        `const http = require('http');
const target = process.argv[2];
const proxy = process.argv[3] === 'direct' ? undefined : new URL(process.env.HTTP_PROXY);
const auth = proxy && Buffer.from(decodeURIComponent(proxy.username) + ':' + decodeURIComponent(proxy.password)).toString('base64');
const request = proxy
  ? { host: proxy.hostname, port: proxy.port, path: target, headers: { 'Proxy-Authorization': 'Basic ' + auth } }
  : target;
http.get(request, (response) => {
  let body = '';
  response.on('data', (chunk) => (body += chunk));
  response.on('end', () => { process.stdout.write(response.statusCode + ' ' + body.trim().split('\\n')[0] + '\\n'); process.exit(response.statusCode === 200 ? 0 : 1); });
}).on('error', (error) => { process.stdout.write('error ' + error.code + '\\n'); process.exit(1); });
`,
      );
    });

    afterEach(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('is out of reach without an allow, and the denial names it', async () => {
      const url = `http://127.0.0.1:${port}/`;
      const command = sandboxed({}, sh(`node '${client}' ${url} direct; node '${client}' ${url}`));
      const { output } = await run(command).done;
      // Directly, the sandbox's own loopback has no server; through the proxy, the host is refused.
      expect(output).toMatch(/^error ECONNREFUSED\n403 /);
      expect(output).not.toContain('hello from the host');
      expect(command.denials()).toEqual([{ kind: 'network', target: `127.0.0.1:${port}` }]);
    });

    it("is reached by each command a runner runs in turn: the library's bridges to its proxy outlive the first", async () => {
      const runner = startSandboxRunner(agentEnv());
      for (const round of [1, 2]) {
        const command = sandboxed({ allowedDomains: [`127.0.0.1:${port}`] }, ['node', client, `http://127.0.0.1:${port}/`], {}, runner);
        expect({ round, ...(await run(command).done) }).toEqual({ round, code: 0, output: '200 hello from the host\n' });
      }
      runner.close();
    });

    it('is reached through the proxy once "127.0.0.1" is allowed', async () => {
      const command = sandboxed({ allowedDomains: [`127.0.0.1:${port}`] }, ['node', client, `http://127.0.0.1:${port}/`]);
      const { code, output } = await run(command).done;
      expect({ code, output }).toEqual({ code: 0, output: '200 hello from the host\n' });
      expect(command.denials()).toEqual([]);
    });
  });

  describe('a runner started ahead', () => {
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    const ended = async (pid: number) => {
      for (let i = 0; i < 40 && alive(pid); i++) await new Promise((resolve) => setTimeout(resolve, 50));
      return !alive(pid);
    };

    it('runs its command under the policy it is sent, in a worktree made after it started', async () => {
      rmSync(worktree, { recursive: true, force: true });
      const runner = startSandboxRunner(agentEnv());
      // While the library sets up, the worktree is made.
      await new Promise((resolve) => setTimeout(resolve, 200));
      mkdirSync(worktree, { recursive: true });
      const escape = join(checkout, 'escape.txt');
      const command = sandboxed({}, sh(`echo done > result.txt; echo evil > '${escape}'; cat "$HOME/.ssh/id_rsa"`), {}, runner);
      expect(runner.busy).toBe(true);
      const { output } = await run(command).done;
      expect(readFileSync(join(worktree, 'result.txt'), 'utf8')).toBe('done\n');
      expect(existsSync(escape)).toBe(false);
      expect(output).not.toContain('PRIVATE KEY');
      // The writes the policy allows are no denials, though the library set up under a policy allowing none.
      expect(command.denials()).toEqual([{ kind: 'filesystem', target: escape }]);
      expect(runner.busy).toBe(false);
      runner.close();
    });

    it('runs commands one after another, each under its own policy, in its own environment, with its own denials', async () => {
      const runner = startSandboxRunner(agentEnv());
      const other = join(root, 'other-worktree');
      mkdirSync(other, { recursive: true });
      const first = sandboxed(
        {},
        sh(`echo "$FIRST_ONLY" > first.txt; echo evil > '${join(other, 'x.txt')}'`),
        { FANOUT_FIRST: 'one' },
        runner,
      );
      expect(await run(first).done).toMatchObject({ code: expect.any(Number) });
      expect(first.denials()).toEqual([{ kind: 'filesystem', target: join(other, 'x.txt') }]);
      const pid = runner.child.pid;
      // The second command's worktree is the first one's forbidden folder, and the other way round.
      const policy = sandboxPolicy({ ...options, worktree: other });
      const second = sandboxCommand(
        policy,
        '/bin/sh',
        ['-c', `echo "[$FANOUT_FIRST]" > second.txt; echo evil > '${join(worktree, 'y.txt')}'`],
        {
          cwd: other,
          env: agentEnv(),
          runner,
        },
      );
      started.push(second);
      await run(second).done;
      expect(runner.child.pid).toBe(pid);
      expect(readFileSync(join(other, 'second.txt'), 'utf8')).toBe('[]\n');
      expect(existsSync(join(worktree, 'y.txt'))).toBe(false);
      expect(second.denials()).toEqual([{ kind: 'filesystem', target: join(worktree, 'y.txt') }]);
      expect(existsSync(join(other, 'x.txt'))).toBe(false);
      runner.close();
    });

    it('leaves a runner set up in another environment alone, and runs the command in one of its own', async () => {
      const runner = startSandboxRunner(agentEnv({ HTTPS_PROXY: 'http://proxy.invalid:3128' }));
      const command = sandboxed({}, sh('echo done'), {}, runner);
      expect(runner.busy).toBe(false);
      expect(await run(command).done).toEqual({ code: 0, output: 'done\n' });
      expect(await runner.ready).toBe(true);
      runner.close();
      expect(await ended(runner.child.pid as number)).toBe(true);
      expect(existsSync(runner.control)).toBe(false);
    });

    it('ends, with its folder, when it is closed without a command', async () => {
      const runner = startSandboxRunner(agentEnv());
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(alive(runner.child.pid as number)).toBe(true);
      runner.close();
      expect(await ended(runner.child.pid as number)).toBe(true);
      expect(existsSync(runner.control)).toBe(false);
    });

    it('ends at once on SIGTERM while it waits for its command, though the library it set up handles that signal', async () => {
      // As Nx ends a batch's process tree: it waits for each process to end before it reports the run.
      const runner = startSandboxRunner(agentEnv());
      expect(await runner.ready).toBe(true);
      process.kill(runner.child.pid as number, 'SIGTERM');
      expect(await ended(runner.child.pid as number)).toBe(true);
      runner.close();
    });

    it('is given back when its session ends, and taken, set up already, by a session still to come in the batch', async () => {
      expectSessions(2);
      const first = sessionRunner(agentEnv());
      releaseRunner(first);
      const second = sessionRunner(agentEnv());
      expect(second).toBe(first);
      expect(alive(first.child.pid as number)).toBe(true);
      // None to come: given back, it ends.
      releaseRunner(second);
      expect(await ended(first.child.pid as number)).toBe(true);
      expect(existsSync(first.control)).toBe(false);
    });

    it('given back and never taken, ends with the batch', async () => {
      expectSessions(3);
      const runner = sessionRunner(agentEnv());
      releaseRunner(runner);
      expect(alive(runner.child.pid as number)).toBe(true);
      closeIdleRunners();
      expect(await ended(runner.child.pid as number)).toBe(true);
      expect(existsSync(runner.control)).toBe(false);
      expectSessions(0);
    });

    it('ends a command at its timeout, with what it started, and then runs the next one', async () => {
      const runner = startSandboxRunner(agentEnv());
      const marker = `sleep ${60 + Math.random()}`.slice(0, 14);
      const policy = sandboxPolicy(options);
      const sandbox = { policy, denied: [], runner: () => runner };
      const result = await runProcess(['/bin/sh', '-c', `${marker}; echo not reached`], {
        cwd: worktree,
        env: agentEnv(),
        timeoutMs: 3_000,
        logFile: join(root, 'agent.log'),
        sandbox,
      });
      expect(result.timedOut).toBe(true);
      expect(result.stdout).not.toContain('not reached');
      expect(processRunning(marker)).toBe(false);
      expect(alive(runner.child.pid as number)).toBe(true);
      const next = await runProcess(['/bin/sh', '-c', 'echo next'], {
        cwd: worktree,
        env: agentEnv(),
        timeoutMs: 30_000,
        logFile: join(root, 'agent.log'),
        sandbox,
      });
      expect({ exitCode: next.exitCode, stdout: next.stdout }).toEqual({ exitCode: 0, stdout: 'next\n' });
      runner.close();
    });
  });

  describe('processes left behind', () => {
    const running = processRunning;
    const gone = async (marker: string) => {
      for (let i = 0; i < 40 && running(marker); i++) await new Promise((resolve) => setTimeout(resolve, 50));
      return !running(marker);
    };

    it('end when the sandboxed command ends', async () => {
      const marker = `sleep ${30 + Math.random()}`.slice(0, 14);
      const command = sandboxed({}, sh(`${marker} & echo started`));
      const { code, output } = await run(command).done;
      expect({ code, output }).toEqual({ code: 0, output: 'started\n' });
      expect(await gone(marker)).toBe(true);
    });

    it('end when the runner alone is told to stop', async () => {
      const marker = `sleep ${50 + Math.random()}`.slice(0, 14);
      const runner = startSandboxRunner(agentEnv());
      const child = run(sandboxed({}, sh(`${marker}; echo not reached`), {}, runner));
      for (let i = 0; i < 100 && !running(marker); i++) await new Promise((resolve) => setTimeout(resolve, 50));
      expect(running(marker)).toBe(true);
      process.kill(runner.child.pid as number, 'SIGTERM');
      const { output } = await child.done;
      expect(output).not.toContain('not reached');
      expect(await gone(marker)).toBe(true);
    });

    it("end when the command's process group is killed", async () => {
      const marker = `sleep ${40 + Math.random()}`.slice(0, 14);
      const child = run(sandboxed({}, sh(`${marker}; echo not reached`)));
      // The runner names the command's process once it has started it: that message may still be on
      // its way when the command shows in /proc.
      for (let i = 0; i < 100 && (!running(marker) || child.pid() === undefined); i++)
        await new Promise((resolve) => setTimeout(resolve, 50));
      expect(running(marker)).toBe(true);
      process.kill(-(child.pid() as number), 'SIGKILL');
      await child.done;
      expect(await gone(marker)).toBe(true);
    });
  });
});

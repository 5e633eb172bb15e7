import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { sandboxPolicy } from './policy';
import { addDenials, isKeptState, removeKeptState, SessionSandbox } from './session-sandbox';
import { describeDenials, sandboxLine } from './denials';
import { sessionSandboxSetting } from './settings';
import type { SandboxDenial } from './sandbox';
import { expectSessions } from './sandbox-runner';

describe('addDenials', () => {
  const policy = sandboxPolicy({ worktree: '/w/ws/.fanout/worktrees/a', privateTemp: '/t/a', checkout: '/w/ws', home: '/h' });

  it('adds each denial once, and leaves out writable paths and paths through a file descriptor', () => {
    const into: SandboxDenial[] = [{ kind: 'filesystem', target: '/w/ws/escape.txt' }];
    addDenials(
      into,
      [
        { kind: 'filesystem', target: '/w/ws/escape.txt' },
        { kind: 'filesystem', target: '/proc/self/fd/9/orders.ts' },
        { kind: 'filesystem', target: '/w/ws/.fanout/worktrees/a/src/orders.ts' },
        { kind: 'network', target: 'example.com:443' },
      ],
      policy,
    );
    expect(into).toEqual([
      { kind: 'filesystem', target: '/w/ws/escape.txt' },
      { kind: 'network', target: 'example.com:443' },
    ]);
  });
});

describe('sandboxLine', () => {
  it('says whether the agent ran sandboxed, and what it was denied', () => {
    expect(sandboxLine(undefined)).toBeUndefined();
    expect(sandboxLine({ on: false, mode: 'off' })).toBe('sandbox: off (sandbox: off)');
    expect(sandboxLine({ on: false, mode: 'auto' })).toBe('sandbox: off (not available here)');
    expect(sandboxLine({ on: true, mode: 'auto', denials: [] })).toBe('sandbox: on, nothing denied');
    const denials: SandboxDenial[] = [
      { kind: 'network', target: '127.0.0.1:4000' },
      { kind: 'filesystem', target: '/w/ws/x' },
    ];
    expect(sandboxLine({ on: true, mode: 'on', denials })).toBe(`sandbox: on, denied ${describeDenials(denials)}`);
    expect(describeDenials(denials)).toBe('network access to 127.0.0.1:4000, file access to /w/ws/x');
  });
});

describe('SessionSandbox', () => {
  it("keeps its CLI's state (the conversation) past the session, and gives it back to the sandbox of a repair", () => {
    const setting = sessionSandboxSetting({});
    const session = SessionSandbox.open(setting);
    session.env({ PATH: '/usr/bin', HOME: '/h' }, { state: (folder) => ({ TOOL_HOME: join(folder, 'tool') }) });
    mkdirSync(join(session.stateFolder, 'tool', 'projects'), { recursive: true });
    writeFileSync(join(session.stateFolder, 'tool', 'projects', 'conversation.jsonl'), 'turns\n');
    const kept = session.keepState() as string;
    session.close();
    expect(existsSync(session.privateTemp)).toBe(false);
    expect(isKeptState(kept)).toBe(true);
    expect(readFileSync(join(kept, 'state', 'tool', 'projects', 'conversation.jsonl'), 'utf-8')).toBe('turns\n');

    const repair = SessionSandbox.open(setting, kept);
    try {
      expect(readFileSync(join(repair.stateFolder, 'tool', 'projects', 'conversation.jsonl'), 'utf-8')).toBe('turns\n');
      expect(existsSync(kept)).toBe(false);
    } finally {
      repair.close();
    }
    expect(existsSync(repair.privateTemp)).toBe(false);
  });

  it('keeps nothing for a CLI without state, and removes only folders it kept (a result.json may come from elsewhere)', () => {
    const session = SessionSandbox.open(sessionSandboxSetting({}));
    expect(session.keepState()).toBeUndefined();
    session.close();
    const other = mkdtempSync(join(tmpdir(), 'not-fanout-'));
    for (const path of [other, `${other}/../fanout-state-x`, '/etc', 'fanout-state-relative', join(other, 'fanout-state-x')]) {
      expect(isKeptState(path)).toBe(false);
      removeKeptState(path);
    }
    expect(existsSync(other)).toBe(true);
    removeKeptState(undefined);
    const kept = mkdtempSync(join(tmpdir(), 'fanout-state-'));
    removeKeptState(kept);
    expect(existsSync(kept)).toBe(false);
  });

  it("keeps only the agent's variables and the allow list, and gives its CLI a state folder of the session's own", () => {
    const sandbox = SessionSandbox.open(sessionSandboxSetting({ plugin: { env: ['MY_TOOL_*'] } }));
    try {
      const env = sandbox.env(
        { PATH: '/usr/bin', HOME: '/h', GITHUB_TOKEN: 'ghp_1', TOOL_KEY: 'k', MY_TOOL_HOME: '/opt' },
        { variables: ['TOOL_*'], state: (folder) => ({ TOOL_HOME: join(folder, 'tool') }) },
      );
      expect(env).toEqual({
        PATH: '/usr/bin',
        HOME: '/h',
        TOOL_KEY: 'k',
        MY_TOOL_HOME: '/opt',
        TOOL_HOME: join(sandbox.privateTemp, 'state', 'tool'),
      });
      expect(sandbox.summary()).toBeUndefined();
      sandbox.process({ worktree: join(sandbox.privateTemp, '..', 'w'), checkout: '/nowhere', env, needs: undefined });
      expect(sandbox.summary()?.writable[1]).toBe(sandbox.privateTemp);
    } finally {
      sandbox.close();
    }
    expect(existsSync(sandbox.privateTemp)).toBe(false);
  });

  it('lets the agent reach the hosts its own configuration names, through the proxy when they are on loopback', () => {
    const sandbox = SessionSandbox.open(sessionSandboxSetting({ plugin: { allowedDomains: ['registry.npmjs.org'] } }));
    try {
      const env = { PATH: '/usr/bin', HOME: '/h', TOOL_HOME: '/h/.tool' };
      const { policy } = sandbox.process({
        worktree: join(sandbox.privateTemp, '..', 'w'),
        checkout: '/nowhere',
        env,
        needs: { hosts: (seen) => (seen['TOOL_HOME'] === '/h/.tool' ? ['127.0.0.1:4123'] : []) },
      });
      expect(policy.allowedDomains).toEqual(['registry.npmjs.org', '127.0.0.1:4123']);
      expect(policy.insideEnv['NO_PROXY']).not.toContain('127.0.0.1');
    } finally {
      sandbox.close();
    }
  });

  it("takes a runner ahead for every one of its agent's processes, and gives it back to a session to come when it ends", async () => {
    const alive = (pid: number | undefined) => {
      try {
        return pid !== undefined && process.kill(pid, 0);
      } catch {
        return false;
      }
    };
    const env = { PATH: process.env['PATH'], HOME: '/h' };
    const processes = (sandbox: SessionSandbox) =>
      sandbox.process({ worktree: join(sandbox.privateTemp, '..', 'w'), checkout: '/nowhere', env, needs: undefined });
    expectSessions(2);
    const first = SessionSandbox.open(sessionSandboxSetting({}));
    first.prestart(env);
    const runner = processes(first).runner?.();
    expect(runner && alive(runner.child.pid)).toBe(true);
    // The same runner for each process of the session.
    expect(processes(first).runner?.()).toBe(runner);
    first.close();
    expect(processes(first).runner?.()).toBeUndefined();

    const second = SessionSandbox.open(sessionSandboxSetting({}));
    second.prestart(env);
    expect(processes(second).runner?.()).toBe(runner);
    // No session to come: the runner ends with the last one.
    second.close();
    for (let i = 0; i < 40 && alive(runner?.child.pid); i++) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(alive(runner?.child.pid)).toBe(false);
    expect(runner && existsSync(runner.control)).toBe(false);
  });
});

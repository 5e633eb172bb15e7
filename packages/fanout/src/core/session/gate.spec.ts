import { execFileSync } from 'child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join, relative } from 'path';
import { GATE_TARGETS } from '../../constants';
import { createRedactor } from '../system/redact';
import type { ProcessOptions, ProcessResult } from '../system/process';
import { createWorkspace, gitIn, write, type TestWorkspace } from '../../testing/git-workspace';
import { feedbackMessage, SAME_ERROR } from './feedback';
import { GATE_OUTPUT_CHARS, gateArgv, gateEnv, gateNxBinary, gateTargets, gateVerdict, runGate, statedExitCode, taskOutputs } from './gate';
import { createWorktree, removeWorktree } from './worktree';

const TSC_ERRORS = `src/index.ts(3,9): error TS2322: Type 'string' is not assignable to type 'number'.
src/index.ts(12,6): error TS2345: Argument of type '{ line: { quantity: string; }; }' is not assignable to parameter of type '{ line: { quantity: number; }; }'.
  The types of 'line.quantity' are incompatible between these types.
    Type 'string' is not assignable to type 'number'.
`;

/**
 * A stand-in for `nx run-many`: it runs the asked targets of the project one after
 * another, printing each under its heading as Nx's static output does, and writes
 * Nx's task profile where NX_PROFILE says. `typecheck` fails like tsc; `test`
 * depends on a `build` of `contracts` that fails when FAKE_NX_BUILD_FAILS is set
 * (and is then not run); `lint` is replayed from the cache; a project named
 * `broken` makes it fail before any task, as a project graph error does.
 */
function writeFakeNx(bin: string): void {
  mkdirSync(join(bin, '..'), { recursive: true });
  writeFileSync(
    bin,
    `#!${process.execPath}
const fs = require('fs');
const path = require('path');
const arg = (name) => process.argv.find((a) => a.startsWith('--' + name + '=')).split('=')[1];
const project = arg('projects');
if (project === 'broken') {
  process.stderr.write(' NX   Could not find project "broken"\\n');
  process.exit(1);
}
const profile = [];
const record = (name, status, ms) => profile.push({ name, ph: 'X', dur: ms * 1000, args: { status } });
let failed = false;
const fail = (id) => { failed = true; process.stderr.write('\\n NX   Running targets for project ' + project + ' failed\\n\\nFailed tasks:\\n\\n- ' + id + '\\n'); };
for (const target of arg('targets').split(',')) {
  const id = project + ':' + target;
  if (target === 'typecheck') {
    process.stdout.write('\\n> nx run ' + id + '\\n\\n' + ${JSON.stringify(TSC_ERRORS)});
    record(id, 'failure', 1500);
    fail(id);
  } else if (target === 'test' && process.env.FAKE_NX_BUILD_FAILS) {
    process.stdout.write('\\n> nx run contracts:build\\n\\nsrc/index.ts(1,1): error TS1005: a semicolon expected.\\n');
    record('contracts:build', 'failure', 700);
    record(id, 'skipped', 0);
    fail('contracts:build');
  } else if (target === 'lint') {
    process.stdout.write('\\n> nx run ' + id + '  [local cache]\\n\\nall good\\n');
    record(id, 'local-cache', 40);
  } else {
    process.stdout.write('\\n> nx run ' + id + '\\n\\nall good\\n');
    record(id, 'success', 2500);
  }
}
process.stdout.write('\\n NX   Ran targets for project ' + project + '\\n\\nPerformance Profile: x\\n');
fs.writeFileSync(path.join(process.cwd(), process.env.NX_PROFILE), JSON.stringify(profile));
if (failed) process.exitCode = 1;
`,
  );
  chmodSync(bin, 0o755);
}

function runner(outcomes: Partial<ProcessResult>[]) {
  const calls: { argv: readonly string[]; options: ProcessOptions }[] = [];
  const run = async (argv: readonly string[], options: ProcessOptions): Promise<ProcessResult> => {
    calls.push({ argv, options });
    return { exitCode: 0, signal: null, timedOut: false, stdout: '', stderr: '', ...outcomes[calls.length - 1] };
  };
  return { run, calls };
}

/** Nx 23.2.1's static output around a task's own, as it prints it: its banner, the task's command, then its output. */
const nxOutput = (tasks: string[], summary: string) =>
  `\n NX   Running targets ${summary} for project orders:\n\n- orders\n\n\n\n${tasks.join('')}\n` +
  'Performance Profile: /ws/gate-profile.json\n  Run duration:      2.0s\n  Critical path:     2.0s (1 task)\n';

/** Nx 23.2.1's summary on stderr after a run in which `failed` failed and `skipped` was skipped because of it. */
const nxFailureSummary = (targets: string, skipped: string, failed: string) =>
  `\n NX   Running targets ${targets} for project orders failed\n\n` +
  `Tasks not run because their dependencies failed or --nx-bail=true:\n\n- ${skipped}\n\nFailed tasks:\n\n- ${failed}\n\n`;

const TYPECHECK_FAILED =
  '> nx run orders:typecheck\n\n> tsc --noEmit -p tsconfig.lib.json\r\n\r\n' +
  TSC_ERRORS +
  'Warning: command "tsc --noEmit -p tsconfig.lib.json" exited with non-zero status code\n';

const JEST_TYPE_ERROR = `FAIL src/index.spec.ts
  ● Test suite failed to run

    src/index.spec.ts:5:7 - error TS2322: Type 'string' is not assignable to type 'number'.

    5   const total: number = 'three';
            ~~~~~

Test Suites: 1 failed, 1 total
Tests:       0 total
Snapshots:   0 total
Time:        1.2 s
Ran all test suites.
`;

const TEST_FAILED =
  '> nx run orders:test\n\n> npm run jest\r\n\r\n\n> jest\n> jest\n\n' +
  JEST_TYPE_ERROR +
  'Warning: command "npm run jest" exited with non-zero status code\n';

/**
 * Runs of Nx 23.2.1 (`run-many --outputStyle=static --parallel=1`, NX_PROFILE set) in a workspace whose
 * orders:test depends on orders:typecheck, and whose orders:e2e depends on orders:test. Nx leaves the
 * task it skips out of its profile, and exits with 130 because that task has no result.
 */
const NX_RUNS = {
  typecheckFailsTestSkipped: {
    exitCode: 130,
    stdout: nxOutput([TYPECHECK_FAILED, '> nx run orders:lint\n\n> eslint .\r\n\r\n\n'], 'typecheck, test, lint'),
    stderr: nxFailureSummary('typecheck, test, lint', 'orders:test', 'orders:typecheck'),
    profile: [
      ['orders:typecheck', 'failure', 1540],
      ['orders:lint', 'success', 2210],
    ],
  },
  testFailsE2eSkipped: {
    exitCode: 130,
    stdout: nxOutput([TEST_FAILED], 'test, e2e'),
    stderr: nxFailureSummary('test, e2e', 'orders:e2e', 'orders:test'),
    profile: [['orders:test', 'failure', 2030]],
  },
} satisfies Record<string, { exitCode: number; stdout: string; stderr: string; profile: [string, string, number][] }>;

/** nx as a recorded run: it writes the run's task profile where NX_PROFILE says, and prints what the run printed. */
function recordedNx(recorded: (typeof NX_RUNS)[keyof typeof NX_RUNS]) {
  return async (_argv: readonly string[], options: ProcessOptions): Promise<ProcessResult> => {
    const events = [
      { name: 'thread_name', ph: 'M', pid: 1, tid: 0, ts: 0, args: { name: 'Group #1' } },
      ...recorded.profile.map(([name, status, ms]) => {
        const [project, target] = name.split(':');
        return {
          name,
          cat: `${project},${target},`,
          ph: 'X',
          ts: 0,
          dur: ms * 1000,
          pid: 1,
          tid: 0,
          args: { target: { project, target }, status },
        };
      }),
    ];
    writeFileSync(join(realpathSync(options.cwd), options.env['NX_PROFILE'] ?? ''), JSON.stringify(events));
    return { exitCode: recorded.exitCode, signal: null, timedOut: false, stdout: recorded.stdout, stderr: recorded.stderr };
  };
}

describe('gateVerdict and statedExitCode', () => {
  it("says each target's own verdict, naming the project's own tasks by their target", () => {
    expect(gateVerdict({ ok: true, exitCode: 0 }, 'orders')).toBe('passed');
    expect(gateVerdict({ ok: true, exitCode: 0, cached: true }, 'orders')).toBe('passed (from the cache)');
    expect(gateVerdict({ ok: false, exitCode: null, timedOut: true }, 'orders')).toBe('timed out');
    expect(gateVerdict({ ok: false, exitCode: null }, 'orders')).toBe('failed');
    expect(gateVerdict({ ok: false, exitCode: 2 }, 'orders')).toBe('failed (exit code 2)');
    expect(gateVerdict({ ok: false, exitCode: null, skipped: { because: ['orders:typecheck'] } }, 'orders')).toBe(
      'not run because typecheck failed',
    );
    expect(gateVerdict({ ok: false, exitCode: null, skipped: { because: ['contracts:build', 'orders:lint'] } }, 'orders')).toBe(
      'not run because contracts:build or lint failed',
    );
    expect(gateVerdict({ ok: false, exitCode: null, skipped: { because: [] } }, 'orders')).toBe(
      'not run because a task it depends on failed',
    );
  });

  it('reads the exit code a package manager states, and no other', () => {
    expect(statedExitCode('FAIL src/a.spec.ts\n ELIFECYCLE  Command failed with exit code 2.\n')).toBe(2);
    expect(statedExitCode('error Command failed with exit code 1.\ninfo Visit https://yarnpkg.com/en/docs/cli/run\n')).toBe(1);
    expect(statedExitCode(TYPECHECK_FAILED)).toBeNull();
    expect(statedExitCode("    expect(run('x')).toThrow('Command failed with exit code 3')\n")).toBeNull();
  });
});

describe('gateTargets', () => {
  it('runs by default those of typecheck, test and lint the project has, in that order', () => {
    expect(GATE_TARGETS).toEqual(['typecheck', 'test', 'lint']);
    expect(gateTargets(['build', 'lint', 'test'], undefined)).toEqual({ run: ['test', 'lint'], missing: [] });
    expect(gateTargets(['build'], undefined)).toEqual({ run: [], missing: [] });
  });

  it('runs the targets asked for, once each, and reports those the project lacks', () => {
    expect(gateTargets(['build', 'lint', 'e2e'], ['e2e', 'lint', 'typecheck', 'lint'])).toEqual({
      run: ['e2e', 'lint'],
      missing: ['typecheck'],
    });
  });

  it('runs nothing for gate: []', () => {
    expect(gateTargets(['typecheck', 'test', 'lint'], [])).toEqual({ run: [], missing: [] });
  });
});

describe('gateEnv', () => {
  it("drops the outer task's variables and the user's Nx data locations, and turns off the daemon, the TUI and colours", () => {
    const env = gateEnv({
      PATH: '/usr/bin',
      NX_VERBOSE_LOGGING: 'true',
      NX_DAEMON: 'true',
      NX_TUI: 'true',
      FORCE_COLOR: 'true',
      NX_TASK_TARGET_PROJECT: 'orders',
      NX_TASK_HASH: '123',
      NX_WORKSPACE_ROOT: '/ws',
      NX_WORKSPACE_ROOT_PATH: '/ws',
      NX_TERMINAL_OUTPUT_PATH: '/ws/.nx/cache/terminalOutputs/123',
      NX_INVOCATION_ROOT_PID: '4242',
      NX_WORKSPACE_DATA_DIRECTORY: '/ws/.nx/workspace-data',
      NX_PROJECT_GRAPH_CACHE_DIRECTORY: '/ws/.nx/workspace-data',
      NX_CACHE_DIRECTORY: '/ws/.nx/cache',
    });
    expect(env).toEqual({
      PATH: '/usr/bin',
      NX_VERBOSE_LOGGING: 'true',
      NX_DAEMON: 'false',
      NX_TUI: 'false',
      NX_SKIP_LOG_GROUPING: 'true',
      FORCE_COLOR: '0',
      NX_ISOLATE_PLUGINS: 'false',
    });
  });

  it("loads Nx's plugins in its own process unless the user's environment says otherwise", () => {
    expect(gateEnv({ PATH: '/usr/bin' })['NX_ISOLATE_PLUGINS']).toBe('false');
    expect(gateEnv({ PATH: '/usr/bin', NX_ISOLATE_PLUGINS: 'true' })['NX_ISOLATE_PLUGINS']).toBe('true');
  });
});

describe('runGate', () => {
  let dir: string;
  let worktree: string;
  let logFile: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'fanout-gate-'));
    worktree = join(dir, 'worktree');
    logFile = join(dir, 'session.log');
    writeFileSync(logFile, '');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const options = (targets: string[]) => ({
    worktree,
    workspaceRoot: join(dir, 'workspace'),
    project: 'orders',
    targets,
    env: { PATH: process.env.PATH },
    timeoutMs: 60_000,
    logFile,
    echo: false,
    redact: (text: string) => text,
  });

  it('runs every target through one nx run-many in the worktree, all of them even after one fails', async () => {
    writeFakeNx(gateNxBinary(worktree));

    const result = await runGate(options(['test', 'typecheck', 'lint']));

    expect(result.ok).toBe(false);
    expect(result.project).toBe('orders');
    // Outcomes and times from Nx's task profile; a replayed target is marked so.
    expect(result.targets.map(({ target, ok, exitCode, durationMs, cached }) => ({ target, ok, exitCode, durationMs, cached }))).toEqual([
      { target: 'test', ok: true, exitCode: 0, durationMs: 2500, cached: undefined },
      { target: 'typecheck', ok: false, exitCode: null, durationMs: 1500, cached: undefined },
      { target: 'lint', ok: true, exitCode: 0, durationMs: 40, cached: true },
    ]);
    // Each target's output is its own part of Nx's output, from its heading to the next.
    const [test, typecheck, lint] = result.targets;
    expect(test.output).toBe('> nx run orders:test\n\nall good\n');
    expect(typecheck.output).toBe(`> nx run orders:typecheck\n\n${TSC_ERRORS}`);
    expect(lint.output).toBe('> nx run orders:lint  [local cache]\n\nall good\n');
    const log = readFileSync(logFile, 'utf-8');
    expect(log).toContain(
      `[fanout] gate: nx run-many --targets=test,typecheck,lint --projects=orders --outputStyle=static --skipSync --parallel=1 (in ${worktree})`,
    );
    expect(log).toContain('[fanout] gate: orders:typecheck failed in 1.5s');
    expect(log).toContain('[fanout] gate: orders:lint passed (from the cache) in 0.0s');
    expect(log).toContain('error TS2345');
    // The profile was read and removed.
    expect(existsSync(join(dir, 'gate-profile.json'))).toBe(false);
  });

  it('records a target Nx skipped (as Nx before 23 profiles it) as not run, with the output of the task it waited on', async () => {
    writeFakeNx(gateNxBinary(worktree));

    const result = await runGate({ ...options(['test', 'lint']), env: { PATH: process.env.PATH, FAKE_NX_BUILD_FAILS: '1' } });

    expect(result.ok).toBe(false);
    expect(result.targets.map(({ target, ok, exitCode, skipped }) => ({ target, ok, exitCode, skipped }))).toEqual([
      { target: 'test', ok: false, exitCode: null, skipped: { because: ['contracts:build'] } },
      { target: 'lint', ok: true, exitCode: 0, skipped: undefined },
    ]);
    expect(result.targets[0].output).toBe(
      '[fanout] nx did not run orders:test: a task it depends on failed (contracts:build).\n' +
        '> nx run contracts:build\n\nsrc/index.ts(1,1): error TS1005: a semicolon expected.\n',
    );
    expect(readFileSync(logFile, 'utf-8')).toContain('[fanout] gate: orders:test not run because contracts:build failed\n');
  });

  it("records a target Nx 23 skipped because the gate's typecheck failed as not run because of it, with no exit code of nx's", async () => {
    mkdirSync(join(worktree, 'node_modules', '.bin'), { recursive: true });
    writeFileSync(gateNxBinary(worktree), '');

    const result = await runGate({ ...options(['typecheck', 'test', 'lint']), run: recordedNx(NX_RUNS.typecheckFailsTestSkipped) });

    expect(result.ok).toBe(false);
    expect(result.targets.map(({ target, ok, exitCode, skipped, durationMs }) => ({ target, ok, exitCode, skipped, durationMs }))).toEqual([
      { target: 'typecheck', ok: false, exitCode: null, skipped: undefined, durationMs: 1540 },
      { target: 'test', ok: false, exitCode: null, skipped: { because: ['orders:typecheck'] }, durationMs: 0 },
      { target: 'lint', ok: true, exitCode: 0, skipped: undefined, durationMs: 2210 },
    ]);
    const [typecheck, test] = result.targets;
    expect(typecheck.output).toContain("src/index.ts(3,9): error TS2322: Type 'string' is not assignable to type 'number'.");
    // The typecheck's errors are under its own name: the skipped test names it and quotes nothing.
    expect(test.output).toBe('[fanout] nx did not run orders:test: a task it depends on failed (orders:typecheck).\n');
    const log = readFileSync(logFile, 'utf-8');
    expect(log).toContain('[fanout] gate: orders:typecheck failed in 1.5s\n');
    expect(log).toContain('[fanout] gate: orders:test not run because typecheck failed\n');

    const message = feedbackMessage({ round: 1, gate: result });
    expect(message).toContain(
      "nx run orders:typecheck failed:\nsrc/index.ts(3,9): error TS2322: Type 'string' is not assignable to type 'number'.",
    );
    expect(message).toContain('nx run orders:test was not run because typecheck failed.');
    expect(message.match(/error TS2322/g)).toHaveLength(1);
    expect(`${message}\n${log}\n${JSON.stringify(result)}`).not.toMatch(/\b130\b/);
  });

  it('sends a jest failure once when the target Nx skipped because of it would quote it again', async () => {
    mkdirSync(join(worktree, 'node_modules', '.bin'), { recursive: true });
    writeFileSync(gateNxBinary(worktree), '');

    const result = await runGate({ ...options(['test', 'e2e']), run: recordedNx(NX_RUNS.testFailsE2eSkipped) });

    expect(result.targets.map(({ target, ok, exitCode, skipped }) => ({ target, ok, exitCode, skipped }))).toEqual([
      { target: 'test', ok: false, exitCode: null, skipped: undefined },
      { target: 'e2e', ok: false, exitCode: null, skipped: { because: ['orders:test'] } },
    ]);
    const message = feedbackMessage({ round: 1, gate: result });
    expect(message).toContain(
      'nx run orders:test failed:\nFAIL src/index.spec.ts\n\n  ● Test suite failed to run\n\n    src/index.spec.ts:5:7 - error TS2322',
    );
    expect(message).toContain('nx run orders:e2e was not run because test failed.');
    expect(message.match(/Test suite failed to run/g)).toHaveLength(1);
    expect(message.match(/error TS2322/g)).toHaveLength(1);
    expect(message).not.toContain(SAME_ERROR);
    expect(message).toContain('these must pass: nx run orders:test, nx run orders:e2e.');
  });

  it('records the exit code a failed target states, and none where it states none', async () => {
    mkdirSync(join(worktree, 'node_modules', '.bin'), { recursive: true });
    writeFileSync(gateNxBinary(worktree), '');
    const pnpmTest = TEST_FAILED.replace('> npm run jest', '> pnpm run jest').replace(
      'Warning: command "npm run jest"',
      ' ELIFECYCLE  Command failed with exit code 1.\nWarning: command "pnpm run jest"',
    );
    const recorded = { ...NX_RUNS.testFailsE2eSkipped, stdout: nxOutput([pnpmTest], 'test, e2e') };

    const result = await runGate({ ...options(['test', 'e2e']), run: recordedNx(recorded) });

    expect(result.targets.map(({ target, exitCode }) => ({ target, exitCode }))).toEqual([
      { target: 'test', exitCode: 1 },
      { target: 'e2e', exitCode: null },
    ]);
    expect(readFileSync(logFile, 'utf-8')).toContain('[fanout] gate: orders:test failed (exit code 1) in 2.0s\n');
    expect(feedbackMessage({ round: 1, gate: result })).toContain('nx run orders:test failed (exit code 1):\n');
  });

  it('fails every target with what Nx said when it stops before running any', async () => {
    writeFakeNx(gateNxBinary(worktree));

    const result = await runGate({ ...options(['typecheck', 'test']), project: 'broken' });

    expect(result.ok).toBe(false);
    // Nx's exit code is the whole run's: neither target has one of its own.
    expect(result.targets.map(({ target, ok, exitCode }) => ({ target, ok, exitCode }))).toEqual([
      { target: 'typecheck', ok: false, exitCode: null },
      { target: 'test', ok: false, exitCode: null },
    ]);
    for (const target of result.targets) {
      expect(target.output).toContain(`[fanout] nx did not run broken:${target.target}; what it printed:`);
      expect(target.output).toContain('Could not find project "broken"');
    }
  });

  it('passes when every target passes, and runs nothing for no targets', async () => {
    writeFakeNx(gateNxBinary(worktree));
    const passed = await runGate(options(['test', 'lint']));
    expect(passed.ok).toBe(true);

    const { run, calls } = runner([]);
    expect(await runGate({ ...options([]), worktree: join(dir, 'no-such-worktree'), run })).toEqual({
      ok: true,
      project: 'orders',
      targets: [],
    });
    expect(calls).toEqual([]);
  });

  it("gives nx the gate's time, and records every target as timed out when it runs out", async () => {
    mkdirSync(join(worktree, 'node_modules', '.bin'), { recursive: true });
    writeFileSync(gateNxBinary(worktree), '');
    const { run, calls } = runner([
      {
        exitCode: null,
        signal: 'SIGTERM',
        timedOut: true,
        stdout: '\n> nx run orders:typecheck\n\nok\n\n> nx run orders:test\n\nPASS src/a.spec.ts\n',
      },
    ]);

    const result = await runGate({ ...options(['typecheck', 'test', 'lint']), run });

    expect(calls.map((call) => call.argv)).toEqual([gateArgv(gateNxBinary(worktree), 'orders', ['typecheck', 'test', 'lint'])]);
    expect(calls[0].options.timeoutMs).toBe(60_000);
    expect(calls[0].options.cwd).toBe(worktree);
    expect(calls[0].options.env['NX_PROFILE']).toBe(relative(realpathSync(worktree), join(realpathSync(dir), 'gate-profile.json')));
    expect(result.ok).toBe(false);
    expect(result.targets.map(({ target, ok, timedOut }) => ({ target, ok, timedOut }))).toEqual([
      { target: 'typecheck', ok: false, timedOut: true },
      { target: 'test', ok: false, timedOut: true },
      { target: 'lint', ok: false, timedOut: true },
    ]);
    expect(result.targets[1].output).toBe(
      "> nx run orders:test\n\nPASS src/a.spec.ts\n\n[fanout] stopped: the gate's time (60.0s) ran out during orders:test's run.",
    );
  });

  it('says what to do when the workspace has no nx to run, and never runs in the workspace itself', async () => {
    await expect(runGate(options(['typecheck']))).rejects.toThrow(
      `cannot run orders's typecheck in its worktree: ${gateNxBinary(worktree)} does not exist. Install the workspace's dependencies`,
    );
    await expect(runGate(options(['typecheck']))).rejects.toThrow('gate: [] in fanout.md');
    await expect(runGate({ ...options(['typecheck']), worktree: join(dir, 'workspace') })).rejects.toThrow(
      'runs in its worktree, never in the workspace itself',
    );
  });
});

/**
 * A stand-in for nx in a real workspace: it records how it was started, and
 * where Nx's own code (the installed nx's cache-directory module, run in the
 * same process, cwd and environment) puts the workspace data and the cache, and
 * writes there as Nx would.
 */
function writeRecordingNx(bin: string): void {
  mkdirSync(join(bin, '..'), { recursive: true });
  writeFileSync(
    bin,
    `#!${process.execPath}
const fs = require('fs');
const path = require('path');
const nx = require(process.env.FAKE_NX_DIRECTORIES);
fs.mkdirSync(nx.workspaceDataDirectory, { recursive: true });
fs.writeFileSync(path.join(nx.workspaceDataDirectory, 'project-graph.json'), '{}');
const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => key.startsWith('NX_') || key === 'FORCE_COLOR'));
fs.appendFileSync(process.env.FAKE_NX_RECORD, JSON.stringify({
  cwd: process.cwd(), bin: process.argv[1], argv: process.argv.slice(2), env,
  cacheDir: nx.cacheDir, workspaceDataDirectory: nx.workspaceDataDirectory,
}) + '\\n');
if (process.argv[2] === 'run-many') {
  const targets = process.argv.find((arg) => arg.startsWith('--targets=')).slice('--targets='.length).split(',');
  const profile = [];
  for (const target of targets) {
    console.log('> nx run orders:' + target);
    if (target === 'test') {
      for (let line = 0; line < 1000; line++) console.log('  noise line ' + line + ' '.repeat(40));
      console.log('token in a failing test: ' + process.env.FANOUT_GATE_TOKEN);
      console.log('src/index.spec.ts:5:27 - error: expected 2, received 3');
    }
    profile.push({ name: 'orders:' + target, ph: 'X', dur: 1000, args: { status: target === 'test' ? 'failure' : 'success' } });
  }
  fs.writeFileSync(path.join(process.cwd(), process.env.NX_PROFILE), JSON.stringify(profile));
  // exitCode, not exit(): output to a pipe is written asynchronously, and exit() would drop its end.
  process.exitCode = 1;
}
`,
  );
  chmodSync(bin, 0o755);
}

describe('runGate in a real worktree', () => {
  let workspace: TestWorkspace;
  let home: string;
  beforeEach(() => {
    workspace = createWorkspace(['orders']);
    home = mkdtempSync(join(tmpdir(), 'fanout-gate-home-'));
  });
  afterEach(async () => {
    await removeWorktree(workspace.root, 'orders');
    workspace.remove();
    rmSync(home, { recursive: true, force: true });
  });

  it("runs the workspace's nx in the worktree, keeps Nx's data out of the user's workspace, and caps and redacts the output", async () => {
    const root = workspace.root;
    write(root, 'nx.json', '{}\n');
    gitIn(root, 'add', '-A');
    gitIn(root, 'commit', '-q', '-m', 'nx.json');
    writeRecordingNx(join(root, 'node_modules', '.bin', 'nx'));
    const record = join(workspace.scripts, 'nx-calls.jsonl');
    const secret = 'gate-secret-value-0123456789';
    // What an outer nx task hands fanout: its own variables, and the user's workspace's Nx data folders.
    const env: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      HOME: home,
      FAKE_NX_RECORD: record,
      FAKE_NX_DIRECTORIES: require.resolve('nx/src/utils/cache-directory'),
      FANOUT_GATE_TOKEN: secret,
      NX_DAEMON: 'true',
      NX_TASK_TARGET_PROJECT: 'orders',
      NX_WORKSPACE_ROOT_PATH: root,
      NX_INVOCATION_ROOT_PID: '4242',
      NX_WORKSPACE_DATA_DIRECTORY: join(root, '.nx', 'workspace-data'),
      NX_PROJECT_GRAPH_CACHE_DIRECTORY: join(root, '.nx', 'workspace-data'),
      NX_CACHE_DIRECTORY: join(root, '.nx', 'cache'),
    };
    const worktree = await createWorktree(root, 'orders');
    const logFile = join(workspace.scripts, 'session.log');
    writeFileSync(logFile, '');

    const result = await runGate({
      worktree: worktree.path,
      workspaceRoot: root,
      project: 'orders',
      targets: ['typecheck', 'test'],
      env,
      timeoutMs: 120_000,
      logFile,
      echo: false,
      redact: createRedactor(env),
    });

    const calls = readFileSync(record, 'utf-8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line));
    expect(calls).toHaveLength(1);
    const own = realpathSync(worktree.path);
    expect(calls[0].cwd).toBe(own);
    expect(calls[0].bin).toBe(gateNxBinary(worktree.path));
    expect(calls[0].argv).toEqual([
      'run-many',
      '--targets=typecheck,test',
      '--projects=orders',
      '--outputStyle=static',
      '--skipSync',
      '--parallel=1',
    ]);
    expect(calls[0].env).toEqual({
      NX_DAEMON: 'false',
      NX_TUI: 'false',
      NX_SKIP_LOG_GROUPING: 'true',
      FORCE_COLOR: '0',
      NX_ISOLATE_PLUGINS: 'false',
      NX_PROFILE: relative(own, join(realpathSync(workspace.scripts), 'gate-profile.json')),
    });
    // Nx's data: the project graph in the worktree, nothing in the user's workspace's .nx ...
    expect(calls[0].workspaceDataDirectory).toBe(join(own, '.nx', 'workspace-data'));
    expect(existsSync(join(own, '.nx', 'workspace-data', 'project-graph.json'))).toBe(true);
    expect(existsSync(join(root, '.nx'))).toBe(false);
    // ... and the cache the workspace itself uses under Nx's default layout, outside both.
    execFileSync(join(root, 'node_modules', '.bin', 'nx'), ['run', 'probe:cache'], {
      cwd: root,
      env: { PATH: process.env.PATH, HOME: home, FAKE_NX_RECORD: record, FAKE_NX_DIRECTORIES: env.FAKE_NX_DIRECTORIES },
    });
    const workspaceCache = JSON.parse(readFileSync(record, 'utf-8').trim().split('\n')[1]).cacheDir;
    expect(calls[0].cacheDir).toBe(workspaceCache);
    expect(calls[0].cacheDir.startsWith(join(home, '.nx'))).toBe(true);

    expect(result.ok).toBe(false);
    expect(result.targets.map(({ target, ok }) => ({ target, ok }))).toEqual([
      { target: 'typecheck', ok: true },
      { target: 'test', ok: false },
    ]);
    const output = result.targets[1].output;
    expect(output.length).toBeLessThanOrEqual(GATE_OUTPUT_CHARS + 100);
    expect(output).toMatch(
      new RegExp(
        `^\\[fanout\\] only the last ${GATE_OUTPUT_CHARS} characters of the output are kept here; the session log has more\n {2}noise line \\d+`,
      ),
    );
    expect(output).not.toContain('noise line 0 ');
    expect(output).toContain('src/index.spec.ts:5:27 - error: expected 2, received 3');
    expect(output).toContain('token in a failing test: [REDACTED]');
    expect(output).not.toContain(secret);
    const log = readFileSync(logFile, 'utf-8');
    expect(log).toContain('noise line 0 ');
    expect(log).toContain('token in a failing test: [REDACTED]');
    expect(log).not.toContain(secret);
  });
});

describe("taskOutputs: each task's part of nx's static output", () => {
  it('splits at the task headings, coloured or not, scoped names included, and stops at Nx summary', () => {
    const bold = (text: string) => `\x1b[1m${text}\x1b[22m`;
    const stdout = [
      bold('> nx run @shop/shop:test'),
      '',
      ' FAIL  src/app/pages.spec.tsx',
      '  ● pages › gives every page its own path',
      '> nx run orders:lint  [local cache]',
      'all good',
      '',
      `${bold(' NX ')}  Ran targets test, lint for 2 projects`,
      'after the summary',
    ].join('\n');
    const outputs = taskOutputs(stdout);
    expect([...outputs.keys()]).toEqual(['@shop/shop:test', 'orders:lint']);
    expect(outputs.get('@shop/shop:test')).toContain('● pages › gives every page its own path');
    expect(outputs.get('orders:lint')).not.toContain('after the summary');
  });
});

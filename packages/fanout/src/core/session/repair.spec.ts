import { runAndLand } from '../../testing/run-and-land';
import { chmodSync, existsSync, readFileSync } from 'fs';
import { join } from 'path';
import { resultLine } from '../../executors/run/run';
import { agentScript, commandTask, createWorkspace, gitIn, sessionSpec, write, type TestWorkspace } from '../../testing/git-workspace';

/**
 * Repair rounds, end to end in one session: real worktrees, a scripted command
 * agent, and a gate that runs an `nx` in the worktree's node_modules/.bin (a
 * small script standing in for the workspace's Nx: it fails `typecheck` while a
 * source of the project holds a value of the wrong type, as tsc would, and
 * passes every other target).
 */
const FAKE_NX = `#!/usr/bin/env node
const fs = require('fs');
const path = require('path');
const [, , verb, ...args] = process.argv;
const arg = (name) => (args.find((a) => a.startsWith('--' + name + '=')) || '').slice(name.length + 3);
const project = arg('projects');
// <workspace>/.fanout/worktrees/<project> is where it runs: it logs each call in <workspace>/.fanout.
const fanoutDir = path.join(process.cwd(), '..', '..');
fs.appendFileSync(path.join(fanoutDir, 'gate-calls.log'), arg('targets') + ' ' + process.cwd() + '\\n');
if (fs.existsSync(path.join(fanoutDir, 'slow-gate'))) { const until = Date.now() + 3000; while (Date.now() < until) {} }
if (verb !== 'run-many') process.exit(2);
const profile = [];
let failed = false;
for (const target of arg('targets').split(',')) {
  console.log('> nx run ' + project + ':' + target);
  let ok = true;
  if (target === 'typecheck') {
    const dir = path.join('libs', project, 'src');
    for (const file of fs.readdirSync(dir)) {
      const lines = fs.readFileSync(path.join(dir, file), 'utf-8').split('\\n');
      lines.forEach((line, index) => {
        if (line.includes("= 'one'")) {
          console.log(dir + '/' + file + '(' + (index + 1) + ",14): error TS2322: Type 'string' is not assignable to type 'number'.");
          ok = false;
        }
      });
    }
  }
  profile.push({ name: project + ':' + target, ph: 'X', dur: 1000, args: { status: ok ? 'success' : 'failure' } });
  failed = failed || !ok;
}
if (failed) console.error(' NX   Running targets for project ' + project + ' failed');
fs.writeFileSync(path.join(process.cwd(), process.env.NX_PROFILE), JSON.stringify(profile));
if (failed) process.exitCode = 1;
`;

describe('repair rounds', () => {
  let ws: TestWorkspace;

  // Real processes and git on a shared machine: a generous bound, not a speed requirement.
  jest.setTimeout(120_000);

  beforeEach(() => {
    ws = createWorkspace(['orders']);
    write(ws.root, 'node_modules/.bin/nx', FAKE_NX);
    chmodSync(join(ws.root, 'node_modules/.bin/nx'), 0o755);
  });
  afterEach(() => ws.remove());

  const gate = { run: ['typecheck', 'test'], missing: [] };
  const read = (file: string) => readFileSync(join(ws.root, file), 'utf-8');

  /**
   * A command agent that writes `count = 'one'` (a type error) in its first run, and in a
   * repair round reads the feedback it was given and writes `count = 1`. It records what
   * each run saw: FANOUT_ROUND, FANOUT_FEEDBACK_FILE and the {feedbackFile} argument.
   */
  const learner = () =>
    agentScript(
      ws,
      'learner',
      `const round = process.env.FANOUT_ROUND;
       const feedback = process.env.FANOUT_FEEDBACK_FILE ? fs.readFileSync(process.env.FANOUT_FEEDBACK_FILE, 'utf-8') : '';
       fs.appendFileSync(path.join(${JSON.stringify(ws.scripts)}, 'runs.json'), JSON.stringify({ round, argument: process.argv[2], env: process.env.FANOUT_FEEDBACK_FILE, feedback }) + '\\n');
       const fixed = feedback.includes('error TS2322');
       fs.writeFileSync('libs/orders/src/count.ts', fixed ? 'export const count: number = 1;\\n' : "export const count: number = 'one';\\n");`,
    );

  it('tells a command agent what failed, runs it again in the same worktree, and integrates once the gate passes', async () => {
    const script = learner();
    const result = await runAndLand(sessionSpec(ws.root, 'orders', commandTask(`node ${script} {feedbackFile}`), { gate }));

    expect(result.error).toBeUndefined();
    expect(result.status).toBe('succeeded');
    expect(read('libs/orders/src/count.ts')).toBe('export const count: number = 1;\n');

    const seen = readFileSync(join(ws.scripts, 'runs.json'), 'utf-8')
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { round: string; argument: string; env?: string; feedback: string });
    expect(seen.map((run) => run.round)).toEqual(['0', '1']);
    // Before any repair there is no feedback: an empty argument, no variable.
    expect(seen[0]).toMatchObject({ argument: '', feedback: '' });
    expect(seen[0].env).toBeUndefined();
    const feedbackFile = join(ws.root, '.fanout/sessions/orders/feedback.round-1.md');
    expect(seen[1]).toMatchObject({ argument: feedbackFile, env: feedbackFile });
    // The feedback quotes the error with its file and line, and says what passed.
    expect(seen[1].feedback).toContain("libs/orders/src/count.ts(1,14): error TS2322: Type 'string' is not assignable to type 'number'.");
    expect(seen[1].feedback).toContain('Repair round 1');
    expect(seen[1].feedback).toContain('Passed: orders:test.');
    expect(seen[1].feedback).not.toContain('> nx run');

    expect(result.rounds).toHaveLength(2);
    expect(
      result.rounds?.map((round) => ({ round: round.round, failed: round.failed, gate: round.gate.map((g) => [g.target, g.ok]) })),
    ).toEqual([
      {
        round: 0,
        failed: 'gate',
        gate: [
          ['typecheck', false],
          ['test', true],
        ],
      },
      {
        round: 1,
        failed: undefined,
        gate: [
          ['typecheck', true],
          ['test', true],
        ],
      },
    ]);
    expect(result.rounds?.[0].feedbackFile).toBe(feedbackFile);
    expect(result.timings?.gateMs).toBeGreaterThan(0);
    // The gate ran in the session's worktree, never in the workspace.
    const calls = read('.fanout/gate-calls.log').trim().split('\n');
    // One nx per round, for all the gate's targets.
    expect(calls).toEqual([0, 1].map(() => `typecheck,test ${join(ws.root, '.fanout/worktrees/orders')}`));
    expect(resultLine(result)).toMatch(
      /^✔ orders: command session recorded after 2 rounds: 1 file\(s\) in [\d.]+ s, passing typecheck, test$/,
    );
  });

  it('fails a session still wrong after its repair rounds with the last output, keeps its worktree and integrates nothing', async () => {
    const script = agentScript(ws, 'stubborn', `fs.writeFileSync('libs/orders/src/count.ts', "export const count: number = 'one';\\n");`);
    const result = await runAndLand(sessionSpec(ws.root, 'orders', commandTask(`node ${script}`, 'repairs: 1\n'), { gate }));

    expect(result.status).toBe('failed');
    expect(result.rounds?.map((round) => round.failed)).toEqual(['gate', 'gate']);
    expect(result.error).toContain('does not pass orders:typecheck in its worktree; nothing was recorded (still, after 1 repair round)');
    expect(result.error).toContain('libs/orders/src/count.ts(1,14): error TS2322');
    expect(result.gate?.targets.find((target) => target.target === 'typecheck')).toMatchObject({ ok: false, exitCode: null });
    expect(result.worktree).toBe(join(ws.root, '.fanout/worktrees/orders'));
    expect(existsSync(join(ws.root, '.fanout/worktrees/orders/libs/orders/src/count.ts'))).toBe(true);
    expect(existsSync(join(ws.root, 'libs/orders/src/count.ts'))).toBe(false);
  });

  it('gives a scope violation a round too: the agent is told to undo it, and the session lands once it has', async () => {
    const script = agentScript(
      ws,
      'trespasser',
      `fs.writeFileSync('libs/orders/src/orders.ts', 'export const orders = 1;\\n');
       if (process.env.FANOUT_ROUND === '0') fs.writeFileSync('libs/users/src/index.ts', 'export const USERS = 1;\\n');
       else if (fs.readFileSync(process.env.FANOUT_FEEDBACK_FILE, 'utf-8').includes('libs/users/src/index.ts'))
         cp.execFileSync('git', ['checkout', 'HEAD', '--', 'libs/users/src/index.ts']);`,
    );
    const result = await runAndLand(sessionSpec(ws.root, 'orders', commandTask(`node ${script}`), { gate }));

    expect(result.error).toBeUndefined();
    expect(result.rounds?.map((round) => round.failed)).toEqual(['scope', undefined]);
    // The gate never ran over the rejected round: its work was not in scope.
    expect(result.rounds?.[0].gate).toEqual([]);
    expect(result.files.map((file) => file.path)).toEqual(['libs/orders/src/orders.ts']);
    expect(read('libs/users/src/index.ts')).toBe("export const USERS = 'users';\n");
  });

  it('gives the pattern agent no repair round: its output passes the gate or the session fails', async () => {
    // The reference holds the type error; the pattern agent copies it.
    write(ws.root, 'libs/users/src/index.ts', "export const count: number = 'one';\n");
    const fanoutMd = `---\nlike: users\ncontracts: contracts\n---\n\nBuild it.\n`;
    const result = await runAndLand(sessionSpec(ws.root, 'orders', fanoutMd, { gate }));

    expect(result.status).toBe('failed');
    expect(result.rounds).toHaveLength(1);
    expect(result.error).toContain('does not pass orders:typecheck');
    expect(result.error).not.toContain('repair round');
  });

  it('runs no gate when none is asked for, and with repairs: 0 fails at the first problem', async () => {
    const script = agentScript(ws, 'wrong', `fs.writeFileSync('libs/orders/src/count.ts', "export const count: number = 'one';\\n");`);
    const ungated = await runAndLand(sessionSpec(ws.root, 'orders', commandTask(`node ${script}`), { gate: { run: [], missing: [] } }));
    expect(ungated.status).toBe('succeeded');
    expect(ungated.rounds).toEqual([expect.objectContaining({ round: 0, gate: [] })]);

    const strict = await runAndLand(sessionSpec(ws.root, 'orders', commandTask(`node ${script}`, 'repairs: 0\n'), { gate }));
    expect(strict.status).toBe('failed');
    expect(strict.rounds).toHaveLength(1);
  });

  it('counts the gate against the session timeout: no repair round starts when the time is spent', async () => {
    write(ws.root, '.fanout/slow-gate', '');
    const script = agentScript(ws, 'wrong', `fs.writeFileSync('libs/orders/src/count.ts', "export const count: number = 'one';\\n");`);
    const result = await runAndLand(sessionSpec(ws.root, 'orders', commandTask(`node ${script}`, 'timeout: 2\n'), { gate }));
    expect(result.status).toBe('failed');
    expect(result.rounds).toHaveLength(1);
    expect(result.gate?.targets.map((target) => [target.target, target.timedOut])).toEqual([
      ['typecheck', true],
      ['test', true],
    ]);
    expect(result.error).toContain("(the session's time is spent: no repair round is left)");
  });

  it('runs the typecheck of the project whose wired file the session edited, and repairs an edit that breaks it before anything lands', async () => {
    write(ws.root, 'libs/shop/src/pages.ts', 'export const pages: number[] = [\n  1,\n];\n');
    gitIn(ws.root, 'add', '-A');
    gitIn(ws.root, 'commit', '-q', '-m', 'shop');
    const script = agentScript(
      ws,
      'wiring-learner',
      `const feedback = process.env.FANOUT_FEEDBACK_FILE ? fs.readFileSync(process.env.FANOUT_FEEDBACK_FILE, 'utf-8') : '';
       fs.writeFileSync('libs/orders/src/orders.ts', 'export const orders = 2;\\n');
       const entry = feedback.includes('libs/shop/src/pages.ts') ? '  2,' : "  x = 'one',";
       fs.writeFileSync('libs/shop/src/pages.ts', 'export const pages: number[] = [\\n  1,\\n' + entry + '\\n];\\n');`,
    );
    const result = await runAndLand(
      sessionSpec(ws.root, 'orders', commandTask(`node ${script}`, 'wire: [libs/shop/src/pages.ts]\n'), {
        gate,
        wired: [{ path: 'libs/shop/src/pages.ts', project: 'shop' }],
        wiredGate: [{ project: 'shop', targets: ['typecheck'] }],
      }),
    );

    expect(result.error).toBeUndefined();
    expect(result.rounds?.map((round) => round.gate.map((g) => [g.target, g.ok]))).toEqual([
      [
        ['typecheck', true],
        ['test', true],
        ['shop:typecheck', false],
      ],
      [
        ['typecheck', true],
        ['test', true],
        ['shop:typecheck', true],
      ],
    ]);
    expect(readFileSync(join(ws.root, '.fanout/sessions/orders/feedback.round-1.md'), 'utf-8')).toContain('libs/shop/src/pages.ts');
    expect(read('libs/shop/src/pages.ts')).toBe('export const pages: number[] = [\n  1,\n  2,\n];\n');
  });
});

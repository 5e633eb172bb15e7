// Fan-out efficiency: the real `nx run-many -t fanout` over 12 tasks whose agent
// (fanout's `command` agent running tools/bench-agent.mjs) waits 5 s and then
// writes its files, at --parallel 1, 4 and 12, against Nx alone running the same
// waits (an nx:run-commands target running the same script) at the same --parallel,
// measured side by side. By default Nx runs a fan-out's sessions in one process (the
// executor's batch implementation); the same run with --batch=false (a process per
// task, as before) is measured too. Then 64 tasks of 1 s at --parallel=8, in a
// workspace of their own. fanout's own overhead per session (worktree, context,
// checks, integration) comes from the phase timings every session records in its
// result.json. The gate is off (`gate: []` in the workspace's nx.json, from
// task-workspace.mjs): these figures are fanout's own overhead; gate.mjs measures the gate.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { median } from './stats.mjs';
import { createTaskWorkspace, nx, resetTaskWorkspace, SLEEP_MS, TASKS } from './task-workspace.mjs';

const PARALLEL = [1, 4, 12];
/** fanout within this factor of Nx alone at --parallel=4 (12 tasks of 5 s). */
const NX_RATIO_TARGET = 1.15;
const OVERHEAD_TARGETS = { 1: 300, 4: 500 };

/** 52 more task names for the 64-task workspace: plurals whose singular drops the s. */
const MORE_TASKS = (
  'anchors badges barrels beacons bottles buckets cables candles carts chairs clocks crates drums engines fences flags ' +
  'gates gloves hammers helmets hooks icons jackets kettles kites ladders lamps lanterns levers magnets mirrors nails ' +
  'nests ovens paddles pencils pipes plates pumps quilts rackets rails ropes saddles sails sensors tents tiles towers trays tunnels valves'
).split(' ');
const MANY_TASKS = [...TASKS, ...MORE_TASKS];
const MANY_SLEEP_MS = 1000;
const MANY_PARALLEL = 8;

function sessionResults(workspace, tasks) {
  return tasks.map((task) => JSON.parse(readFileSync(join(workspace, '.fanout', 'sessions', task, 'result.json'), 'utf-8')));
}

/** One run-many of `target` at --parallel=P from the committed state; its wall time in ms. */
function runOnce(workspace, target, parallel, extra = []) {
  resetTaskWorkspace(workspace);
  return nx(workspace, ['run-many', '-t', target, `--parallel=${parallel}`, '--skip-nx-cache', '--output-style=static', ...extra]);
}

/** The sessions of the last run, checked: every one succeeded, none ran the gate. */
function checkedSessions(workspace, tasks, what) {
  const results = sessionResults(workspace, tasks);
  const failed = results.filter((result) => result.status !== 'succeeded');
  if (failed.length > 0)
    throw new Error(`sessions failed (${what}): ${failed.map((result) => `${result.project}: ${result.error}`).join('; ')}`);
  const gated = results.filter((result) => result.gate !== undefined || result.timings.gateMs !== undefined);
  if (gated.length > 0)
    throw new Error(`the gate ran in ${gated.map((result) => result.project).join(', ')}: it must be off (gate: []) in this benchmark`);
  return results;
}

/** A session's own overhead: its duration less its agent's and any wait (stagger, lead; about 0 here). */
function overheads(results) {
  const inSession = results.map((result) => result.durationMs - result.timings.agentMs - (result.timings.waitMs ?? 0));
  const phase = (name) => Math.round(median(results.map((result) => result.timings[name])));
  return {
    median: median(inSession),
    phases: `worktree ${phase('worktreeMs')}, context ${phase('contextMs')}, checks ${phase('checksMs')}, integration ${phase('integrateMs')} ms`,
  };
}

export async function benchFanoutEfficiency({ workspace, scratch, pluginDir }) {
  const figures = [];
  const perSession = [];
  for (const parallel of PARALLEL) {
    // Side by side: Nx alone, then fanout, at the same --parallel.
    const nxAlone = runOnce(workspace, 'bench-sleep', parallel);
    const wall = runOnce(workspace, 'fanout', parallel);
    const results = checkedSessions(workspace, TASKS, `--parallel=${parallel}`);
    const ideal = Math.ceil(TASKS.length / parallel) * SLEEP_MS;
    const target = parallel === 4 ? NX_RATIO_TARGET : undefined;
    figures.push({
      bench: 'fan-out efficiency',
      figure: `nx run-many -t fanout, 12 tasks of 5 s, --parallel=${parallel}`,
      value: wall,
      unit: 'ms',
      baseline: { label: `Nx alone, the same 12 waits (nx:run-commands), --parallel=${parallel}`, value: nxAlone },
      target: target ? { text: `≤ ${target}× Nx alone`, met: wall / nxAlone <= target } : undefined,
      note: `one process for the run's sessions (Nx's batch mode, the default); ideal ceil(12/${parallel}) × 5 s = ${ideal / 1000} s: fanout ${Math.round((ideal / wall) * 100)} %, Nx alone ${Math.round((ideal / nxAlone) * 100)} % of it; one run each`,
    });
    const { median: overhead, phases } = overheads(results);
    perSession.push({
      bench: 'fan-out efficiency',
      figure: `fanout's overhead per session, --parallel=${parallel} (median)`,
      value: overhead,
      unit: 'ms',
      baseline: { label: "the agent's 5 s", value: SLEEP_MS },
      target: OVERHEAD_TARGETS[parallel]
        ? { text: `≤ ${OVERHEAD_TARGETS[parallel]} ms`, met: overhead <= OVERHEAD_TARGETS[parallel] }
        : undefined,
      note: `${phases} (the session's own phases, from its result.json; its share of the batch process's start is in the run's wall time above)`,
    });
    if (parallel === 4) {
      // The choice measured: a process per task, as Nx runs an executor without a batch implementation.
      const perProcess = runOnce(workspace, 'fanout', parallel, ['--batch=false']);
      const processResults = checkedSessions(workspace, TASKS, '--batch=false');
      figures.push({
        bench: 'fan-out efficiency',
        figure: 'nx run-many -t fanout --batch=false (a process per task), 12 tasks of 5 s, --parallel=4',
        value: perProcess,
        unit: 'ms',
        baseline: { label: 'Nx alone, --parallel=4', value: nxAlone },
        note: `each task starts its own executor process, loading Nx and the plugin; sessions' own overhead ${Math.round(overheads(processResults).median)} ms (median; ${overheads(processResults).phases})`,
      });
    }
  }
  resetTaskWorkspace(workspace);

  // 64 tasks of 1 s at --parallel=8, in a workspace of their own.
  const many = join(scratch, 'workspace-64');
  createTaskWorkspace(many, pluginDir, { tasks: MANY_TASKS, sleepMs: MANY_SLEEP_MS });
  const manyNx = runOnce(many, 'bench-sleep', MANY_PARALLEL);
  const manyWall = runOnce(many, 'fanout', MANY_PARALLEL);
  const manyResults = checkedSessions(many, MANY_TASKS, '64 tasks');
  const manyIdeal = Math.ceil(MANY_TASKS.length / MANY_PARALLEL) * MANY_SLEEP_MS;
  figures.push({
    bench: 'fan-out efficiency',
    figure: `nx run-many -t fanout, ${MANY_TASKS.length} tasks of 1 s, --parallel=${MANY_PARALLEL}`,
    value: manyWall,
    unit: 'ms',
    baseline: { label: `Nx alone, the same ${MANY_TASKS.length} waits, --parallel=${MANY_PARALLEL}`, value: manyNx },
    note: `ideal ${manyIdeal / 1000} s; sessions' own overhead ${Math.round(overheads(manyResults).median)} ms (median; ${overheads(manyResults).phases}); one run each`,
  });
  return [...figures, ...perSession];
}

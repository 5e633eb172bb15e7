// Fan-out efficiency: the real `nx run-many -t fanout` over 12 tasks whose agent
// (fanout's `command` agent running tools/bench-agent.mjs) waits 5 s and then
// writes its files, at --parallel 1, 4 and 12. Baseline: the ideal wall time,
// ceil(12 / P) × 5 s. fanout's own overhead per session (worktree, context, checks,
// integration) comes from the phase timings every session records in its result.json;
// Nx's task timings (NX_PROFILE) add the executor's start in its own process.
// The gate is off (`gate: []` in the workspace's nx.json, from task-workspace.mjs):
// these figures are fanout's own overhead; the gate benchmark (gate.mjs) measures it.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { median } from './stats.mjs';
import { nx, resetTaskWorkspace, SLEEP_MS, TASKS } from './task-workspace.mjs';

const PARALLEL = [1, 4, 12];

function sessionResults(workspace) {
  return TASKS.map((task) => JSON.parse(readFileSync(join(workspace, '.fanout', 'sessions', task, 'result.json'), 'utf-8')));
}

/** Task durations (ms) from an NX_PROFILE trace, by project. */
function taskDurations(profile) {
  const events = JSON.parse(readFileSync(profile, 'utf-8'));
  return new Map(
    events.filter((event) => event.ph === 'X' && event.args?.target).map((event) => [event.args.target.project, event.dur / 1000]),
  );
}

/** One run-many of `target` at --parallel=P from the committed state, with Nx's trace. */
function runOnce(workspace, target, parallel) {
  resetTaskWorkspace(workspace);
  // Nx writes the trace relative to the workspace root, whatever the path.
  const profile = `.nx/bench-profile-${target}-${parallel}.json`;
  rmSync(join(workspace, profile), { force: true });
  const wallMs = nx(workspace, ['run-many', '-t', target, `--parallel=${parallel}`, '--skip-nx-cache', '--output-style=static'], {
    NX_PROFILE: profile,
  });
  return { wallMs, tasks: taskDurations(join(workspace, profile)) };
}

export async function benchFanoutEfficiency({ workspace }) {
  const figures = [];
  const overheads = [];
  for (const parallel of PARALLEL) {
    const ideal = Math.ceil(TASKS.length / parallel) * SLEEP_MS;
    const { wallMs, tasks } = runOnce(workspace, 'fanout', parallel);
    const results = sessionResults(workspace);
    const failed = results.filter((result) => result.status !== 'succeeded');
    if (failed.length > 0)
      throw new Error(
        `sessions failed at --parallel=${parallel}: ${failed.map((result) => `${result.project}: ${result.error}`).join('; ')}`,
      );
    const gated = results.filter((result) => result.gate !== undefined || result.timings.gateMs !== undefined);
    if (gated.length > 0)
      throw new Error(`the gate ran in ${gated.map((result) => result.project).join(', ')}: it must be off (gate: []) in this benchmark`);
    // Waiting (stagger, lead) is no work of fanout's; the bench agent has no lead, so it is about 0.
    const waited = (result) => result.timings.waitMs ?? 0;
    const inSession = results.map((result) => result.durationMs - result.timings.agentMs - waited(result));
    const phase = (name) => Math.round(median(results.map((result) => result.timings[name])));
    const perTask = results.map((result) => (tasks.get(result.project) ?? Number.NaN) - result.timings.agentMs - waited(result));
    const efficiency = ideal / wallMs;
    figures.push({
      bench: 'fan-out efficiency',
      figure: `wall time, 12 tasks of 5 s, --parallel=${parallel}`,
      value: wallMs,
      unit: 'ms',
      baseline: { label: `ideal ceil(12/${parallel}) × 5 s`, value: ideal },
      target: parallel === 4 ? { text: 'efficiency ≥ 90 %', met: efficiency >= 0.9 } : undefined,
      note: `efficiency ${(efficiency * 100).toFixed(0)} % (ideal / wall); one run`,
    });
    overheads.push({
      bench: 'fan-out efficiency',
      figure: `fanout's overhead per session, --parallel=${parallel} (median)`,
      value: median(inSession),
      unit: 'ms',
      baseline: { label: "the agent's 5 s", value: SLEEP_MS },
      target: { text: '≤ 300 ms', met: median(inSession) <= 300 },
      note:
        `worktree ${phase('worktreeMs')}, context ${phase('contextMs')}, checks ${phase('checksMs')}, integration ${phase('integrateMs')} ms; ` +
        `with the executor's own process start: ${Math.round(median(perTask))} ms per task (NX_PROFILE)`,
    });
  }
  // Nx alone at the target's parallelism: the same agent wait as an nx:run-commands target.
  const nxAlone = runOnce(workspace, 'bench-sleep', 4);
  const ideal = Math.ceil(TASKS.length / 4) * SLEEP_MS;
  figures.push({
    bench: 'fan-out efficiency',
    figure: 'Nx alone: nx:run-commands waiting 5 s, 12 tasks, --parallel=4',
    value: nxAlone.wallMs,
    unit: 'ms',
    baseline: { label: 'ideal ceil(12/4) × 5 s', value: ideal },
    note: `efficiency ${((ideal / nxAlone.wallMs) * 100).toFixed(0)} %: what Nx's own start and scheduling cost, without fanout`,
  });
  resetTaskWorkspace(workspace);
  return [...figures, ...overheads];
}

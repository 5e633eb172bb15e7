// Cache replay: `nx run-many -t fanout` over 12 tasks whose sessions are all in
// Nx's cache, from a fresh checkout: every session's record is restored from the
// cache (fanout-session) and landed (fanout, never cached: it writes the files),
// against the same run of a cached no-op nx:run-commands target over the same 12 projects.
// Alternated with both: the same replay with fanout's batch implementation replaced by
// one that does nothing, which is what Nx's batch process alone costs a replay.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { median } from './stats.mjs';
import { nx, resetTaskWorkspace, TASKS } from './task-workspace.mjs';
import { run, workspaceEnv } from './plugin.mjs';

const REPETITIONS = 11;

/**
 * A batch implementation that loads nothing and reports every task done at once, then
 * ends its process as soon as its results have gone out (as fanout's batch does): what
 * any batch process costs a replay, whatever it does.
 */
const BARE_BATCH = `"use strict";
exports.default = async function* (taskGraph) {
  for (const task of Object.keys(taskGraph.tasks)) yield { task, result: { success: true, terminalOutput: '' } };
  const send = process.send;
  process.send = function (message) {
    process.send = send;
    return send.call(process, message, (error) => { if (!error) process.exit(0); });
  };
};
`;

/**
 * Runs `work` with the installed plugin's batch implementation replaced by BARE_BATCH; puts it back
 * after. A bench killed meanwhile leaves it replaced until the next run installs the plugin again.
 */
function withBareBatch(workspace, work) {
  const file = join(workspace, 'node_modules', 'fanout', 'dist', 'executors', 'run', 'batch.js');
  const original = readFileSync(file);
  writeFileSync(file, BARE_BATCH);
  try {
    return work();
  } finally {
    writeFileSync(file, original);
  }
}

/**
 * run-many of `target` over the tasks from the committed state; fails unless every cacheable
 * task came from the cache (`cached` of `total`: the fanout run has 12 sessions, replayed, and 12 landings).
 */
function replay(workspace, target, cachedTasks = TASKS.length, totalTasks = TASKS.length) {
  resetTaskWorkspace(workspace);
  // A fresh clone has no .fanout/ (git clean keeps it: it is ignored): nothing landed here yet.
  rmSync(join(workspace, '.fanout'), { recursive: true, force: true });
  // What the run before left to write back to the disk is written now, not during this run.
  spawnSync('sync');
  const started = performance.now();
  const output = run(
    process.execPath,
    [
      join(workspace, 'node_modules', 'nx', 'dist', 'bin', 'nx.js'),
      'run-many',
      '-t',
      target,
      `--parallel=${TASKS.length}`,
      '--output-style=static',
    ],
    { cwd: workspace, env: workspaceEnv() },
  );
  const wallMs = performance.now() - started;
  const cached = /Nx read the output from the cache instead of running the command for (\d+) out of (\d+) tasks/.exec(output);
  if (!cached || cached[1] !== String(cachedTasks) || cached[2] !== String(totalTasks)) {
    throw new Error(`nx run-many -t ${target}: expected ${cachedTasks} of ${totalTasks} tasks from the cache:\n${output}`);
  }
  return wallMs;
}

export async function benchCacheReplay({ workspace }) {
  // Fills the cache (the fan-out benchmark ran with --skip-nx-cache): one real run of each.
  resetTaskWorkspace(workspace);
  nx(workspace, ['run-many', '-t', 'fanout', 'bench-noop', `--parallel=${TASKS.length}`]);
  const fanout = [];
  const noop = [];
  const bare = [];
  for (let index = 0; index < REPETITIONS; index++) {
    noop.push(replay(workspace, 'bench-noop'));
    bare.push(withBareBatch(workspace, () => replay(workspace, 'fanout', TASKS.length, 2 * TASKS.length)));
    fanout.push(replay(workspace, 'fanout', TASKS.length, 2 * TASKS.length));
    const landed = TASKS.every((task) => existsSync(join(workspace, 'libs', task, 'src', 'lib', `${task}.handler.ts`)));
    if (!landed) throw new Error("the replay did not land the sessions' files (libs/<task>/src/lib/<task>.handler.ts)");
  }
  resetTaskWorkspace(workspace);
  const value = median(fanout);
  const baseline = median(noop);
  const floor = median(bare);
  const runs = (values) => values.map((ms) => Math.round(ms)).join(', ');
  return [
    {
      bench: 'cache replay',
      figure: 'nx run-many -t fanout, 12 sessions from the cache, each landed',
      value,
      unit: 'ms',
      baseline: { label: 'the same run of a cached no-op target', value: baseline },
      target: { text: 'ratio ≤ 1.3', met: value / baseline <= 1.3 },
      note:
        `each session's record restored from the cache and landed by the uncached fanout target, its files written ` +
        `(fresh checkout before each run); whole CLI run, wall; median of ${REPETITIONS}, runs alternated with the no-op ` +
        `and with the replay of a batch that does nothing (below); fanout's own share, above that one: ${Math.round(value - floor)} ms ` +
        `(fanout ${runs(fanout)} ms; no-op ${runs(noop)} ms)`,
    },
    {
      bench: 'cache replay',
      figure: "the same replay, fanout's batch replaced by one that does nothing (Nx's batch process alone)",
      value: floor,
      unit: 'ms',
      baseline: { label: 'the same run of a cached no-op target', value: baseline },
      note:
        `the installed plugin's batch implementation replaced, for these runs only, by one that loads nothing, reports every ` +
        `task done and ends its process once its results have gone out: the sessions' records are restored as in the replay, ` +
        `nothing is landed; what starting Nx's batch process for the landings costs any replay (${runs(bare)} ms)`,
    },
  ];
}

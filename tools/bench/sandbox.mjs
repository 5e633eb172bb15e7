// The sandbox's cost per session: the real `nx run-many -t fanout` over the 12 tasks of the
// task workspace (fanout's `command` agent running tools/bench-agent.mjs, here for 1 s), with
// --sandbox=on against --sandbox=off, at --parallel 1 and 4, alternated. Each session's duration
// comes from its result.json; the figure is the median sandboxed session less the median
// unsandboxed one, so it holds everything the sandbox adds: starting the runner, loading and setting
// up the library, wrapping the command, bubblewrap's start, and the runner's end.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { median } from './stats.mjs';
import { nx, REFERENCE, resetTaskWorkspace, TASKS } from './task-workspace.mjs';

const PARALLEL = [1, 4];
/** Runs of the 12 tasks for each side and --parallel: 24 sessions a side. */
const RUNS = 2;
const AGENT_MS = 1000;
const TARGET_MS = 150;

/** One run-many of the 12 tasks at --parallel=P, sandboxed or not; each session's result.json, checked. */
function runSessions(workspace, parallel, sandbox) {
  resetTaskWorkspace(workspace);
  nx(workspace, [
    'run-many',
    '-t',
    'fanout',
    `--parallel=${parallel}`,
    `--sandbox=${sandbox}`,
    `--command=node tools/bench-agent.mjs ${AGENT_MS} libs/${REFERENCE} {projectRoot}`,
    '--skip-nx-cache',
    '--output-style=static',
  ]);
  return TASKS.map((task) => {
    const result = JSON.parse(readFileSync(join(workspace, '.fanout', 'sessions', task, 'result.json'), 'utf-8'));
    if (result.status !== 'succeeded') throw new Error(`the ${task} session failed (--sandbox=${sandbox}): ${result.error}`);
    if ((result.sandbox?.on ?? false) !== (sandbox === 'on')) {
      throw new Error(`the ${task} session ran ${result.sandbox?.on ? 'sandboxed' : 'unsandboxed'} with --sandbox=${sandbox}`);
    }
    if (result.sandbox?.denials?.length > 0) {
      throw new Error(
        `the sandbox denied the ${task} session ${JSON.stringify(result.sandbox.denials)}: the benchmark's agent needs nothing it denies`,
      );
    }
    return result;
  });
}

export async function benchSandbox({ workspace }) {
  const figures = [];
  for (const parallel of PARALLEL) {
    const sessions = { on: [], off: [] };
    // Alternated, each side first in turn, so that the machine's other work weighs on both alike.
    for (let run = 0; run < RUNS; run++) {
      for (const sandbox of run % 2 === 0 ? ['off', 'on'] : ['on', 'off']) {
        sessions[sandbox].push(...runSessions(workspace, parallel, sandbox));
      }
    }
    const duration = (results) => median(results.map((result) => result.durationMs));
    const agent = (results) => Math.round(median(results.map((result) => result.timings.agentMs)));
    const worktree = (results) => Math.round(median(results.map((result) => result.timings.worktreeMs)));
    const on = duration(sessions.on);
    const off = duration(sessions.off);
    const cost = on - off;
    figures.push({
      bench: 'sandbox',
      figure: `the sandbox's cost per session, --parallel=${parallel} (median sandboxed less median unsandboxed)`,
      value: cost,
      unit: 'ms',
      baseline: { label: 'the unsandboxed session (median)', value: off },
      target: { text: `≤ ${TARGET_MS} ms`, met: cost <= TARGET_MS },
      note:
        `${sessions.on.length} sessions a side (${RUNS} runs of ${TASKS.length}, alternated); an agent that waits ${AGENT_MS / 1000} s and writes its files; ` +
        `sandboxed ${Math.round(on)} ms (agent ${agent(sessions.on)}, worktree ${worktree(sessions.on)} ms), ` +
        `unsandboxed ${Math.round(off)} ms (agent ${agent(sessions.off)}, worktree ${worktree(sessions.off)} ms)`,
    });
  }
  resetTaskWorkspace(workspace);
  return figures;
}

// The figures, printed as they come and written to BENCHMARKS.md with the machine
// they were measured on. Every figure is reported against a baseline measured in
// the same run (ratio = figure / baseline) and, where there is one, its target.
import { readFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { repo, run } from './plugin.mjs';
import { formatMs } from './stats.mjs';

/** A figure's value in its unit: a duration (ms), or a count of tokens. */
function formatValue(figure, value) {
  return figure.unit === 'tokens' ? `${Math.round(value).toLocaleString('en-US')} tokens` : formatMs(value);
}

export function ratio(figure) {
  return figure.value / figure.baseline.value;
}

function verdict(figure) {
  if (!figure.target) return '';
  return figure.target.met ? 'met' : '**missed**';
}

export function printFigure(figure) {
  const cpu = figure.cpuMs === undefined ? '' : ` (CPU ${formatMs(figure.cpuMs)})`;
  const target = figure.target ? `  target ${figure.target.text}: ${figure.target.met ? 'met' : 'MISSED'}` : '';
  console.log(
    `  ${figure.bench} | ${figure.figure}: ${formatValue(figure, figure.value)}${cpu}  vs ${figure.baseline.label} ${formatValue(figure, figure.baseline.value)} ` +
      `= ${ratio(figure).toFixed(2)}×${target}\n    ${figure.note ?? ''}`,
  );
}

export function machine() {
  const commit = run('git', ['rev-parse', '--short', 'HEAD'], { cwd: repo }).trim();
  const dirty = run('git', ['status', '--porcelain'], { cwd: repo }).trim() !== '';
  return {
    cpu: cpus()[0]?.model ?? 'unknown',
    cores: cpus().length,
    memoryGb: Math.round(totalmem() / 1024 ** 3),
    node: process.version,
    git: run('git', ['version'], { cwd: repo })
      .trim()
      .replace(/^git version /, ''),
    commit: dirty ? `${commit} (with uncommitted changes)` : commit,
    load: loadavg()[0],
  };
}

export function renderReport({ figures, started, ended, host, loadAtEnd }) {
  const row = (figure) =>
    `| ${figure.bench} | ${figure.figure} | ${formatValue(figure, figure.value)}${figure.cpuMs === undefined ? '' : ` (CPU ${formatMs(figure.cpuMs)})`} | ` +
    `${figure.baseline.label}: ${formatValue(figure, figure.baseline.value)} | ${ratio(figure).toFixed(2)}× | ${figure.target?.text ?? ''} | ${verdict(figure)} |`;
  const notes = figures.filter((figure) => figure.note).map((figure) => `- **${figure.bench}, ${figure.figure}**: ${figure.note}`);
  const fixes = readFileSync(join(repo, 'tools', 'bench', 'fixes.md'), 'utf-8').trim();
  return `# Benchmarks

Written by \`npm run bench\` (tools/bench/run.mjs); run it again to measure your machine.

- **Measured**: ${started.toISOString()} to ${ended.toISOString()} (${Math.round((ended - started) / 60_000)} min)
- **Machine**: ${host.cpu}, ${host.cores} cores, ${host.memoryGb} GB, Node ${host.node}, git ${host.git}
- **Commit**: ${host.commit}
- **Load**: the machine was shared with other work while these figures were taken (1-minute load
  average ${host.load.toFixed(1)} at the start, ${loadAtEnd.toFixed(1)} at the end, on ${host.cores} cores), so wall times are noisy
  and higher than on an idle machine. Each figure is a median where repetitions are affordable; figures
  measured in-process also give their CPU time, which other processes disturb much less.

Ratio is the figure divided by its baseline, measured in the same run.

| Benchmark | Figure | Measured | Baseline (same run) | Ratio | Target | Met |
| --- | --- | --- | --- | --- | --- | --- |
${figures.map(row).join('\n')}

## Details

${notes.join('\n')}

## How each figure is measured

- **Fan-out efficiency**: a workspace made by fanout's own generators (contracts, the \`users\`
  reference, 12 tasks), the plugin built by \`nx build fanout\` and installed into its node_modules.
  Each task runs fanout's \`command\` agent on \`tools/bench-agent.mjs\`, which waits 5 s and then
  writes the reference's files renamed for its task, so every check and the integration have real
  work. The real \`nx run-many -t fanout --parallel=P --skip-nx-cache\` (no Nx daemon), timed from
  start to exit, right after Nx alone runs the same waits (\`bench-sleep\`, an \`nx:run-commands\`
  target running the same script without its files) at the same P: the baseline. By default Nx
  runs the sessions in one process (the executor's batch implementation); at P=4 the run is also
  timed with \`--batch=false\`, a process per task. fanout's overhead per session is the session's
  duration minus its agent's, from the phase timings in \`.fanout/sessions/<project>/result.json\`
  (\`timings\`: context, worktree, agent, checks, integration). Then 64 tasks of 1 s at P=8, in a
  workspace of their own made the same way, against Nx alone. The gate is off there (\`"gate": []\` in
  the fanout plugin's options in nx.json; the cache replay runs with the same setting): these figures
  are fanout's own work, and the gate's cost is the task's own targets, measured apart below.
- **Sandbox**: in the same workspace, \`nx run-many -t fanout --parallel=P --skip-nx-cache\` of the 12
  tasks with \`--sandbox=on\` and with \`--sandbox=off\`, alternated, two runs a side at P = 1 and 4
  (24 sessions a side), the agent told (\`--command\`) to wait 1 s before it writes its files. Each
  session's duration comes from its result.json, which also says whether it ran sandboxed. The figure
  is the median sandboxed session less the median unsandboxed one: all the sandbox adds to a session
  (the runner's start, the library's setup, the wrap, bubblewrap's start), against the unsandboxed
  session's median duration.
- **Gate**: in the same workspace, one task project given, as uncommitted changes the benchmark
  resets, the checks a real workspace has: \`test\` (Nx's jest plugin, which the generators
  configured), \`lint\` (Nx's ESLint plugin and flat configuration) and \`typecheck\` (\`tsc --noEmit\`
  of its tsconfigs, with the compiler options Nx's generators give a real workspace), and the files a
  session writes there. \`runGate\` from the built plugin runs them (one \`nx run-many\`, each
  target's time from Nx's task profile) in a fresh worktree made by \`createWorktree\` (not counted;
  removed after); the baseline is the same nx run-many in the workspace itself, in the gate's
  environment (no daemon).
  A worktree shares its workspace's Nx cache, so both sides always have the same cache conditions:
  first every target run, Nx's cache skipped in both (\`NX_SKIP_NX_CACHE\` for the gate,
  \`--skip-nx-cache\` in the workspace), then every target replayed from the cache in both (filled by
  one run in the workspace). Every run must pass every target and run or replay as intended. Besides
  wall time, the CPU time of all the processes each side started (from \`/proc\`: the children's user
  and system time), which the machine's other work disturbs far less.
- **Session start**: a generated workspace of 2,000 projects and 20,000 committed files, every project
  in tsconfig paths, the built plugin installed and 4 task projects with a \`fanout.md\` whose \`command\`
  agent (\`tools/start-agent.mjs\`) records when it started in a file of its project. The real
  \`nx run <task>:fanout\` (no daemon, the project graph cached as any earlier command leaves it),
  timed from the command's start to the agent's, against Nx alone: \`nx run <task>:bench-start\`, an
  \`nx:run-commands\` target running the same program, alternated. Then \`nx run-many -t fanout\` of the 4
  tasks at \`--parallel\` 1 and 4, three runs each, and fanout's overhead per session from their
  result.json: the median over the 12 sessions; each run alternated with Nx alone starting the same 4
  programs (\`bench-start\`) at the same \`--parallel\`, both timed whole with the CPU time of every
  process they started (from \`/proc\`), which says how much of the machine a run took.
- **Worktree setup**: \`createWorktree\` from the built plugin, in the same workspace, sparse as by
  default (keeping the task's project, the contracts, the reference and what they depend on), then
  with \`sparseCheckout: false\` (the whole workspace), and \`git worktree add\` of the same commit as
  the baseline; and, for keeping worktrees between runs, a kept sparse worktree brought back to HEAD.
- **Independence**: \`findIndependenceViolations\` from the built plugin on a synthetic, seeded graph:
  4,500 libraries in 10 layers, each depending on 3 of the layers below, and 500 tasks, each
  depending on the contracts and 3 libraries; no task graph edges between them (as with
  \`dependsOn: ["^fanout"]\` and no fanout target on libraries). In-process.
- **Attribution**: \`attributeFailures\` from the built plugin on a synthetic, seeded graph of the large
  workspace's shape: 2,000 libraries in \`libs/\`, each depending on 3 below it, and 20 apps depending on
  40 libraries each; 125, 250 and 500 sessions that each landed 10 files in a project of their own and
  edited one app's wired file; 20 failed tasks with 200 lines of output naming files. The baseline
  groups every session's files by project once. The time per session at each count shows it linear. In-process.
- **Cache replay**: the same workspace; the cache filled by one real run, then, from a fresh checkout
  each time (so the sessions' records are restored and their files landed, not left in place),
  \`nx run-many -t fanout\` (12 \`fanout-session\` tasks from the cache, 12 uncached landings that write
  the files, in one batch process) and the same run of a cached no-op \`nx:run-commands\` target
  (\`bench-noop\`) on the same 12 projects, alternated with a third run: the same replay with the
  installed plugin's batch implementation replaced by one that does nothing (every task reported done,
  nothing landed, the process ended once its results have gone out), which is what Nx's batch process
  alone costs a replay. Each run starts after \`sync\`, so none pays for writing back what the one
  before it left.
- **Checks**: 12 sessions of 20 files each (the reference's files renamed, and modules of the task's
  own that use the contract types), each in a folder with a copy of the contracts; one fresh Node
  process per pass, as every session runs in a process of its own; the baseline parses the same files
  with the same compiler, loaded as the checks load it (through V8's code cache), and nothing else.
- **Report**: \`writeReport\` from the built plugin over 50 and over 500 synthetic session results
  (each with files, timings, tokens, a diff, a finding now and then) in a scratch folder, in-process;
  the baseline reads and parses the same result.json files. A run writes the report once: at the end
  of its batch (the default), or, with \`--batch=false\`, when its last session ends (and once for
  each session that fails).
- **Prompt cache**: in the same workspace, the real Claude Code CLI (this repository's pinned
  devDependency) as \`agent: claude\` of 1, then 4 tasks (\`--parallel\` as many), against a model
  server on 127.0.0.1 that reports usage as a provider's prefix cache does (the e2e suite's
  \`prefix-cache.ts\`: tools, system prompt, then messages; prefixes written at cache breakpoints,
  readable once a response to them has begun), a fresh cache for each run. Each session writes one
  file and ends, in two requests. The figure is the cache writes (\`cacheWrite\` in the sessions'
  result.json) of the 4 sessions over those of one session alone: by default, then with
  \`sharedPrefix: false\` and \`leadWait: 0\`, the way sessions ran before.

## Fixes made for these targets

${fixes}
`;
}

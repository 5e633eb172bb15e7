// npm run bench: fanout's benchmarks, each against a baseline measured in the same run,
// printed as they are taken and written to BENCHMARKS.md. Not part of npm test.
//   node tools/bench/run.mjs                     every benchmark, BENCHMARKS.md written
//   node tools/bench/run.mjs --only=checks,independence   some, printed only
//   node tools/bench/run.mjs --plugin-dir=DIR    an already built plugin package instead of nx build
// Benchmarks: independence, attribution, checks, efficiency, gate, cache, worktree. Workspaces go to tmp/bench.
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { benchAttribution } from './attribution.mjs';
import { benchCacheReplay } from './cache-replay.mjs';
import { benchChecks } from './checks.mjs';
import { benchFanoutEfficiency } from './fanout-efficiency.mjs';
import { benchGate } from './gate.mjs';
import { benchIndependence } from './independence.mjs';
import { benchPromptCache } from './prompt-cache.mjs';
import { benchReportScale } from './report-scale.mjs';
import { benchRoot, buildPlugin, repo } from './plugin.mjs';
import { machine, printFigure, renderReport } from './report.mjs';
import { benchSandbox } from './sandbox.mjs';
import { createTaskWorkspace } from './task-workspace.mjs';
import { benchWorktreeSetup } from './worktree-setup.mjs';

const BENCHMARKS = {
  independence: benchIndependence,
  attribution: benchAttribution,
  report: benchReportScale,
  checks: benchChecks,
  efficiency: benchFanoutEfficiency,
  // In the task workspace too, each run reset.
  sandbox: benchSandbox,
  // In the task workspace too, as uncommitted changes it resets; before cache, which fills the cache last.
  gate: benchGate,
  // In the task workspace, with uncommitted plugin options it resets.
  'prompt-cache': benchPromptCache,
  // After efficiency: both use the task workspace, and the cache is filled last.
  cache: benchCacheReplay,
  // Last: deleting its 20,000-file worktrees makes the file system slow to create files for a
  // while after (on this machine's ext4, mounted with discard, 10 times slower for about a minute),
  // which would be charged to the sessions of the benchmarks after it.
  worktree: benchWorktreeSetup,
};

function parseArguments(argv) {
  const options = { only: Object.keys(BENCHMARKS), pluginDir: undefined };
  for (const argument of argv) {
    const [key, value] = argument.split('=');
    if (key === '--only' && value) {
      options.only = value.split(',').map((name) => name.trim());
      const unknown = options.only.filter((name) => !(name in BENCHMARKS));
      if (unknown.length > 0) throw new Error(`unknown benchmark(s): ${unknown.join(', ')}. Known: ${Object.keys(BENCHMARKS).join(', ')}.`);
    } else if (key === '--plugin-dir' && value) {
      options.pluginDir = value;
    } else {
      throw new Error(`unknown argument ${argument}. Use --only=<names> and --plugin-dir=<dir>.`);
    }
  }
  return options;
}

const options = parseArguments(process.argv.slice(2));
const started = new Date();
const host = machine();
console.log(
  `fanout benchmarks on ${host.cpu}, ${host.cores} cores, Node ${host.node}, commit ${host.commit}, load ${host.load.toFixed(1)}`,
);
const pluginDir = buildPlugin(options.pluginDir);
const workspace = join(benchRoot, 'workspace');
console.log(`Creating the benchmark workspace with fanout's generators: ${workspace}`);
createTaskWorkspace(workspace, pluginDir);

const figures = [];
for (const name of options.only) {
  const scratch = join(benchRoot, name);
  mkdirSync(scratch, { recursive: true });
  const from = Date.now();
  console.log(`\n${name}:`);
  const taken = await BENCHMARKS[name]({ workspace, scratch, pluginDir });
  for (const figure of taken) printFigure(figure);
  console.log(`  (${((Date.now() - from) / 1000).toFixed(0)} s)`);
  figures.push(...taken);
}

const ended = new Date();
const missed = figures.filter((figure) => figure.target && !figure.target.met);
console.log(
  `\n${figures.length} figures in ${Math.round((ended - started) / 1000)} s; targets missed: ${missed.length === 0 ? 'none' : missed.map((figure) => figure.figure).join('; ')}`,
);
if (options.only.length === Object.keys(BENCHMARKS).length) {
  writeFileSync(join(repo, 'BENCHMARKS.md'), renderReport({ figures, started, ended, host, loadAtEnd: loadavg()[0] }));
  console.log('Written to BENCHMARKS.md');
} else {
  console.log('Some benchmarks only: BENCHMARKS.md left as it is.');
}

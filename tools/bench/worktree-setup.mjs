// A large workspace: 2,000 projects, 20,000 committed files, with fanout installed
// and 4 task projects. First the session start, through the real Nx: from
// `nx run <task>:fanout` to its agent's start, against Nx alone starting the same
// program as an nx:run-commands target, and fanout's own overhead per session at
// --parallel 1 and 4. Then fanout's createWorktree, sparse (what the session needs,
// the default) and whole (sparseCheckout: false), against git alone: `git worktree
// add` of the same commit.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { availableParallelism } from 'node:os';
import { installPlugin, pluginModule, run, workspaceEnv } from './plugin.mjs';
import { writePackageFiles } from './task-workspace.mjs';
import { childrenCpuMs, formatMs, median, measure } from './stats.mjs';

const PROJECTS = 2000;
const FILES_PER_PROJECT = 10;
const MARKER = '.bench-workspace.json';
const IDENTITY = ['-c', 'user.name=fanout bench', '-c', 'user.email=bench@fanout.invalid', '-c', 'commit.gpgsign=false'];
const name = (index) => `lib-${String(index).padStart(4, '0')}`;
const SESSION = { project: name(1000), contracts: name(0), reference: name(1) };
/** The task projects: each has a fanout.md whose agent records when it started and writes one file. */
const TASK_PROJECTS = [1000, 1001, 1002, 1003].map(name);
/**
 * The agent (and, for Nx alone, the run-commands target's program): records in the project when it
 * started, and when the executor's process that started it did (its nearest ancestor running Nx's
 * run-batch or run-executor, from /proc: the kernel counts a process's start in ticks of 10 ms).
 */
const START_AGENT = String.raw`import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
const startedAt = Date.now();
const bootMs = Number(/^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf-8'))[1]) * 1000;
let executorStartedAt = 0;
for (let pid = process.ppid; pid > 1 && !executorStartedAt; ) {
  const stat = readFileSync('/proc/' + pid + '/stat', 'utf-8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const command = readFileSync('/proc/' + pid + '/cmdline', 'utf-8');
  if (/run-batch|run-executor/.test(command)) executorStartedAt = bootMs + Number(fields[19]) * 10;
  pid = Number(fields[1]);
}
const projectRoot = process.argv[2];
mkdirSync(join(projectRoot, 'src', 'lib'), { recursive: true });
const text = 'export const startedAt = ' + startedAt + ';\nexport const executorStartedAt = ' + executorStartedAt + ';\n';
writeFileSync(join(projectRoot, 'src', 'lib', 'started.ts'), text);
`;

function git(root, args) {
  return run('git', [...IDENTITY, ...args], { cwd: root });
}

/**
 * The large workspace, committed. Reused from an earlier run when it is still as
 * generated (same shape, nothing uncommitted): writing and committing 20,000 files
 * is most of this benchmark's time on a slow disk.
 */
function largeWorkspace(root) {
  const shape = { projects: PROJECTS, filesPerProject: FILES_PER_PROJECT, tasks: TASK_PROJECTS, nx: 2 };
  if (existsSync(join(root, MARKER)) && readFileSync(join(root, MARKER), 'utf-8') === JSON.stringify(shape)) {
    try {
      if (git(root, ['status', '--porcelain']).trim() === '') return false;
    } catch {
      // Not a usable repository: generate it again.
    }
  }
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  const write = (path, text) => {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  write(
    'nx.json',
    `${JSON.stringify({ extends: 'nx/presets/npm.json', plugins: [{ plugin: 'fanout', options: { gate: [] } }] }, null, 2)}\n`,
  );
  write('AGENTS.md', '# Conventions\n');
  write('.gitignore', 'node_modules\n.fanout/\n.nx/\n');
  write('tools/start-agent.mjs', START_AGENT);
  const paths = Object.fromEntries(
    Array.from({ length: PROJECTS }, (_, index) => [`@large/${name(index)}`, [`libs/${name(index)}/src/index.ts`]]),
  );
  write('tsconfig.base.json', `${JSON.stringify({ compilerOptions: { baseUrl: '.', paths } }, null, 2)}\n`);
  for (let index = 0; index < PROJECTS; index++) {
    const project = `libs/${name(index)}`;
    const task = TASK_PROJECTS.includes(name(index));
    const targets = task
      ? { 'bench-start': { executor: 'nx:run-commands', cache: false, options: { command: `node tools/start-agent.mjs ${project}` } } }
      : undefined;
    write(
      `${project}/project.json`,
      JSON.stringify({ name: name(index), sourceRoot: `${project}/src`, ...(targets ? { targets } : {}) }, null, 2),
    );
    if (task) {
      write(
        `${project}/fanout.md`,
        `---\nlike: ${SESSION.reference}\ncontracts: ${SESSION.contracts}\nagent: command\ncommand: node tools/start-agent.mjs {projectRoot}\n---\n\nBuild ${name(index)}.\n`,
      );
    }
    write(`${project}/README.md`, `# ${name(index)}\n`);
    write(`${project}/tsconfig.json`, '{ "extends": "../../tsconfig.base.json" }\n');
    write(`${project}/src/index.ts`, "export * from './lib/part-0';\n");
    for (let part = 0; part < FILES_PER_PROJECT - 4; part++) {
      write(`${project}/src/lib/part-${part}.ts`, `export const value${part} = ${index};\n`.repeat(30));
    }
  }
  mkdirSync(join(root, 'node_modules'));
  git(root, ['init', '-q', '-b', 'main']);
  git(root, ['add', '-A']);
  git(root, ['commit', '-q', '-m', `${PROJECTS} projects`]);
  writeFileSync(join(root, MARKER), JSON.stringify(shape));
  // The marker stays out of git status: the reuse check wants a clean tree.
  writeFileSync(join(root, '.git', 'info', 'exclude'), `${MARKER}\n`);
  return true;
}

/** The built plugin installed in the large workspace, its package files committed: the tree stays clean. */
function installIntoLarge(root, pluginDir) {
  rmSync(join(root, 'node_modules', 'fanout'), { recursive: true, force: true });
  installPlugin(root, pluginDir);
  writePackageFiles(root, '@large/source');
  if (git(root, ['status', '--porcelain']).trim() !== '') {
    git(root, ['add', '-A']);
    git(root, ['commit', '-q', '-m', 'the plugin as installed']);
  }
}

/** What a run of the 4 tasks cost the machine, against Nx alone starting the same 4 programs. */
function cpuNote({ fanout, alone }) {
  const cores = availableParallelism();
  const share = (side) => `${Math.round((side.cpu / side.wall / cores) * 100)} % of ${cores} cores`;
  return (
    `the whole run (median): ${formatMs(fanout.wall)}, CPU of all its processes ${formatMs(fanout.cpu)} (${share(fanout)}); ` +
    `Nx alone starting the same 4 programs: ${formatMs(alone.wall)}, CPU ${formatMs(alone.cpu)} (${share(alone)})`
  );
}

function nxIn(root, args, env = {}) {
  run(process.execPath, [join(root, 'node_modules', 'nx', 'dist', 'bin', 'nx.js'), ...args], { cwd: root, env: workspaceEnv(env) });
}

/**
 * Preloaded (NODE_OPTIONS) into the processes of one `nx run`: Nx's executor process (run-batch or
 * run-executor) appends its start time to a file. The agent cannot find that process itself when
 * it runs sandboxed: it sees only its own pid namespace and /proc.
 */
const EXECUTOR_START_PRELOAD = String.raw`if (/run-batch|run-executor/.test(process.argv[1] || '') && process.env.FANOUT_BENCH_EXECUTOR_STARTS) {
  require('fs').appendFileSync(process.env.FANOUT_BENCH_EXECUTOR_STARTS, Math.round(performance.timeOrigin) + '\n');
}
`;

/** `nx run <args>` with the executor's start recorded; returns when its executor process started (ms, epoch). */
function nxRunTimed(root, args, scratch) {
  const preload = join(scratch, 'executor-start.cjs');
  const starts = join(scratch, 'executor-starts.txt');
  writeFileSync(preload, EXECUTOR_START_PRELOAD);
  rmSync(starts, { force: true });
  nxIn(root, args, { NODE_OPTIONS: `--require ${preload}`, FANOUT_BENCH_EXECUTOR_STARTS: starts });
  const times = existsSync(starts) ? readFileSync(starts, 'utf-8').split('\n').filter(Boolean).map(Number) : [];
  return times.length > 0 ? Math.min(...times) : Number.NaN;
}

/** When the program in `project` started, and its executor's process (what tools/start-agent.mjs recorded); the workspace reset. */
function recordedStart(root, project) {
  const path = join(root, 'libs', project, 'src', 'lib', 'started.ts');
  const text = readFileSync(path, 'utf-8');
  const started = Number(/ startedAt = (\d+)/.exec(text)?.[1]);
  const executor = Number(/executorStartedAt = (\d+)/.exec(text)?.[1]);
  git(root, ['reset', '-q', '--hard']);
  git(root, ['clean', '-q', '-f', '-d']);
  if (!Number.isFinite(started)) throw new Error(`${path} holds no start time`);
  return { started, executor: executor > 0 ? executor : Number.NaN };
}

/**
 * The session start through the real Nx, from the command's start to the agent's
 * (a session's worktree, context and checks before it), against Nx alone running
 * the same program as an nx:run-commands target, alternated; then fanout's own
 * overhead per session of the 4 tasks at --parallel 1 and 4.
 */
function sessionStart(root, repetitions, scratch) {
  const [project] = TASK_PROJECTS;
  // The project graph of 2,000 projects, computed once and cached (as Nx's daemon or a previous command leaves it).
  nxIn(root, ['show', 'projects', '--json']);
  const fanout = [];
  const nxAlone = [];
  const executorToAgent = [];
  for (let index = 0; index < repetitions; index++) {
    let from = Date.now();
    nxIn(root, ['run', `${project}:bench-start`, '--skip-nx-cache', '--output-style=static']);
    const alone = recordedStart(root, project);
    nxAlone.push(alone.started - from);
    from = Date.now();
    const executorStarted = nxRunTimed(root, ['run', `${project}:fanout`, '--skip-nx-cache', '--output-style=static'], scratch);
    const session = recordedStart(root, project);
    fanout.push(session.started - from);
    // From /proc where the agent could see its executor (unsandboxed), to 10 ms; else from the preload.
    executorToAgent.push(session.started - (Number.isFinite(executorStarted) ? executorStarted : session.executor));
  }
  const sessionOverheads = {};
  for (const parallel of [1, 4]) {
    // A run of 4 sessions is short and its figure noisy: the median over every session of `repetitions` runs.
    const results = [];
    // Wall and CPU of every process each run started (Nx, the batch, git, the agents), and of Nx alone
    // starting the same 4 programs at the same --parallel, alternated: what the machine had to give.
    const runs = { fanout: { wall: [], cpu: [] }, alone: { wall: [], cpu: [] } };
    const timed = (side, target) => {
      const cpuBefore = childrenCpuMs();
      const from = performance.now();
      nxIn(root, [
        'run-many',
        '-t',
        target,
        '-p',
        TASK_PROJECTS.join(','),
        `--parallel=${parallel}`,
        '--skip-nx-cache',
        '--output-style=static',
      ]);
      runs[side].wall.push(performance.now() - from);
      if (cpuBefore !== undefined) runs[side].cpu.push(childrenCpuMs() - cpuBefore);
    };
    for (let index = 0; index < repetitions; index++) {
      timed('alone', 'bench-start');
      git(root, ['reset', '-q', '--hard']);
      git(root, ['clean', '-q', '-f', '-d']);
      timed('fanout', 'fanout');
      const run = TASK_PROJECTS.map((task) => JSON.parse(readFileSync(join(root, '.fanout', 'sessions', task, 'result.json'), 'utf-8')));
      const failed = run.filter((result) => result.status !== 'succeeded');
      if (failed.length > 0)
        throw new Error(
          `sessions failed in the large workspace: ${failed.map((result) => `${result.project}: ${result.error}`).join('; ')}`,
        );
      results.push(...run);
      git(root, ['reset', '-q', '--hard']);
      git(root, ['clean', '-q', '-f', '-d']);
    }
    const phase = (key) => Math.round(median(results.map((result) => result.timings[key])));
    sessionOverheads[parallel] = {
      value: median(results.map((result) => result.durationMs - result.timings.agentMs - (result.timings.waitMs ?? 0))),
      duration: median(results.map((result) => result.durationMs)),
      sessions: results.length,
      runs: {
        fanout: { wall: median(runs.fanout.wall), cpu: median(runs.fanout.cpu) },
        alone: { wall: median(runs.alone.wall), cpu: median(runs.alone.cpu) },
      },
      phases: `worktree ${phase('worktreeMs')}, context ${phase('contextMs')}, checks ${phase('checksMs')}, integration ${phase('integrateMs')} ms`,
    };
  }
  return {
    fanout: median(fanout),
    nxAlone: median(nxAlone),
    executorToAgent: median(executorToAgent),
    samples: { fanout, nxAlone, executorToAgent },
    sessionOverheads,
  };
}

export async function benchWorktreeSetup({ workspace, scratch, pluginDir, repetitions = { sparse: 5, full: 2, start: 3 } }) {
  const root = join(scratch, 'large');
  const generated = largeWorkspace(root);
  installIntoLarge(root, pluginDir);
  // Before the whole-workspace worktrees: deleting them leaves the file system slow for a while.
  const start = sessionStart(root, repetitions.start, scratch);
  const files = git(root, ['ls-files']).trim().split('\n').length;
  const { createWorktree, removeWorktree } = pluginModule(workspace, 'core/session/worktree');
  const keep = [SESSION.project, SESSION.contracts, SESSION.reference].map((project) => `libs/${project}`);
  const leave = Array.from({ length: PROJECTS }, (_, index) => `libs/${name(index)}`).filter((project) => !keep.includes(project));

  const session = async (checkout) => {
    const created = await measure(() => createWorktree(root, SESSION.project, [], checkout));
    const removed = await measure(() => removeWorktree(root, SESSION.project));
    return { created, removed, sparse: created.value.sparse === true };
  };
  const plain = join(scratch, 'plain-worktree');
  const gitAlone = async () => {
    rmSync(plain, { recursive: true, force: true });
    const created = await measure(() => git(root, ['worktree', 'add', '-q', '--detach', plain, 'HEAD']));
    git(root, ['worktree', 'remove', '--force', plain]);
    return created;
  };

  const sparse = [];
  const full = [];
  const baseline = [];
  for (let index = 0; index < repetitions.sparse; index++) sparse.push(await session({ keep, leave }));
  // Keeping a worktree between runs instead: what bringing a kept sparse worktree back to HEAD costs
  // (a session's branch reset, its files cleaned), with a session's worth of files written in it.
  const kept = await createWorktree(root, SESSION.project, [], { keep, leave });
  const reuse = [];
  for (let index = 0; index < repetitions.sparse; index++) {
    for (let file = 0; file < 5; file++)
      writeFileSync(join(kept.path, 'libs', SESSION.project, 'src', 'lib', `session-${file}.ts`), 'export {};\n');
    reuse.push(
      await measure(() => {
        git(kept.path, ['-c', 'core.sparseCheckout=true', '-c', 'core.sparseCheckoutCone=true', 'reset', '--hard', '-q', 'HEAD']);
        git(kept.path, ['clean', '-q', '-f', '-d']);
      }),
    );
  }
  await removeWorktree(root, SESSION.project);
  for (let index = 0; index < repetitions.full; index++) {
    full.push(await session(undefined));
    baseline.push(await gitAlone());
  }
  if (!sparse.every((entry) => entry.sparse)) throw new Error('createWorktree did not make a sparse checkout in the large workspace.');
  const baselineMs = median(baseline.map((entry) => entry.wallMs));
  const sparseMs = median(sparse.map((entry) => entry.created.wallMs));
  const fullMs = median(full.map((entry) => entry.created.wallMs));
  const shape = `${PROJECTS} projects, ${files} files${generated ? '' : ' (reused from an earlier run)'}`;
  const startedMore = start.fanout - start.nxAlone;
  return [
    {
      bench: 'session start',
      figure: `the executor's start to the agent's start, nx run ${TASK_PROJECTS[0]}:fanout, ${PROJECTS.toLocaleString('en-US')} projects`,
      value: start.executorToAgent,
      unit: 'ms',
      // Nx runs an nx:run-commands task's program without an executor process of its own: its whole start is the baseline.
      baseline: { label: "Nx alone: nx run to an nx:run-commands program's start", value: start.nxAlone },
      target: { text: '≤ 1 s', met: start.executorToAgent <= 1000 },
      note: `${shape}; the executor's process (the batch) started as Nx's run-batch.js records it (a preload in NODE_OPTIONS); sparse worktree, default settings; median of ${repetitions.start} (${start.samples.executorToAgent.map(Math.round).join(', ')} ms)`,
    },
    {
      bench: 'session start',
      figure: `nx run ${TASK_PROJECTS[0]}:fanout to its agent's start, ${PROJECTS.toLocaleString('en-US')} projects`,
      value: start.fanout,
      unit: 'ms',
      baseline: { label: "Nx alone: nx run to an nx:run-commands program's start", value: start.nxAlone },
      note: `${shape}; ${Math.round(startedMore)} ms more than Nx alone; median of ${repetitions.start}, alternated (fanout ${start.samples.fanout.map(Math.round).join(', ')} ms; Nx alone ${start.samples.nxAlone.map(Math.round).join(', ')} ms)`,
    },
    ...[1, 4].map((parallel) => ({
      bench: 'session start',
      figure: `fanout's overhead per session, ${PROJECTS.toLocaleString('en-US')} projects, 4 tasks, --parallel=${parallel} (median)`,
      value: start.sessionOverheads[parallel].value,
      unit: 'ms',
      baseline: { label: "the session's whole duration (median)", value: start.sessionOverheads[parallel].duration },
      target: { text: `≤ ${parallel === 1 ? 300 : 500} ms`, met: start.sessionOverheads[parallel].value <= (parallel === 1 ? 300 : 500) },
      note: `${start.sessionOverheads[parallel].phases}; median of ${start.sessionOverheads[parallel].sessions} sessions (${repetitions.start} runs of ${TASK_PROJECTS.length}); an agent that writes one file and ends; ${cpuNote(start.sessionOverheads[parallel].runs)}`,
    })),
    {
      bench: 'worktree setup',
      figure: 'createWorktree, sparse checkout (the default)',
      value: sparseMs,
      unit: 'ms',
      baseline: { label: 'git worktree add (full checkout)', value: baselineMs },
      target: { text: '≤ 1 s', met: sparseMs <= 1000 },
      note: `${shape}; keeps 3 projects; removal ${Math.round(median(sparse.map((entry) => entry.removed.wallMs)))} ms; median of ${repetitions.sparse}`,
    },
    {
      bench: 'worktree setup',
      figure: 'a kept sparse worktree brought back to HEAD (reset --hard, clean), instead of a new one',
      value: median(reuse.map((entry) => entry.wallMs)),
      unit: 'ms',
      baseline: { label: 'createWorktree, sparse (above)', value: sparseMs },
      note: `${shape}; what keeping worktrees between runs would cost per session instead of creating one (not done: see the fixes below); 5 files a session wrote removed; median of ${repetitions.sparse}`,
    },
    {
      bench: 'worktree setup',
      figure: 'createWorktree, whole workspace (sparseCheckout: false)',
      value: fullMs,
      unit: 'ms',
      baseline: { label: 'git worktree add (full checkout)', value: baselineMs },
      note: `${shape}; removal ${Math.round(median(full.map((entry) => entry.removed.wallMs)))} ms; median of ${repetitions.full}`,
    },
  ];
}

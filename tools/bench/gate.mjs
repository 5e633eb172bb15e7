// The gate: a session's project's own targets (typecheck, test, lint), run by the
// built plugin's runGate through the Nx CLI in a fresh session worktree (made by
// createWorktree), against the baseline of the same targets run by the same nx
// command (one nx run-many) in the workspace itself. Both cold (Nx's cache
// skipped: every target runs) and warm (every target replayed from Nx's cache).
//
// The task workspace's projects have none of these targets: task-workspace.mjs
// keeps only fanout's plugin in nx.json, and the generators configure no linter
// and no typecheck there. So, for this benchmark only and as uncommitted changes
// (reset afterwards; a worktree takes the workspace's uncommitted state), one task
// project gets what a real workspace gives it: `test` from @nx/jest/plugin (the
// plugin the generators configured), `lint` from @nx/eslint/plugin over Nx's flat
// ESLint configuration, and a `typecheck` of its two tsconfigs (tsc --noEmit), with
// the compiler options Nx's generators give a real workspace. Its sources are what
// a session leaves: the bench agent's files, the reference's renamed.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { pluginModule, run, workspaceEnv } from './plugin.mjs';
import { childrenCpuMs, formatMs, median, measure } from './stats.mjs';
import { REFERENCE, resetTaskWorkspace, TASKS } from './task-workspace.mjs';

const PROJECT = TASKS[0];
const REPETITIONS = { cold: 1, warm: 3 };
const TIMEOUT_MS = 10 * 60_000;
// tsconfig.base.json's compilerOptions as @nx/js's init generator writes them (its tsConfigBaseOptions).
const NX_TSCONFIG_BASE = {
  rootDir: '.',
  sourceMap: true,
  declaration: false,
  emitDecoratorMetadata: true,
  experimentalDecorators: true,
  importHelpers: true,
  target: 'es2015',
  module: 'esnext',
  lib: ['es2020', 'dom'],
  skipLibCheck: true,
  skipDefaultLibCheck: true,
  strict: false,
};

// What @nx/eslint's generators write for a workspace and a library (flat config).
const ROOT_ESLINT = `import nx from '@nx/eslint-plugin';

export default [
  ...nx.configs['flat/base'],
  ...nx.configs['flat/typescript'],
  ...nx.configs['flat/javascript'],
  { ignores: ['**/dist', '**/out-tsc'] },
  {
    files: ['**/*.ts', '**/*.tsx', '**/*.js', '**/*.jsx'],
    rules: {
      '@nx/enforce-module-boundaries': [
        'error',
        {
          enforceBuildableLibDependency: true,
          allow: ['^.*/eslint(\\\\.base)?\\\\.config\\\\.[cm]?[jt]s$'],
          depConstraints: [{ sourceTag: '*', onlyDependOnLibsWithTags: ['*'] }],
        },
      ],
    },
  },
];
`;
const PROJECT_ESLINT = `import baseConfig from '../../eslint.config.mjs';

export default [...baseConfig];
`;

function readJson(path) {
  return JSON.parse(readFileSync(path, 'utf-8'));
}

function writeJson(path, data) {
  writeFileSync(path, `${JSON.stringify(data, null, 2)}\n`);
}

const nxBin = (root) => join(root, 'node_modules', '.bin', 'nx');

/** The project's checks and a session's sources, as uncommitted changes to the workspace. */
function prepare(workspace) {
  const nxJsonPath = join(workspace, 'nx.json');
  const nxJson = readJson(nxJsonPath);
  nxJson.plugins = [
    ...nxJson.plugins,
    { plugin: '@nx/jest/plugin', options: { targetName: 'test' } },
    { plugin: '@nx/eslint/plugin', options: { targetName: 'lint' } },
  ];
  writeJson(nxJsonPath, nxJson);
  // tsconfig.base.json's compiler options as Nx's workspace generators write them: the empty
  // workspace the generators ran on has none (TypeScript's ES5 default then fails the contracts'
  // Map iteration). It declares no typescript either, so Nx's jest generator assumed TypeScript 6
  // and gave tsconfig.spec.json moduleResolution "bundler", which TypeScript 5 rejects next to
  // module "commonjs" (TS5095); for the TypeScript 5 installed, Nx writes "node10".
  const typescriptMajor = Number(readJson(join(workspace, 'node_modules', 'typescript', 'package.json')).version.split('.')[0]);
  const moduleResolution = typescriptMajor >= 6 ? 'bundler' : 'node10';
  const tsconfigPath = join(workspace, 'tsconfig.base.json');
  const tsconfig = readJson(tsconfigPath);
  tsconfig.compilerOptions = { ...NX_TSCONFIG_BASE, moduleResolution, ...tsconfig.compilerOptions };
  writeJson(tsconfigPath, tsconfig);
  const specPath = join(workspace, 'libs', PROJECT, 'tsconfig.spec.json');
  const spec = readJson(specPath);
  if (spec.compilerOptions?.moduleResolution) spec.compilerOptions.moduleResolution = moduleResolution;
  writeJson(specPath, spec);
  writeFileSync(join(workspace, 'eslint.config.mjs'), ROOT_ESLINT);
  writeFileSync(join(workspace, 'libs', PROJECT, 'eslint.config.mjs'), PROJECT_ESLINT);
  const projectJsonPath = join(workspace, 'libs', PROJECT, 'project.json');
  const project = readJson(projectJsonPath);
  project.targets.typecheck = {
    executor: 'nx:run-commands',
    cache: true,
    inputs: ['default', '^default', { externalDependencies: ['typescript'] }],
    options: {
      cwd: '{projectRoot}',
      commands: ['tsc --noEmit -p tsconfig.lib.json', 'tsc --noEmit -p tsconfig.spec.json'],
      parallel: false,
    },
  };
  writeJson(projectJsonPath, project);
  run(process.execPath, ['tools/bench-agent.mjs', '0', `libs/${REFERENCE}`, `libs/${PROJECT}`], { cwd: workspace });
  if (!existsSync(join(workspace, 'libs', PROJECT, 'src', 'lib', `${PROJECT}.handler.spec.ts`))) {
    throw new Error(`the bench agent did not write libs/${PROJECT}/src/lib/${PROJECT}.handler.spec.ts`);
  }
}

/**
 * The npm packages the targets hash (their externalDependencies inputs), added to
 * package.json and the lock file as an install would: Nx finds them there, and the
 * workspace lists only fanout and nx.
 */
function declareTools(workspace, targets) {
  const tools = new Set(
    Object.values(targets)
      .flatMap((target) => target.inputs ?? [])
      .flatMap((input) => (typeof input === 'object' && Array.isArray(input.externalDependencies) ? input.externalDependencies : [])),
  );
  const manifest = readJson(join(workspace, 'package.json'));
  const lock = readJson(join(workspace, 'package-lock.json'));
  for (const tool of tools) {
    if (manifest.devDependencies[tool]) continue;
    const { version } = readJson(join(workspace, 'node_modules', tool, 'package.json'));
    manifest.devDependencies[tool] = version;
    lock.packages[''].devDependencies[tool] = version;
    lock.packages[`node_modules/${tool}`] = {
      version,
      resolved: `https://registry.npmjs.org/${tool}/-/${tool.split('/').pop()}-${version}.tgz`,
      dev: true,
    };
  }
  writeJson(join(workspace, 'package.json'), manifest);
  writeJson(join(workspace, 'package-lock.json'), lock);
}

/** Fails unless every target of the run ran (cold) or every one was replayed from Nx's cache (warm). */
function expectCache(where, targets, cached, warm) {
  const replayed = cached.filter(Boolean).length;
  const expected = warm ? targets.length : 0;
  if (replayed !== expected) {
    throw new Error(
      `${where}: Nx replayed ${replayed} of ${targets.length} targets (${targets.join(', ')}) from its cache, expected ${expected}`,
    );
  }
}

/**
 * The targets in the workspace itself, by the command the gate runs in the worktree
 * (gateArgv: one nx run-many) and in the gate's environment (`env`, from gateEnv);
 * each target's time and whether it was replayed from Nx's task profile, as the gate reads them.
 */
function inWorkspace(workspace, targets, warm, env, gateModule, profileFile) {
  const { gateArgv, readTaskProfile } = gateModule;
  const [nx, ...args] = gateArgv(nxBin(workspace), PROJECT, targets);
  rmSync(profileFile, { force: true });
  const cpuBefore = childrenCpuMs();
  const started = performance.now();
  // run() throws with the output when a target fails.
  run(nx, [...args, ...(warm ? [] : ['--skip-nx-cache'])], {
    cwd: workspace,
    env: { ...env, NX_PROFILE: relative(workspace, profileFile) },
    timeout: TIMEOUT_MS,
  });
  const wallMs = performance.now() - started;
  const cpuMs = cpuBefore === undefined ? undefined : childrenCpuMs() - cpuBefore;
  const profile = readTaskProfile(profileFile);
  if (!profile) throw new Error(`nx wrote no task profile at ${profileFile}`);
  const tasks = targets.map((target) => profile.get(`${PROJECT}:${target}`));
  return {
    wallMs,
    cpuMs,
    perTarget: tasks.map((task) => task?.durationMs ?? 0),
    cached: tasks.map((task) => task !== undefined && task.status !== 'success'),
  };
}

export async function benchGate({ workspace, scratch, repetitions = REPETITIONS }) {
  const { createWorktree, removeWorktree } = pluginModule(workspace, 'core/session/worktree');
  const gateModule = pluginModule(workspace, 'core/session/gate');
  const { gateEnv, gateTargets, runGate } = gateModule;
  // The baseline's nx runs get the environment runGate gives the gate's (no daemon, ...).
  const baselineEnv = gateEnv(workspaceEnv());
  resetTaskWorkspace(workspace);
  prepare(workspace);
  try {
    const show = () =>
      JSON.parse(
        run(nxBin(workspace), ['show', 'project', PROJECT, '--json'], { cwd: workspace, env: workspaceEnv(), timeout: TIMEOUT_MS }),
      ).targets ?? {};
    // The targets a session of this project runs when the gate option is not set.
    const shown = show();
    const targets = gateTargets(Object.keys(shown), undefined).run;
    if (targets.length === 0) throw new Error(`${PROJECT} has none of typecheck, test, lint: ${Object.keys(shown).join(', ')}`);
    declareTools(workspace, Object.fromEntries(Object.entries(shown).filter(([name]) => targets.includes(name))));
    // The project graph with the lock file as it now is, computed here as a user's earlier nx command would have.
    show();

    const logFile = join(scratch, 'gate.log');
    const profileFile = join(scratch, 'workspace-profile.json');
    rmSync(logFile, { force: true });
    /** runGate in a fresh worktree, timed; the worktree's creation is timed apart and its removal not at all. */
    const gate = async (warm) => {
      const setup = await measure(() => createWorktree(workspace, PROJECT, []));
      try {
        const cpuBefore = childrenCpuMs();
        const { wallMs, value: result } = await measure(() =>
          runGate({
            worktree: setup.value.path,
            workspaceRoot: workspace,
            project: PROJECT,
            targets,
            env: workspaceEnv(warm ? {} : { NX_SKIP_NX_CACHE: 'true' }),
            timeoutMs: TIMEOUT_MS,
            logFile,
            echo: false,
            redact: (text) => text,
          }),
        );
        const failed = result.targets.filter((target) => !target.ok);
        if (!result.ok || failed.length > 0 || result.targets.length !== targets.length) {
          throw new Error(
            `the gate of ${PROJECT} failed in its worktree (${setup.value.path}):\n` +
              failed.map((target) => `--- ${target.target} (exit code ${target.exitCode}) ---\n${target.output}`).join('\n'),
          );
        }
        return {
          wallMs,
          cpuMs: cpuBefore === undefined ? undefined : childrenCpuMs() - cpuBefore,
          setupMs: setup.wallMs,
          perTarget: result.targets.map((target) => target.durationMs),
          cached: result.targets.map((target) => target.cached === true),
        };
      } finally {
        await removeWorktree(workspace, PROJECT);
      }
    };
    /** One run of each, the gate first unless `workspaceFirst`. */
    const both = async (warm, runs, workspaceFirst = false) => {
      const inGate = async () => {
        const gateRun = await gate(warm);
        expectCache(`the gate${warm ? ', warm' : ', cold'}`, targets, gateRun.cached, warm);
        runs.gate.push(gateRun);
      };
      const inTheWorkspace = () => {
        const workspaceRun = inWorkspace(workspace, targets, warm, baselineEnv, gateModule, profileFile);
        expectCache(`the workspace${warm ? ', warm' : ', cold'}`, targets, workspaceRun.cached, warm);
        runs.workspace.push(workspaceRun);
      };
      if (workspaceFirst) inTheWorkspace();
      await inGate();
      if (!workspaceFirst) inTheWorkspace();
    };

    // Cold: every target runs, Nx's cache skipped in both. The gate first: it pays for the first
    // load of the tools from disk.
    const cold = { gate: [], workspace: [] };
    for (let index = 0; index < repetitions.cold; index++) await both(false, cold);
    // Warm: the cache filled by one run in the workspace, then every target replayed in both.
    inWorkspace(workspace, targets, true, baselineEnv, gateModule, profileFile);
    const warm = { gate: [], workspace: [] };
    for (let index = 0; index < repetitions.warm; index++) await both(true, warm, index % 2 === 1);

    const list = targets.join(', ');
    const wall = (runs) => median(runs.map((entry) => entry.wallMs));
    const cpu = (runs) => (runs.every((entry) => entry.cpuMs !== undefined) ? median(runs.map((entry) => entry.cpuMs)) : undefined);
    const cpuNote = (runs) => {
      const [gateCpu, workspaceCpu] = [cpu(runs.gate), cpu(runs.workspace)];
      if (gateCpu === undefined || workspaceCpu === undefined) return '';
      return `; CPU of all the processes (less disturbed by the machine's load): gate ${formatMs(gateCpu)}, workspace ${formatMs(workspaceCpu)}, ${(gateCpu / workspaceCpu).toFixed(2)}×`;
    };
    const perTarget = (runs) =>
      targets.map((target, index) => `${target} ${formatMs(median(runs.map((entry) => entry.perTarget[index])))}`).join(', ');
    const split = (runs) => `; per target, gate: ${perTarget(runs.gate)}; workspace: ${perTarget(runs.workspace)}`;
    const count = (times, order) => (times === 1 ? 'one run each' : `median of ${times}, ${order}`);
    const setup = formatMs(median([...cold.gate, ...warm.gate].map((entry) => entry.setupMs)));
    return [
      {
        bench: 'gate',
        figure: `the gate per session: ${list} in the session's worktree, Nx's cache skipped`,
        value: wall(cold.gate),
        cpuMs: cpu(cold.gate),
        unit: 'ms',
        baseline: { label: 'the same nx run-many in the workspace, cache skipped', value: wall(cold.workspace) },
        note:
          `${PROJECT} with a session's files; every target run (NX_SKIP_NX_CACHE=true for the gate, --skip-nx-cache in the workspace), ` +
          `both in the gate's environment (gateEnv: no daemon); ${count(repetitions.cold, 'alternated')}, the gate first (it pays for ` +
          `loading the tools from disk); a fresh worktree each time (createWorktree ${setup}, not counted)${cpuNote(cold)}${split(cold)}`,
      },
      {
        bench: 'gate',
        figure: `the gate per session: ${list} in the session's worktree, from Nx's cache`,
        value: wall(warm.gate),
        cpuMs: cpu(warm.gate),
        unit: 'ms',
        baseline: { label: 'the same nx run-many in the workspace, from the cache', value: wall(warm.workspace) },
        note:
          `every target replayed from Nx's cache in both (the worktree shares its workspace's cache; filled by one run in the workspace); ` +
          `${count(repetitions.warm, 'alternated, each side first in turn')}; a fresh worktree each time${cpuNote(warm)}${split(warm)}`,
      },
    ];
  } finally {
    resetTaskWorkspace(workspace);
  }
}

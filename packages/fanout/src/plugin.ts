import {
  createNodesFromFiles,
  detectPackageManager,
  getPackageManagerCommand,
  logger,
  type CreateNodesContextV2,
  type CreateNodesV2,
  type TargetConfiguration,
} from '@nx/devkit';
import { readFileSync } from 'fs';
import { dirname, join } from 'path';
import { hashedAgentOptions } from './core/agents/agent-options';
import { parseAssignment } from './core/session/assignment';
import {
  ASSIGNMENT_FILE,
  CONVENTIONS_FILE,
  FANOUT_TARGET as FANOUT_TARGET_DEFAULT,
  fanoutTargetName,
  GATE_TARGETS,
  SESSIONS_DIR,
  sessionTargetName,
  TASK_TAG,
  VERIFY_TARGET,
  type FanoutPluginOptions,
} from './constants';
import { warnOnceIfUnsupportedNx } from './nx-version';
import type { ExecutorName } from './executors/options';

// Re-exported for the package's users: the options' type is part of its public face.
export type { FanoutPluginOptions };

/**
 * fanout's own version. It enters every session's cache key through the target's
 * options (Nx hashes a project's target configuration), not through
 * `externalDependencies: ['fanout']`: Nx expands that to fanout's whole dependency
 * tree (Nx itself, Babel, ts-morph: hundreds of packages), so any lockfile refresh
 * would re-run, and pay for, every session again.
 */
export const PLUGIN_VERSION: string = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf-8')).version;

/** How a target's options are shown: the package manager's way to run a package's bin, e.g. `npx`, `pnpm exec`, `yarn`. */
type Exec = string;

/**
 * `metadata.help` as Nx's own plugins give it: a command that prints the executor's options (Nx Console
 * and `nx show project --web` run it in the workspace root), and an example of options to pass.
 */
function help(exec: Exec, executor: ExecutorName, options: Record<string, unknown>) {
  return { command: `${exec} fanout-options ${executor}`, example: { options } };
}

/**
 * The inferred `fanout` target: every project with a `fanout.md` gets one.
 * Inputs are what should re-run a session (its assignment, the contracts' and
 * the reference's production files, the conventions, fanout's version) and never
 * what the session writes; outputs are exactly what it writes.
 */
export function fanoutTarget(
  projectRoot: string,
  source: string,
  production: string,
  pluginOptions: FanoutPluginOptions = {},
  exec: Exec = 'npx',
): TargetConfiguration {
  let like: string | undefined;
  let contracts: string | undefined;
  let agent: string | undefined;
  let gate: string[] | undefined;
  let repairs: number | undefined;
  try {
    const assignment = parseAssignment(source, `${projectRoot}/${ASSIGNMENT_FILE}`);
    ({ like, contracts, agent, gate, repairs } = assignment);
  } catch {
    // An invalid fanout.md still gets its target, so that running it reports the problem.
  }
  const shared = [like, contracts].filter((name): name is string => name !== undefined);
  return {
    executor: 'fanout:run',
    cache: true,
    inputs: [
      `{projectRoot}/${ASSIGNMENT_FILE}`,
      ...(shared.length > 0 ? [{ input: production, projects: shared }] : []),
      `{workspaceRoot}/${CONVENTIONS_FILE}`,
      // No npm package is an input: without this line Nx would hash every one of them.
      { externalDependencies: [] },
    ],
    // The agent and what decides its work (model, args, permissions; env names, never values) enter the
    // cache key here: every configured agent's, since --agent may pick any of them for a run.
    options: {
      pluginVersion: PLUGIN_VERSION,
      ...(agent ? { agent } : {}),
      // What a session must pass before it lands, and how many repair rounds it gets: a change re-runs it.
      ...((gate ?? pluginOptions.gate) !== undefined ? { gate: gate ?? pluginOptions.gate } : {}),
      ...((repairs ?? pluginOptions.repairs) !== undefined ? { repairs: repairs ?? pluginOptions.repairs } : {}),
      ...(pluginOptions.agents ? { agents: hashedAgentOptions(pluginOptions.agents) } : {}),
    },
    // The session's record only: its result.json, log, diff, a copy of each file it wrote and its wired
    // edits. Never the project's own files: a replay must not overwrite what the user changed since
    // (the landing target decides what lands, file by file).
    outputs: [`{workspaceRoot}/${SESSIONS_DIR}/{projectName}`],
    dependsOn: [
      // Tasks that depend on each other run in order: the dependency's session first, whatever the target is named.
      `^${fanoutTargetName(pluginOptions)}`,
      // Serial correctness first: the reference and the contracts pass their own checks before any session copies
      // them. Nx skips a target a project does not have, and replays these from its cache when nothing changed.
      ...(shared.length > 0 ? (pluginOptions.foundationTargets ?? GATE_TARGETS).map((target) => ({ projects: shared, target })) : []),
    ],
    metadata: {
      description: `Run this task's agent session in its own git worktree and record its work (${ASSIGNMENT_FILE}); cached. The ${fanoutTargetName(pluginOptions)} target lands it.`,
      technologies: ['fanout'],
      help: help(exec, 'run', { agent: 'claude', timeout: '45m', repairs: 1 }),
    },
  };
}

/**
 * The target users run: lands the task's session record in the workspace. Never
 * cached, so it runs whether the session ran now or Nx replayed it, and it is
 * where fanout's protections of the user's files apply. The options given to it
 * (--agent, --timeout, ...) are forwarded to the session.
 */
export function landingTarget(pluginOptions: FanoutPluginOptions = {}, exec: Exec = 'npx'): TargetConfiguration {
  return {
    // The session's executor: Nx then runs a run's sessions and their landings in one batch process.
    executor: 'fanout:run',
    cache: false,
    dependsOn: [{ target: sessionTargetName(pluginOptions), params: 'forward' }],
    metadata: {
      description: `Land this task's session in the workspace: its files and wired edits, never over a file you changed since (the session runs first, or is replayed from the cache).`,
      technologies: ['fanout'],
      help: help(exec, 'run', { agent: 'claude', fresh: true }),
    },
  };
}

/**
 * The root project with the `fanout-verify` target. It depends on every task
 * (implicitly, through the tag), so `nx affected` runs it whenever a task is
 * affected, and `^fanout` runs every task's session before it. The root keeps
 * the name it has; a root that is not a project yet takes its package.json's.
 */
export function verifyProject(
  workspaceRoot: string,
  sessionTarget = FANOUT_TARGET_DEFAULT,
  exec: Exec = 'npx',
): { name: string; implicitDependencies: string[]; targets: Record<string, TargetConfiguration> } {
  let name: string | undefined;
  for (const file of ['project.json', 'package.json']) {
    try {
      const json = JSON.parse(readFileSync(join(workspaceRoot, file), 'utf-8')) as { name?: string; nx?: { name?: string } };
      name = json.nx?.name ?? json.name;
      if (name) break;
    } catch {
      // No such file at the root: try the next.
    }
  }
  return {
    name: name ?? 'workspace',
    implicitDependencies: [`tag:${TASK_TAG}`],
    targets: {
      [VERIFY_TARGET]: {
        executor: 'fanout:verify',
        cache: false,
        dependsOn: [`^${sessionTarget}`],
        metadata: {
          description:
            'Verify the fan-out as a whole: cross-session checks, nx affected since its base commit, and the report (.fanout/report.md, report.html).',
          technologies: ['fanout'],
          help: help(exec, 'verify', { targets: ['lint', 'test'], base: 'main' }),
        },
      },
    },
  };
}

export const createNodesV2: CreateNodesV2<FanoutPluginOptions> = [
  `**/${ASSIGNMENT_FILE}`,
  async (files, options, context) => {
    // Before anything of Nx's is called: if it is a version fanout does not know, this says why what follows fails.
    warnOnceIfUnsupportedNx(context.workspaceRoot, (message) => logger.warn(message));
    // Only a workspace with tasks asks which package manager it uses (which may start it to learn its version).
    const exec =
      files.length > 0 ? getPackageManagerCommand(detectPackageManager(context.workspaceRoot), context.workspaceRoot).exec : 'npx';
    const results = await createNodesFromFiles(
      (file, pluginOptions, ctx: CreateNodesContextV2) => {
        const projectRoot = dirname(file);
        const production = ctx.nxJsonConfiguration.namedInputs?.['production'] ? 'production' : 'default';
        const source = readFileSync(join(ctx.workspaceRoot, file), 'utf-8');
        return {
          projects: {
            [projectRoot]: {
              tags: [TASK_TAG],
              targets: {
                [sessionTargetName(pluginOptions)]: fanoutTarget(projectRoot, source, production, pluginOptions ?? {}, exec),
                [fanoutTargetName(pluginOptions)]: landingTarget(pluginOptions ?? {}, exec),
              },
            },
          },
        };
      },
      files,
      options,
      context,
    );
    if (files.length === 0) return results;
    // One fanout-verify for the whole workspace, on the root project, after every task's session.
    return [...results, ['nx.json', { projects: { '.': verifyProject(context.workspaceRoot, fanoutTargetName(options), exec) } }]];
  },
];

export const createNodes = createNodesV2;

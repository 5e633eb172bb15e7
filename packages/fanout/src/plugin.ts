import { createNodesFromFiles, type CreateNodesContextV2, type CreateNodesV2, type TargetConfiguration } from '@nx/devkit';
import { readFileSync } from 'fs';
import { dirname, join } from 'path';
import { ASSIGNMENT_FILE, DEFAULT_SCOPE, parseAssignment } from './core/assignment';

export interface FanoutPluginOptions {
  /** Name of the inferred target. Default: fanout. */
  targetName?: string;
  /** Files copied from the workspace into every session's worktree (e.g. `.env`). */
  copyFiles?: string[];
  /** First port of the first session; each session gets `portRange` ports from its base. */
  portBase?: number;
  portRange?: number;
  /** Severity per check: contract-conformance (error), naming-parity (warning). */
  checks?: Record<string, 'error' | 'warning' | 'off'>;
  /** Makes naming-parity findings errors. */
  strictNaming?: boolean;
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
): TargetConfiguration {
  let like: string | undefined;
  let contracts: string | undefined;
  let scope: readonly string[] = DEFAULT_SCOPE;
  try {
    const assignment = parseAssignment(source, `${projectRoot}/${ASSIGNMENT_FILE}`);
    ({ like, contracts, scope } = assignment);
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
      '{workspaceRoot}/AGENTS.md',
      { externalDependencies: ['fanout'] },
    ],
    outputs: [
      ...scope.map((entry) => (entry === '.' ? '{projectRoot}' : `{projectRoot}/${entry}`)),
      // The assignment is an input; a scope that covers it must not make it an output too.
      ...(scope.includes('.') ? [`!{projectRoot}/${ASSIGNMENT_FILE}`] : []),
      '{workspaceRoot}/.fanout/sessions/{projectName}',
    ],
    dependsOn: ['^fanout'],
    metadata: {
      description: `Run this task's agent session in its own git worktree and integrate the result (${ASSIGNMENT_FILE}).`,
      technologies: ['fanout'],
    },
  };
}

export const createNodesV2: CreateNodesV2<FanoutPluginOptions> = [
  `**/${ASSIGNMENT_FILE}`,
  (files, options, context) =>
    createNodesFromFiles(
      (file, pluginOptions, ctx: CreateNodesContextV2) => {
        const projectRoot = dirname(file);
        const production = ctx.nxJsonConfiguration.namedInputs?.['production'] ? 'production' : 'default';
        const source = readFileSync(join(ctx.workspaceRoot, file), 'utf-8');
        return {
          projects: {
            [projectRoot]: {
              targets: { [pluginOptions?.targetName ?? 'fanout']: fanoutTarget(projectRoot, source, production) },
            },
          },
        };
      },
      files,
      options,
      context,
    ),
];

export const createNodes = createNodesV2;

import { logger, type ExecutorContext, type ProjectGraph, type TaskGraph } from '@nx/devkit';
import { existsSync, readFileSync } from 'fs';
import { join } from 'path';
import { ASSIGNMENT_FILE, DEFAULT_SCOPE, parseAssignment, parseDuration, type Assignment } from '../../core/assignment';
import { assembleBase } from '../../core/context';
import { findIndependenceViolations, type FanoutTaskRef } from '../../core/independence';
import { runSession, type SessionResult } from '../../core/session';
import type { FanoutPluginOptions } from '../../plugin';
import type { RunExecutorSchema } from './schema';

const CONVENTIONS = ['AGENTS.md'];

function readAssignment(workspaceRoot: string, projectRoot: string): Assignment {
  const file = `${projectRoot}/${ASSIGNMENT_FILE}`;
  const path = join(workspaceRoot, file);
  if (!existsSync(path)) throw new Error(`${file} does not exist.`);
  return parseAssignment(readFileSync(path, 'utf-8'), file);
}

/** The specifier other projects import a library by: a tsconfig path, else its package name. */
function importPathOnDisk(workspaceRoot: string, root: string): string | undefined {
  for (const config of ['tsconfig.base.json', 'tsconfig.json']) {
    const path = join(workspaceRoot, config);
    if (!existsSync(path)) continue;
    try {
      const paths: Record<string, string[]> = JSON.parse(readFileSync(path, 'utf-8')).compilerOptions?.paths ?? {};
      for (const [specifier, targets] of Object.entries(paths)) {
        if (targets.some((target) => target.replace(/^\.\//, '').startsWith(`${root}/`))) return specifier;
      }
    } catch {
      // A tsconfig with comments: fall through to package.json.
    }
  }
  const manifest = join(workspaceRoot, root, 'package.json');
  return existsSync(manifest) ? JSON.parse(readFileSync(manifest, 'utf-8')).name : undefined;
}

function fanoutTasks(taskGraph: TaskGraph, targetName: string): { id: string; project: string }[] {
  return Object.values(taskGraph.tasks)
    .filter((task) => task.target.target === targetName)
    .map((task) => ({ id: task.id, project: task.target.project }))
    .sort((a, b) => a.project.localeCompare(b.project));
}

function projectAdjacency(graph: ProjectGraph): Map<string, string[]> {
  return new Map(
    Object.entries(graph.dependencies).map(([project, dependencies]) => [
      project,
      dependencies.map((dependency) => dependency.target).filter((target) => !target.startsWith('npm:')),
    ]),
  );
}

function pluginOptions(context: ExecutorContext): FanoutPluginOptions {
  const entry = context.nxJsonConfiguration?.plugins?.find(
    (plugin) => (typeof plugin === 'string' ? plugin : plugin.plugin) === 'fanout',
  );
  return typeof entry === 'object' && entry.options ? (entry.options as FanoutPluginOptions) : {};
}

/** Checks the whole run before any session starts; throws with every violation. */
function confirmIndependence(context: ExecutorContext, targetName: string): void {
  const graph = context.projectGraph;
  const tasks = fanoutTasks(context.taskGraph as TaskGraph, targetName);
  const taskProjects = new Set(tasks.map((task) => task.project));
  const refs: FanoutTaskRef[] = tasks.map((task) => {
    const root = graph.nodes[task.project]?.data.root ?? task.project;
    let scope: readonly string[] = DEFAULT_SCOPE;
    try {
      const assignment = readAssignment(context.root, root);
      scope = assignment.scope;
      if (taskProjects.has(assignment.like)) {
        throw new Error(
          `${root}/${ASSIGNMENT_FILE}: like: "${assignment.like}" is itself a task of this run; a task must follow a finished reference.`,
        );
      }
    } catch (error) {
      // Only this task's own problems stop it; another task's bad assignment is reported by that task.
      if (task.project === context.projectName) throw error;
    }
    return { id: task.id, project: task.project, scope: scope.map((entry) => (entry === '.' ? root : `${root}/${entry}`)) };
  });
  const taskAdjacency = new Map(Object.entries((context.taskGraph as TaskGraph).dependencies));
  const violations = findIndependenceViolations(refs, projectAdjacency(graph), taskAdjacency);
  if (violations.length > 0) {
    throw new Error(`the tasks of this run are not independent:\n${violations.map((violation) => `  - ${violation.message}`).join('\n')}`);
  }
}

function resultLine(result: SessionResult): string {
  const seconds = (result.durationMs / 1000).toFixed(1);
  if (result.status === 'succeeded') {
    return `✔ ${result.project}: ${result.agent} session integrated ${result.files.length} file(s) in ${seconds} s${
      result.summary ? ` (${result.summary})` : ''
    }`;
  }
  return (
    `✖ ${result.project}: ${result.error}\n` +
    (result.worktree ? `  worktree kept at ${result.worktree}\n` : '') +
    `  log: ${result.log}`
  );
}

export default async function runExecutor(options: RunExecutorSchema, context: ExecutorContext): Promise<{ success: boolean }> {
  const project = context.projectName;
  if (!project) throw new Error('fanout:run must run as a project target.');
  const node = context.projectGraph.nodes[project];
  const projectRoot = node.data.root;
  try {
    const assignment = readAssignment(context.root, projectRoot);
    if (options.timeout !== undefined) assignment.timeoutMs = parseDuration(options.timeout, '--timeout');
    const targetName = context.targetName ?? 'fanout';
    confirmIndependence(context, targetName);

    const resolve = (name: string, key: 'like' | 'contracts') => {
      const target = context.projectGraph.nodes[name];
      if (!target) {
        throw new Error(`${projectRoot}/${ASSIGNMENT_FILE}: ${key}: "${name}" is not a project in this workspace.`);
      }
      return target.data.root;
    };
    const contractsRoot = resolve(assignment.contracts, 'contracts');
    const referenceRoot = resolve(assignment.like, 'like');
    const importPath = importPathOnDisk(context.root, contractsRoot);
    if (!importPath) throw new Error(`the contracts library "${assignment.contracts}" has no import path (tsconfig paths or package.json name).`);

    const plugin = pluginOptions(context);
    const index = fanoutTasks(context.taskGraph as TaskGraph, targetName).findIndex((task) => task.project === project);
    const contracts = { project: assignment.contracts, root: contractsRoot, importPath };
    const reference = { project: assignment.like, root: referenceRoot };
    const result = await runSession({
      workspaceRoot: context.root,
      project,
      projectRoot,
      assignment,
      agent: options.agent,
      command: options.command,
      contracts,
      reference,
      base: assembleBase({ workspaceRoot: context.root, conventions: CONVENTIONS, contracts, reference }),
      copyFiles: plugin.copyFiles ?? [],
      portBase: (plugin.portBase ?? 20_000) + Math.max(index, 0) * (plugin.portRange ?? 100),
      echo: !options.quiet,
      checks: { checks: plugin.checks, strictNaming: plugin.strictNaming },
      log: (line) => logger.info(`[fanout] ${line}`),
    });
    logger.info(resultLine(result));
    return { success: result.status === 'succeeded' };
  } catch (error) {
    logger.error(`✖ ${project}: ${error instanceof Error ? error.message : String(error)}`);
    return { success: false };
  }
}

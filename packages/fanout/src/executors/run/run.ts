import { logger, type ExecutorContext, type ProjectGraph, type TaskGraph } from '@nx/devkit';
import { existsSync, readFileSync } from 'fs';
import { join } from 'path';
import { agentOptionsForRun } from '../../core/agents/agent-options';
import { assertAgentReady } from '../../core/agents/registry';
import {
  ASSIGNMENT_FILE,
  DEFAULT_SCOPE,
  durationMs,
  parseAssignment,
  parseDuration,
  resolveTaskProjects,
  type Assignment,
} from '../../core/assignment';
import { assembleBase } from '../../core/context';
import type { CheckInput } from '../../core/checks/check';
import { readImportPaths } from '../../core/import-paths';
import { findIndependenceViolations, reachableFrom, type FanoutTaskRef } from '../../core/independence';
import { writeReport } from '../../core/report';
import { workspaceScope } from '../../core/scope';
import { discardSession, runSession, type SessionResult } from '../../core/session';
import type { SparseCheckout } from '../../core/sparse-checkout';
import type { FanoutPluginOptions } from '../../plugin';
import type { RunExecutorSchema } from './schema';

const CONVENTIONS = ['AGENTS.md'];

function readAssignment(workspaceRoot: string, projectRoot: string): Assignment {
  const file = `${projectRoot}/${ASSIGNMENT_FILE}`;
  const path = join(workspaceRoot, file);
  if (!existsSync(path)) throw new Error(`${file} does not exist.`);
  return parseAssignment(readFileSync(path, 'utf-8'), file);
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
  const refs: FanoutTaskRef[] = tasks.map((task) => {
    const root = graph.nodes[task.project]?.data.root ?? task.project;
    let scope: readonly string[] = DEFAULT_SCOPE;
    try {
      const assignment = readAssignment(context.root, root);
      scope = assignment.scope;
    } catch (error) {
      // Only this task's own problems stop it; another task's bad assignment is reported by that task.
      if (task.project === context.projectName) throw error;
    }
    return { id: task.id, project: task.project, scope: workspaceScope(root, scope) };
  });
  const taskAdjacency = new Map(Object.entries((context.taskGraph as TaskGraph).dependencies));
  const violations = findIndependenceViolations(refs, projectAdjacency(graph), taskAdjacency);
  if (violations.length > 0) {
    throw new Error(`the tasks of this run are not independent:\n${violations.map((violation) => `  - ${violation.message}`).join('\n')}`);
  }
}

/**
 * What a session's checks need to know of the run: how imports resolve to projects,
 * which projects it must not import (the other tasks, and every project that depends
 * on one, with the path), and the ports of every session.
 */
function runKnowledge(
  context: ExecutorContext,
  project: string,
  tasks: { project: string }[],
  portsAt: (index: number) => { first: number; last: number },
): Pick<CheckInput, 'projects' | 'forbidden' | 'ports'> {
  const graph = context.projectGraph;
  const projects = readImportPaths(
    context.root,
    Object.values(graph.nodes).map((node) => ({ name: node.name, root: node.data.root })),
  );
  const siblings = tasks.map((task) => task.project).filter((name) => name !== project);
  const dependents = new Map<string, string[]>();
  for (const [from, targets] of projectAdjacency(graph)) {
    for (const target of targets) dependents.set(target, [...(dependents.get(target) ?? []), from]);
  }
  const forbidden = new Map<string, string>();
  for (const sibling of siblings) forbidden.set(sibling, `is another task of this run (${sibling}:fanout)`);
  for (const [sibling, parents] of reachableFrom(dependents, siblings)) {
    for (const dependent of parents.keys()) {
      if (dependent === project || forbidden.has(dependent)) continue;
      const path = [dependent];
      for (let node = parents.get(dependent); node !== undefined && node !== sibling; node = parents.get(node)) path.push(node);
      path.push(sibling);
      forbidden.set(dependent, `depends on ${sibling}, another task of this run (${path.join(' → ')})`);
    }
  }
  const own = tasks.findIndex((task) => task.project === project);
  return {
    projects,
    forbidden,
    ports: {
      own: portsAt(Math.max(own, 0)),
      siblings: tasks.flatMap((task, index) => (task.project === project ? [] : [{ project: task.project, ...portsAt(index) }])),
    },
  };
}

/** The projects a session's worktree keeps (its own, the contracts, the reference and what they depend on) and the rest. */
function sparseCheckout(graph: ProjectGraph, needed: string[]): SparseCheckout {
  const kept = new Set(needed);
  for (const parents of reachableFrom(projectAdjacency(graph), needed).values()) {
    for (const project of parents.keys()) kept.add(project);
  }
  const nodes = Object.values(graph.nodes);
  return {
    keep: nodes.filter((node) => kept.has(node.name)).map((node) => node.data.root),
    leave: nodes.filter((node) => !kept.has(node.name)).map((node) => node.data.root),
  };
}

/** The plugin's `stagger` in milliseconds: 0 when unset or zero. */
function staggerMs(plugin: FanoutPluginOptions): number {
  const value = plugin.stagger;
  if (value === undefined || value === 0 || (typeof value === 'string' && /^\s*0+(\.0*)?\s*(ms|s|m|h)?\s*$/.test(value))) return 0;
  const ms = durationMs(value);
  if (ms === undefined) {
    throw new Error(
      `nx.json (fanout plugin options): "stagger" must be 0 or a duration such as "2s" or "500ms" (got ${JSON.stringify(value)}).`,
    );
  }
  return ms;
}

/** The line (or, for a failure, the lines: what went wrong, where the worktree and the log are) printed per task. */
export function resultLine(result: SessionResult): string {
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
    if (options.fresh) await discardSession(context.root, project);
    const assignment = readAssignment(context.root, projectRoot);
    if (options.timeout !== undefined) assignment.timeoutMs = parseDuration(options.timeout, '--timeout');
    const targetName = context.targetName ?? 'fanout';
    // Every bad input is refused here, before anything is created: no worktree, no branch, no file.
    const file = `${projectRoot}/${ASSIGNMENT_FILE}`;
    assertAgentReady(
      options.agent ?? assignment.agent,
      { command: options.command ?? assignment.command },
      options.agent !== undefined || options.command !== undefined ? `${file} with --agent/--command` : file,
    );
    const {
      contracts: { root: contractsRoot },
      reference: { root: referenceRoot },
    } = resolveTaskProjects(
      assignment,
      { project, file },
      new Map(Object.values(context.projectGraph.nodes).map((entry) => [entry.name, entry.data.root])),
      new Set(fanoutTasks(context.taskGraph as TaskGraph, targetName).map((task) => task.project)),
    );
    confirmIndependence(context, targetName);

    const [importPath] = readImportPaths(context.root, [{ name: assignment.contracts, root: contractsRoot }])[0].importPaths;
    if (!importPath) throw new Error(`the contracts library "${assignment.contracts}" has no import path (tsconfig paths or package.json name).`);

    const plugin = pluginOptions(context);
    const tasks = fanoutTasks(context.taskGraph as TaskGraph, targetName);
    const index = tasks.findIndex((task) => task.project === project);
    const portBase = plugin.portBase ?? 20_000;
    const portRange = plugin.portRange ?? 100;
    const contracts = { project: assignment.contracts, root: contractsRoot, importPath };
    const reference = { project: assignment.like, root: referenceRoot };
    const agentName = options.agent ?? assignment.agent;
    const result = await runSession({
      workspaceRoot: context.root,
      project,
      projectRoot,
      assignment,
      agent: options.agent,
      command: options.command,
      // What the cache key holds (the target's options), with env values and retry settings from nx.json.
      agentOptions: agentOptionsForRun(options.agents?.[agentName], plugin.agents?.[agentName]),
      model: options.model,
      startDelayMs: Math.max(index, 0) * staggerMs(plugin),
      contracts,
      reference,
      base: assembleBase({ workspaceRoot: context.root, conventions: CONVENTIONS, contracts, reference }),
      copyFiles: plugin.copyFiles ?? [],
      sparse: plugin.sparseCheckout !== true ? undefined : sparseCheckout(context.projectGraph, [project, assignment.contracts, assignment.like]),
      portBase: portBase + Math.max(index, 0) * portRange,
      echo: !options.quiet,
      checks: { checks: plugin.checks, strictNaming: plugin.strictNaming },
      run: runKnowledge(context, project, tasks, (position) => ({
        first: portBase + position * portRange,
        last: portBase + (position + 1) * portRange - 1,
      })),
      log: (line) => logger.info(`[fanout] ${line}`),
    });
    logger.info(resultLine(result));
    try {
      // The report after every session: the last one of a run to end leaves the whole run in it.
      writeReport(context.root);
    } catch (error) {
      logger.warn(`[fanout] the report could not be written: ${error instanceof Error ? error.message : String(error)}`);
    }
    return { success: result.status === 'succeeded' };
  } catch (error) {
    logger.error(`✖ ${project}: ${error instanceof Error ? error.message : String(error)}`);
    return { success: false };
  }
}

import type { ExecutorContext } from '@nx/devkit';
import { existsSync, readFileSync } from 'fs';
import { join } from 'path';
import type { CheckInput } from '../../core/checks/check';
import { readImportPaths } from '../../core/graph/import-paths';
import { fanoutTasks, RunGraph, type RunTask } from '../../core/graph/run-tasks';
import { parseAssignment, type Assignment } from '../../core/session/assignment';
import { runKey } from '../../core/session/cache-prefix-lead';
import { assembleBase } from '../../core/session/prompt';
import { workspaceScope } from '../../core/session/scope';
import {
  ASSIGNMENT_FILE,
  CONVENTIONS_FILE,
  DEFAULT_SCOPE,
  fanoutTargetName,
  readPluginOptions,
  type FanoutPluginOptions,
} from '../../constants';
import { runSettings, type RunSettings } from './normalize';

type BaseSources = Pick<Parameters<typeof assembleBase>[0], 'contracts' | 'reference'>;

/** A task's fanout.md, parsed; an error that says which file when it is missing or broken. */
export function readAssignment(workspaceRoot: string, projectRoot: string): Assignment {
  const file = `${projectRoot}/${ASSIGNMENT_FILE}`;
  const path = join(workspaceRoot, file);
  if (!existsSync(path)) throw new Error(`${file} does not exist.`);
  return parseAssignment(readFileSync(path, 'utf-8'), file);
}

/**
 * What every task of a run shares, worked out once per run and handed to each task:
 * the plugin options checked and settled, the run's tasks in Nx's graphs and the
 * verdict on their independence, and, on first use, the workspace's import paths and
 * the base context of each contracts and reference. A batch builds one for all its
 * tasks; a task in a process of its own (--batch=false) builds one for itself.
 * Building it checks the plugin options, and throws what is wrong with them.
 */
export class RunPlan {
  readonly workspaceRoot: string;
  /** The plugin options in nx.json, as written. */
  readonly plugin: FanoutPluginOptions;
  /** The plugin options every session shares, checked, with their defaults. */
  readonly settings: RunSettings;
  /** The landing target's name (the plugin's targetName): never part of a session's gate. */
  readonly landingTarget: string;
  /** The session target these tasks run as. */
  readonly targetName: string;
  readonly graph: RunGraph;
  /** Every project's root, by name. */
  readonly projectRoots: ReadonlyMap<string, string>;
  /** The projects whose session runs in this run. */
  readonly runProjects: ReadonlySet<string>;
  private violations?: readonly string[];
  private importPaths?: CheckInput['projects'];
  private readonly libraryImportPaths = new Map<string, string | undefined>();
  private readonly bases = new Map<string, ReturnType<typeof assembleBase>>();
  private leadKey?: string;

  constructor(context: Pick<ExecutorContext, 'root' | 'projectGraph' | 'taskGraph' | 'nxJsonConfiguration'>, targetName?: string) {
    this.workspaceRoot = context.root;
    this.plugin = readPluginOptions(context.nxJsonConfiguration);
    this.settings = runSettings(this.plugin);
    this.landingTarget = fanoutTargetName(this.plugin);
    this.targetName = targetName ?? this.landingTarget;
    // Nx always passes the task graph to a project target; an executor called without one runs alone.
    const taskGraph = context.taskGraph ?? { tasks: {}, dependencies: {} };
    this.graph = new RunGraph(context.projectGraph, taskGraph, fanoutTasks(taskGraph, this.targetName));
    this.projectRoots = new Map(Object.values(context.projectGraph.nodes).map((node) => [node.name, node.data.root]));
    this.runProjects = new Set(this.graph.tasks.map((task) => task.project));
  }

  get tasks(): readonly RunTask[] {
    return this.graph.tasks;
  }

  /**
   * Every reason the run's tasks are not independent (none: they are), over each
   * task's scope in its fanout.md. A task whose fanout.md is broken counts with the
   * default scope here: its own session reports what is wrong with it.
   */
  independence(): readonly string[] {
    return (this.violations ??= this.graph.independenceViolations((task, root) => {
      let scope: readonly string[] = DEFAULT_SCOPE;
      try {
        scope = readAssignment(this.workspaceRoot, root).scope;
      } catch {
        // Reported by that task.
      }
      return workspaceScope(root, scope);
    }));
  }

  /** The key under which the run's sessions meet to pick their lead (lead.ts), read when a session first asks. */
  leadRun(): string {
    return (this.leadKey ??= runKey());
  }

  /** Session n's ports: portRange of them from portBase + n × portRange. */
  portsAt(index: number): { first: number; last: number } {
    const { portBase, portRange } = this.settings;
    return { first: portBase + index * portRange, last: portBase + (index + 1) * portRange - 1 };
  }

  /**
   * How imports resolve to every project of the workspace. Read when the checks first
   * ask, after the agent: in a workspace of thousands of projects it reads a
   * package.json per project, which the session's start need not wait for.
   */
  workspaceImportPaths(): CheckInput['projects'] {
    return (this.importPaths ??= readImportPaths(
      this.workspaceRoot,
      [...this.projectRoots].map(([name, root]) => ({ name, root })),
    ));
  }

  /** The first specifier a library is imported by (tsconfig paths, else its package.json name); undefined when it has none. */
  importPathOf(library: string, root: string): string | undefined {
    if (!this.libraryImportPaths.has(library)) {
      this.libraryImportPaths.set(library, readImportPaths(this.workspaceRoot, [{ name: library, root }])[0].importPaths[0]);
    }
    return this.libraryImportPaths.get(library);
  }

  /** The base context every session on these contracts and this reference is given: the conventions, then their sources. */
  baseFor(sources: BaseSources): ReturnType<typeof assembleBase> {
    const key = JSON.stringify(sources);
    let base = this.bases.get(key);
    if (!base) {
      base = assembleBase({ workspaceRoot: this.workspaceRoot, conventions: [CONVENTIONS_FILE], ...sources });
      this.bases.set(key, base);
    }
    return base;
  }
}

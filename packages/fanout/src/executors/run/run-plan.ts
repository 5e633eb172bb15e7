import type { ExecutorContext } from '@nx/devkit';
import { closeSync, existsSync, mkdirSync, openSync, readFileSync } from 'fs';
import { dirname, join } from 'path';
import { AGENTS } from '../../core/agents/registry';
import { estimateRun, historyFrom, recordedResultFiles, type RunEstimate, type SessionToEstimate } from '../../core/budget/estimate';
import { BudgetLedger, ledgerFile, pruneOldRuns, type Budget } from '../../core/budget/ledger';
import { approxTokens } from '../../core/budget/token-count';
import type { CheckInput } from '../../core/checks/check';
import { readImportPaths } from '../../core/graph/import-paths';
import { fanoutTasks, RunGraph, type RunTask } from '../../core/graph/run-tasks';
import { parseAssignment, type Assignment } from '../../core/session/assignment';
import { runKey } from '../../core/session/cache-prefix-lead';
import { assembleBase, assemblePrompt } from '../../core/session/prompt';
import { workspaceScope } from '../../core/session/scope';
import {
  ASSIGNMENT_FILE,
  CONVENTIONS_FILE,
  DEFAULT_SCOPE,
  fanoutTargetName,
  readPluginOptions,
  recordedSubject,
  type FanoutPluginOptions,
} from '../../constants';
import { runSettings, type RunSettings } from './normalize';
import type { RunExecutorSchema } from './schema';

type BaseSources = Pick<Parameters<typeof assembleBase>[0], 'contracts' | 'reference'> & {
  reference: { subject?: string };
};

/** The agent that costs nothing: built in, offline. Its sessions are left out of the estimate. */
const FREE_AGENTS: ReadonlySet<string> = new Set(['pattern']);

/** One task's session as it runs in this run: its agent, and the model it asks for (undefined: the CLI's default). */
export interface SessionAgent {
  agent: string;
  model?: string;
}

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
  private readonly subjects: ReadonlyMap<string, string | undefined>;
  /** Set by a batch: the options of each session task Nx gave it, which are exactly the sessions to run. */
  private batchSessions?: ReadonlyMap<string, RunExecutorSchema>;
  private runEstimate?: { estimate: RunEstimate; cached: number };
  private budgetLedger?: BudgetLedger;
  private estimateClaimed = false;
  private readonly agents = new Map<string, SessionAgent>();

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
    this.subjects = new Map(Object.values(context.projectGraph.nodes).map((node) => [node.name, recordedSubject(node.data)]));
  }

  /**
   * A batch's sessions: Nx gives a batch the session tasks it runs, and replays the others from its
   * cache without them, so these are the sessions the estimate counts.
   */
  runsInBatch(sessions: ReadonlyMap<string, RunExecutorSchema>): void {
    this.batchSessions = sessions;
  }

  /** The run's budget: --budget (normalized options), else the plugin option; undefined: none. */
  budget(options: RunExecutorSchema): Budget | undefined {
    return (options.budget as Budget | undefined) ?? this.settings.budget;
  }

  /** The run's ledger (.fanout/budget/<run>.json), shared with every session of the run, in this process or another. */
  ledger(budget: Budget): BudgetLedger {
    return (this.budgetLedger ??= new BudgetLedger(ledgerFile(this.workspaceRoot, this.leadRun()), budget, this.leadRun()));
  }

  /** A task's agent and model: --agent and --model from the run over its fanout.md, and the plugin's agents.<name>.model. */
  private sessionAgent(
    project: string,
    assignment: Assignment,
    own: { project: string; options: RunExecutorSchema; assignment: Assignment },
  ) {
    const given = this.batchSessions?.get(project);
    let agent: string;
    let model: string | undefined;
    if (given) {
      agent = given.agent !== undefined ? String(given.agent) : assignment.agent;
      model = given.model !== undefined ? String(given.model) : undefined;
    } else {
      // In a process of its own, a task knows only its own options: the plugin sets `agent` from each task's fanout.md,
      // so an agent that differs from its own fanout.md's came from the command line, for every task.
      const overridden = own.options.agent !== undefined && own.options.agent !== own.assignment.agent;
      agent = project === own.project ? (own.options.agent ?? assignment.agent) : overridden ? String(own.options.agent) : assignment.agent;
      model = own.options.model;
    }
    const configured = this.plugin.agents?.[agent]?.model;
    return { agent, model: model ?? (typeof configured === 'string' ? configured : undefined) };
  }

  /**
   * What the run's sessions will cost (docs/cost.md), worked out once per run: the sessions to run (in a
   * batch, those Nx gave it; in a process of its own, every task of the run, as the cache is not known
   * there), their base context and assignment in tokens, priced, with this workspace's earlier sessions
   * for the work. `own` is the asking task, whose options say what the run's command line set.
   */
  estimate(own: { project: string; options: RunExecutorSchema; assignment: Assignment }): {
    estimate: RunEstimate;
    cached: number;
    agents: ReadonlyMap<string, SessionAgent>;
  } {
    if (this.runEstimate) return { ...this.runEstimate, agents: this.agents };
    const sessions: SessionToEstimate[] = [];
    let baseTokens = 0;
    const tasks = this.batchSessions ? this.tasks.filter((task) => this.batchSessions?.has(task.project)) : this.tasks;
    for (const task of tasks) {
      let assignment: Assignment;
      try {
        assignment =
          task.project === own.project
            ? own.assignment
            : readAssignment(this.workspaceRoot, this.projectRoots.get(task.project) ?? task.project);
      } catch {
        continue; // Reported by that task.
      }
      const { agent, model } = this.sessionAgent(task.project, assignment, own);
      this.agents.set(task.project, { agent, ...(model ? { model } : {}) });
      if (FREE_AGENTS.has(agent)) continue;
      const contractsRoot = this.projectRoots.get(assignment.contracts);
      const referenceRoot = this.projectRoots.get(assignment.like);
      const importPath = contractsRoot && this.importPathOf(assignment.contracts, contractsRoot);
      if (!contractsRoot || !referenceRoot || !importPath) continue;
      const { base } = this.baseFor({
        contracts: { project: assignment.contracts, root: contractsRoot, importPath },
        reference: { project: assignment.like, root: referenceRoot, subject: this.subjects.get(assignment.like) },
      });
      baseTokens = Math.max(baseTokens, approxTokens(base));
      const brief = {
        project: task.project,
        projectRoot: this.projectRoots.get(task.project) ?? task.project,
        scope: assignment.scope,
        text: assignment.text,
      };
      const options = this.plugin.agents?.[agent] ?? {};
      sessions.push({
        project: task.project,
        agent,
        ...(model ? { model } : {}),
        assignmentTokens: approxTokens(assemblePrompt({ base: '', baseHash: '' }, brief).assignment),
        sharesCachePrefix: this.settings.leadWaitMs > 0 && AGENTS.get(agent)?.sharesCachePrefix?.(options) === true,
      });
    }
    const history = sessions.length > 0 ? historyFrom(recordedResultFiles(this.workspaceRoot)) : [];
    const estimate = estimateRun({ sessions, baseTokens, sharesCachePrefix: false, history, prices: this.settings.prices });
    const cached = this.batchSessions ? Math.max(0, this.runProjects.size - this.batchSessions.size) : 0;
    this.runEstimate = { estimate, cached };
    return { estimate, cached, agents: this.agents };
  }

  /**
   * Whether this task prints the run's estimate: the first to ask in a batch; with --batch=false, the
   * task whose process creates `.fanout/budget/<run>.estimate` first (as the lead session is elected).
   */
  claimEstimate(): boolean {
    if (this.estimateClaimed) return false;
    this.estimateClaimed = true;
    if (this.batchSessions) return this.pruned(true);
    const marker = join(dirname(ledgerFile(this.workspaceRoot, this.leadRun())), `${this.leadRun()}.estimate`);
    try {
      mkdirSync(dirname(marker), { recursive: true });
      closeSync(openSync(marker, 'wx'));
      return this.pruned(true);
    } catch (error) {
      // Another task of the run printed it; where the folder cannot be written, printing twice is the lesser harm.
      return (error as NodeJS.ErrnoException).code !== 'EEXIST';
    }
  }

  /** Once per run, by the task that prints its estimate: earlier runs' budget files beyond the newest few go. */
  private pruned(claimed: boolean): boolean {
    try {
      pruneOldRuns(this.workspaceRoot, this.leadRun());
    } catch {
      // Clearing old files must never fail a run.
    }
    return claimed;
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

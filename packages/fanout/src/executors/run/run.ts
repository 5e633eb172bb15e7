import type { ExecutorContext } from '@nx/devkit';
import { existsSync, lstatSync } from 'fs';
import { join } from 'path';
import { agentOptionsForRun } from '../../core/agents/agent-options';
import { assertAgentReady } from '../../core/agents/registry';
import {
  checkRepairs,
  checkTargetList,
  parseDuration,
  resolveTaskProjects,
  resolveWiredFiles,
  type Assignment,
} from '../../core/session/assignment';
import { gateTargets } from '../../core/session/gate';
import { writeToTask } from '../../core/system/task-output';
import { assertIndependent } from '../../core/graph/run-tasks';
import { writeReport } from '../../core/report/report';
import { discardSession, runSession } from '../../core/session/session';
import type { SessionResult } from '../../core/session/result';
import type { RunExecutorSchema } from './schema';
import { normalizeRunOptions } from './normalize';
import { readAssignment, RunPlan } from './run-plan';
import { ASSIGNMENT_FILE, recordedSubject, VERIFY_TARGET, type FanoutPluginOptions } from '../../constants';
import { sandboxAvailabilityHere } from '../../core/sandbox/availability';
import { sandboxDecision, sessionSandboxSetting } from '../../core/sandbox/settings';
import { formatEstimate, overBudget } from '../../core/budget/estimate';
import type { BudgetGuard, BudgetLedger } from '../../core/budget/ledger';
import { priceFor } from '../../core/budget/prices';

/**
 * A line of the task's terminal output: its own sink in a batch, else Nx's logger.
 * `@nx/devkit` is loaded only for the logger, on first use: a batch (which runs
 * every session of the run) never needs it, and loading it costs about 0.1 s.
 */
function say(line: string, level: 'info' | 'warn' | 'error' = 'info'): void {
  if (writeToTask(`${line}\n`, level === 'info' ? 'stdout' : 'stderr')) return;
  (require('@nx/devkit') as typeof import('@nx/devkit')).logger[level](line);
}

/**
 * The session's gate and repair rounds: --gate/--repairs, else fanout.md's, else
 * the plugin options' (the plugin puts the latter two in the target's options);
 * every bad value refused before anything starts.
 */
function gateSettings(
  options: RunExecutorSchema,
  assignment: Assignment,
  plugin: FanoutPluginOptions,
  projectTargets: readonly string[],
  targetName: string,
): { gate: { run: string[]; missing: string[] }; repairs: number | undefined } {
  const wanted = options.gate ?? assignment.gate ?? plugin.gate;
  let list: string[] | undefined;
  if (wanted !== undefined) {
    const checked = checkTargetList(wanted);
    if (typeof checked === 'string') throw new Error(`gate ${checked}`);
    if (checked.includes(targetName)) {
      throw new Error(
        `gate: "${targetName}" is the session's own target; the gate runs the project's checks, e.g. [typecheck, test, lint].`,
      );
    }
    list = checked;
  }
  const asked = options.repairs ?? assignment.repairs ?? plugin.repairs;
  let repairs: number | undefined;
  if (asked !== undefined) {
    const checked = checkRepairs(asked);
    if (typeof checked === 'string') throw new Error(`repairs ${checked}`);
    repairs = checked;
  }
  return {
    gate: gateTargets(
      projectTargets.filter((target) => target !== targetName),
      list,
    ),
    repairs,
  };
}

/** The typecheck of each project that owns one of the task's wired files, where it has one. */
function wiredGate(context: ExecutorContext, wired: readonly { project: string }[]): { project: string; targets: string[] }[] {
  const owners = [...new Set(wired.map((file) => file.project))];
  return owners.flatMap((project) =>
    context.projectGraph.nodes[project]?.data.targets?.['typecheck'] ? [{ project, targets: ['typecheck'] }] : [],
  );
}

/** The line (or, for a failure, the lines: what went wrong, where the worktree and the log are) printed per task. */
export function resultLine(result: SessionResult): string {
  const seconds = (result.durationMs / 1000).toFixed(1);
  if (result.status === 'succeeded') {
    const rounds = result.rounds?.length ?? 1;
    const passed = result.gate?.targets.map((target) => target.target) ?? [];
    return `✔ ${result.project}: ${result.agent} session recorded ${rounds > 1 ? `after ${rounds} rounds: ` : ''}${result.files.length} file(s) in ${seconds} s${passed.length > 0 ? `, passing ${passed.join(', ')}` : ''}${result.summary ? ` (${result.summary})` : ''}`;
  }
  return (
    `✖ ${result.project}: ${result.error}\n` + (result.worktree ? `  worktree kept at ${result.worktree}\n` : '') + `  log: ${result.log}`
  );
}

function writeReportSafely(workspaceRoot: string): void {
  try {
    writeReport(workspaceRoot);
  } catch (error) {
    say(`[fanout] the report could not be written: ${error instanceof Error ? error.message : String(error)}`, 'warn');
  }
}

/** What a task prints when it fails before or outside its session: the task, and what went wrong. */
function failed(project: string | undefined, error: unknown): { success: false } {
  say(`✖ ${project}: ${error instanceof Error ? error.message : String(error)}`, 'error');
  return { success: false };
}

/**
 * The run's estimate and budget, before anything of the session is made: the estimate printed once
 * per run; the run refused when even its low end is over the budget; then this session's start
 * held against the run's ledger (BudgetReachedError once the run's spend has reached the budget).
 * The session's guard, or undefined without a budget.
 */
async function holdBudget(
  options: RunExecutorSchema,
  plan: RunPlan,
  own: { project: string; assignment: Assignment },
): Promise<{ guard: BudgetGuard; ledger: BudgetLedger } | undefined> {
  const { estimate, cached, agents } = plan.estimate({ ...own, options });
  const budget = plan.budget(options);
  // Said where it says something: a session it could price, or a budget to hold the run to.
  const worthSaying = estimate.perSession.some((session) => session.work.from !== 'unknown') || budget !== undefined;
  if (worthSaying && estimate.perSession.length > 0 && plan.claimEstimate()) {
    say(`[fanout] ${formatEstimate(estimate, { cached })}`);
    if (budget) await plan.ledger(budget).noteEstimate(estimate.low, estimate.high);
  }
  if (!budget) return undefined;
  const refusal = overBudget(estimate, budget.usd);
  if (refusal) throw new Error(refusal);
  const ledger = plan.ledger(budget);
  const mine = estimate.perSession.find((session) => session.project === own.project);
  await ledger.start(own.project, mine?.low ?? 0);
  const { agent, model } = agents.get(own.project) ?? { agent: options.agent ?? own.assignment.agent, model: options.model };
  return { guard: ledger.guard(own.project, priceFor(model, agent, plan.settings.prices)?.price), ledger };
}

/** fanout:run for one task, run in a process of its own by Nx: a run plan of its own, then its session. */
export default async function runExecutor(options: RunExecutorSchema, context: ExecutorContext): Promise<{ success: boolean }> {
  let plan: RunPlan;
  try {
    plan = new RunPlan(context, context.targetName);
  } catch (error) {
    if (!context.projectName) throw new Error('fanout:run must run as a project target.');
    return failed(context.projectName, error);
  }
  return runFanoutTask(options, context, plan, { report: 'when-due' });
}

/**
 * One task's session, in the run `plan` describes. `report`: `when-due` writes the
 * run's report when this is the run's last session to end, or a failed one (a task
 * in a process of its own cannot know otherwise); `none` leaves it to the caller (a
 * batch writes it once, at its end). `env`: the session's environment, where it is
 * not this process's (a batch's task). `cleanUpLater`: takes a landed session's
 * worktree clean-up (see SessionSpec).
 */
export async function runFanoutTask(
  options: RunExecutorSchema,
  context: ExecutorContext,
  plan: RunPlan,
  {
    report,
    env,
    cleanUpLater,
  }: { report: 'when-due' | 'none'; env?: NodeJS.ProcessEnv; cleanUpLater?: (work: () => Promise<void>) => void },
): Promise<{ success: boolean }> {
  const project = context.projectName;
  if (!project) throw new Error('fanout:run must run as a project target.');
  const node = context.projectGraph.nodes[project];
  const projectRoot = node.data.root;
  try {
    const { settings } = plan;
    options = normalizeRunOptions(options as Record<string, unknown>, plan.landingTarget);
    const assignment = readAssignment(context.root, projectRoot);
    if (options.timeout !== undefined) assignment.timeoutMs = parseDuration(options.timeout, '--timeout');
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
    } = resolveTaskProjects(assignment, { project, file }, plan.projectRoots, plan.runProjects);
    const wired = resolveWiredFiles(
      assignment.wire ?? [],
      { project, file, root: projectRoot, scope: assignment.scope },
      plan.projectRoots,
      plan.runProjects,
      (path) => existsSync(join(context.root, path)) && lstatSync(join(context.root, path)).isFile(),
      [assignment.like, assignment.contracts],
    );
    assertIndependent(plan.independence());
    // --sandbox, else fanout.md's, else the plugin option's; `on` where the sandbox cannot run is refused here.
    const sandbox = sessionSandboxSetting({ run: options.sandbox, assignment: assignment.sandbox, plugin: settings.sandbox });
    sandboxDecision(sandbox.mode, sandboxAvailabilityHere);

    const importPath = plan.importPathOf(assignment.contracts, contractsRoot);
    if (!importPath)
      throw new Error(`the contracts library "${assignment.contracts}" has no import path (tsconfig paths or package.json name).`);

    const index = Math.max(
      plan.tasks.findIndex((task) => task.project === project),
      0,
    );
    const contracts = { project: assignment.contracts, root: contractsRoot, importPath };
    const reference = {
      project: assignment.like,
      root: referenceRoot,
      subject: recordedSubject(context.projectGraph.nodes[assignment.like]?.data),
    };
    const agentName = options.agent ?? assignment.agent;
    const { gate, repairs } = gateSettings(
      options,
      assignment,
      plan.plugin,
      Object.keys(node.data.targets ?? {}).filter((target) => target !== plan.landingTarget),
      plan.targetName,
    );
    const guard = await holdBudget(options, plan, { project, assignment });
    // Only now, with every input checked and the budget held: --fresh discards what an earlier session of the task left.
    if (options.fresh) await discardSession(context.root, project);
    const result = await runSession({
      workspaceRoot: context.root,
      project,
      projectRoot,
      assignment,
      agent: options.agent,
      command: options.command,
      // What the cache key holds (the target's options), with env values and retry settings from nx.json.
      agentOptions: agentOptionsForRun(options.agents?.[agentName], plan.plugin.agents?.[agentName]),
      model: options.model,
      startDelayMs: index * settings.staggerMs,
      lead: { run: plan.leadRun(), waitMs: settings.leadWaitMs },
      contracts,
      reference,
      base: plan.baseFor({ contracts, reference }),
      copyFiles: settings.copyFiles,
      // Sparse unless turned off: the session's project, the contracts, the reference and what they depend on.
      sparse: settings.sparseCheckout
        ? plan.graph.sparseSelection([project, assignment.contracts, assignment.like, ...wired.map((file) => file.project)])
        : undefined,
      portBase: plan.portsAt(index).first,
      echo: !options.quiet,
      checks: settings.checks,
      run: plan.graph.knowledge(
        project,
        (position) => plan.portsAt(position),
        () => plan.workspaceImportPaths(),
      ),
      log: (line) => say(`[fanout] ${line}`),
      ...(env ? { env } : {}),
      ...(cleanUpLater ? { cleanUpLater } : {}),
      gate,
      sandbox,
      keepConversation: Object.values(context.taskGraph?.tasks ?? {}).some((task) => task.target.target === VERIFY_TARGET),
      ...(repairs !== undefined ? { repairs } : {}),
      ...(wired.length > 0 ? { wired } : {}),
      ...(wired.length > 0 && gate.run.length > 0 ? { wiredGate: wiredGate(context, wired) } : {}),
      ...(guard ? { budget: guard.guard } : {}),
      ...(settings.maxConcurrent[agentName] ? { maxConcurrent: settings.maxConcurrent[agentName] } : {}),
    }).finally(() => guard?.ledger.settle(project));
    say(resultLine(result));
    // A failed session never lands, so its landing never writes the report: this session does.
    if (report === 'when-due' && result.status !== 'succeeded') writeReportSafely(context.root);
    return { success: result.status === 'succeeded' };
  } catch (error) {
    return failed(project, error);
  }
}

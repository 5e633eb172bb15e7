import { logger, type ExecutorContext } from '@nx/devkit';
import { readFileSync } from 'fs';
import { join, relative } from 'path';
import { listFiles } from '../../core/system/files';
import { removeKeptState, type SessionSandbox } from '../../core/sandbox/session-sandbox';
import type { SessionResult } from '../../core/session/result';
import { parseAssignment, type Assignment } from '../../core/session/assignment';
import { extractClaims } from '../../core/checks/claims';
import { readSessionResults, writeReport, type VerifySummary } from '../../core/report/report';
import { findCrossSessionProblems } from '../../core/verify/cross-session';
import { chooseBaseCommit, type BaseCommit } from '../../core/verify/base-commit';
import { runNx, type AffectedRun } from '../../core/verify/affected';
import { runAtBase } from '../../core/verify/at-base';
import type { SessionTouches } from '../../core/verify/attribution';
import { runRepairBudget, type RepairBudget } from '../../core/verify/repair-budget';
import { checkPrices, priceBook } from '../../core/budget/prices';
import { repairWhole } from '../../core/verify/repair-whole';
import { runKey } from '../../core/session/cache-prefix-lead';
import { recordsOf, saveVerifyRepairs, withStoredRepairs } from '../../core/verify/repair-store';
import { repairableSession } from './repairable';
import type { VerifyExecutorSchema } from './schema';
import {
  ASSIGNMENT_FILE,
  CONVENTIONS_FILE,
  DEFAULT_CHECK_TARGETS,
  DEFAULT_TIMEOUT_MS,
  DEFAULT_VERIFY_REPAIRS,
  fanoutTargetName,
  MAX_VERIFY_REPAIRS,
  readPluginOptions,
  sessionTargetName,
  VERIFY_TARGET,
  type FanoutPluginOptions,
} from '../../constants';

/** The tasks' fanout.md, parsed. */
function readAssignments(context: ExecutorContext, taskRoots: string[]): Assignment[] {
  const assignments: Assignment[] = [];
  for (const root of taskRoots) {
    try {
      assignments.push(parseAssignment(readFileSync(join(context.root, root, ASSIGNMENT_FILE), 'utf-8'), `${root}/${ASSIGNMENT_FILE}`));
    } catch {
      // A task with a broken fanout.md failed its own session; it has nothing to verify.
    }
  }
  return assignments;
}

/** What the tasks' cache keys depend on, as paths: the assignments, the contracts and references, the conventions. */
function taskInputPaths(context: ExecutorContext, taskRoots: string[], assignments: Assignment[]): string[] {
  const projects = new Set(assignments.flatMap((assignment) => [assignment.like, assignment.contracts]));
  const roots = [...projects]
    .map((name) => context.projectGraph.nodes[name]?.data.root)
    .filter((root): root is string => root !== undefined);
  return [...taskRoots.map((root) => `${root}/${ASSIGNMENT_FILE}`), ...roots, CONVENTIONS_FILE];
}

/** The names every sibling exports by design: what the tasks' references export. */
function referenceExports(context: ExecutorContext, assignments: Assignment[]): Set<string> {
  const names = new Set<string>();
  const references = new Set(assignments.map((assignment) => assignment.like));
  for (const reference of references) {
    const root = context.projectGraph.nodes[reference]?.data.root;
    if (!root) continue;
    for (const file of listFiles(join(context.root, root, 'src'))) {
      if (!/\.[cm]?[jt]sx?$/.test(file)) continue;
      const path = relative(context.root, file);
      for (const { name } of extractClaims(path, readFileSync(file, 'utf-8')).exports) names.add(name);
    }
  }
  return names;
}

/** --verifyRepairs, else the plugin option, else the default; a clear error for a value that is none. */
function verifyRepairsOf(options: VerifyExecutorSchema, plugin: FanoutPluginOptions): number {
  const [value, where] =
    options.verifyRepairs !== undefined
      ? [options.verifyRepairs as unknown, '--verifyRepairs']
      : [plugin.verifyRepairs as unknown, 'nx.json (fanout plugin options) "verifyRepairs"'];
  if (value === undefined) return DEFAULT_VERIFY_REPAIRS;
  const count = typeof value === 'string' && /^\d+$/.test(value.trim()) ? Number(value) : value;
  if (typeof count === 'number' && Number.isInteger(count) && count >= 0 && count <= MAX_VERIFY_REPAIRS) return count;
  throw new Error(`${where} is a whole number from 0 to ${MAX_VERIFY_REPAIRS} (got ${JSON.stringify(value)}).`);
}

/** What each session landed, from its result.json, in landing order. */
function landedTouches(results: readonly SessionResult[]): SessionTouches[] {
  const landedAt = (result: SessionResult) => Date.parse(result.landing?.landedAt ?? result.integratedAt ?? result.endedAt) || 0;
  return [...results]
    .sort((a, b) => landedAt(a) - landedAt(b) || a.project.localeCompare(b.project))
    .map((result) => ({
      project: result.project,
      landed: result.landing
        ? result.landing.files.filter((file) => file.action !== 'kept').map((file) => file.path)
        : result.files.map((file) => file.path),
      wired: (result.landing?.wired ?? result.wired ?? [])
        .filter((file) => file.status !== 'dropped' && file.status !== 'conflict')
        .map(({ path, project }) => ({ path, project })),
    }));
}

function summaryLines(summary: VerifySummary): string[] {
  const lines = summary.problems.map((problem) => `  - [${problem.kind}] ${problem.message} Sessions: ${problem.sessions.join(', ')}.`);
  for (const record of summary.repairs ?? []) {
    const blamed = record.suspects.map((suspect) => suspect.session).join(', ') || 'nobody';
    lines.push(`  - [${record.verdict}] ${record.task}: blamed on ${blamed}${record.atBase ? ` (${record.atBase})` : ''}`);
  }
  if (summary.restored) lines.push(`  - the failure persisted after the repairs: ${summary.restored.join(', ')} put back as integrated.`);
  if (summary.affected && !summary.affected.ok) lines.push(`  - [affected] \`${summary.affected.command}\` failed: see its output above.`);
  return lines;
}

/**
 * `fanout-verify`: runs after every fanout task of the run and checks the
 * integrated whole, then writes the report: the one thing it writes to the
 * workspace (the fanout target lands the sessions' work). Fails with a summary
 * naming each problem and the sessions that caused it.
 */
export default async function verifyExecutor(options: VerifyExecutorSchema, context: ExecutorContext): Promise<{ success: boolean }> {
  const sandboxes: SessionSandbox[] = [];
  const keptStates: string[] = [];
  try {
    const targets = options.targets ?? DEFAULT_CHECK_TARGETS;
    const plugin = readPluginOptions(context.nxJsonConfiguration);
    const fanoutTarget = fanoutTargetName(plugin);
    const verifyRepairs = verifyRepairsOf(options, plugin);
    const recursive = targets.filter((target) => target === fanoutTarget || target === context.targetName);
    if (recursive.length > 0) {
      throw new Error(
        `targets: ${recursive.join(', ')} cannot be verified by ${context.targetName ?? VERIFY_TARGET} itself; list the checks to run, such as ${DEFAULT_CHECK_TARGETS.join(', ')}.`,
      );
    }
    const tasks = Object.values(context.projectGraph.nodes)
      .filter((node) => node.data.targets?.[fanoutTarget])
      .map((node) => ({ name: node.name, root: node.data.root }));
    if (tasks.length === 0) {
      throw new Error(
        `no project has a ${fanoutTarget} target: create tasks with nx g fanout:task, run them with nx run-many -t ${fanoutTarget}, then verify.`,
      );
    }
    const taskNames = new Set(tasks.map((task) => task.name));
    // Repairs an earlier verify landed stand for the record they belong to, though a replay restored its result.json.
    const results = readSessionResults(context.root)
      .filter((result) => taskNames.has(result.project))
      .map((result) => (result.status === 'succeeded' ? withStoredRepairs(context.root, result) : result));
    keptStates.push(...results.flatMap((result) => (result.sandbox?.keptState ? [result.sandbox.keptState] : [])));
    const summary: VerifySummary = { ok: true, problems: [] };
    const missing = tasks.filter((task) => !results.some((result) => result.project === task.name)).map((task) => task.name);
    if (missing.length > 0) {
      summary.problems.push({
        kind: 'no-session',
        message: `${missing.join(', ')} ha${missing.length === 1 ? 's' : 've'} no session result. Run nx run-many -t ${fanoutTarget} ${context.targetName ?? VERIFY_TARGET}.`,
        sessions: missing,
      });
    }
    for (const failed of results.filter((result) => result.status !== 'succeeded')) {
      summary.problems.push({
        kind: 'session-failed',
        message: `the session of ${failed.project} failed: ${failed.error ?? 'no reason recorded'}`,
        sessions: [failed.project],
      });
    }
    const succeeded = results.filter((result) => result.status === 'succeeded');
    const taskRoots = tasks.map((task) => task.root);
    const assignments = readAssignments(context, taskRoots);

    const runsAffected = !options.skipAffected && targets.length > 0;
    let base: BaseCommit | undefined;
    try {
      base = await chooseBaseCommit({
        workspaceRoot: context.root,
        results,
        inputPaths: taskInputPaths(context, taskRoots, assignments),
        requested: options.base,
      });
    } catch (error) {
      // Without nx affected the base is only shown in the report: having none is no failure, a wrong --base still is.
      if (runsAffected || options.base !== undefined) throw error;
    }
    if (base) {
      summary.baseCommit = base.commit;
      summary.baseSource = base.source;
      summary.baseNote = base.note;
      logger.info(`[fanout] ${base.note}`);
    }

    if (runsAffected && base) {
      const args = ['affected', '-t', ...targets, `--base=${base.commit}`, '--outputStyle=static'];
      // The root project carries fanout-verify and depends on every task: it is always affected, and
      // the targets other plugins infer for it would check the whole workspace once more.
      const rootProject = Object.values(context.projectGraph.nodes).find((node) => node.data.root === '.');
      if (rootProject) args.push(`--exclude=${rootProject.name}`);
      if (options.parallel !== undefined) args.push(`--parallel=${options.parallel}`);
      logger.info(`[fanout] verifying the integrated workspace: nx ${args.join(' ')}`);
      const affected = await runNx(context.root, args);
      summary.affected = { command: affected.command, ok: affected.ok, output: affected.output };
      if (!affected.ok && affected.failed.length > 0) {
        const repaired = await repairTheWhole(context, {
          affected,
          args,
          base: base.commit,
          succeeded,
          verifyRepairs,
          plugin,
          sandboxes,
          options,
        });
        summary.repairs = repaired.records;
        if (repaired.restored) summary.restored = repaired.restored;
        summary.affected = { command: repaired.final.command, ok: repaired.final.ok, output: repaired.final.output };
      }
    }
    // After the repairs, which may have resolved (or made) a collision.
    summary.problems.push(
      ...findCrossSessionProblems({ workspaceRoot: context.root, results: succeeded, sharedNames: referenceExports(context, assignments) }),
    );
    summary.ok = summary.problems.length === 0 && (summary.affected?.ok ?? true);
    const report = writeReport(context.root, summary);
    if (summary.ok) {
      logger.info(
        `✔ fanout-verify: ${results.length} session(s) verified together${summary.affected ? `, ${summary.affected.command} green` : ''}. Report: ${report.markdown}`,
      );
    } else {
      logger.error(
        `✖ fanout-verify found ${summary.problems.length + (summary.affected?.ok === false ? 1 : 0)} problem(s):\n${summaryLines(summary).join('\n')}\nReport: ${report.markdown}`,
      );
    }
    return { success: summary.ok };
  } catch (error) {
    logger.error(`✖ fanout-verify: ${error instanceof Error ? error.message : String(error)}`);
    return { success: false };
  } finally {
    for (const sandbox of sandboxes) sandbox.close();
    // The sandboxed sessions' conversations were kept for these repairs: no longer needed.
    for (const kept of keptStates) removeKeptState(kept);
  }
}

function withBudget(budget: RepairBudget | undefined): { budget?: RepairBudget } {
  return budget ? { budget } : {};
}

/**
 * The failed tasks of nx affected, each checked at the base, blamed on the sessions
 * that reach it, and repaired by them in up to `verifyRepairs` rounds; what was done is
 * recorded in each concerned session's result.json.
 */
async function repairTheWhole(
  context: ExecutorContext,
  run: {
    affected: AffectedRun;
    args: string[];
    base: string;
    succeeded: SessionResult[];
    verifyRepairs: number;
    plugin: FanoutPluginOptions;
    sandboxes: SessionSandbox[];
    options: VerifyExecutorSchema;
  },
): ReturnType<typeof repairWhole> {
  const graph = context.projectGraph;
  const tasks = new Set(run.succeeded.map((result) => result.project));
  const ignored = [fanoutTargetName(run.plugin), sessionTargetName(run.plugin), context.targetName ?? VERIFY_TARGET];
  const byProject = new Map(run.succeeded.map((result) => [result.project, result]));
  const repairable = new Map<string, ReturnType<typeof repairableSession>>();
  const outcome = await repairWhole({
    workspaceRoot: context.root,
    first: run.affected,
    rerun: () => runNx(context.root, run.args),
    graph: {
      nodes: Object.fromEntries(Object.values(graph.nodes).map((node) => [node.name, { root: node.data.root }])),
      dependencies: graph.dependencies,
    },
    sessions: landedTouches(run.succeeded),
    repairable: (project) => {
      if (!repairable.has(project)) {
        const result = byProject.get(project);
        repairable.set(
          project,
          result ? repairableSession(context, run.plugin, result, tasks, ignored, run.sandboxes) : `${project} has no succeeded session`,
        );
      }
      return repairable.get(project) as ReturnType<typeof repairableSession>;
    },
    atBase: (failed) =>
      runAtBase({
        workspaceRoot: context.root,
        base: run.base,
        tasks: failed,
        rootOf: (project) => graph.nodes[project]?.data.root,
        env: process.env,
        timeoutMs: DEFAULT_TIMEOUT_MS,
        logFile: join(context.root, '.fanout', 'verify', 'at-base.log'),
      }),
    rounds: run.verifyRepairs,
    echo: true,
    log: (line) => logger.info(`[fanout] ${line}`),
    // The run this verify belongs to (the Nx command both run in): its budget, if it had one.
    ...withBudget(runRepairBudget(context.root, runKey(), priceBook(checkPrices(run.plugin.prices).prices))),
  });
  for (const result of run.succeeded) {
    const concerning = recordsOf(outcome.records, result.project);
    if (concerning.length > 0) saveVerifyRepairs(context.root, result, concerning);
  }
  return outcome;
}

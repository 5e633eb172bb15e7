import { logger, type ExecutorContext } from '@nx/devkit';
import { spawn } from 'child_process';
import { existsSync, readFileSync } from 'fs';
import { join, relative } from 'path';
import { listFiles } from '../../core/system/files';
import { withoutOuterTask } from '../../core/system/nx-env';
import { parseAssignment, type Assignment } from '../../core/session/assignment';
import { extractClaims } from '../../core/checks/claims';
import { readSessionResults, writeReport, type VerifySummary } from '../../core/report/report';
import { findCrossSessionProblems } from '../../core/verify/cross-session';
import { chooseBaseCommit, type BaseCommit } from '../../core/verify/base-commit';
import type { VerifyExecutorSchema } from './schema';
import {
  ASSIGNMENT_FILE,
  CONVENTIONS_FILE,
  DEFAULT_CHECK_TARGETS,
  fanoutTargetName,
  readPluginOptions,
  VERIFY_TARGET,
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

/** Runs `nx affected` in the workspace, its output shown as it comes and kept for the report. */
function runAffected(context: ExecutorContext, args: string[]): Promise<{ ok: boolean; output: string }> {
  const local = join(context.root, 'node_modules', '.bin', 'nx');
  const [program, argv] = existsSync(local) ? [local, args] : ['npx', ['nx', ...args]];
  const env = { ...withoutOuterTask(process.env), NX_TUI: 'false' };
  return new Promise((resolve) => {
    const child = spawn(program, argv, { cwd: context.root, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const keep = (chunk: Buffer, stream: NodeJS.WriteStream) => {
      stream.write(chunk);
      output = (output + chunk.toString('utf-8')).slice(-200_000);
    };
    child.stdout.on('data', (chunk: Buffer) => keep(chunk, process.stdout));
    child.stderr.on('data', (chunk: Buffer) => keep(chunk, process.stderr));
    child.on('error', (error) => resolve({ ok: false, output: `could not start nx: ${error.message}` }));
    child.on('close', (code) => resolve({ ok: code === 0, output }));
  });
}

function summaryLines(summary: VerifySummary): string[] {
  const lines = summary.problems.map((problem) => `  - [${problem.kind}] ${problem.message} Sessions: ${problem.sessions.join(', ')}.`);
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
  try {
    const targets = options.targets ?? DEFAULT_CHECK_TARGETS;
    const fanoutTarget = fanoutTargetName(readPluginOptions(context.nxJsonConfiguration));
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
    const results = readSessionResults(context.root).filter((result) => taskNames.has(result.project));
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
    summary.problems.push(
      ...findCrossSessionProblems({ workspaceRoot: context.root, results: succeeded, sharedNames: referenceExports(context, assignments) }),
    );

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
      const args = ['affected', '-t', ...targets, `--base=${base.commit}`, '--outputStyle=stream'];
      // The root project carries fanout-verify and depends on every task: it is always affected, and
      // the targets other plugins infer for it would check the whole workspace once more.
      const rootProject = Object.values(context.projectGraph.nodes).find((node) => node.data.root === '.');
      if (rootProject) args.push(`--exclude=${rootProject.name}`);
      if (options.parallel !== undefined) args.push(`--parallel=${options.parallel}`);
      logger.info(`[fanout] verifying the integrated workspace: nx ${args.join(' ')}`);
      const affected = await runAffected(context, args);
      summary.affected = { command: `nx ${args.join(' ')}`, ok: affected.ok, output: affected.output };
    }
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
  }
}

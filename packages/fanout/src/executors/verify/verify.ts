import { logger, type ExecutorContext } from '@nx/devkit';
import { spawn } from 'child_process';
import { existsSync, readFileSync } from 'fs';
import { join, relative } from 'path';
import { listFiles } from '../../core/system/files';
import { parseAssignment } from '../../core/session/assignment';
import { extractClaims } from '../../core/checks/claims';
import { readSessionResults, writeReport, type VerifySummary } from '../../core/report/report';
import { fanoutBaseCommit, findCrossSessionProblems } from '../../core/verify/cross-session';
import type { VerifyExecutorSchema } from './schema';
import { ASSIGNMENT_FILE, DEFAULT_CHECK_TARGETS, fanoutTargetName, readPluginOptions, VERIFY_TARGET } from '../../constants';

/** Variables of the outer Nx task that would confuse the nested nx; the user's own settings stay. */
const OUTER_TASK_VARIABLE =
  /^NX_(TASK_|CLI_SET|LOAD_DOT_ENV_FILES|WORKSPACE_ROOT|TERMINAL|STREAM_OUTPUT|PREFIX_OUTPUT|FORKED_TASK_EXECUTOR|SET_CLI)/;

/** The names every sibling exports by design: what the tasks' references export. */
function referenceExports(context: ExecutorContext, taskRoots: string[]): Set<string> {
  const names = new Set<string>();
  const references = new Set<string>();
  for (const root of taskRoots) {
    try {
      references.add(parseAssignment(readFileSync(join(context.root, root, ASSIGNMENT_FILE), 'utf-8'), `${root}/${ASSIGNMENT_FILE}`).like);
    } catch {
      // A task with a broken fanout.md failed its own session; it has nothing to verify.
    }
  }
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
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) if (!OUTER_TASK_VARIABLE.test(key)) env[key] = value;
  env.NX_TUI = 'false';
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
 * integrated whole, then writes the report. Fails with a summary naming each
 * problem and the sessions that caused it.
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
    summary.problems.push(
      ...findCrossSessionProblems({
        workspaceRoot: context.root,
        results: succeeded,
        sharedNames: referenceExports(
          context,
          tasks.map((task) => task.root),
        ),
      }),
    );
    summary.baseCommit = options.base ?? (await fanoutBaseCommit(context.root, results));

    if (!options.skipAffected && targets.length > 0) {
      if (!summary.baseCommit) throw new Error('no base commit: no session recorded the commit it started from. Pass --base=<commit>.');
      const args = ['affected', '-t', ...targets, `--base=${summary.baseCommit}`, '--outputStyle=stream'];
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

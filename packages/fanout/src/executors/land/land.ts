import type { ExecutorContext } from '@nx/devkit';
import { readFileSync } from 'fs';
import { join } from 'path';
import type { LandingOutcome } from '../../core/landing/land';
import { landRecord } from '../../core/landing/land-record';
import type { SessionResult } from '../../core/session/result';
import { writeToTask } from '../../core/system/task-output';
import { writeReport } from '../../core/report/report';
import { ASSIGNMENT_FILE, fanoutTargetName, readPluginOptions, resultFile, sessionTargetName } from '../../constants';
import type { LandExecutorSchema } from './schema';

function say(line: string, level: 'info' | 'warn' | 'error' = 'info'): void {
  if (writeToTask(`${line}\n`, level === 'info' ? 'stdout' : 'stderr')) return;
  (require('@nx/devkit') as typeof import('@nx/devkit')).logger[level](line);
}

/** The wired files the task's fanout.md declares now; none when it cannot be read (its session reported that). */
function declaredWire(workspaceRoot: string, projectRoot: string): string[] {
  try {
    const file = `${projectRoot}/${ASSIGNMENT_FILE}`;
    // Loaded here: a landing whose session wired nothing never needs the YAML parser.
    const { parseAssignment } = require('../../core/session/assignment') as typeof import('../../core/session/assignment');
    return parseAssignment(readFileSync(join(workspaceRoot, file), 'utf-8'), file).wire ?? [];
  } catch {
    return [];
  }
}

/** The line printed for a landed task. */
export function landedLine(project: string, outcome: LandingOutcome): string {
  const count = (action: string) => outcome.files.filter((file) => file.action === action).length;
  const written = count('written') + count('deleted');
  const inPlace = count('in-place');
  const kept = count('kept');
  const merged = outcome.wired.filter((file) => file.status === 'merged').map((file) => file.path);
  const parts = [
    `${written} file(s) written`,
    ...(inPlace > 0 ? [`${inPlace} already in place`] : []),
    ...(kept > 0 ? [`${kept} of yours kept`] : []),
    ...(merged.length > 0 ? [`wired ${merged.join(', ')}`] : []),
  ];
  return `✔ ${project}: landed (${outcome.ranNow ? 'its session ran now' : "its session was replayed from Nx's cache"}): ${parts.join(', ')}`;
}

/** Whether every task of the run has landed since it began: the last to land writes the report. */
function lastToLand(workspaceRoot: string, projects: readonly string[], startedAt: number | undefined): boolean {
  if (startedAt === undefined) return true;
  return projects.every((project) => {
    try {
      const result = JSON.parse(readFileSync(resultFile(workspaceRoot, project), 'utf-8')) as SessionResult;
      return result.integratedAt !== undefined && Date.parse(result.integratedAt) >= startedAt - 1000;
    } catch {
      return false;
    }
  });
}

export default function landExecutor(options: LandExecutorSchema, context: ExecutorContext): Promise<{ success: boolean }> {
  return landTask(options, context, { report: 'when-due' });
}

/**
 * One task's landing: its session record into the workspace (landSession), then
 * the record amended with what landing did. `report: 'when-due'` writes the run's
 * report when this is the run's last task to land; a batch writes it once at its end.
 */
export async function landTask(
  _options: LandExecutorSchema,
  context: ExecutorContext,
  { report }: { report: 'when-due' | 'none' },
): Promise<{ success: boolean }> {
  const project = context.projectName;
  if (!project) throw new Error('fanout:land must run as a project target.');
  const plugin = readPluginOptions(context.nxJsonConfiguration);
  const sessionTarget = sessionTargetName(plugin);
  try {
    const { result, outcome } = await landRecord(context.root, project, {
      sessionTarget,
      wired: () => declaredWire(context.root, context.projectGraph.nodes[project].data.root),
      log: (line) => say(`[fanout] ${line}`),
    });
    if (!outcome) throw new Error(result.error);
    say(landedLine(project, outcome));
    if (report === 'when-due') {
      // Loaded here: a batch (every replay) writes its report once at its end, and never needs them.
      const { fanoutTasks } = require('../../core/graph/run-tasks') as typeof import('../../core/graph/run-tasks');
      const { runStartedAt } = require('../../core/session/cache-prefix-lead') as typeof import('../../core/session/cache-prefix-lead');
      const tasks = fanoutTasks(context.taskGraph ?? { tasks: {}, dependencies: {} }, context.targetName ?? fanoutTargetName(plugin));
      if (
        lastToLand(
          context.root,
          tasks.map((task) => task.project),
          runStartedAt(),
        )
      )
        writeReport(context.root);
    }
    return { success: true };
  } catch (error) {
    say(`✖ ${project}: ${error instanceof Error ? error.message : String(error)}`, 'error');
    try {
      writeReport(context.root);
    } catch {
      // The report is for reading later; the failure is already said.
    }
    return { success: false };
  }
}

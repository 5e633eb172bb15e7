import type { ExecutorContext } from '@nx/devkit';
import { fanoutTargetName, readPluginOptions } from '../../constants';
import type { RunExecutorSchema } from './schema';

/**
 * Whether a task of the fanout:run executor is a landing (the plugin's landing
 * target, `fanout`) rather than a session (`fanout-session`). Both targets use this
 * executor so that Nx puts a run's sessions and their landings in one batch, one
 * process: Nx batches a task with the tasks after it that use the same executor.
 */
export function isLanding(context: Pick<ExecutorContext, 'nxJsonConfiguration'>, targetName: string | undefined): boolean {
  return targetName === fanoutTargetName(readPluginOptions(context.nxJsonConfiguration));
}

/**
 * fanout:run for one task in a process of its own (`--batch=false`): its landing, or its session. Each
 * loads only its own modules: a landing has no use for the session's (agents, checks, worktrees).
 */
export default function fanoutExecutor(options: RunExecutorSchema, context: ExecutorContext): Promise<{ success: boolean }> {
  if (isLanding(context, context.targetName)) {
    return (require('../land/land') as typeof import('../land/land')).landTask(options, context, { report: 'when-due' });
  }
  return (require('./run') as typeof import('./run')).default(options, context);
}

import { buildArgv } from './argv';
import { runProcess } from '../system/process';
import { processReport, type AgentAdapter, type AgentReport, type AgentSession, type AgentSettings } from './agent';

/**
 * `agent: command`: any program. The template from fanout.md (or --command) is
 * split into argv without a shell and its placeholders filled in per element.
 */
export const commandAgent: AgentAdapter = {
  name: 'command',
  description:
    'Runs any program: command: "<argv template>" with {promptFile}, {worktree}, {project}, {projectRoot}, and in a repair round {feedbackFile}.',
  // Run again in the same worktree, told what failed: {feedbackFile}, FANOUT_FEEDBACK_FILE and FANOUT_ROUND.
  repair: 'restart',
  settingsProblem(settings: AgentSettings): string | undefined {
    if (!settings.command || settings.command.trim() === '') {
      return 'agent "command" needs a command template: add command: "<program> {promptFile}" to fanout.md or pass --command.';
    }
    try {
      buildArgv(settings.command, { promptFile: '', worktree: '', project: '', projectRoot: '' });
      return undefined;
    } catch (error) {
      return (error as Error).message;
    }
  },
  async run(session: AgentSession): Promise<AgentReport> {
    const problem = commandAgent.settingsProblem?.({ command: session.command });
    if (problem || !session.command) return { ok: false, error: `${session.projectRoot}/fanout.md: ${problem}` };
    const argv = buildArgv(session.command, {
      promptFile: session.promptFile,
      worktree: session.worktree,
      project: session.project,
      projectRoot: session.projectRoot,
      // Empty before the first repair round.
      feedbackFile: session.repair?.file ?? '',
    });
    const { repair } = session;
    const result = await runProcess(argv, {
      cwd: session.worktree,
      env: repair
        ? { ...session.env, FANOUT_FEEDBACK_FILE: repair.file, FANOUT_ROUND: String(repair.round) }
        : { ...session.env, FANOUT_ROUND: '0' },
      timeoutMs: session.timeoutMs,
      logFile: session.logFile,
      echo: session.echo,
      redact: session.redact,
      sandbox: session.sandbox,
    });
    return processReport(argv[0], result, session.timeoutMs);
  },
};

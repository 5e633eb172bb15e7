import { buildArgv } from './argv';
import { runProcess } from '../system/process';
import { processReport, type AgentAdapter, type AgentReport, type AgentSession, type AgentSettings } from './agent';

/**
 * `agent: command`: any program. The template from fanout.md (or --command) is
 * split into argv without a shell and its placeholders filled in per element.
 */
export const commandAgent: AgentAdapter = {
  name: 'command',
  description: 'Runs any program: command: "<argv template>" with {promptFile}, {worktree}, {project}, {projectRoot}.',
  check(settings: AgentSettings): string | undefined {
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
    const problem = commandAgent.check?.({ command: session.command });
    if (problem || !session.command) return { ok: false, error: `${session.projectRoot}/fanout.md: ${problem}` };
    const argv = buildArgv(session.command, {
      promptFile: session.promptFile,
      worktree: session.worktree,
      project: session.project,
      projectRoot: session.projectRoot,
    });
    const result = await runProcess(argv, {
      cwd: session.worktree,
      env: session.env,
      timeoutMs: session.timeoutMs,
      logFile: session.logFile,
      echo: session.echo,
      redact: session.redact,
    });
    return processReport(argv[0], result, session.timeoutMs);
  },
};

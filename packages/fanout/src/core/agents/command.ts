import { buildArgv } from '../argv';
import { runProcess } from '../process';
import type { AgentAdapter, AgentReport, AgentSession, AgentSettings } from './agent';

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

/** Turns a finished process into a report; shared by every process agent. */
export function processReport(
  program: string,
  result: { exitCode: number | null; signal: string | null; timedOut: boolean },
  timeoutMs: number,
): AgentReport {
  const base = { exitCode: result.exitCode, signal: result.signal, timedOut: result.timedOut };
  if (result.timedOut) {
    return { ...base, ok: false, error: `${program} did not finish within ${Math.round(timeoutMs / 1000)} s and was killed with its process group.` };
  }
  if (result.signal) return { ...base, ok: false, error: `${program} was killed by ${result.signal}.` };
  if (result.exitCode === 127) return { ...base, ok: false, error: `${program} could not be started (not found or not executable).` };
  if (result.exitCode !== 0) return { ...base, ok: false, error: `${program} exited with code ${result.exitCode}.` };
  return { ...base, ok: true };
}

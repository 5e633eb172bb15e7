import type { AgentReport, RepairRound } from '../agents/agent';
import { warmChecks } from '../checks/registry';
import { describeDenials } from '../sandbox/denials';
import { watchBudget } from './budget-watch';
import type { SessionContext, SessionTask } from './context';
import type { LeadTurn } from './cache-prefix-lead';
import type { SessionRecorder } from './recorder';
import type { SessionRound } from './result';
import { whenSetupsEnd } from './setting-up';
import type { SessionSpec } from './session-spec';
import type { Worktree } from './worktree';

/** One round's run of the agent. */
interface AgentRun {
  spec: SessionSpec;
  task: SessionTask;
  context: SessionContext;
  worktree: Worktree;
  turn: LeadTurn | undefined;
  /** The round's entry in the record. */
  entry: SessionRound;
  /** Set for a repair round. */
  repair: RepairRound | undefined;
  /** When the session's time ends (ms since the epoch). */
  deadline: number;
  recorder: SessionRecorder;
}

/** The environment the agent runs with: its base, plus fanout's variables for the session. */
function agentEnv(spec: SessionSpec, baseEnv: NodeJS.ProcessEnv, worktree: Worktree, promptFile: string): NodeJS.ProcessEnv {
  return {
    ...baseEnv,
    FANOUT_PROMPT_FILE: promptFile,
    FANOUT_PROJECT: spec.project,
    FANOUT_PROJECT_ROOT: spec.projectRoot,
    FANOUT_WORKTREE: worktree.path,
    FANOUT_PORT_BASE: String(spec.portBase),
  };
}

/** Runs the agent in the worktree for one round, and records what it reported (the round, the totals, the `agent` check). */
export async function runAgent(run: AgentRun): Promise<AgentReport> {
  const { spec, context, worktree, turn, entry, repair, recorder } = run;
  const round = entry.round;
  const agentStarted = Date.now();
  const env = agentEnv(spec, context.baseEnv, worktree, recorder.promptFile);
  const sandbox = context.sandbox;
  const processSandbox = sandbox?.process({ worktree: worktree.path, checkout: spec.workspaceRoot, env, needs: context.agent.sandbox });
  const deniedBefore = sandbox?.denied.length ?? 0;
  // The run's budget (budget-watch.ts): no round starts once it is spent, and the usage the agent streams stops it at the cap.
  const budget = await watchBudget(spec, context.agent.name, repair, recorder);
  if (budget?.refused) return budget.refused;
  const running = context.agent.run({
    project: spec.project,
    projectRoot: spec.projectRoot,
    workspaceRoot: spec.workspaceRoot,
    worktree: worktree.path,
    promptFile: recorder.promptFile,
    logFile: recorder.logFile,
    subjects: run.task.subjects,
    reference: spec.reference,
    contracts: spec.contracts,
    command: spec.command ?? spec.assignment.command,
    options: context.options,
    timeoutMs: Math.max(1, run.deadline - Date.now()),
    env,
    echo: spec.echo,
    redact: recorder.redact,
    ...(repair ? { repair } : {}),
    ...(spec.wired && spec.wired.length > 0 ? { wired: spec.wired.map((file) => file.path) } : {}),
    cachePrefix: context.cachePrefix,
    ...(processSandbox && sandbox ? { sandbox: { ...processSandbox, privateTemp: sandbox.privateTemp } } : {}),
    ...(turn?.role === 'lead' && round === 0 ? { onResponse: () => turn.ready('response') } : {}),
    ...(budget?.onStdout ? { onStdout: budget.onStdout } : {}),
    ...(budget?.signal ? { signal: budget.signal } : {}),
  });
  // While the agent works, the checks' compiler is loaded and the contracts parsed, so they start warm:
  // once no other session of this process is still setting up, for the load holds the process's thread.
  const cancelWarm = round === 0 ? whenSetupsEnd(() => warmChecks(worktree.path, spec.contracts.root, spec.checks ?? {})) : undefined;
  const report = await running.finally(() => {
    cancelWarm?.();
    // Whatever became of the lead's first round, the others need not wait for it any longer.
    if (turn?.role === 'lead') turn.ready('ended');
  });
  // Repair rounds count too: each settles on what its CLI reported.
  await budget?.settle(report);
  if (sandbox) {
    const denied = sandbox.denied.slice(deniedBefore);
    recorder.sandbox({ on: true, mode: sandbox.setting.mode, policy: sandbox.summary(), denials: [...sandbox.denied] });
    if (denied.length > 0) {
      // A failed agent that was denied something most likely needed it: its error names what. A
      // successful one did without it: a warning, recorded.
      recorder.say(`sandbox: ${report.ok ? 'warning: ' : ''}the agent was denied ${describeDenials(denied)}`);
      if (!report.ok) {
        report.error = `${report.error ?? 'the agent failed'} The sandbox denied it ${describeDenials(denied)}: allow what it needs (sandbox.allowedDomains, sandbox.env in the plugin options or fanout.md), or run it with sandbox: off.`;
      }
    }
  }
  entry.agentMs = Date.now() - agentStarted;
  recorder.agentRan(entry, report);
  recorder.time('agentMs');
  recorder.check(round === 0 ? 'agent' : `agent (repair round ${round})`, report.ok, report.error ?? report.summary);
  return report;
}

import type { AgentReport, RepairRound } from '../agents/agent';
import { describeSpend, type Spend } from '../budget/ledger';
import { usageReaderFor } from '../budget/usage-stream';
import type { SessionRecorder } from './recorder';
import type { SessionSpec } from './session-spec';

/**
 * One round of a session under the run's budget (docs/cost.md). Before the round: no round starts
 * once the run's spend has reached the budget. During it: the usage the agent's CLI streams goes to
 * the run's ledger, and the round is stopped, with the agent's process group, when the run's spend
 * reaches the budget. After it: the ledger takes what the CLI reported in place of what streamed.
 */
export interface BudgetWatch {
  /** The round must not start: the session's report, failed. */
  refused?: AgentReport;
  /** Fed the agent's stdout; absent for an agent whose usage is read only at the end. */
  onStdout?: (text: string) => void;
  /** Aborted when the round must stop: the agent's process group is ended. */
  signal?: AbortSignal;
  /** After the round: the ledger settled on its report, the session's spend recorded, and a stopped round failed. */
  settle(report: AgentReport): Promise<void>;
}

function reachedError(spent: Spend, budget: Parameters<typeof describeSpend>[1], what: string): string {
  return (
    `budget reached: ${describeSpend(spent, budget)} spent; ${what}. Its worktree is kept for inspection, and nothing of it lands. ` +
    'Raise the budget (--budget, or the budget plugin option) and run the task again.'
  );
}

export async function watchBudget(
  spec: SessionSpec,
  agent: string,
  repair: RepairRound | undefined,
  recorder: SessionRecorder,
): Promise<BudgetWatch | undefined> {
  const guard = spec.budget;
  if (!guard) return undefined;
  const record = () =>
    recorder.budget({
      spentUsd: guard.sessionSpend.usd,
      tokens: guard.sessionSpend.tokens,
      ...(guard.wasStopped ? { stopped: true } : {}),
    });
  const before = await guard.runSpend();
  if (before.reached) {
    await guard.stop();
    record();
    const error = reachedError(
      before.spent,
      before.budget,
      repair ? `repair round ${repair.round} did not start` : 'its agent did not start',
    );
    recorder.say(error);
    return { refused: { ok: false, error, stopped: 'budget' }, settle: async () => undefined };
  }
  const controller = new AbortController();
  const read = usageReaderFor(agent, repair?.usedTokens);
  // Each piece of usage is added in turn, under the ledger's lock; the stop follows the addition that reached the budget.
  let added: Promise<void> = Promise.resolve();
  const onStdout = read
    ? (text: string) => {
        for (const tokens of read(text)) {
          added = added
            .then(() => guard.onUsage({ tokens }))
            .then((verdict) => {
              if (verdict === 'stop' && !controller.signal.aborted) {
                recorder.say('the run has spent its budget: this session is stopped, with its agent’s process group');
                controller.abort();
              }
            })
            .catch((error: unknown) => recorder.say(`the budget ledger could not be updated: ${(error as Error).message}`));
        }
      }
    : undefined;
  return {
    ...(onStdout ? { onStdout } : {}),
    signal: controller.signal,
    async settle(report) {
      await added;
      const spent = await guard.settle({
        ...(report.costUsd !== undefined ? { costUsd: report.costUsd } : {}),
        ...(report.tokens ? { tokens: report.tokens } : {}),
      });
      record();
      if (!controller.signal.aborted) return;
      Object.assign(report, {
        ok: false,
        stopped: 'budget',
        error: reachedError(spent, (await guard.runSpend()).budget, `the session was stopped at the cap, with its agent's process group`),
      });
    },
  };
}

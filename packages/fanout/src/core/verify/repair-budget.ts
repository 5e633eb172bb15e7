import { existsSync } from 'fs';
import type { AgentTokens } from '../agents/agent';
import { BudgetLedger, describeSpend, readLedgerFile, ledgerFile } from '../budget/ledger';
import { priceFor, type PriceBook } from '../budget/prices';

/**
 * The run's budget as fanout-verify's repairs of the whole are held to it: a repair does not
 * start once the run's spend has reached it, and what each repair's agent spent is added to the
 * run's ledger (docs/cost.md).
 */
export interface RepairBudget {
  /** Why no repair may start now (the run's spend has reached its budget), or undefined. */
  refusal(): Promise<string | undefined>;
  /** Adds what a repair's agent reported spending to the run's ledger. */
  spend(project: string, spent: { agent: string; model?: string; costUsd?: number; tokens?: AgentTokens }): Promise<void>;
}

/**
 * The budget of run `run` (the Nx command verify runs in), when its sessions ran under one: its
 * ledger is `.fanout/budget/<run>.json`. Undefined when that run had no budget.
 */
export function runRepairBudget(workspaceRoot: string, run: string, prices: PriceBook): RepairBudget | undefined {
  const file = ledgerFile(workspaceRoot, run);
  if (!existsSync(file)) return undefined;
  const state = readLedgerFile(file);
  if (!state) return undefined;
  const ledger = new BudgetLedger(file, state.budget, run);
  return {
    async refusal() {
      if (!(await ledger.reached())) return undefined;
      return (
        `budget reached: ${describeSpend(ledger.read().spent, ledger.budget)} spent; the repair did not start. ` +
        'Raise the budget (--budget, or the budget plugin option) and run fanout-verify again.'
      );
    },
    async spend(project, spent) {
      if (spent.costUsd === undefined && spent.tokens === undefined) return;
      const price = priceFor(spent.model, spent.agent, prices)?.price;
      await ledger.guard(project, price).settle({
        ...(spent.costUsd !== undefined ? { costUsd: spent.costUsd } : {}),
        ...(spent.tokens ? { tokens: spent.tokens } : {}),
      });
    },
  };
}

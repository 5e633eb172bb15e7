import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { BudgetLedger, ledgerFile } from '../budget/ledger';
import { priceBook } from '../budget/prices';
import { runRepairBudget } from './repair-budget';

describe('runRepairBudget', () => {
  let root: string;
  beforeEach(() => (root = mkdtempSync(join(tmpdir(), 'fanout-repair-budget-'))));
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('is none for a run that had no budget', () => {
    expect(runRepairBudget(root, 'run-1', priceBook())).toBeUndefined();
  });

  it("adds each repair's spend to the run's ledger, and refuses a repair once the budget is reached", async () => {
    const ledger = new BudgetLedger(ledgerFile(root, 'run-1'), { usd: 1 }, 'run-1');
    await ledger.add('orders', { usd: 0.4 });
    const budget = runRepairBudget(root, 'run-1', priceBook());
    if (!budget) throw new Error('the run has a budget');
    await expect(budget.refusal()).resolves.toBeUndefined();
    // Reported by the CLI: taken as it is.
    await budget.spend('orders', { agent: 'claude', costUsd: 0.35 });
    // Tokens only: priced by the table ($15 per million output tokens for this model).
    await budget.spend('products', { agent: 'claude', model: 'claude-sonnet-4-5', tokens: { input: 0, output: 20_000 } });
    // Nothing reported: nothing added.
    await budget.spend('products', { agent: 'command' });
    const state = ledger.read();
    expect(state.spent.usd).toBeCloseTo(1.05, 10);
    expect(state.projects['orders'].usd).toBeCloseTo(0.75, 10);
    expect(state.projects['products'].usd).toBeCloseTo(0.3, 10);
    await expect(budget.refusal()).resolves.toBe(
      'budget reached: $1.05 of $1.00 spent; the repair did not start. Raise the budget (--budget, or the budget plugin option) and run fanout-verify again.',
    );
  });
});

import { once } from 'events';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { spawnTypeScript } from '../../testing/git-workspace';
import { BudgetLedger, BudgetReachedError, ledgerFile, parseBudget, pruneOldRuns } from './ledger';

describe('parseBudget', () => {
  it('reads USD, tokens or both, as a number, text or the plugin option object', () => {
    expect(parseBudget(0.03, '--budget')).toEqual({ usd: 0.03 });
    expect(parseBudget('5', '--budget')).toEqual({ usd: 5 });
    expect(parseBudget('$2.50', '--budget')).toEqual({ usd: 2.5 });
    expect(parseBudget('2M tokens', '--budget')).toEqual({ tokens: 2_000_000 });
    expect(parseBudget('5usd, 500k tokens', '--budget')).toEqual({ usd: 5, tokens: 500_000 });
    expect(parseBudget({ usd: 5, tokens: 1e6 }, 'budget')).toEqual({ usd: 5, tokens: 1_000_000 });
  });

  it('refuses what is none, naming the setting and the forms it takes', () => {
    expect(parseBudget('five dollars', '--budget')).toEqual({
      problem:
        '--budget is USD (--budget=5 or "$5"), tokens ("2M tokens"), both ("5usd,2M tokens"), or { "usd": 5, "tokens": 2000000 } in nx.json (got "five dollars").',
    });
    expect(parseBudget(0, '--budget')).toMatchObject({ problem: expect.stringContaining('above 0 (got 0)') });
    expect(parseBudget({ usd: '5' }, 'nx.json (fanout plugin options): budget')).toMatchObject({
      problem: expect.stringContaining('"usd" is a number above 0, without quotes (got "5")'),
    });
    expect(parseBudget({ dollars: 5 }, 'budget')).toMatchObject({
      problem: expect.stringContaining('"dollars" is neither usd nor tokens'),
    });
    expect(parseBudget(true, '--budget')).toMatchObject({ problem: expect.stringContaining('(got true)') });
  });
});

describe('BudgetLedger', () => {
  let dir: string;
  let file: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'fanout-ledger-'));
    file = join(dir, 'run.json');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("lives in the workspace's .fanout/budget folder, one file per run", () => {
    expect(ledgerFile('/ws', '123-456')).toBe('/ws/.fanout/budget/123-456.json');
  });

  it('adds what each session spends, and says when the budget is reached, in USD or in tokens', async () => {
    const ledger = new BudgetLedger(file, { usd: 1, tokens: 10_000 });
    await ledger.add('cart', { usd: 0.4, tokens: 1_000 });
    await ledger.add('orders', { usd: 0.5, tokens: 2_000 });
    expect(await ledger.spent()).toEqual({ usd: 0.9, tokens: 3_000 });
    expect(await ledger.reached()).toBe(false);
    await ledger.add('cart', { tokens: 7_000 });
    expect(await ledger.reached()).toBe(true);
    expect(ledger.read().projects['cart']).toMatchObject({ usd: 0.4, tokens: 8_000 });
  });

  it('refuses a session at its start once the spend has reached the budget, and records it as not started', async () => {
    const ledger = new BudgetLedger(file, { usd: 0.03 });
    await ledger.start('cart');
    await ledger.add('cart', { usd: 0.0312 });
    const refusal = ledger.start('orders');
    await expect(refusal).rejects.toBeInstanceOf(BudgetReachedError);
    await expect(refusal).rejects.toThrow(
      'budget reached: $0.0312 of $0.0300 spent. No further session of this run starts; raise the budget',
    );
    expect(ledger.read().projects['orders']).toMatchObject({ notStarted: true, usd: 0 });
  });

  it("holds a starting session's reservation against the budget until its usage arrives or it ends", async () => {
    const ledger = new BudgetLedger(file, { usd: 1 });
    await ledger.add('earlier', { usd: 0.5 });
    await ledger.start('cart', 0.6);
    // 0.5 spent and 0.6 reserved: nothing is left for another session.
    await expect(ledger.start('orders', 0.1)).rejects.toThrow('budget reached: $0.500 of $1.00 spent');
    // What cart spends uses its reservation up; once it ends, the rest is free again.
    await ledger.add('cart', { usd: 0.2 });
    expect(ledger.read().projects['cart'].reserved).toBeCloseTo(0.4, 10);
    await ledger.settle('cart');
    await expect(ledger.start('orders', 0.1)).resolves.toBeUndefined();
  });

  it('adds up the usage of sessions in several processes adding at once', async () => {
    const script = join(dir, 'adder.ts');
    writeFileSync(
      script,
      `import { BudgetLedger } from ${JSON.stringify(join(__dirname, 'ledger'))};
       const [file, project, times, at] = process.argv.slice(2);
       (async () => {
         const ledger = new BudgetLedger(file, { usd: 1000 });
         // Every process starts adding at the same moment, whenever it finished loading.
         await new Promise((resolve) => setTimeout(resolve, Number(at) - Date.now()));
         for (let i = 0; i < Number(times); i++) await ledger.add(project, { usd: 0.25, tokens: 3 });
       })().catch((error) => { console.error(error); process.exit(1); });`,
    );
    const at = Date.now() + 3_000;
    const children = ['cart', 'orders', 'users'].map((project) => spawnTypeScript(script, [file, project, '200', String(at)]));
    const ledger = new BudgetLedger(file, { usd: 1000 });
    // Listening from the start: a child may end before the test awaits it.
    const exits = await Promise.all(children.map(async (child) => ({ code: (await once(child, 'exit'))[0], output: child.output() })));
    expect(exits).toEqual(children.map(() => ({ code: 0, output: '' })));
    // Quarters add up exactly in binary: any lost update would show.
    const state = ledger.read();
    expect(state.spent).toEqual({ usd: 150, tokens: 1_800 });
    for (const project of ['cart', 'orders', 'users']) expect(state.projects[project]).toMatchObject({ usd: 50, tokens: 600 });
    expect(existsSync(`${file}.lock`)).toBe(false);
  }, 120_000);
});

describe('BudgetGuard', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'fanout-guard-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));
  const price = { input: 2, output: 10, cacheWrite: 2.5, cacheRead: 0.2 };

  it('prices streamed tokens into the ledger, and says stop once the run has spent its budget', async () => {
    const ledger = new BudgetLedger(join(dir, 'run.json'), { usd: 0.05 });
    await ledger.add('other', { usd: 0.03 });
    const guard = ledger.guard('cart', price);
    // 1,000 output tokens: $0.01.
    await expect(guard.onUsage({ tokens: { output: 1_000 } })).resolves.toBe('continue');
    expect((await ledger.spent()).usd).toBeCloseTo(0.04, 10);
    await expect(guard.onUsage({ tokens: { output: 1_000 } })).resolves.toBe('stop');
    expect(guard.wasStopped).toBe(true);
    expect(ledger.read().projects['cart']).toMatchObject({ stopped: true });
  });

  it("settles each round on what the CLI reported, in place of what was streamed, so the totals are the sessions' own", async () => {
    const ledger = new BudgetLedger(join(dir, 'run.json'), { usd: 10 });
    const guard = ledger.guard('cart', price);
    await guard.onUsage({ tokens: { input: 10_000, output: 1_000 } });
    // Claude Code's own cost at the end of the round differs from the table's.
    await guard.settle({ costUsd: 0.05, tokens: { input: 12_000, output: 1_500 } });
    expect(await ledger.spent()).toEqual({ usd: 0.05, tokens: 13_500 });
    // A CLI that streams nothing: the whole report goes in at the end.
    const quiet = ledger.guard('orders', price);
    await quiet.settle({ tokens: { input: 100_000, output: 10_000 } });
    expect(ledger.read().projects['orders'].usd).toBeCloseTo(0.3, 10);
    expect(JSON.parse(readFileSync(join(dir, 'run.json'), 'utf-8')).budget).toEqual({ usd: 10 });
  });
});

describe('pruneOldRuns', () => {
  it("keeps the newest runs' ledgers and estimate markers, the current run's always, and every lock", () => {
    const root = mkdtempSync(join(tmpdir(), 'fanout-prune-'));
    try {
      const dir = join(root, '.fanout', 'budget');
      mkdirSync(dir, { recursive: true });
      const at = (name: string, seconds: number) => {
        writeFileSync(join(dir, name), '{}\n');
        utimesSync(join(dir, name), seconds, seconds);
      };
      for (let run = 1; run <= 5; run++) {
        at(`run-${run}.json`, 1_000 + run);
        at(`run-${run}.estimate`, 1_000 + run);
      }
      at('run-1.json.lock', 500);
      at('current.estimate', 1);
      pruneOldRuns(root, 'current', 3);
      expect(readdirSync(dir).sort()).toEqual(
        ['current.estimate', 'run-1.json.lock', 'run-4.estimate', 'run-4.json', 'run-5.estimate', 'run-5.json'].sort(),
      );
      // No budget folder: nothing to do.
      pruneOldRuns(join(root, 'elsewhere'), 'current');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { DEFAULT_WORK, estimateRun, formatEstimate, historyFrom, overBudget, TOKEN_COUNT_SPREAD, type HistoryEntry } from './estimate';
import { priceBook } from './prices';

const SONNET = { input: 2, output: 10, cacheWrite: 2.5, cacheRead: 0.2 };

describe('historyFrom', () => {
  let dir: string;
  beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'fanout-history-'))));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it("reads each earlier session's agent, model, cost, tokens and rounds, and passes over what is no record", () => {
    const files = ['a', 'b', 'c', 'd', 'e'].map((name) => join(dir, `${name}.json`));
    writeFileSync(
      files[0],
      JSON.stringify({
        project: 'cart',
        agent: 'claude',
        model: 'sonnet',
        costUsd: 0.42,
        tokens: { input: 1000, output: 200 },
        rounds: [{}, {}],
      }),
    );
    writeFileSync(files[1], JSON.stringify({ project: 'orders', agent: 'codex', tokens: { input: 900, output: 80, cacheRead: 500 } }));
    writeFileSync(files[2], '{ broken');
    // Spent nothing: it never reached the model.
    writeFileSync(files[3], JSON.stringify({ project: 'users', agent: 'claude', costUsd: 0 }));
    expect(historyFrom([...files])).toEqual([
      { project: 'cart', agent: 'claude', model: 'sonnet', costUsd: 0.42, tokens: { input: 1000, output: 200 }, rounds: 2 },
      { project: 'orders', agent: 'codex', tokens: { input: 900, output: 80, cacheRead: 500 }, rounds: 1 },
    ]);
  });
});

describe('estimateRun', () => {
  const book = priceBook({ 'test-model': SONNET });
  const sessions = ['cart', 'orders', 'users'].map((project) => ({
    project,
    agent: 'claude',
    model: 'test-model',
    assignmentTokens: 1_000,
  }));

  it('writes the base context once and reads it in the other sessions where the cache prefix is shared, else writes it in each', () => {
    const shared = estimateRun({ sessions, baseTokens: 100_000, sharesCachePrefix: true, prices: book });
    const apart = estimateRun({ sessions, baseTokens: 100_000, sharesCachePrefix: false, prices: book });
    const promptLow = (base: number, perToken: number) => ((base * perToken + 1_000 * SONNET.cacheWrite) * TOKEN_COUNT_SPREAD.low) / 1e6;
    const workLow =
      (DEFAULT_WORK.outputTokens.low * SONNET.output + DEFAULT_WORK.turns.low * 101_000 * TOKEN_COUNT_SPREAD.low * SONNET.cacheRead) / 1e6;
    expect(shared.perSession[0].low).toBeCloseTo(promptLow(100_000, SONNET.cacheWrite) + workLow, 10);
    expect(shared.perSession[1].low).toBeCloseTo(promptLow(100_000, SONNET.cacheRead) + workLow, 10);
    expect(apart.perSession[1].low).toBeCloseTo(promptLow(100_000, SONNET.cacheWrite) + workLow, 10);
    expect(shared.low).toBeLessThan(apart.low);
    expect(shared.basis[0]).toBe('prompt cache: the base context written once and read by the 2 other session(s)');
    expect(apart.basis[0]).toBe('prompt cache: no shared cache prefix, each session writes the base context');
    expect(shared.low).toBeLessThan(shared.high);
  });

  it("takes the work from this workspace's earlier sessions of the same agent and model", () => {
    const history: HistoryEntry[] = [
      { project: 'old-a', agent: 'claude', model: 'test-model', costUsd: 0.5, rounds: 1 },
      { project: 'old-b', agent: 'claude', model: 'test-model', costUsd: 1.5, rounds: 2 },
      // Another agent, and another model: not this session's history.
      { project: 'old-c', agent: 'codex', model: 'test-model', costUsd: 9, rounds: 1 },
      { project: 'old-d', agent: 'claude', model: 'claude-opus-5', costUsd: 9, rounds: 1 },
    ];
    const estimate = estimateRun({ sessions: sessions.slice(0, 1), baseTokens: 10_000, sharesCachePrefix: true, history, prices: book });
    const [session] = estimate.perSession;
    expect(session.work).toEqual({ from: 'history', sessions: 2 });
    // Low: the cheapest earlier session; high: the dearest, each with this run's prompt in place of theirs.
    expect(session.low).toBeGreaterThan(0.45);
    expect(session.low).toBeLessThan(0.5);
    expect(session.high).toBeGreaterThan(1.5);
    expect(session.high).toBeLessThan(1.55);
    expect(estimate.basis).toContain(
      'claude (test-model): the work from 2 earlier session(s) of this workspace, 1.5 round(s) each on average',
    );
  });

  it('falls back to the earlier sessions of the same agent when their records name no model, and says so', () => {
    const history: HistoryEntry[] = [{ project: 'old', agent: 'claude', costUsd: 0.8, rounds: 1 }];
    const estimate = estimateRun({ sessions: sessions.slice(0, 1), baseTokens: 10_000, sharesCachePrefix: true, history, prices: book });
    expect(estimate.perSession[0].work).toEqual({ from: 'history', sessions: 1 });
    expect(estimate.basis.some((line) => line.includes('their model was not recorded'))).toBe(true);
  });

  it("calibrates the table's prices from the cost the CLI reported for the same tokens", () => {
    // The earlier session reported twice what the table makes of its tokens.
    const tokens = { input: 100_000, output: 10_000 };
    const tableCost = (100_000 * SONNET.input + 10_000 * SONNET.output) / 1e6;
    const history: HistoryEntry[] = [{ project: 'old', agent: 'claude', model: 'test-model', costUsd: 2 * tableCost, tokens, rounds: 1 }];
    const plain = estimateRun({ sessions: sessions.slice(0, 1), baseTokens: 50_000, sharesCachePrefix: true, prices: book });
    const calibrated = estimateRun({ sessions: sessions.slice(0, 1), baseTokens: 50_000, sharesCachePrefix: true, history, prices: book });
    expect(calibrated.basis).toContain("claude (test-model): table prices calibrated × 2.00 from 1 earlier session(s)' reported cost");
    // The prompt part doubles; the work is what the session reported.
    const prompt = ((50_000 + 1_000) * SONNET.cacheWrite * TOKEN_COUNT_SPREAD.low) / 1e6;
    expect(calibrated.perSession[0].low).toBeCloseTo(
      2 * prompt + Math.max(2 * tableCost - (2 * prompt + (2 * prompt * TOKEN_COUNT_SPREAD.high) / TOKEN_COUNT_SPREAD.low) / 2, 0),
      10,
    );
    expect(plain.basis.some((line) => line.includes('calibrated'))).toBe(false);
  });

  it('does not apply a calibration so far off that another model must have run, and says why', () => {
    const history: HistoryEntry[] = [
      { project: 'old', agent: 'claude', model: 'test-model', costUsd: 100, tokens: { input: 1000, output: 100 }, rounds: 1 },
    ];
    const estimate = estimateRun({ sessions: sessions.slice(0, 1), baseTokens: 50_000, sharesCachePrefix: true, history, prices: book });
    expect(estimate.basis.some((line) => line.includes('not applied (another model ran then, or the table is out of date'))).toBe(true);
  });

  it('counts a session it cannot price nowhere, and names it', () => {
    const estimate = estimateRun({
      sessions: [{ project: 'local', agent: 'opencode', model: 'my-local-model', assignmentTokens: 10 }],
      baseTokens: 1000,
      sharesCachePrefix: false,
    });
    expect(estimate).toMatchObject({ low: 0, high: 0, unpriced: ['local'] });
    expect(estimate.basis.some((line) => line.includes('Add the model to the prices plugin option'))).toBe(true);
  });
});

describe('formatEstimate and overBudget', () => {
  const estimate = estimateRun({
    sessions: [
      { project: 'cart', agent: 'claude', model: 'claude-sonnet-5-5', assignmentTokens: 800 },
      { project: 'orders', agent: 'claude', model: 'claude-sonnet-5-5', assignmentTokens: 900 },
    ],
    baseTokens: 24_000,
    sharesCachePrefix: true,
  });

  it('prints the sessions to run, the cached ones left out, the base context, the range and the basis', () => {
    const text = formatEstimate(estimate, { cached: 1 });
    expect(text.split('\n')[0]).toMatch(
      /^estimate: 2 session\(s\) to run \(1 more replayed from the cache, not counted\), base context about 24k tokens: \$[\d.]+ to \$[\d.]+$/,
    );
    expect(text).toContain('  cart    claude, claude-sonnet-5-5: $');
    expect(text).toContain('    - prompt cache: the base context written once and read by the 1 other session(s)');
    expect(text).toContain("    - prices: fanout's table of 2026-12-06");
  });

  it("refuses a run whose estimate's low end is over the budget, saying the estimate, the budget and how to raise it", () => {
    expect(overBudget(estimate, undefined)).toBeUndefined();
    expect(overBudget(estimate, estimate.low)).toBeUndefined();
    const refusal = overBudget(estimate, estimate.low / 2);
    expect(refusal).toContain('the run does not start: its estimate is $');
    expect(refusal).toContain('Raise the budget (--budget=');
  });
});

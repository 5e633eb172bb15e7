/**
 * A replay's batch lands sessions and writes the report: loading what only a running session
 * needs (worktrees, the sandbox, agents) would cost every replay its time for nothing.
 */
describe('the batch executor (loaded for a replay)', () => {
  it('loads none of the modules of a running session, nor the parsers of wired merges', () => {
    const sessionOnly = [
      '../../core/session/worktree',
      '../../core/sandbox/session-sandbox',
      '../../core/sandbox/sandbox-runner',
      '../../core/session/session-diff',
      '../../core/landing/syntax',
      '../../core/graph/run-tasks',
      '../../core/session/cache-prefix-lead',
      './run',
      './run-plan',
    ];
    const loaded: string[] = [];
    jest.isolateModules(() => {
      for (const path of sessionOnly) {
        jest.doMock(path, () => {
          loaded.push(path);
          return jest.requireActual(path);
        });
      }
      const batch = require('./batch');
      expect(typeof batch.default).toBe('function');
    });
    expect(loaded).toEqual([]);
  });
});

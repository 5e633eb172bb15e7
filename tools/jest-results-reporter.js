// Writes each jest run's aggregated results (the object `jest --json` prints) to
// $FANOUT_JEST_RESULTS_DIR, so that one script can total every suite of an
// `nx run-many` without changing how the test targets are invoked.
const { mkdirSync, writeFileSync } = require('fs');
const { join } = require('path');

class JestResultsReporter {
  constructor(globalConfig) {
    this.globalConfig = globalConfig;
  }

  onRunComplete(_contexts, results) {
    const dir = process.env.FANOUT_JEST_RESULTS_DIR;
    if (!dir) return;
    mkdirSync(dir, { recursive: true });
    const name = `${process.pid}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}.json`;
    const { testResults, ...totals } = results;
    writeFileSync(
      join(dir, name),
      JSON.stringify({
        ...totals,
        rootDir: this.globalConfig.rootDir,
        suites: testResults.map((suite) => ({
          file: suite.testFilePath,
          passed: suite.numPassingTests,
          failed: suite.numFailingTests,
          durationMs: suite.perfStats ? suite.perfStats.end - suite.perfStats.start : undefined,
          error: suite.testExecError ? String(suite.testExecError.message) : undefined,
          // Each failed test, named as jest names it, with the start of its message: a CI log
          // that shows only its last lines still says which test failed and why.
          failures: suite.testResults
            .filter((test) => test.status === 'failed')
            .map((test) => ({
              name: test.fullName,
              message: (test.failureMessages ?? []).join('\n').slice(0, 1500),
            })),
        })),
      }),
    );
  }
}

module.exports = JestResultsReporter;

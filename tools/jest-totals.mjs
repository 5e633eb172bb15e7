// Sums the results tools/jest-results-reporter.js wrote and prints the one line
// CI reads: "N passed, N failed". A suite that could not run counts as failed.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const dir = process.argv[2];
let passed = 0;
let failed = 0;
let files = [];
try {
  files = readdirSync(dir).filter((file) => file.endsWith('.json'));
} catch {
  // No results at all: nothing ran.
}
for (const file of files) {
  const results = JSON.parse(readFileSync(join(dir, file), 'utf-8'));
  passed += results.numPassedTests;
  failed += results.numFailedTests + results.numRuntimeErrorTestSuites;
  for (const suite of results.suites ?? []) {
    if (suite.error) console.error(`suite failed to run: ${suite.file}: ${suite.error}`);
  }
}
console.log(`${passed} passed, ${failed} failed`);

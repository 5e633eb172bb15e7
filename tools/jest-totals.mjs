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
const timed = [];
const failedTests = [];
for (const file of files) {
  const results = JSON.parse(readFileSync(join(dir, file), 'utf-8'));
  for (const suite of results.suites ?? []) {
    if (typeof suite.durationMs === 'number') timed.push(suite);
  }
  passed += results.numPassedTests;
  failed += results.numFailedTests + results.numRuntimeErrorTestSuites;
  for (const suite of results.suites ?? []) {
    if (suite.error) console.error(`suite failed to run: ${suite.file}: ${suite.error}`);
    for (const failure of suite.failures ?? []) failedTests.push({ file: suite.file, ...failure });
  }
}
// The slowest suites, so that a CI log shows where its time went.
timed.sort((a, b) => b.durationMs - a.durationMs);
if (timed.length > 0) {
  console.log('slowest suites:');
  for (const suite of timed.slice(0, 10)) {
    console.log(`  ${(suite.durationMs / 1000).toFixed(1).padStart(7)} s  ${suite.file}`);
  }
}
// Every failed test, just before the totals, so that the tail of a CI log names it.
if (failedTests.length > 0) {
  console.log('failed tests:');
  for (const test of failedTests) {
    console.log(`  ${test.file}: ${test.name}`);
    const lines = test.message.replace(/\u001b\[[0-9;]*m/g, '').split('\n');
    for (const line of lines.filter((text) => text.trim() !== '').slice(0, 12)) {
      console.log(`      ${line}`);
    }
  }
}
console.log(`${passed} passed, ${failed} failed`);

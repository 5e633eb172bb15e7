import type { Finding } from '../checks/check';
import { errorLines, feedbackMessage, FEEDBACK_CHARS, SAME_ERROR } from './feedback';
import type { GateResult } from './gate';

/** `nx run orders:typecheck` of an inferred @nx/js typecheck target (tsc --build --pretty --verbose), colours and all. */
const TYPECHECK = [
  '',
  '> nx run contracts:build  [local cache]',
  '',
  '> tsc --build tsconfig.lib.json',
  '',
  '',
  '> nx run orders:typecheck',
  '',
  '> tsc --build --emitDeclarationOnly --pretty --verbose',
  '',
  '[3:41:07 PM] Projects in this build: ',
  '    * ../contracts/tsconfig.lib.json',
  '    * tsconfig.lib.json',
  '',
  "[3:41:07 PM] Project 'tsconfig.lib.json' is out of date because output file '../../dist/out-tsc/tsconfig.lib.tsbuildinfo' does not exist",
  '',
  "[3:41:07 PM] Building project '/ws/.fanout/worktrees/orders/libs/orders/tsconfig.lib.json'...",
  '',
  "\x1b[96msrc/index.ts\x1b[0m:\x1b[93m3\x1b[0m:\x1b[93m9\x1b[0m - \x1b[91merror\x1b[0m\x1b[90m TS2322: \x1b[0mType 'string' is not assignable to type 'number'.",
  '',
  "\x1b[7m3\x1b[0m   const label: number = 'total';",
  '\x1b[7m \x1b[0m \x1b[91m        ~~~~~\x1b[0m',
  '',
  "\x1b[96msrc/index.ts\x1b[0m:\x1b[93m12\x1b[0m:\x1b[93m6\x1b[0m - \x1b[91merror\x1b[0m\x1b[90m TS2345: \x1b[0mArgument of type '{ line: { quantity: string; }; }' is not assignable to parameter of type '{ line: { quantity: number; }; }'.",
  "  The types of 'line.quantity' are incompatible between these types.",
  "    Type 'string' is not assignable to type 'number'.",
  '',
  '\x1b[7m12\x1b[0m take(draft);',
  '\x1b[7m  \x1b[0m \x1b[91m     ~~~~~\x1b[0m',
  '',
  '',
  'Found 2 errors.',
  '',
  '',
  '\x1b[0m\x1b[7m\x1b[1m\x1b[31m NX \x1b[39m\x1b[22m\x1b[27m\x1b[0m  \x1b[31mRunning target typecheck for project orders and 1 task it depends on failed\x1b[39m',
  '',
  'Failed tasks:',
  '',
  '- orders:typecheck',
  '',
  'Hint: run the command with --verbose for more details.',
  '',
].join('\n');

/** tsc without --pretty (a run-commands target running `tsc --noEmit -p tsconfig.lib.json`). */
const TSC_PLAIN = `
> nx run orders:typecheck

> tsc --noEmit -p tsconfig.lib.json

src/index.ts(1,22): error TS2307: Cannot find module '@ws/contracts' or its corresponding type declarations.
src/index.ts(12,6): error TS2345: Argument of type '{ line: { quantity: string; }; }' is not assignable to parameter of type '{ line: { quantity: number; }; }'.
  The types of 'line.quantity' are incompatible between these types.
    Type 'string' is not assignable to type 'number'.
Warning: run-commands command "tsc --noEmit -p tsconfig.lib.json" exited with non-zero status code

 NX   Running target typecheck for project orders failed

Failed tasks:

- orders:typecheck

Hint: run the command with --verbose for more details.
`;

const LINT = `
> nx run orders:lint

> eslint .


/ws/.fanout/worktrees/orders/libs/orders/src/util.ts
  1:7   error    'unused' is assigned a value but never used  @typescript-eslint/no-unused-vars
  3:3   warning  Unexpected console statement                 no-console
  4:12  error    Expected '===' and instead saw '=='          eqeqeq

/ws/.fanout/worktrees/orders/libs/orders/src/clean.ts
  2:1  warning  Unexpected console statement  no-console

/ws/.fanout/worktrees/orders/libs/orders/src/index.ts
  8:10  error  'find' is defined but never used  @typescript-eslint/no-unused-vars

✖ 5 problems (3 errors, 2 warnings)

Lint errors found in the listed files.

 NX   Running target lint for project orders failed

Failed tasks:

- orders:lint

Hint: run the command with --verbose for more details.
`;

const JEST = `
> nx run orders:test

> jest

PASS src/format.spec.ts
FAIL src/index.spec.ts
  ● Console

    console.log
      debugging totals

      at Object.log (src/index.spec.ts:4:13)

  ● orders › totals

    expect(received).toBe(expected) // Object.is equality

    Expected: 2
    Received: 3

      3 |   it('lists', () => { expect([1]).toHaveLength(1); });
      4 |   it('totals', () => {
    > 5 |     expect(total([1, 1])).toBe(2);
        |                           ^
      6 |   });
      7 | });

      at Object.toBe (src/index.spec.ts:5:27)

  ● orders › throws

    TypeError: Cannot read properties of undefined (reading 'length')

       9 | export function count(orders?: Order[]): number {
    > 10 |   return orders.length;
         |                 ^
      11 | }

      at count (src/index.ts:10:17)
      at Object.<anonymous> (src/index.spec.ts:14:12)
      at Promise.then.completed (../../node_modules/jest-circus/build/utils.js:298:28)
      at new Promise (<anonymous>)
      at callAsyncCircusFn (../../node_modules/jest-circus/build/utils.js:231:10)

FAIL src/broken.spec.ts
  ● Test suite failed to run

    Cannot find module './missing-module' from 'src/broken.spec.ts'

    > 1 | import { check } from './missing-module';
        |                       ^
      2 |

      at Resolver._throwModNotFoundError (../../node_modules/jest-resolve/build/resolver.js:427:11)
      at Object.<anonymous> (src/broken.spec.ts:1:1)

Test Suites: 2 failed, 1 passed, 3 total
Tests:       2 failed, 4 passed, 6 total
Snapshots:   0 total
Time:        2.114 s
Ran all test suites.

 NX   Running target test for project orders failed

Failed tasks:

- orders:test

Hint: run the command with --verbose for more details.
`;

function gate(
  targets: {
    target: string;
    ok: boolean;
    output?: string;
    exitCode?: number | null;
    timedOut?: boolean;
    skipped?: { because: string[] };
  }[],
): GateResult {
  return {
    ok: targets.every((target) => target.ok),
    project: 'orders',
    targets: targets.map((target) => ({ output: '', exitCode: target.ok ? 0 : null, durationMs: 1000, ...target })),
  };
}

describe('errorLines', () => {
  it("keeps TypeScript's errors with their elaboration and code frame, without colours, build progress or Nx's banners", () => {
    expect(errorLines(TYPECHECK)).toEqual([
      "src/index.ts:3:9 - error TS2322: Type 'string' is not assignable to type 'number'.",
      "3   const label: number = 'total';",
      '          ~~~~~',
      '',
      "src/index.ts:12:6 - error TS2345: Argument of type '{ line: { quantity: string; }; }' is not assignable to parameter of type '{ line: { quantity: number; }; }'.",
      "  The types of 'line.quantity' are incompatible between these types.",
      "    Type 'string' is not assignable to type 'number'.",
      '12 take(draft);',
      '        ~~~~~',
      '',
      'Found 2 errors.',
    ]);
  });

  it("keeps tsc's plain path(line,col) errors", () => {
    expect(errorLines(TSC_PLAIN)).toEqual([
      "src/index.ts(1,22): error TS2307: Cannot find module '@ws/contracts' or its corresponding type declarations.",
      "src/index.ts(12,6): error TS2345: Argument of type '{ line: { quantity: string; }; }' is not assignable to parameter of type '{ line: { quantity: number; }; }'.",
      "  The types of 'line.quantity' are incompatible between these types.",
      "    Type 'string' is not assignable to type 'number'.",
    ]);
  });

  it("keeps eslint's errors under their file, and drops warnings and files with only warnings", () => {
    expect(errorLines(LINT)).toEqual([
      '/ws/.fanout/worktrees/orders/libs/orders/src/util.ts',
      "  1:7   error    'unused' is assigned a value but never used  @typescript-eslint/no-unused-vars",
      "  4:12  error    Expected '===' and instead saw '=='          eqeqeq",
      '',
      '/ws/.fanout/worktrees/orders/libs/orders/src/index.ts',
      "  8:10  error  'find' is defined but never used  @typescript-eslint/no-unused-vars",
      '✖ 5 problems (3 errors, 2 warnings)',
    ]);
  });

  it("keeps jest's failed suites and failures down to the spec's line, without console output, passing suites or the runner's stack", () => {
    const kept = errorLines(JEST);
    expect(kept).toEqual([
      'FAIL src/index.spec.ts',
      '',
      '  ● orders › totals',
      '',
      '    expect(received).toBe(expected) // Object.is equality',
      '',
      '    Expected: 2',
      '    Received: 3',
      '',
      "      3 |   it('lists', () => { expect([1]).toHaveLength(1); });",
      "      4 |   it('totals', () => {",
      '    > 5 |     expect(total([1, 1])).toBe(2);',
      '        |                           ^',
      '      6 |   });',
      '      7 | });',
      '',
      '      at Object.toBe (src/index.spec.ts:5:27)',
      '',
      '  ● orders › throws',
      '',
      "    TypeError: Cannot read properties of undefined (reading 'length')",
      '',
      '       9 | export function count(orders?: Order[]): number {',
      '    > 10 |   return orders.length;',
      '         |                 ^',
      '      11 | }',
      '',
      '      at count (src/index.ts:10:17)',
      '      at Object.<anonymous> (src/index.spec.ts:14:12)',
      '',
      'FAIL src/broken.spec.ts',
      '',
      '  ● Test suite failed to run',
      '',
      "    Cannot find module './missing-module' from 'src/broken.spec.ts'",
      '',
      "    > 1 | import { check } from './missing-module';",
      '        |                       ^',
      '      2 |',
      '',
      '      at Object.<anonymous> (src/broken.spec.ts:1:1)',
      '',
      'Test Suites: 2 failed, 1 passed, 3 total',
      'Tests:       2 failed, 4 passed, 6 total',
    ]);
    expect(kept.join('\n')).not.toMatch(/debugging totals|node_modules|PASS|Snapshots|NX/);
  });

  it("keeps the last lines that are not Nx's banners when no error has a known shape", () => {
    const output =
      '\n> nx run orders:typecheck\n\n NX   Cannot find configuration for task orders:typecheck\n\nPass --verbose to see the stacktrace.\n';
    expect(errorLines(output)).toEqual([
      ' NX   Cannot find configuration for task orders:typecheck',
      'Pass --verbose to see the stacktrace.',
    ]);
  });
});

describe('feedbackMessage', () => {
  const finding = (severity: 'error' | 'warning', message: string): Finding => ({
    check: 'contract-conformance',
    severity,
    file: 'libs/orders/src/index.ts',
    line: 4,
    message,
    fix: 'Import User from @ws/contracts.',
  });

  it('names each failing target with its errors, the passing ones, and ends with the one instruction', () => {
    const message = feedbackMessage({
      round: 1,
      gate: gate([
        { target: 'typecheck', ok: false, output: TYPECHECK, exitCode: 2 },
        { target: 'test', ok: true, output: 'PASS src/index.spec.ts' },
        { target: 'lint', ok: false, output: LINT },
      ]),
    });
    expect(message.startsWith('Repair round 1: your work does not pass yet. Here is what failed.\nPassed: orders:test.\n\n')).toBe(true);
    expect(message).toContain(
      "nx run orders:typecheck failed (exit code 2):\nsrc/index.ts:3:9 - error TS2322: Type 'string' is not assignable to type 'number'.",
    );
    // A target whose own exit code is unknown gets none.
    expect(message).toContain('nx run orders:lint failed:\n/ws/.fanout/worktrees/orders/libs/orders/src/util.ts\n');
    expect(message).not.toContain('exit code null');
    expect(message).not.toMatch(/Failed tasks|Hint: run the command|Building project|warning {2}Unexpected console/);
    expect(
      message.endsWith(
        'Fix these in your worktree. Change nothing outside your scope, and do not weaken the tests: ' +
          'do not delete, skip or loosen a test, a lint rule or a type to make them pass. ' +
          'When you are done, these must pass: nx run orders:typecheck, nx run orders:lint.',
      ),
    ).toBe(true);
  });

  it("names the compiler's files from the worktree's root, as the agent finds them, where the target ran in the project", () => {
    const output = [
      "src/lib/a.ts(9,14): error TS2322: Type 'string' is not assignable to type 'number'.",
      "src/b.ts:3:9 - error TS2322: Type 'string' is not assignable to type 'number'.",
      "libs/orders/src/c.ts(1,1): error TS1005: ';' expected.",
      "../contracts/src/index.ts(2,2): error TS2304: Cannot find name 'X'.",
    ].join('\n');
    const message = feedbackMessage({
      round: 1,
      projectRoot: 'libs/orders',
      gate: gate([{ target: 'typecheck', ok: false, output, exitCode: 1 }]),
    });
    expect(message).toContain(
      [
        "libs/orders/src/lib/a.ts(9,14): error TS2322: Type 'string' is not assignable to type 'number'.",
        "libs/orders/src/b.ts:3:9 - error TS2322: Type 'string' is not assignable to type 'number'.",
        "libs/orders/src/c.ts(1,1): error TS1005: ';' expected.",
        "../contracts/src/index.ts(2,2): error TS2304: Cannot find name 'X'.",
      ].join('\n'),
    );
    // A project at the workspace root: the paths are already the worktree's.
    expect(
      feedbackMessage({ round: 1, projectRoot: '.', gate: gate([{ target: 'typecheck', ok: false, output, exitCode: 1 }]) }),
    ).toContain('\nsrc/lib/a.ts(9,14): error TS2322');
  });

  it('sends the scope problem and the error findings as formatFinding prints them, not the warnings', () => {
    const message = feedbackMessage({
      round: 2,
      scope: 'libs/users/src/index.ts is outside libs/orders: undo that change.',
      findings: [finding('error', 'User is declared again.'), finding('warning', 'orders uses "user" where users does.')],
    });
    expect(message).toContain('Repair round 2:');
    expect(message).toContain('Scope:\nlibs/users/src/index.ts is outside libs/orders: undo that change.');
    expect(message).toContain(
      'Checks (1 error):\nlibs/orders/src/index.ts:4: error: User is declared again. Fix: Import User from @ws/contracts. [contract-conformance]',
    );
    expect(message).not.toContain('warning');
    expect(message).not.toContain('these must pass');
  });

  it('says a target that ran out of time did not finish', () => {
    const message = feedbackMessage({
      round: 1,
      gate: gate([{ target: 'test', ok: false, exitCode: null, timedOut: true, output: JEST }]),
    });
    expect(message).toContain("nx run orders:test did not finish: the gate's time ran out.\nFAIL src/index.spec.ts");
  });

  it('stays under the cap, gives every failing target its share, and says what it left out', () => {
    const flood = Array.from(
      { length: 3000 },
      (_, index) => `src/generated/file-${index}.ts(${index + 1},5): error TS2304: Cannot find name 'Undeclared${index}'.`,
    ).join('\n');
    const message = feedbackMessage({
      round: 1,
      gate: gate([
        { target: 'typecheck', ok: false, output: flood },
        { target: 'lint', ok: false, output: LINT },
      ]),
      findings: [finding('error', 'User is declared again.')],
    });
    expect(message.length).toBeLessThanOrEqual(FEEDBACK_CHARS);
    expect(message).toContain("src/generated/file-0.ts(1,5): error TS2304: Cannot find name 'Undeclared0'.");
    expect(message).not.toContain('file-2999.ts');
    const leftOut = /\n… (\d+) more lines left out: run nx run orders:typecheck to see them all\.\n/.exec(message);
    expect(leftOut).not.toBeNull();
    expect(message.match(/error TS2304/g)?.length).toBe(3000 - Number(leftOut?.[1]));
    // The flood does not crowd out the other sections.
    expect(message).toContain("  8:10  error  'find' is defined but never used");
    expect(message).toContain('User is declared again.');
    expect(message).toContain('do not weaken the tests');
  });

  it('says a target Nx did not run was not run because of the tasks it waited on, with the errors of those not shown above', () => {
    const message = feedbackMessage({
      round: 1,
      gate: gate([
        { target: 'typecheck', ok: false, output: TSC_PLAIN },
        {
          target: 'test',
          ok: false,
          skipped: { because: ['orders:typecheck'] },
          output: '[fanout] nx did not run orders:test: a task it depends on failed (orders:typecheck).\n',
        },
        {
          target: 'lint',
          ok: false,
          skipped: { because: ['contracts:build'] },
          output:
            '[fanout] nx did not run orders:lint: a task it depends on failed (contracts:build).\n' +
            "> nx run contracts:build\n\nsrc/index.ts(1,1): error TS1005: ';' expected.\n",
        },
      ]),
    });
    expect(message).toContain('nx run orders:typecheck failed:\nsrc/index.ts(1,22): error TS2307');
    expect(message).toContain('\n\nnx run orders:test was not run because typecheck failed.\n\n');
    expect(message).toContain(
      "\n\nnx run orders:lint was not run because contracts:build failed:\nsrc/index.ts(1,1): error TS1005: ';' expected.\n\n",
    );
    expect(message).toContain('these must pass: nx run orders:typecheck, nx run orders:test, nx run orders:lint.');
  });

  it('sends each error once: a jest failure quoted again by a target Nx skipped because of it is named as a repeat', () => {
    // A skipped target as results of earlier versions record it: with all of Nx's output, the jest failure included.
    const message = feedbackMessage({
      round: 1,
      gate: gate([
        { target: 'test', ok: false, output: JEST },
        { target: 'e2e', ok: false, output: `[fanout] nx did not run orders:e2e; what it printed:\n${JEST}` },
      ]),
    });
    for (const line of [
      'FAIL src/index.spec.ts',
      '● orders › totals',
      "TypeError: Cannot read properties of undefined (reading 'length')",
      'Test Suites: 2 failed',
    ]) {
      expect(message.split(line)).toHaveLength(2);
    }
    expect(message).toContain(`\n\nnx run orders:e2e failed:\n${SAME_ERROR}\n\n`);
  });

  it('keeps the new errors of a target among those already sent, and their summary and heading with them', () => {
    const repeated = "src/index.ts(3,9): error TS2322: Type 'string' is not assignable to type 'number'.";
    const fresh = "src/other.ts(1,1): error TS2304: Cannot find name 'x'.";
    const message = feedbackMessage({
      round: 1,
      gate: gate([
        { target: 'typecheck', ok: false, output: `${repeated}\nFound 1 error.\n` },
        // The same error on both of Nx's streams, then one of its own, and a second copy of that one.
        { target: 'build', ok: false, output: `${repeated}\n${repeated}\n${fresh}\nFound 2 errors.\n${fresh}\n` },
        { target: 'lint', ok: false, output: `${repeated}\nFound 1 error.\n` },
      ]),
    });
    expect(message).toContain(`nx run orders:typecheck failed:\n${repeated}\nFound 1 error.\n\n`);
    expect(message).toContain(`nx run orders:build failed:\n${SAME_ERROR}\n${fresh}\nFound 2 errors.\n${SAME_ERROR}\n\n`);
    expect(message).toContain(`nx run orders:lint failed:\n${SAME_ERROR}\n\n`);
    expect(message.split(repeated)).toHaveLength(2);
    // A jest suite's heading goes with its failures: shown where they are new, folded where they repeat.
    const again = feedbackMessage({
      round: 1,
      gate: gate([
        { target: 'test', ok: false, output: JEST },
        { target: 'test-ci', ok: false, output: JEST.replace('Expected: 2', 'Expected: 4') },
      ]),
    });
    const second = again.slice(again.indexOf('nx run orders:test-ci failed:'), again.indexOf('\n\nFix these'));
    expect(second).toMatch(/^nx run orders:test-ci failed:\nFAIL src\/index\.spec\.ts\n\n {2}● orders › totals\n[\s\S]*Expected: 4\n/);
    // Its second failure and the suite that failed to run are the same as the first target's: one note for them, summaries included.
    expect(second.endsWith(`at Object.toBe (src/index.spec.ts:5:27)\n\n${SAME_ERROR}`)).toBe(true);
  });

  it('refuses to write a repair message when nothing failed', () => {
    expect(() =>
      feedbackMessage({ round: 1, gate: gate([{ target: 'test', ok: true }]), findings: [finding('warning', 'a warning')] }),
    ).toThrow('nothing failed in round 1');
  });
});

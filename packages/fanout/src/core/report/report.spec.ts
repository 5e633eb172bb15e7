import { closeSync, fstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { RUN_START, sessionResult, writeSessionResults } from '../../testing/session-results';
import { renderReportHtml } from './html';
import { renderReportMarkdown } from './markdown';
import { readSessionResults, writeReport, type VerifySummary } from './report';
import type { SessionResult } from '../session/result';
import { capDiff, type SessionDiff } from '../session/session-diff';
import { gitIn } from '../../testing/git-workspace';

const generatedAt = new Date(RUN_START + 60_000);

/** Three sessions of one run: users 0–10 s, orders 5–20 s (failed), products 10–15 s. */
function runResults(): SessionResult[] {
  return [
    sessionResult('users', 0, 10, {
      files: ['a.ts', 'b.ts', 'c.ts'].map((file) => ({ path: `packages/users/src/${file}`, status: 'added' as const })),
    }),
    sessionResult('orders', 5, 20, {
      status: 'failed',
      agent: 'command',
      error: 'the agent failed: exited with code 2',
      worktree: '/workspace/.fanout/worktrees/orders',
      findings: [
        {
          check: 'contract-conformance',
          severity: 'error',
          file: 'packages/orders/src/lib/orders.ts',
          line: 4,
          message: 'interface Order duplicates the contracts export Order.',
          fix: "import { Order } from '@acme/contracts' instead.",
        },
        {
          check: 'naming-parity',
          severity: 'warning',
          file: 'packages/orders/src/lib/order-handlers.ts',
          line: 0,
          message: 'the reference names this file orders.handler.ts.',
          fix: 'rename it to orders.handler.ts.',
        },
      ],
    }),
    sessionResult('products', 10, 15, { agent: 'claude', costUsd: 0.0123, tokens: { input: 1200, output: 345 } }),
  ];
}

/** Every timeline bar of a rendered report: its session, status and geometry in percent. */
function bars(html: string): { session: string; status: string; left: number; width: number }[] {
  const pattern = /<div class="timeline-bar status-(\w+)" data-session="([^"]*)" style="left:([\d.]+)%;width:([\d.]+)%"/g;
  return [...html.matchAll(pattern)].map(([, status, session, left, width]) => ({
    session,
    status,
    left: Number(left),
    width: Number(width),
  }));
}

describe('readSessionResults', () => {
  let root: string;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'fanout-report-'));
  });

  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
  });

  it('reads every session result, earliest start first', () => {
    writeSessionResults(root, [sessionResult('a-late', 10, 12), sessionResult('z-early', 0, 5), sessionResult('m-middle', 3, 4)]);
    expect(readSessionResults(root).map((result) => result.project)).toEqual(['z-early', 'm-middle', 'a-late']);
  });

  it('reads the sessions of npm-scoped projects, whose folders sit one level deeper (@scope/name)', () => {
    writeSessionResults(root, [sessionResult('users', 2, 3)]);
    // Where a session writes it: .fanout/sessions/<project>/result.json.
    for (const [project, start, end] of [
      ['@shop/feature-profile', 0, 5],
      ['@shop/feature-dashboard', 1, 6],
    ] as const) {
      mkdirSync(join(root, '.fanout', 'sessions', project), { recursive: true });
      writeFileSync(join(root, '.fanout', 'sessions', project, 'result.json'), JSON.stringify(sessionResult(project, start, end)));
    }
    expect(readSessionResults(root).map((result) => result.project)).toEqual(['@shop/feature-profile', '@shop/feature-dashboard', 'users']);
  });

  it('returns no results for a workspace without sessions', () => {
    expect(readSessionResults(root)).toEqual([]);
  });

  it('skips a missing, unparsable or foreign result.json with a note naming the file, keeping the others', () => {
    writeSessionResults(root, [sessionResult('users', 0, 5)]);
    const sessions = join(root, '.fanout', 'sessions');
    mkdirSync(join(sessions, 'running'));
    mkdirSync(join(sessions, 'broken'));
    writeFileSync(join(sessions, 'broken', 'result.json'), '{"project": "broken", ');
    mkdirSync(join(sessions, 'foreign'));
    writeFileSync(join(sessions, 'foreign', 'result.json'), JSON.stringify({ project: 'foreign', status: 'done' }));
    writeFileSync(join(sessions, 'stray.txt'), 'not a session folder');

    const notes: string[] = [];
    const results = readSessionResults(root, (note) => notes.push(note));

    expect(results.map((result) => result.project)).toEqual(['users']);
    expect(notes.sort()).toEqual([
      expect.stringMatching(/^\.fanout\/sessions\/broken\/result\.json is not valid JSON .*Run the task's fanout target again/),
      expect.stringMatching(/^\.fanout\/sessions\/foreign\/result\.json is not a session result \(status "done"\)/),
      expect.stringMatching(/^\.fanout\/sessions\/running\/result\.json does not exist: the session is still running/),
    ]);
  });
});

describe('renderReportMarkdown', () => {
  it('sums up the run: sessions, outcomes, wall time, session time and parallelism', () => {
    const markdown = renderReportMarkdown({ results: runResults(), generatedAt });
    expect(markdown).toContain(
      '3 sessions: 2 succeeded, 1 failed · wall time 20.0 s (first start to last end) · session time 30.0 s in all · ' +
        'parallelism 1.5× · cost $0.0123 (reported by 1 of 3) · tokens 1,200 in / 345 out.',
    );
    expect(markdown).toContain(`Generated ${generatedAt.toISOString()}.`);
  });

  it("shows the prompt cache's share of input and its saving, for the run and each session, where the CLIs report them", () => {
    const results = [
      sessionResult('orders', 0, 10, {
        agent: 'claude',
        costUsd: 0.05,
        tokens: { input: 20_000, output: 500, cacheRead: 0, cacheWrite: 18_000 },
      }),
      sessionResult('invoices', 2, 10, {
        agent: 'claude',
        costUsd: 0.02,
        tokens: { input: 20_000, output: 500, cacheRead: 18_000, cacheWrite: 1_000 },
      }),
    ];
    const markdown = renderReportMarkdown({ results, generatedAt });
    expect(markdown).toMatch(
      / · prompt cache 45% of input tokens read from it \(18,000 read, 19,000 written, reported by 2 of 2\), saving about \$0\.\d{4} \(\d+% of the input's uncached price\)\./,
    );
    expect(markdown).toContain('| 20,000 in (90% from the cache) / 500 out |');
    expect(renderReportHtml({ results, generatedAt })).toContain('prompt cache 45% of input tokens read from it');
  });

  it('has one table row per session, with "–" where the agent reported no cost or tokens', () => {
    const markdown = renderReportMarkdown({ results: runResults(), generatedAt });
    const rows = markdown
      .slice(0, markdown.indexOf('## Sessions'))
      .split('\n')
      .filter((line) => line.startsWith('| `'));
    expect(rows).toEqual([
      '| `users` | succeeded | `pattern` | 10.0 s | – | 3 | 0 | – | – |',
      '| `orders` | failed | `command` | 15.0 s | – | 0 | 1 error, 1 warning | – | – |',
      '| `products` | succeeded | `claude` | 5.0 s | – | 0 | 0 | $0.0123 | 1,200 in / 345 out |',
    ]);
  });

  it("gives each session a section: a failure's error, worktree and log, findings as file:line message (fix)", () => {
    const markdown = renderReportMarkdown({ results: runResults(), generatedAt });
    const orders = markdown.slice(markdown.indexOf('### `orders`'), markdown.indexOf('### `products`'));
    expect(orders).toContain('### `orders`: failed\n');
    expect(orders).toContain('- agent `command`, base commit `0123456789abcdef0123456789abcdef01234567`, 15.0 s\n');
    expect(orders).toContain('- worktree kept at `/workspace/.fanout/worktrees/orders`');
    expect(orders).toContain('- log: `/workspace/.fanout/sessions/orders/session.log`');
    expect(orders).toContain('```text\nthe agent failed: exited with code 2\n```');
    const users = markdown.slice(markdown.indexOf('### `users`'), markdown.indexOf('### `orders`'));
    expect(users).not.toContain('```text');
    expect(users).not.toContain('worktree kept');

    const findings = orders.slice(orders.indexOf('Findings:'));
    expect(findings).toContain(
      "- **error** `packages/orders/src/lib/orders.ts:4` interface Order duplicates the contracts export Order. (fix: import { Order } from '@acme/contracts' instead.) [contract-conformance]",
    );
    expect(findings).toContain(
      '- **warning** `packages/orders/src/lib/order-handlers.ts` the reference names this file orders.handler.ts. (fix: rename it to orders.handler.ts.) [naming-parity]',
    );
  });

  it('shows the verify summary when given: outcome, base, each problem with its sessions, the affected command', () => {
    const verify: VerifySummary = {
      ok: false,
      baseCommit: 'abc1234',
      baseSource: 'inputs',
      baseNote: "base abc1234: the recorded base cb6f1e5 is not in this repository (a replay from another clone's cache)",
      problems: [{ kind: 'port', message: 'port 3001 is claimed twice', sessions: ['orders', 'products'] }],
      affected: { command: 'nx affected -t lint test --base=abc1234', ok: false, output: 'orders:test failed\n' },
    };
    const markdown = renderReportMarkdown({ results: runResults(), verify, generatedAt });
    const section = markdown.slice(markdown.indexOf('## Verify'));
    expect(section).toContain('Failed against base `abc1234`: 1 problem across sessions.');
    expect(section).toContain(
      "Base: base abc1234: the recorded base cb6f1e5 is not in this repository (a replay from another clone's cache)",
    );
    expect(renderReportHtml({ results: runResults(), verify, generatedAt })).toContain(
      '<p class="base-note">Base: base abc1234: the recorded base cb6f1e5 is not in this repository (a replay from another clone&#39;s cache)</p>',
    );
    expect(section).toContain('- **port**: port 3001 is claimed twice (sessions: `orders`, `products`)');
    expect(section).toContain('Affected checks `nx affected -t lint test --base=abc1234`: failed.');
    expect(section).toContain('```text\norders:test failed\n```');
    expect(renderReportMarkdown({ results: runResults(), generatedAt })).not.toContain('## Verify');
  });

  it('keeps only the end of a long affected output, saying how much was left out', () => {
    const output = Array.from({ length: 250 }, (_, index) => `line ${index + 1}`).join('\n');
    const markdown = renderReportMarkdown({
      results: runResults(),
      verify: { ok: true, problems: [], affected: { command: 'nx affected -t test', ok: true, output } },
      generatedAt,
    });
    expect(markdown).toContain('(the first 50 lines of output are left out)');
    expect(markdown).toContain('```text\nline 51\n');
    expect(markdown).toContain('line 250\n```');
    expect(markdown).not.toContain('line 50\n');
  });

  it('renders markup, pipes and backticks from results as text', () => {
    const markdown = renderReportMarkdown({
      results: [
        sessionResult('<script>alert(1)</script>', 0, 1, {
          status: 'failed',
          agent: 'a|b',
          error: 'broke:\n```\n<img src=x onerror=alert(2)>',
          findings: [{ check: 'c', severity: 'warning', file: 'x.ts', line: 1, message: 'uses <b>bold</b> and [a](http://x)', fix: 'f' }],
        }),
      ],
      generatedAt,
    });
    expect(markdown).toContain('| `<script>alert(1)</script>` | failed | `a\\|b` |');
    // The fence is longer than any backtick run in the error, so the error cannot close it.
    expect(markdown).toContain('````text\nbroke:\n```\n<img src=x onerror=alert(2)>\n````');
    expect(markdown).toContain('uses \\<b\\>bold\\</b\\> and \\[a\\](http://x)');
  });

  it('says how to record sessions when there are none, and shows notes', () => {
    const markdown = renderReportMarkdown({ results: [], generatedAt, notes: ['x/result.json is not valid JSON'] });
    expect(markdown).toContain('No session has recorded a result in `.fanout/sessions` yet: run `nx run-many -t fanout`.');
    expect(markdown).toContain('> Note: x/result.json is not valid JSON');
    expect(markdown).not.toContain('| project |');
  });
});

describe('renderReportHtml', () => {
  it('is one self-contained page: inline style, no script, nothing loaded from elsewhere', () => {
    const html = renderReportHtml({ results: runResults(), generatedAt });
    expect(html.startsWith('<!doctype html>')).toBe(true);
    expect(html).toContain('<style>');
    expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|url\(|\bsrc=/i);
    // Links only within the page: from the table and the timeline to each session's section.
    expect([...html.matchAll(/\bhref="([^"]*)"/gi)].map(([, target]) => target)).toEqual(
      expect.arrayContaining(['#session-1', '#session-2', '#session-3']),
    );
    expect(html).not.toMatch(/\bhref="(?!#session-\d+")/i);
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'"`);
  });

  it('has the same table: one row per session, "–" for missing cost and tokens', () => {
    const html = renderReportHtml({ results: runResults(), generatedAt });
    const rows = [...html.matchAll(/<tr><td><a href="#session-\d+"><code>([^<]*)<\/code><\/a><\/td>(.*?)<\/tr>/g)].map(
      ([, project, rest]) => [project, ...[...rest.matchAll(/<td[^>]*>(.*?)<\/td>/g)].map(([, cell]) => cell.replace(/<[^>]+>/g, ''))],
    );
    expect(rows).toEqual([
      ['users', 'succeeded', 'pattern', '10.0 s', '–', '3', '0', '–', '–'],
      ['orders', 'failed', 'command', '15.0 s', '–', '0', '1 error, 1 warning', '–', '–'],
      ['products', 'succeeded', 'claude', '5.0 s', '–', '0', '0', '$0.0123', '1,200 in / 345 out'],
    ]);
    expect(html).toContain('3 sessions: 2 succeeded, 1 failed · wall time 20.0 s');
  });

  it('draws one timeline bar per session, placed and sized in proportion to its start and duration', () => {
    const html = renderReportHtml({ results: runResults(), generatedAt });
    expect(bars(html)).toEqual([
      { session: 'users', status: 'succeeded', left: 0, width: 50 },
      { session: 'orders', status: 'failed', left: 25, width: 75 },
      { session: 'products', status: 'succeeded', left: 50, width: 25 },
    ]);
    const ticks = [...html.matchAll(/<span class="tick" style="left:([\d.]+)%">([^<]*)<\/span>/g)].map(([, left, label]) => [
      Number(left),
      label,
    ]);
    expect(ticks).toEqual([
      [0, '0 s'],
      [25, '5 s'],
      [50, '10 s'],
      [75, '15 s'],
      [100, '20 s'],
    ]);
  });

  it('measures the axis from the earliest start, whatever the order of the results', () => {
    const later = [sessionResult('b', 40, 50), sessionResult('a', 30, 70)];
    expect(bars(renderReportHtml({ results: later, generatedAt }))).toEqual([
      { session: 'b', status: 'succeeded', left: 25, width: 25 },
      { session: 'a', status: 'succeeded', left: 0, width: 100 },
    ]);
  });

  it('escapes every string from the results: markup in a name, agent, error or finding renders as text', () => {
    const html = renderReportHtml({
      results: [
        sessionResult('<script>alert(1)</script>', 0, 1, {
          status: 'failed',
          agent: '"><b>agent',
          error: '<img src=x onerror=alert(2)>',
          worktree: '/w/<i>tree',
          findings: [{ check: '<c>', severity: 'error', file: '<f>.ts', line: 2, message: '<u>m</u>', fix: '<s>f</s>' }],
        }),
      ],
      verify: {
        ok: false,
        problems: [{ kind: '<k>', message: '<p>msg', sessions: ['<s1>'] }],
        affected: { command: '<cmd>', ok: false, output: '<out>' },
      },
      generatedAt,
    });
    expect(html).not.toMatch(/<script|<img|<b>|<i>|<u>|<s>|<c>|<f>|<k>|<p>msg|<s1>|<cmd>|<out>/);
    expect(html).toContain('data-session="&#60;script&#62;alert(1)&#60;/script&#62;"');
    expect(html).toContain('&#60;img src=x onerror=alert(2)&#62;');
    expect(html).toContain('&#34;&#62;&#60;b&#62;agent');
  });
});

describe('writeReport', () => {
  let root: string;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'fanout-report-'));
  });

  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
  });

  it('writes .fanout/report.md and .fanout/report.html from the recorded sessions, with notes on skipped ones', () => {
    writeSessionResults(root, runResults());
    mkdirSync(join(root, '.fanout', 'sessions', 'running'));
    const paths = writeReport(root, { ok: true, problems: [] });

    expect(paths).toEqual({ markdown: join(root, '.fanout', 'report.md'), html: join(root, '.fanout', 'report.html') });
    const markdown = readFileSync(paths.markdown, 'utf-8');
    expect(markdown).toContain('| `products` | succeeded |');
    expect(markdown).toContain('> Note: .fanout/sessions/running/result.json does not exist');
    expect(markdown).toContain('## Verify\n\nPassed: 0 problems across sessions.');
    expect(bars(readFileSync(paths.html, 'utf-8')).map((bar) => bar.session)).toEqual(['users', 'orders', 'products']);
  });

  it('replaces the report by renaming a complete file over it, so a reader never sees a partial one', () => {
    writeSessionResults(root, [sessionResult('users', 0, 10)]);
    const { markdown } = writeReport(root);
    const before = readFileSync(markdown, 'utf-8');
    const reader = openSync(markdown, 'r');
    try {
      writeSessionResults(root, [sessionResult('orders', 2, 8)]);
      writeReport(root);
      // The open file is the old, whole report; the path now names a new file with both sessions.
      expect(readFileSync(reader, 'utf-8')).toBe(before);
      expect(fstatSync(reader).ino).not.toBe(statSync(markdown).ino);
    } finally {
      closeSync(reader);
    }
    expect(readFileSync(markdown, 'utf-8')).toContain('| `orders` |');
    expect(readdirSync(join(root, '.fanout')).sort()).toEqual(['report.html', 'report.md', 'sessions']);
  });

  it('fails with the path and what to do when the report cannot be written, leaving no temporary file', () => {
    mkdirSync(join(root, '.fanout', 'report.md', 'occupied'), { recursive: true });
    expect(() => writeReport(root)).toThrow(/could not write the report .*report\.md: .*nothing else occupies that path/);
    expect(readdirSync(join(root, '.fanout'))).toEqual(['report.md']);
  });
});

/** A unified diff as `git diff` writes it: users.ts modified (+2 −1), a new index.ts (+1), a binary logo. */
const USERS_DIFF = [
  'diff --git a/libs/users/src/users.ts b/libs/users/src/users.ts',
  'index 1111111..2222222 100644',
  '--- a/libs/users/src/users.ts',
  '+++ b/libs/users/src/users.ts',
  '@@ -1,2 +1,3 @@',
  ' export const users = [];',
  '-export const legacy = true;',
  '+export const active = true;',
  '+// <img src=x onerror=alert(1)> ```',
  'diff --git a/libs/users/src/index.ts b/libs/users/src/index.ts',
  'new file mode 100644',
  'index 0000000..3333333',
  '--- /dev/null',
  '+++ b/libs/users/src/index.ts',
  '@@ -0,0 +1 @@',
  "+export * from './users';",
  'diff --git a/libs/users/src/logo.png b/libs/users/src/logo.png',
  'new file mode 100644',
  'index 0000000..5555555',
  'Binary files /dev/null and b/libs/users/src/logo.png differ',
  '',
].join('\n');

const USERS_FILES: SessionResult['files'] = [
  { path: 'libs/users/src/users.ts', status: 'modified', added: 2, removed: 1 },
  { path: 'libs/users/src/index.ts', status: 'added', added: 1, removed: 0 },
  { path: 'libs/users/src/logo.png', status: 'added', binary: true },
];

function diffRecord(project: string, text: string, integrated = true): SessionDiff {
  const bytes = Buffer.byteLength(text);
  return { file: `.fanout/sessions/${project}/changes.diff`, integrated, bytes, keptBytes: bytes };
}

/** users 0–10 s (every phase measured), orders 5–20 s (failed during its checks), products 10–15 s (an older result: no timings). */
function reviewedResults(): SessionResult[] {
  return [
    sessionResult('users', 0, 10, {
      timings: { contextMs: 500, worktreeMs: 1500, agentMs: 6000, checksMs: 1000, integrateMs: 1000 },
      files: USERS_FILES,
      diff: diffRecord('users', USERS_DIFF),
    }),
    sessionResult('orders', 5, 20, {
      status: 'failed',
      error: 'the session changed files it may not write',
      timings: { contextMs: 300, worktreeMs: 1200, agentMs: 7500, checksMs: 0, integrateMs: 0 },
      rejected: [{ path: 'README.md', status: 'modified', reason: 'outside-scope' }],
    }),
    sessionResult('products', 10, 15),
  ];
}

/** Every phase segment of a session's bar: its phase and width in percent of the bar. */
function segments(html: string, session: string): [string, number][] {
  const start = html.indexOf(`data-session="${session}" style="left:`);
  const bar = html.slice(start, html.indexOf('</div>', start));
  return [...bar.matchAll(/data-phase="(\w+)"(?: data-round="\d+")? style="width:([\d.]+)%/g)].map(([, phase, width]) => [
    phase,
    Number(width),
  ]);
}

describe('the report for review', () => {
  it("splits a session's bar into its phases, each as wide as its share of the session, the unmeasured rest as other", () => {
    const html = renderReportHtml({ results: reviewedResults(), generatedAt });
    expect(segments(html, 'users')).toEqual([
      ['context', 5],
      ['worktree', 15],
      ['agent', 60],
      ['checks', 10],
      ['integration', 10],
    ]);
    // Failed during its checks: that time was in no finished phase.
    expect(segments(html, 'orders')).toEqual([
      ['context', 2],
      ['worktree', 8],
      ['agent', 50],
      ['other', 40],
    ]);
    // A result from before timings were recorded: one bar, as before.
    expect(segments(html, 'products')).toEqual([]);
    expect(bars(html).map((bar) => bar.session)).toEqual(['users', 'orders', 'products']);
    expect(html).toContain('title="users: succeeded, 0.0 s to 10.0 s (10.0 s): context 0.5 s · worktree 1.5 s · agent 6.0 s');
  });

  it('shows a repaired session round by round: its bar splits agent and gate per round, its row and section count the rounds', () => {
    const gate = (ok: boolean, durationMs: number) => [
      { target: 'typecheck', ok, durationMs, exitCode: ok ? 0 : 1 },
      { target: 'test', ok: true, durationMs, exitCode: 0 },
    ];
    const repaired = sessionResult('users', 0, 10, {
      timings: { contextMs: 500, worktreeMs: 500, agentMs: 5000, checksMs: 1000, gateMs: 2000, integrateMs: 1000 },
      rounds: [
        { round: 0, ok: true, agentMs: 3000, costUsd: 0.01, tokens: { input: 100, output: 10 }, gate: gate(false, 500), failed: 'gate' },
        { round: 1, ok: true, agentMs: 2000, costUsd: 0.005, tokens: { input: 50, output: 5 }, gate: gate(true, 500) },
      ],
    });
    const html = renderReportHtml({ results: [repaired], generatedAt });
    expect(segments(html, 'users')).toEqual([
      ['context', 5],
      ['worktree', 5],
      ['agent', 30],
      ['gate', 10],
      ['agent', 20],
      ['gate', 10],
      ['checks', 10],
      ['integration', 10],
    ]);
    // The second round opens with a rule, and each part says its round.
    expect(html).toMatch(/<span class="phase round-start" data-phase="agent" data-round="2"/);
    expect(html).toContain('title="gate (round 1) 1.0 s"');
    const markdown = renderReportMarkdown({ results: [repaired], generatedAt });
    expect(markdown).toContain('| `users` | succeeded | `pattern` | 10.0 s | 2 |');
    expect(markdown).toContain(
      '- round 1: agent 3.0 s (cost $0.0100, tokens 100 in / 10 out); gate typecheck ✗ 0.5 s, test ✓ 0.5 s; failed: gate\n' +
        '- round 2 (repair): agent 2.0 s (cost $0.0050, tokens 50 in / 5 out); gate typecheck ✓ 0.5 s, test ✓ 0.5 s; landed\n',
    );
    expect(html).toContain('<ol class="rounds"><li>round 1: agent 3.0 s');
  });

  it('fills a bar with its phases when they add up to more than the recorded duration', () => {
    const html = renderReportHtml({
      results: [sessionResult('users', 0, 1, { timings: { contextMs: 0, worktreeMs: 0, agentMs: 1500, checksMs: 500, integrateMs: 0 } })],
      generatedAt,
    });
    expect(segments(html, 'users')).toEqual([
      ['agent', 75],
      ['checks', 25],
    ]);
  });

  it('gives each session its phases, checks and agent summary in Markdown', () => {
    const results = reviewedResults();
    results[0].summary = 'Added the *active* flag.';
    results[0].steps = [
      { name: 'agent', ok: true },
      { name: 'findings', ok: false },
    ];
    const markdown = renderReportMarkdown({ results, generatedAt });
    expect(markdown).toContain(
      '- agent `pattern`, base commit `0123456789abcdef0123456789abcdef01234567`, 10.0 s ' +
        '(context 0.5 s · worktree 1.5 s · agent 6.0 s · checks 1.0 s · integration 1.0 s)\n- steps: agent passed, findings failed\n',
    );
    expect(markdown).toContain('> Added the \\*active\\* flag.');
    expect(markdown).toContain('Rejected changes:\n\n- `README.md` (modified, outside-scope)');
  });

  it('lists the wired files a session registered its work in, and how each landed', () => {
    const results = reviewedResults();
    results[0].wired = [{ path: 'apps/shop/src/app/pages.tsx', project: 'shop', status: 'merged' }];
    expect(renderReportMarkdown({ results, generatedAt })).toContain(
      'Wired files (merged three-way into the shared file):\n\n- `apps/shop/src/app/pages.tsx` of `shop`: merged\n',
    );
    expect(renderReportHtml({ results, generatedAt })).toMatch(
      /<h4>Wired files<\/h4>\s*<ul class="wired"><li><code>apps\/shop\/src\/app\/pages\.tsx<\/code> of <code>shop<\/code>: merged<\/li><\/ul>/,
    );
  });

  it('lists the files a session integrated with their added and removed lines, each opening onto its part of the diff', () => {
    const html = renderReportHtml({ results: reviewedResults(), generatedAt, diffs: new Map([['users', USERS_DIFF]]) });
    expect(html).toContain('<td class="number">3 (+3 −1)</td>');
    const users = html.slice(html.indexOf('<section class="session session-succeeded" id="session-1"'), html.indexOf('id="session-2"'));
    expect(users).toContain('<h4>Files the session wrote (3) <span class="added">+3</span> <span class="removed">−1</span></h4>');
    const files = [
      ...users.matchAll(/<li class="file">(<details><summary>)?(.*?)(<\/summary><pre class="diff">(.*?)<\/pre><\/details>)?<\/li>/g),
    ];
    expect(files.map(([, , head]) => head.replace(/<[^>]+>/g, ''))).toEqual([
      'libs/users/src/users.ts modified +2 −1',
      'libs/users/src/index.ts added +1 −0',
      'libs/users/src/logo.png added binary',
    ]);
    const lines = (part: string) =>
      [...part.matchAll(/<span class="line diff-(\w+)">(.*?)<\/span>/g)].map(
        ([, kind, text]) => `${kind} ${text.replace(/&#(\d+);/g, (_, code) => String.fromCharCode(Number(code)))}`,
      );
    expect(lines(files[0][4])).toEqual([
      'meta diff --git a/libs/users/src/users.ts b/libs/users/src/users.ts',
      'meta index 1111111..2222222 100644',
      'meta --- a/libs/users/src/users.ts',
      'meta +++ b/libs/users/src/users.ts',
      'hunk @@ -1,2 +1,3 @@',
      'context  export const users = [];',
      'removed -export const legacy = true;',
      'added +export const active = true;',
      'added +// <img src=x onerror=alert(1)> ```',
    ]);
    expect(lines(files[1][4])).toEqual(expect.arrayContaining(["added +export * from './users';"]));
    // A binary file has no text diff to open.
    expect(files[2][1]).toBeUndefined();
    expect(html).not.toContain('<img');
  });

  it("counts a failed session's kept-worktree diff from the diff itself, and says it was not landed", () => {
    const kept = USERS_DIFF.split('diff --git a/libs/users/src/index.ts')[0];
    const results = [sessionResult('users', 0, 10, { status: 'failed', error: 'findings', diff: diffRecord('users', kept, false) })];
    const html = renderReportHtml({ results, generatedAt, diffs: new Map([['users', kept]]) });
    expect(html).toContain(
      '<h4>Changes in the kept worktree (not landed) (1) <span class="added">+2</span> <span class="removed">−1</span></h4>',
    );
    expect(html).toContain('<summary><code class="path">libs/users/src/users.ts</code> <span class="change">modified</span>');
    expect(html).toContain('<td class="number">0</td>');
    const markdown = renderReportMarkdown({ results, generatedAt, diffs: new Map([['users', kept]]) });
    expect(markdown).toContain('Changes in the kept worktree (not landed):\n\n| file | change | added | removed |');
    expect(markdown).toContain('| `libs/users/src/users.ts` | modified | 2 | 1 |');
  });

  it('puts the diff in Markdown inside <details>, in a fence no line of it can close', () => {
    const markdown = renderReportMarkdown({ results: reviewedResults(), generatedAt, diffs: new Map([['users', USERS_DIFF]]) });
    expect(markdown).toContain('| `libs/users/src/users.ts` | modified | 2 | 1 |\n| `libs/users/src/index.ts` | added | 1 | 0 |');
    expect(markdown).toContain('| `libs/users/src/logo.png` | added | binary | binary |');
    expect(markdown).toContain(
      `<details><summary>diff (.fanout/sessions/users/changes.diff)</summary>\n\n\`\`\`\`diff\n${USERS_DIFF.trimEnd()}\n\`\`\`\`\n\n</details>`,
    );
  });

  it('escapes what the <details> line of the Markdown diff holds as HTML, the one place Markdown reads HTML', () => {
    const results = [sessionResult('users', 0, 1, { diff: { ...diffRecord('users', USERS_DIFF), file: '<img src=x onerror=alert(1)>' } })];
    const markdown = renderReportMarkdown({ results, generatedAt, diffs: new Map([['users', USERS_DIFF]]) });
    expect(markdown).toContain('<details><summary>diff (&#60;img src=x onerror=alert(1)&#62;)</summary>');
  });

  it('says where a capped diff was cut', () => {
    const { text, bytes, keptBytes } = capDiff(USERS_DIFF, 200);
    const results = [sessionResult('users', 0, 10, { files: USERS_FILES, diff: { ...diffRecord('users', text), bytes, keptBytes } })];
    const html = renderReportHtml({ results, generatedAt, diffs: new Map([['users', text]]) });
    expect(html).toMatch(/<p class="note">the diff is cut here: \d+ of its \d+ bytes are left out \(the cap is 0 KB per session\)/);
    // The note is not shown as a line of the last file's diff.
    expect(html).not.toContain('<span class="line diff-meta">[fanout:');
  });

  it('escapes file paths and diff lines', () => {
    const hostile = 'libs/users/src/<img src=x onerror=alert(1)>.ts';
    const diff = `diff --git a/${hostile} b/${hostile}\nnew file mode 100644\n--- /dev/null\n+++ b/${hostile}\n@@ -0,0 +1 @@\n+<script>alert(2)</script>\n`;
    const results = [
      sessionResult('users', 0, 1, { files: [{ path: hostile, status: 'added', added: 1, removed: 0 }], diff: diffRecord('users', diff) }),
    ];
    const html = renderReportHtml({ results, generatedAt, diffs: new Map([['users', diff]]) });
    expect(html).not.toMatch(/<img|<script/);
    expect(html).toContain('<code class="path">libs/users/src/&#60;img src=x onerror=alert(1)&#62;.ts</code>');
    expect(html).toContain('<span class="line diff-added">+&#60;script&#62;alert(2)&#60;/script&#62;</span>');
  });

  it('names the commit the report is for and the commits the sessions started from', () => {
    const head = 'a'.repeat(40);
    const oneBase = renderReportMarkdown({ results: reviewedResults(), generatedAt, headCommit: head });
    expect(oneBase).toContain(
      `For commit \`${head}\`: the workspace's HEAD when this report was written. The sessions started from \`0123456789abcdef0123456789abcdef01234567\`.`,
    );
    const results = reviewedResults();
    results[2].baseCommit = 'b'.repeat(40);
    expect(renderReportHtml({ results, generatedAt, headCommit: head })).toContain(
      `<p class="commit-line">For commit <code class="commit">${head}</code>: the workspace's HEAD when this report was written. ` +
        'The sessions started from 2 different commits (see each session).</p>',
    );
    expect(renderReportMarkdown({ results: [], generatedAt })).toContain(
      'The workspace is not a git repository with a commit: there is no commit to name.',
    );
  });
});

describe('writeReport for review', () => {
  let root: string;

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'fanout-report-'));
  });

  afterEach(() => {
    rmSync(root, { recursive: true, force: true });
  });

  it("states the workspace's HEAD and reads each session's changes.diff", () => {
    gitIn(root, 'init', '-q', '-b', 'main');
    gitIn(root, 'commit', '-q', '--allow-empty', '-m', 'base');
    const head = gitIn(root, 'rev-parse', 'HEAD').trim();
    writeSessionResults(root, reviewedResults());
    writeFileSync(join(root, '.fanout/sessions/users/changes.diff'), USERS_DIFF);
    const { markdown, html } = writeReport(root);
    expect(readFileSync(markdown, 'utf-8')).toContain(`For commit \`${head}\`: the workspace's HEAD when this report was written.`);
    expect(readFileSync(html, 'utf-8')).toContain('<span class="line diff-removed">-export const legacy = true;</span>');
  });

  it('shows a session whose changes.diff is gone without its diff, with a note saying so', () => {
    writeSessionResults(root, reviewedResults());
    const { markdown, html } = writeReport(root);
    expect(readFileSync(markdown, 'utf-8')).toContain(
      '> Note: .fanout/sessions/users/changes.diff could not be read (ENOENT): the report shows users without its diff.',
    );
    expect(readFileSync(html, 'utf-8')).toContain('<code class="path">libs/users/src/users.ts</code> <span class="change">modified</span>');
    expect(readFileSync(html, 'utf-8')).toContain('<p class="diff-note">No diff was recorded for this session.</p>');
  });
});

describe('the report is plain text', () => {
  const red = (text: string) => `\x1b[1m\x1b[31m${text}\x1b[39m\x1b[22m`;
  const link = (text: string, url: string) => `\x1b]8;;${url}\x07${text}\x1b]8;;\x07`;
  /** What Nx and jest print to a terminal: colours, a hyperlink, a title, a line erased and redrawn. */
  const affectedOutput = [
    '\x1b]0;nx affected\x07',
    `${red(' FAIL ')} ${link('src/orders.spec.ts', 'file:///ws/src/orders.spec.ts')}`,
    '\x1b[2K\x1b[1Gcompiling 10%\rcompiling 100%',
    `  ${red('●')} orders › totals`,
    `\x1b[90mExpected: 3\x1b[39m`,
    '',
    ` \x1b[31m✖\x1b[39m  nx run orders:test`,
  ].join('\n');
  const results = () => [
    sessionResult('orders', 0, 10, {
      status: 'failed',
      error: `the gate failed:\n${red('error')} TS2322: Type 'string' is not assignable to type 'number'.`,
      summary: `Added the \x1b[32morders\x1b[0m handlers.`,
      steps: [{ name: 'gate', ok: false, message: `${red('lint')} failed` }],
      findings: [
        {
          check: 'naming-parity',
          severity: 'warning',
          file: 'a.ts',
          line: 1,
          message: red('a name differs'),
          fix: link('rename it', 'https://x'),
        },
      ],
    }),
  ];
  const verify: VerifySummary = {
    ok: false,
    problems: [{ kind: 'affected', message: `${red('orders:test')} failed`, sessions: ['orders'] }],
    affected: { command: 'nx affected -t test', ok: false, output: affectedOutput },
  };

  it.each([
    ['report.md', () => renderReportMarkdown({ results: results(), verify, generatedAt })],
    ['report.html', () => renderReportHtml({ results: results(), verify, generatedAt })],
  ])('%s carries no escape sequence or control character from what processes printed', (_name, render) => {
    const text = render();
    // eslint-disable-next-line no-control-regex -- control characters are what it looks for
    expect(text).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
    expect(text).toContain('FAIL');
    expect(text).toContain('src/orders.spec.ts');
    expect(text).toContain('compiling 100%');
    expect(text).not.toContain('compiling 10%');
    expect(text).toContain('Expected: 3');
    expect(text).toMatch(/TS2322: Type (?:'|&#39;)string/);
    expect(text).toContain('Added the orders handlers.');
    expect(text).not.toMatch(/\[(?:\d+;)*\d+m|\]8;;|\]0;/);
  });

  it('counts the affected output by its plain lines', () => {
    const output = Array.from({ length: 210 }, (_, index) => `\x1b[2m${index}\x1b[22m\rline ${index + 1}`).join('\n');
    const markdown = renderReportMarkdown({
      results: results(),
      verify: { ok: true, problems: [], affected: { command: 'nx affected -t test', ok: true, output } },
      generatedAt,
    });
    expect(markdown).toContain('(the first 10 lines of output are left out)');
    expect(markdown).toContain('line 11\nline 12');
    expect(markdown).toContain('line 210\n```');
  });
});

describe('the report of several runs', () => {
  /** An older run an hour before: users and orders; then the latest run: products 0–10 s and invoices 5–20 s (failed). */
  const recorded = () => [
    sessionResult('users', -3600, -3500, { costUsd: 1 }),
    sessionResult('orders', -3590, -3400, { costUsd: 2 }),
    sessionResult('products', 0, 10, { costUsd: 0.25 }),
    sessionResult('invoices', 5, 20, { status: 'failed', error: 'the gate failed' }),
  ];

  it('gives the figures of the latest run, and says how many sessions of earlier runs are left out of them', () => {
    const markdown = renderReportMarkdown({ results: recorded(), generatedAt });
    expect(markdown).toContain(
      'Latest run: 2 sessions: 1 succeeded, 1 failed · wall time 20.0 s (first start to last end) · session time 25.0 s in all · ' +
        'parallelism 1.3× · cost $0.2500 (reported by 1 of 2) · ' +
        '2 earlier sessions from an older run are listed below (earlier run), not counted here.',
    );
    const statuses = Object.fromEntries(
      [...markdown.matchAll(/^\| `([^`]+)` \| ([^|]+) \|/gm)].map(([, project, status]) => [project, status.trim()]),
    );
    expect(statuses).toEqual({
      users: 'succeeded (earlier run)',
      orders: 'succeeded (earlier run)',
      products: 'succeeded',
      invoices: 'failed',
    });
    // Every session keeps its section.
    expect(markdown.match(/^### /gm)).toHaveLength(4);
  });

  it('draws the latest run on the timeline, each bar linking to its section, and marks the earlier sessions in the table', () => {
    const html = renderReportHtml({ results: recorded(), generatedAt });
    expect(html).toContain('Latest run: 2 sessions: 1 succeeded, 1 failed · wall time 20.0 s');
    expect(bars(html)).toEqual([
      { session: 'products', status: 'succeeded', left: 0, width: 50 },
      { session: 'invoices', status: 'failed', left: 25, width: 75 },
    ]);
    expect(
      [...html.matchAll(/<a class="timeline-bar-label" href="#(session-\d+)">([^<]*)<\/a>/g)].map(([, anchor, project]) => [
        anchor,
        project,
      ]),
    ).toEqual([
      ['session-3', 'products'],
      ['session-4', 'invoices'],
    ]);
    expect(html).toContain('The latest run only: the 2 sessions of earlier runs (earlier run) are in the table.');
    expect(html.match(/<span class="earlier">earlier run<\/span>/g)).toHaveLength(2);
  });

  it('says nothing of runs when every session is of one run', () => {
    const markdown = renderReportMarkdown({ results: runResults(), generatedAt });
    expect(markdown).not.toMatch(/latest run|earlier/i);
    expect(renderReportHtml({ results: runResults(), generatedAt })).not.toMatch(/latest run|class="earlier"/i);
  });
});

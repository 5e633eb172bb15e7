import { closeSync, fstatSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { RUN_START, sessionResult, writeSessionResults } from '../../testing/session-results';
import { readSessionResults, renderReportHtml, renderReportMarkdown, writeReport, type VerifySummary } from './report';
import type { SessionResult } from '../session/session';

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

  it('has one table row per session, with "–" where the agent reported no cost or tokens', () => {
    const rows = renderReportMarkdown({ results: runResults(), generatedAt })
      .split('\n')
      .filter((line) => line.startsWith('| `'));
    expect(rows).toEqual([
      '| `users` | succeeded | `pattern` | 10.0 s | 3 | 0 | – | – |',
      '| `orders` | failed | `command` | 15.0 s | 0 | 1 error, 1 warning | – | – |',
      '| `products` | succeeded | `claude` | 5.0 s | 0 | 0 | $0.0123 | 1,200 in / 345 out |',
    ]);
  });

  it('lists failures with their error, worktree and log, and findings as file:line message (fix)', () => {
    const markdown = renderReportMarkdown({ results: runResults(), generatedAt });
    const failures = markdown.slice(markdown.indexOf('## Failures'), markdown.indexOf('## Findings'));
    expect(failures).toContain('### `orders`\n\n```text\nthe agent failed: exited with code 2\n```');
    expect(failures).toContain('- worktree kept at `/workspace/.fanout/worktrees/orders`');
    expect(failures).toContain('- log: `/workspace/.fanout/sessions/orders/session.log`');
    expect(failures).not.toContain('users');

    const findings = markdown.slice(markdown.indexOf('## Findings'));
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
      problems: [{ kind: 'port', message: 'port 3001 is claimed twice', sessions: ['orders', 'products'] }],
      affected: { command: 'nx affected -t lint test --base=abc1234', ok: false, output: 'orders:test failed\n' },
    };
    const markdown = renderReportMarkdown({ results: runResults(), verify, generatedAt });
    const section = markdown.slice(markdown.indexOf('## Verify'));
    expect(section).toContain('Failed against base `abc1234`: 1 problem across sessions.');
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
    expect(html).not.toMatch(/<script|<link|<img|<iframe|@import|url\(|\bsrc=|\bhref=/i);
    expect(html).toContain(`content="default-src 'none'; style-src 'unsafe-inline'"`);
  });

  it('has the same table: one row per session, "–" for missing cost and tokens', () => {
    const html = renderReportHtml({ results: runResults(), generatedAt });
    const rows = [...html.matchAll(/<tr><td><code>([^<]*)<\/code><\/td>(.*?)<\/tr>/g)].map(([, project, rest]) => [
      project,
      ...[...rest.matchAll(/<td[^>]*>(.*?)<\/td>/g)].map(([, cell]) => cell.replace(/<[^>]+>/g, '')),
    ]);
    expect(rows).toEqual([
      ['users', 'succeeded', 'pattern', '10.0 s', '3', '0', '–', '–'],
      ['orders', 'failed', 'command', '15.0 s', '0', '1 error, 1 warning', '–', '–'],
      ['products', 'succeeded', 'claude', '5.0 s', '0', '0', '$0.0123', '1,200 in / 345 out'],
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

import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { pathToFileURL } from 'url';
import type { Browser, Locator, Page } from 'playwright-core';
import { launchChromium } from '../../testing/browser';
import { gitIn, write } from '../../testing/git-workspace';
import { sessionResult, writeSessionResults } from '../../testing/session-results';
import { writeReport } from './report';

type Box = { x: number; y: number; width: number; height: number };

function overlapHorizontally(a: Box, b: Box): boolean {
  return a.x < b.x + b.width && b.x < a.x + a.width;
}

/** The background colour the page gives what `locator` finds. */
function backgroundOf(locator: Locator): Promise<string> {
  return locator.evaluate((element) => element.ownerDocument.defaultView.getComputedStyle(element).backgroundColor);
}

/** Markup an agent could write into anything it reports; it must show as text and run nothing. */
const HOSTILE = `<img src=x onerror="document.title='ran'">`;

/** users: 12 s, its phases 1 + 2 + 6 + 2 + 1 s. */
const USERS_TIMINGS = { contextMs: 1000, worktreeMs: 2000, agentMs: 6000, checksMs: 2000, integrateMs: 1000 };

const USERS_DIFF = [
  'diff --git a/libs/users/src/lib/users.ts b/libs/users/src/lib/users.ts',
  'index 1111111..2222222 100644',
  '--- a/libs/users/src/lib/users.ts',
  '+++ b/libs/users/src/lib/users.ts',
  '@@ -1,2 +1,3 @@',
  ' export const users = [];',
  '-export const legacy = true;',
  '+export const active = true;',
  `+// ${HOSTILE}`,
  `diff --git a/libs/users/src/${HOSTILE}.ts b/libs/users/src/${HOSTILE}.ts`,
  'new file mode 100644',
  'index 0000000..3333333',
  '--- /dev/null',
  `+++ b/libs/users/src/${HOSTILE}.ts`,
  '@@ -0,0 +1 @@',
  '+export {};',
  '',
].join('\n');

const ORDERS_DIFF = [
  'diff --git a/libs/orders/src/lib/orders.ts b/libs/orders/src/lib/orders.ts',
  'new file mode 100644',
  'index 0000000..4444444',
  '--- /dev/null',
  '+++ b/libs/orders/src/lib/orders.ts',
  '@@ -0,0 +1,4 @@',
  "+import { USERS } from '@ws/users';",
  '+',
  '+',
  '+export interface Order { id: string }',
  '',
].join('\n');

describe('report.html in a browser', () => {
  let root: string;
  let head: string;
  let browser: Browser | undefined;
  let page: Page;
  const requests: string[] = [];
  const dialogs: string[] = [];

  beforeAll(async () => {
    root = mkdtempSync(join(tmpdir(), 'fanout-report-browser-'));
    write(root, 'README.md', 'workspace\n');
    gitIn(root, 'init', '-q', '-b', 'main');
    gitIn(root, 'add', '-A');
    gitIn(root, 'commit', '-q', '-m', 'base');
    head = gitIn(root, 'rev-parse', 'HEAD').trim();
    // users and orders overlap, as do orders and products; the fourth runs alone, after them all.
    writeSessionResults(root, [
      sessionResult('users', 0, 12, {
        baseCommit: head,
        timings: USERS_TIMINGS,
        summary: `Added the active flag. ${HOSTILE}`,
        files: [
          { path: 'libs/users/src/lib/users.ts', status: 'modified', added: 2, removed: 1 },
          { path: `libs/users/src/${HOSTILE}.ts`, status: 'added', added: 1, removed: 0 },
          { path: 'libs/users/src/logo.png', status: 'added', binary: true },
        ],
        diff: { file: '.fanout/sessions/users/changes.diff', integrated: true, bytes: USERS_DIFF.length, keptBytes: USERS_DIFF.length },
      }),
      sessionResult('orders', 4, 20, {
        baseCommit: head,
        status: 'failed',
        error: "the session's code breaks the fan-out's rules; nothing was integrated",
        worktree: '/workspace/.fanout/worktrees/orders',
        timings: { contextMs: 500, worktreeMs: 1500, agentMs: 9000, checksMs: 0, integrateMs: 0 },
        findings: [
          {
            check: 'hidden-dependencies',
            severity: 'error',
            file: 'libs/orders/src/lib/orders.ts',
            line: 1,
            message: 'imports @ws/users, a sibling task of this run.',
            fix: 'import what you need from @ws/contracts instead.',
          },
        ],
        diff: { file: '.fanout/sessions/orders/changes.diff', integrated: false, bytes: ORDERS_DIFF.length, keptBytes: ORDERS_DIFF.length },
      }),
      // Recorded by a version without timings: one plain bar.
      sessionResult('products', 14, 26, { baseCommit: head, agent: 'claude', costUsd: 0.02, tokens: { input: 900, output: 120 } }),
      sessionResult('<script>document.body.remove()</script>', 30, 36, {
        baseCommit: head,
        status: 'failed',
        error: '<img src="http://127.0.0.1:9/pixel.png">',
      }),
    ]);
    writeFileSync(join(root, '.fanout/sessions/users/changes.diff'), USERS_DIFF);
    writeFileSync(join(root, '.fanout/sessions/orders/changes.diff'), ORDERS_DIFF);
    const { html } = writeReport(root, {
      ok: false,
      baseCommit: head,
      problems: [{ kind: 'port', message: 'port 3001 is claimed twice', sessions: ['orders', 'products'] }],
      affected: { command: `nx affected -t lint test --base=${head}`, ok: false, output: 'orders:test failed\n' },
    });

    browser = await launchChromium();
    page = await browser.newPage();
    page.on('request', (request) => requests.push(request.url()));
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
    await page.goto(pathToFileURL(html).href, { waitUntil: 'load' });
  });

  afterAll(async () => {
    await browser?.close();
    if (root) rmSync(root, { recursive: true, force: true });
  });

  it('draws one visible bar per session on the timeline', async () => {
    const bars = page.locator('.timeline-bar');
    expect(await bars.count()).toBe(4);
    expect(await Promise.all((await bars.all()).map((bar) => bar.getAttribute('data-session')))).toEqual([
      'users',
      'orders',
      'products',
      '<script>document.body.remove()</script>',
    ]);
    for (const bar of await bars.all()) {
      expect(await bar.isVisible()).toBe(true);
      const box = await bar.boundingBox();
      expect(box?.width).toBeGreaterThan(0);
      expect(box?.height).toBeGreaterThan(0);
    }
  });

  it('lays the bars out on one time axis: overlapping sessions overlap, a later one starts after them', async () => {
    const box = async (session: string) => {
      const found = await page.locator(`.timeline-bar[data-session="${session}"]`).boundingBox();
      if (!found) throw new Error(`no bar for ${session}`);
      return found;
    };
    const [users, orders, products, fourth] = [
      await box('users'),
      await box('orders'),
      await box('products'),
      await page.locator('.timeline-bar').nth(3).boundingBox(),
    ];
    if (!fourth) throw new Error('no bar for the fourth session');
    expect(overlapHorizontally(users, orders)).toBe(true);
    expect(overlapHorizontally(orders, products)).toBe(true);
    expect(overlapHorizontally(users, products)).toBe(false);
    expect(fourth.x).toBeGreaterThan(products.x + products.width);
    // Every bar has a row of its own.
    expect(new Set([users.y, orders.y, products.y, fourth.y]).size).toBe(4);
  });

  it("splits a session's bar into its phases, left to right, each as wide as its share of the session", async () => {
    const bar = page.locator('.timeline-bar[data-session="users"]');
    const barBox = await bar.boundingBox();
    if (!barBox) throw new Error('no bar for users');
    const segments = await bar.locator('.phase').all();
    expect(await Promise.all(segments.map((segment) => segment.getAttribute('data-phase')))).toEqual([
      'context',
      'worktree',
      'agent',
      'checks',
      'integration',
    ]);
    const shares = [1, 2, 6, 2, 1].map((seconds) => seconds / 12);
    let right = barBox.x;
    for (const [index, segment] of segments.entries()) {
      expect(await segment.isVisible()).toBe(true);
      const box = await segment.boundingBox();
      if (!box) throw new Error(`no box for phase ${index}`);
      expect(Math.abs(box.width - shares[index] * barBox.width)).toBeLessThan(1.5);
      expect(Math.abs(box.x - right)).toBeLessThan(1.5);
      expect(box.height).toBeGreaterThan(0);
      right = box.x + box.width;
    }
    // Distinct colours, or the phases could not be told apart.
    const colours = await Promise.all(segments.map(backgroundOf));
    expect(new Set(colours).size).toBe(5);
    // A failed session ends in time no phase measured; a result without timings is one bar.
    expect(await page.locator('.timeline-bar[data-session="orders"] .phase').last().getAttribute('data-phase')).toBe('other');
    expect(await page.locator('.timeline-bar[data-session="products"] .phase').count()).toBe(0);
  });

  it('states the commit the report is for, and the one the sessions started from', async () => {
    const line = await page.locator('.commit-line').innerText();
    expect(line).toContain(`For commit ${head}: the workspace's HEAD when this report was written.`);
    expect(line).toContain(`The sessions started from ${head}.`);
    expect(await page.locator('#session-1 .session-meta').innerText()).toContain(`base commit ${head}`);
  });

  it("lists a session's files with their added and removed lines, and opens a file's diff on a click", async () => {
    const session = page.locator('section.session[data-session="users"]');
    expect(await session.locator('h4').first().innerText()).toBe('Files the session wrote (3) +3 −1');
    const file = session.locator('li.file').first();
    expect(await file.locator('summary').innerText()).toBe('libs/users/src/lib/users.ts modified +2 −1');
    const added = file.locator('.diff-added').first();
    const removed = file.locator('.diff-removed').first();
    expect(await added.isVisible()).toBe(false);
    await file.locator('summary').click();
    expect(await added.isVisible()).toBe(true);
    expect(await removed.isVisible()).toBe(true);
    expect(await added.innerText()).toBe('+export const active = true;');
    expect(await removed.innerText()).toBe('-export const legacy = true;');
    expect(await backgroundOf(added)).not.toBe(await backgroundOf(removed));
    // The file header's `---` line is header, not a removed line.
    expect(await file.locator('.diff-removed').count()).toBe(1);
    // A binary file: counted as binary, with no text diff to open.
    const binary = session.locator('li.file').nth(2);
    expect(await binary.innerText()).toBe('libs/users/src/logo.png added binary');
    expect(await binary.locator('details').count()).toBe(0);
  });

  it("shows a failed session's error, the changes its kept worktree holds, and its findings with file:line and the fix", async () => {
    const session = page.locator('section.session[data-session="orders"]');
    expect(await session.locator('pre.error').innerText()).toContain('nothing was integrated');
    expect(await session.locator('h4').first().innerText()).toBe('Changes in the kept worktree (not landed) (1) +4 −0');
    const finding = await session.locator('li.finding').innerText();
    expect(finding).toContain('error libs/orders/src/lib/orders.ts:1 imports @ws/users, a sibling task of this run.');
    expect(finding).toContain('(fix: import what you need from @ws/contracts instead.)');
    expect(await session.locator('.kept').innerText()).toContain('worktree kept at /workspace/.fanout/worktrees/orders');
  });

  it('shows the verify result: its problems and the affected command, and whether each passed', async () => {
    const verify = await page.locator('section.verify').innerText();
    expect(verify).toContain(`failed against base ${head}: 1 problem across sessions.`);
    expect(verify).toContain('port: port 3001 is claimed twice (sessions: orders, products)');
    expect(verify).toContain(`Affected checks nx affected -t lint test --base=${head}: failed.`);
    expect(await page.locator('section.verify details pre').isVisible()).toBe(true);
  });

  it('shows markup from sessions as text, in a name, a summary, a file path and a diff line, and runs none of it', async () => {
    const users = page.locator('section.session[data-session="users"]');
    await users.locator('li.file').nth(1).locator('summary').click();
    expect(await page.locator('script, img').count()).toBe(0);
    const text = await page.locator('body').innerText();
    expect(text).toContain('<script>document.body.remove()</script>');
    expect(text).toContain('<img src="http://127.0.0.1:9/pixel.png">');
    expect(await users.locator('.agent-summary').innerText()).toContain(`Added the active flag. ${HOSTILE}`);
    expect(await users.locator('li.file').nth(1).locator('summary').innerText()).toBe(`libs/users/src/${HOSTILE}.ts added +1 −0`);
    expect(await users.locator('li.file').first().locator('.diff-added').nth(1).innerText()).toBe(`+// ${HOSTILE}`);
    expect(await page.title()).toBe('fanout report');
    expect(dialogs).toEqual([]);
  });

  it('makes no network request: the page is one file', () => {
    expect(requests.length).toBeGreaterThan(0);
    expect(requests.filter((url) => !url.startsWith('file:') && !url.startsWith('data:'))).toEqual([]);
  });
});

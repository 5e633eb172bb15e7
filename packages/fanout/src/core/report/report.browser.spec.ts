import { existsSync, mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { pathToFileURL } from 'url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { sessionResult, writeSessionResults } from '../../testing/session-results';
import { writeReport } from './report';

const CHROMIUM = '/usr/bin/chromium';

// Nothing but the page itself: no first-run, update, sync or background traffic.
const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

type Box = { x: number; y: number; width: number; height: number };

function overlapHorizontally(a: Box, b: Box): boolean {
  return a.x < b.x + b.width && b.x < a.x + a.width;
}

describe('report.html in a browser', () => {
  let root: string;
  let browser: Browser | undefined;
  let page: Page;
  const requests: string[] = [];

  beforeAll(async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `${CHROMIUM} is missing: this test opens the report in Debian's chromium. ` +
          'Install it with `apt-get update && apt-get install -y chromium` (as root), then run the test again.',
      );
    }
    root = mkdtempSync(join(tmpdir(), 'fanout-report-browser-'));
    // users and orders overlap, as do orders and products; invoices runs alone, after them all.
    writeSessionResults(root, [
      sessionResult('users', 0, 12),
      sessionResult('orders', 4, 20, { status: 'failed', error: 'the agent failed: exited with code 1' }),
      sessionResult('products', 14, 26, { agent: 'claude', costUsd: 0.02, tokens: { input: 900, output: 120 } }),
      // Markup in a name or error must show as text, and load nothing.
      sessionResult('<script>document.body.remove()</script>', 30, 36, {
        status: 'failed',
        error: '<img src="http://127.0.0.1:9/pixel.png">',
      }),
    ]);
    const { html } = writeReport(root);

    // Launched without a user-data-dir, playwright uses a new empty one and deletes it on close.
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
    page = await browser.newPage();
    page.on('request', (request) => requests.push(request.url()));
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
    const [users, orders, products, invoices] = [
      await box('users'),
      await box('orders'),
      await box('products'),
      await page.locator('.timeline-bar').nth(3).boundingBox(),
    ];
    if (!invoices) throw new Error('no bar for the fourth session');
    expect(overlapHorizontally(users, orders)).toBe(true);
    expect(overlapHorizontally(orders, products)).toBe(true);
    expect(overlapHorizontally(users, products)).toBe(false);
    expect(invoices.x).toBeGreaterThan(products.x + products.width);
    // Every bar has a row of its own.
    expect(new Set([users.y, orders.y, products.y, invoices.y]).size).toBe(4);
  });

  it('shows markup from results as text and runs no script', async () => {
    expect(await page.locator('script, img').count()).toBe(0);
    expect(await page.locator('body').innerText()).toContain('<script>document.body.remove()</script>');
    expect(await page.locator('body').innerText()).toContain('<img src="http://127.0.0.1:9/pixel.png">');
  });

  it('makes no network request: the page is one file', () => {
    expect(requests.length).toBeGreaterThan(0);
    expect(requests.filter((url) => !url.startsWith('file:') && !url.startsWith('data:'))).toEqual([]);
  });
});

import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { createWorkspace, gitIn, write, type TestWorkspace } from '../../testing/git-workspace';
import { applyRecordedWiring, describeConflicts, mergeWiredEdits, readWiredEdits, readWiredEditsFile, writeWiredEdits } from './wiring';
import { createWorktree, removeWorktree } from './worktree';

const PAGES = 'apps/shop/src/pages.ts';
const BASE = `import { settings } from './settings';\n\nexport const pages = [\n  settings,\n];\n`;
const WITH_ORDERS = `import { settings } from './settings';\nimport { orders } from '@ws/orders';\n\nexport const pages = [\n  settings,\n  orders,\n];\n`;

describe('wired edits', () => {
  let ws: TestWorkspace;
  beforeEach(() => {
    ws = createWorkspace(['orders']);
    write(ws.root, PAGES, BASE);
    gitIn(ws.root, 'add', '-A');
    gitIn(ws.root, 'commit', '-q', '-m', 'the shop app');
  });
  afterEach(async () => {
    await removeWorktree(ws.root, 'orders');
    ws.remove();
  });

  it("reads a session's edit against its baseline, merges it into the workspace, and merges nothing the second time", async () => {
    const worktree = await createWorktree(ws.root, 'orders');
    write(worktree.path, PAGES, WITH_ORDERS);

    const edits = await readWiredEdits(worktree, [
      { path: PAGES, project: 'shop' },
      { path: 'libs/orders/src/index.ts', project: 'orders' },
    ]);

    // Only files the session changed are edits.
    expect(edits).toEqual([{ path: PAGES, project: 'shop', base: BASE, session: WITH_ORDERS }]);
    expect(await mergeWiredEdits(ws.root, edits, 'orders')).toEqual([{ path: PAGES, status: 'merged', content: WITH_ORDERS }]);
    write(ws.root, PAGES, WITH_ORDERS);
    expect(await mergeWiredEdits(ws.root, edits, 'orders')).toEqual([{ path: PAGES, status: 'unchanged' }]);
  });

  it('reports a conflict with the workspace, with the hunk, and a file that is gone', async () => {
    const worktree = await createWorktree(ws.root, 'orders');
    write(worktree.path, PAGES, BASE.replace('  settings,\n', '  settings,\n  orders,\n').replace("'./settings'", "'./settings/page'"));
    const edits = await readWiredEdits(worktree, [{ path: PAGES, project: 'shop' }]);
    write(ws.root, PAGES, BASE.replace("'./settings'", "'./preferences'"));

    const outcomes = await mergeWiredEdits(ws.root, edits, 'orders');

    expect(outcomes.map((outcome) => outcome.status)).toEqual(['conflict']);
    expect(describeConflicts(outcomes, 'orders')).toBe(
      [
        `${PAGES}:1: both changed these lines`,
        '  the workspace:',
        "    import { settings } from './preferences';",
        '  merge base:',
        "    import { settings } from './settings';",
        '  orders:',
        "    import { settings } from './settings/page';",
      ].join('\n'),
    );
    rmSync(join(ws.root, PAGES));
    expect(describeConflicts(await mergeWiredEdits(ws.root, edits, 'orders'), 'orders')).toContain(
      '(the file no longer exists in the workspace)',
    );
  });
});

describe('the wired edits record', () => {
  it('round-trips, is empty when absent, and says what to do when it is not a record', () => {
    const dir = mkdtempSync(join(tmpdir(), 'fanout-wired-'));
    try {
      expect(readWiredEditsFile(dir)).toEqual([]);
      const edits = [{ path: PAGES, project: 'shop', base: BASE, session: WITH_ORDERS }];
      writeWiredEdits(dir, edits);
      expect(readWiredEditsFile(dir)).toEqual(edits);
      writeFileSync(join(dir, 'wired.json'), '[{"path": 1}]');
      expect(() => readWiredEditsFile(dir)).toThrow('is not a list of wired edits (path, project, base, session); run the task again');
      expect(readFileSync(join(dir, 'wired.json'), 'utf-8')).toBe('[{"path": 1}]');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('applyRecordedWiring', () => {
  let ws: TestWorkspace;
  beforeEach(() => {
    ws = createWorkspace(['orders', 'products']);
    write(ws.root, PAGES, BASE);
  });
  afterEach(() => ws.remove());

  const record = (project: string, session: string) => {
    const dir = join(ws.root, '.fanout', 'sessions', project);
    write(dir, 'result.json', '{}');
    writeWiredEdits(dir, [{ path: PAGES, project: 'shop', base: BASE, session }]);
    return { project, dir };
  };
  const entry = (name: string) =>
    BASE.replace("';\n", `';\nimport { ${name} } from '@ws/${name}';\n`).replace('  settings,\n', `  settings,\n  ${name},\n`);

  it('lands the recorded edits of replayed sessions in order, and changes nothing when they are already there', async () => {
    const sessions = [record('orders', entry('orders')), record('products', entry('products'))];

    const first = await applyRecordedWiring(ws.root, sessions);

    expect(first.map(({ project, outcomes }) => [project, outcomes.map((outcome) => outcome.status)])).toEqual([
      ['orders', ['merged']],
      ['products', ['merged']],
    ]);
    const landed = readFileSync(join(ws.root, PAGES), 'utf-8');
    expect(landed).toBe(
      "import { settings } from './settings';\nimport { orders } from '@ws/orders';\nimport { products } from '@ws/products';\n\n" +
        'export const pages = [\n  settings,\n  orders,\n  products,\n];\n',
    );
    const again = await applyRecordedWiring(ws.root, sessions);
    expect(again.flatMap(({ outcomes }) => outcomes.map((outcome) => outcome.status))).toEqual(['unchanged', 'unchanged']);
    expect(readFileSync(join(ws.root, PAGES), 'utf-8')).toBe(landed);
  });

  it("writes none of a session's edits when one conflicts, and skips sessions that recorded none", async () => {
    write(ws.root, PAGES, BASE.replace('  settings,\n', '  preferences,\n'));
    const none = join(ws.root, '.fanout', 'sessions', 'products');
    write(none, 'result.json', '{}');

    const applied = await applyRecordedWiring(ws.root, [
      record('orders', BASE.replace('  settings,\n', '  account,\n')),
      { project: 'products', dir: none },
    ]);

    expect(applied.map(({ project, outcomes }) => [project, outcomes.map((outcome) => outcome.status)])).toEqual([
      ['orders', ['conflict']],
    ]);
    expect(readFileSync(join(ws.root, PAGES), 'utf-8')).toBe(BASE.replace('  settings,\n', '  preferences,\n'));
  });
});

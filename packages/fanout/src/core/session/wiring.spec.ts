import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { createWorkspace, gitIn, write, type TestWorkspace } from '../../testing/git-workspace';
import { describeConflicts, mergeWiredEdits, readWiredEdits, readWiredEditsFile, writeWiredEdits } from './wiring';
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

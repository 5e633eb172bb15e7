import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import type { Tree } from '@nx/devkit';
import { takeGenerator } from './take';

describe('take generator', () => {
  let tree: Tree;
  const record = (landing: object) =>
    tree.write(
      '.fanout/sessions/@acme/orders/result.json',
      JSON.stringify({
        project: '@acme/orders',
        files: [
          { path: 'libs/orders/src/a.ts', status: 'added', sha256: 'x' },
          { path: 'libs/orders/src/b.ts', status: 'modified', sha256: 'y' },
          { path: 'libs/orders/src/gone.ts', status: 'deleted' },
        ],
        landing,
      }),
    );

  beforeEach(() => {
    tree = createTreeWithEmptyWorkspace();
    tree.write('.fanout/sessions/@acme/orders/files/libs/orders/src/a.ts', 'export const a = 1;\n');
    tree.write('.fanout/sessions/@acme/orders/files/libs/orders/src/b.ts', 'export const b = 1;\n');
    tree.write('libs/orders/src/a.ts', '// mine\n');
    tree.write('libs/orders/src/b.ts', '// mine too\n');
    tree.write('libs/orders/src/gone.ts', '// restored by hand\n');
  });

  it('writes the session version of every file the last landing kept, and deletes what the session deleted', async () => {
    record({
      files: [
        { path: 'libs/orders/src/a.ts', action: 'kept', reason: 'changed-since' },
        { path: 'libs/orders/src/b.ts', action: 'in-place' },
        { path: 'libs/orders/src/gone.ts', action: 'kept', reason: 'changed-since' },
      ],
    });
    await takeGenerator(tree, { project: '@acme/orders' });
    expect(tree.read('libs/orders/src/a.ts', 'utf-8')).toBe('export const a = 1;\n');
    expect(tree.read('libs/orders/src/b.ts', 'utf-8')).toBe('// mine too\n');
    expect(tree.exists('libs/orders/src/gone.ts')).toBe(false);
  });

  it('takes only the files named, and refuses one the session did not write, naming those it did', async () => {
    record({ files: [] });
    await takeGenerator(tree, { project: '@acme/orders', files: 'libs/orders/src/b.ts' });
    expect(tree.read('libs/orders/src/b.ts', 'utf-8')).toBe('export const b = 1;\n');
    expect(tree.read('libs/orders/src/a.ts', 'utf-8')).toBe('// mine\n');
    await expect(takeGenerator(tree, { project: '@acme/orders', files: 'libs/orders/src/c.ts' })).rejects.toThrow(
      'libs/orders/src/c.ts: not a file the session of @acme/orders wrote. It wrote: libs/orders/src/a.ts, libs/orders/src/b.ts, libs/orders/src/gone.ts.',
    );
  });

  it('says how to get a record when the task has none', async () => {
    await expect(takeGenerator(tree, { project: 'invoices' })).rejects.toThrow('invoices has no session record');
  });
});

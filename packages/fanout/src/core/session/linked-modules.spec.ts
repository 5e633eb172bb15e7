import { lstatSync, mkdirSync, mkdtempSync, readlinkSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { linkModules } from './linked-modules';

describe('linkModules', () => {
  let dir: string;
  let workspace: string;
  let worktree: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'fanout-modules-'));
    workspace = join(dir, 'ws');
    worktree = join(workspace, '.fanout', 'worktrees', 'orders');
    for (const folder of [
      'node_modules/nx/bin',
      'node_modules/@types/node',
      'node_modules/.bin',
      'libs/contracts',
      'libs/orders',
      'libs/gone',
    ])
      mkdirSync(join(workspace, folder), { recursive: true });
    mkdirSync(join(worktree, 'libs', 'contracts'), { recursive: true });
    mkdirSync(join(worktree, 'libs', 'orders'), { recursive: true });
    writeFileSync(join(workspace, 'node_modules/nx/bin/nx.js'), '');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  const resolved = (path: string) => realpathSync(join(worktree, 'node_modules', path));

  it('links the whole folder where no package is a project of the workspace', () => {
    linkModules(workspace, worktree);
    expect(lstatSync(join(worktree, 'node_modules')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(worktree, 'node_modules'))).toBe(join(workspace, 'node_modules'));
  });

  it("links the workspace's own projects to the worktree's copies, and every other package to the workspace's", () => {
    mkdirSync(join(workspace, 'node_modules/@shop'));
    // As npm writes them: relative links from node_modules into the workspace.
    symlinkSync('../../libs/contracts', join(workspace, 'node_modules/@shop/contracts'));
    symlinkSync(join(workspace, 'libs/orders'), join(workspace, 'node_modules/orders'));
    // A project the (sparse) worktree leaves out stays the workspace's.
    symlinkSync('../../libs/gone', join(workspace, 'node_modules/@shop/gone'));
    // A link inside node_modules (pnpm's store) is a package like any other.
    mkdirSync(join(workspace, 'node_modules/.pnpm/left-pad@1/node_modules/left-pad'), { recursive: true });
    symlinkSync('.pnpm/left-pad@1/node_modules/left-pad', join(workspace, 'node_modules/left-pad'));

    linkModules(workspace, worktree);

    expect(lstatSync(join(worktree, 'node_modules')).isDirectory()).toBe(true);
    expect(resolved('@shop/contracts')).toBe(realpathSync(join(worktree, 'libs/contracts')));
    expect(resolved('orders')).toBe(realpathSync(join(worktree, 'libs/orders')));
    expect(resolved('@shop/gone')).toBe(realpathSync(join(workspace, 'libs/gone')));
    expect(resolved('left-pad')).toBe(realpathSync(join(workspace, 'node_modules/.pnpm/left-pad@1/node_modules/left-pad')));
    expect(resolved('nx/bin/nx.js')).toBe(realpathSync(join(workspace, 'node_modules/nx/bin/nx.js')));
    expect(resolved('@types/node')).toBe(realpathSync(join(workspace, 'node_modules/@types/node')));
    expect(resolved('.bin')).toBe(realpathSync(join(workspace, 'node_modules/.bin')));
  });

  it('reads node_modules again for the next worktree once a package is linked into it or a scope is added', () => {
    linkModules(workspace, worktree);
    expect(lstatSync(join(worktree, 'node_modules')).isSymbolicLink()).toBe(true);
    // npm install links a workspace project in a scope that already exists: only the scope's folder changes.
    symlinkSync('../../libs/orders', join(workspace, 'node_modules/@types/orders'));
    const next = join(workspace, '.fanout', 'worktrees', 'next');
    mkdirSync(join(next, 'libs', 'orders'), { recursive: true });
    linkModules(workspace, next);
    expect(lstatSync(join(next, 'node_modules')).isDirectory()).toBe(true);
    expect(realpathSync(join(next, 'node_modules/@types/orders'))).toBe(realpathSync(join(next, 'libs/orders')));
    // And a new scope: the folder of node_modules itself changes.
    mkdirSync(join(workspace, 'node_modules/@shop'));
    symlinkSync('../../libs/contracts', join(workspace, 'node_modules/@shop/contracts'));
    const third = join(workspace, '.fanout', 'worktrees', 'third');
    mkdirSync(join(third, 'libs', 'contracts'), { recursive: true });
    linkModules(workspace, third);
    expect(realpathSync(join(third, 'node_modules/@shop/contracts'))).toBe(realpathSync(join(third, 'libs/contracts')));
  });

  it('leaves a worktree that already has node_modules, and a workspace without, as they are', () => {
    rmSync(join(workspace, 'node_modules'), { recursive: true });
    linkModules(workspace, worktree);
    expect(() => lstatSync(join(worktree, 'node_modules'))).toThrow();
  });
});

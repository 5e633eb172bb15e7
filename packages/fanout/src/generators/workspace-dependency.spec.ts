import { logger, readJson, type Tree } from '@nx/devkit';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { contractsGenerator } from './contracts/contracts';
import { addLibraryDependency, type ContractsLibrary } from './projects';
import { referenceGenerator } from './reference/reference';
import { taskGenerator } from './task/task';
import { addWorkspaceDependency, workspaceDependencyStyle } from './workspace-dependency';

// The Tree is the workspace: Nx's generators get an empty graph, not this repository's (see devkitForTrees).
jest.mock('@nx/devkit', () => require('../testing/tree-project-graph').devkitForTrees());

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

/** A workspace whose packages are `libs/<name>/package.json`, each with the given fields. */
function workspace(packages: Record<string, Record<string, unknown>>, root: Record<string, unknown> = {}): Tree {
  const tree = createTreeWithEmptyWorkspace({ formatter: 'none' });
  tree.write('package.json', json({ name: '@ws/source', private: true, workspaces: ['libs/*', 'apps/*'], ...root }));
  for (const [name, fields] of Object.entries(packages)) tree.write(`libs/${name}/package.json`, json({ name: `@ws/${name}`, ...fields }));
  return tree;
}

describe("dependencies between the workspace's packages, in the workspace's style", () => {
  it('follows what most packages use for a workspace package: field and version', () => {
    const tree = workspace({
      types: {},
      orders: { devDependencies: { '@ws/types': 'workspace:*', typescript: '~5.9.3' } },
      users: { devDependencies: { '@ws/types': 'workspace:*' }, dependencies: { '@ws/orders': 'workspace:^' } },
    });
    expect(workspaceDependencyStyle(tree)).toEqual({ field: 'devDependencies', version: 'workspace:*' });
    expect(workspaceDependencyStyle(workspace({ types: {}, orders: { dependencies: { '@ws/types': 'workspace:^' } } }))).toEqual({
      field: 'dependencies',
      version: 'workspace:^',
    });
  });

  it("counts only dependencies on the workspace's own packages", () => {
    const tree = workspace({ types: {}, orders: { dependencies: { '@ws/types': '*', react: '*', zod: 'workspace:*' } } });
    expect(workspaceDependencyStyle(tree)).toEqual({ field: 'dependencies', version: '*' });
  });

  it('without an example, writes what the package manager links: workspace:* for pnpm, * for the others', () => {
    expect(workspaceDependencyStyle(workspace({ types: {} }))).toEqual({ field: 'dependencies', version: '*' });
    const pnpm = workspace({ types: {} });
    pnpm.write('pnpm-lock.yaml', "lockfileVersion: '9.0'\n");
    expect(workspaceDependencyStyle(pnpm)).toEqual({ field: 'dependencies', version: 'workspace:*' });
  });

  it('leaves a dependency the package already lists as it is', () => {
    const tree = workspace({
      types: {},
      orders: { devDependencies: { '@ws/types': 'workspace:*' } },
      users: { dependencies: { '@ws/types': '^1.0.0' } },
    });
    addWorkspaceDependency(tree, 'libs/users/package.json', '@ws/types');
    expect(readJson(tree, 'libs/users/package.json')).toEqual({ name: '@ws/users', dependencies: { '@ws/types': '^1.0.0' } });
  });

  it("makes a new library depend on the contracts the workspace's way", () => {
    const tree = workspace({ types: {}, orders: { devDependencies: { '@ws/types': 'workspace:*' } }, billing: {} });
    const contracts = { name: '@ws/types', root: 'libs/types', importPath: '@ws/types' } as ContractsLibrary;
    addLibraryDependency(
      tree,
      { name: '@ws/billing', root: 'libs/billing', importPath: '@ws/billing', tsSolution: true, install: () => undefined },
      contracts,
    );
    expect(readJson(tree, 'libs/billing/package.json')).toEqual({ name: '@ws/billing', devDependencies: { '@ws/types': 'workspace:*' } });
  });
});

describe('fanout:task in a Yarn 4 workspace reached only through corepack', () => {
  let tree: Tree;
  let install: () => unknown;
  beforeAll(async () => {
    // A TS-solution workspace whose packages depend on each other through devDependencies with workspace:*.
    tree = workspace(
      {
        'shared-types': {
          version: '0.0.1',
          types: './src/index.ts',
          exports: { '.': { types: './src/index.ts', default: './src/index.ts' } },
        },
        'feature-settings': { version: '0.0.1', main: './src/index.ts', devDependencies: { '@ws/shared-types': 'workspace:*' } },
      },
      { packageManager: 'yarn@4.5.1' },
    );
    tree.write('yarn.lock', '__metadata:\n  version: 8\n');
    tree.write('tsconfig.base.json', json({ compilerOptions: { composite: true, customConditions: ['@ws/source'] } }));
    tree.write(
      'tsconfig.json',
      json({
        extends: './tsconfig.base.json',
        files: [],
        references: [{ path: './libs/shared-types' }, { path: './libs/feature-settings' }],
      }),
    );
    tree.write('libs/shared-types/src/index.ts', 'export interface Section {\n  id: string;\n}\n');
    tree.write(
      'libs/feature-settings/tsconfig.lib.json',
      json({ extends: '../../tsconfig.base.json', references: [{ path: '../shared-types/tsconfig.lib.json' }] }),
    );
    tree.write('libs/feature-settings/src/index.ts', "export * from './lib/feature-settings';\n");
    tree.write(
      'libs/feature-settings/src/lib/feature-settings.ts',
      "import type { Section } from '@ws/shared-types';\nexport const settingsSections: Section[] = [];\n",
    );
    tree.write(
      'apps/shop/package.json',
      json({ name: '@ws/shop', version: '0.0.1', devDependencies: { '@ws/feature-settings': 'workspace:*' } }),
    );
    tree.write(
      'apps/shop/src/pages.ts',
      "import { settingsSections } from '@ws/feature-settings';\n\nexport const pages = [settingsSections];\n",
    );
    await contractsGenerator(tree, { project: '@ws/shared-types' });
    await referenceGenerator(tree, { project: '@ws/feature-settings', contracts: '@ws/shared-types' });
    install = await taskGenerator(tree, { names: 'dashboard', like: '@ws/feature-settings', wire: 'apps/shop/src/pages.ts' });
  });

  it('lets the project that owns a wired file depend on the task as it depends on its other workspace packages (--wire)', () => {
    expect(readJson(tree, 'apps/shop/package.json')).toEqual({
      name: '@ws/shop',
      version: '0.0.1',
      devDependencies: { '@ws/feature-settings': 'workspace:*', '@ws/feature-dashboard': 'workspace:*' },
    });
  });

  it("links the sibling with the install corepack runs, yarn being on no PATH, and never fails with the shell's error", () => {
    const bin = mkdtempSync(join(tmpdir(), 'fanout-corepack-'));
    writeFileSync(join(bin, 'corepack'), '#!/bin/sh\nexit 0\n');
    chmodSync(join(bin, 'corepack'), 0o755);
    const path = process.env['PATH'];
    const warn = jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
    try {
      process.env['PATH'] = bin;
      expect(() => install()).not.toThrow();
      // The Tree's root (/virtual) is no folder, so the install cannot start: what it says names the command it ran.
      expect(warn.mock.calls.map(([message]) => message)).toEqual([expect.stringContaining('"corepack yarn install" could not start')]);
    } finally {
      process.env['PATH'] = path;
      warn.mockRestore();
      rmSync(bin, { recursive: true, force: true });
    }
  });
});

import { updateJson, workspaceRoot, type Tree } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { join } from 'path';
import { pendingChanges } from '../testing/compile-tree';
import {
  defaultLibraryRoot,
  librariesFolder,
  libraryGeneratorOptions,
  placeLibrary,
  projectLintAndTest,
  resolveLintAndTest,
  type LibraryPlan,
} from './library';

function useTsSolution(tree: Tree): void {
  updateJson(tree, 'package.json', (json) => ({ ...json, workspaces: ['packages/*'] }));
  tree.write('tsconfig.json', JSON.stringify({ extends: './tsconfig.base.json', files: [], references: [] }));
  updateJson(tree, 'tsconfig.base.json', (json) => ({ ...json, compilerOptions: { composite: true, declaration: true } }));
}

describe('librariesFolder: where the workspace keeps its libraries', () => {
  it('is nx.json workspaceLayout.libsDir when set', () => {
    const tree = createTreeWithEmptyWorkspace({ layout: 'apps-libs' });
    updateJson(tree, 'nx.json', (json) => ({ ...json, workspaceLayout: { libsDir: './shared/libs/' } }));
    expect(librariesFolder(tree)).toBe('shared/libs');
  });

  it("is the folder of the package manager's workspaces", () => {
    const tree = createTreeWithEmptyWorkspace();
    updateJson(tree, 'package.json', (json) => ({ ...json, workspaces: ['packages/*'] }));
    expect(librariesFolder(tree)).toBe('packages');
  });

  it('reads pnpm-workspace.yaml and the { packages } form of workspaces', () => {
    const pnpm = createTreeWithEmptyWorkspace();
    pnpm.write('pnpm-workspace.yaml', "packages:\n  - 'modules/*'\n  - '!**/test/**'\n");
    expect(librariesFolder(pnpm)).toBe('modules');

    const yarn = createTreeWithEmptyWorkspace();
    updateJson(yarn, 'package.json', (json) => ({ ...json, workspaces: { packages: ['./components/**'] } }));
    expect(librariesFolder(yarn)).toBe('components');
  });

  it("prefers the workspaces folder that is not the applications' one", () => {
    const tree = createTreeWithEmptyWorkspace();
    tree.write('apps/.gitignore', '');
    updateJson(tree, 'package.json', (json) => ({ ...json, workspaces: ['apps/*', 'modules/*'] }));
    expect(librariesFolder(tree)).toBe('modules');

    tree.write('libs/.gitignore', '');
    updateJson(tree, 'package.json', (json) => ({ ...json, workspaces: ['apps/*', 'modules/*', 'libs/*'] }));
    expect(librariesFolder(tree)).toBe('libs');
  });

  it('is an existing libs/ folder, else an existing packages/ folder', () => {
    expect(librariesFolder(createTreeWithEmptyWorkspace({ layout: 'apps-libs' }))).toBe('libs');
    const tree = createTreeWithEmptyWorkspace();
    tree.write('packages/.gitkeep', '');
    expect(librariesFolder(tree)).toBe('packages');
  });

  it('is undefined in a workspace with none of these: a new library then goes where nx g runs, as with Nx', () => {
    const tree = createTreeWithEmptyWorkspace();
    expect(librariesFolder(tree)).toBeUndefined();
    expect(defaultLibraryRoot(tree, 'contracts')).toBe('contracts');
  });
});

describe('placeLibrary', () => {
  const place = (tree: Tree, directory?: string) =>
    placeLibrary(tree, { name: 'contracts', directory, defaultRoot: 'libs/contracts', tags: ['fanout:contracts'], extraTags: ' a, b,a' });

  it("settles the root and import path with Nx's rules, and writes nothing", async () => {
    const tree = createTreeWithEmptyWorkspace();
    const before = pendingChanges(tree);
    expect(await place(tree)).toEqual({
      name: 'contracts',
      root: 'libs/contracts',
      importPath: '@proj/contracts',
      tags: ['fanout:contracts', 'a', 'b'],
    });
    expect(await place(tree, 'shared\\contracts/')).toMatchObject({ root: 'shared/contracts', importPath: '@proj/contracts' });
    expect(pendingChanges(tree)).toEqual(before);
  });

  describe('run from a subfolder of the workspace', () => {
    afterEach(() => {
      process.env['INIT_CWD'] = workspaceRoot;
    });

    it('reads --directory from that folder, as Nx does, and keeps the default relative to the workspace root', async () => {
      const tree = createTreeWithEmptyWorkspace();
      process.env['INIT_CWD'] = join(workspaceRoot, 'libs');
      expect((await place(tree, 'shared')).root).toBe('libs/shared');
      expect((await place(tree)).root).toBe('libs/contracts');
      process.env['INIT_CWD'] = join(workspaceRoot, 'apps', 'shop');
      expect((await place(tree)).root).toBe('libs/contracts');
      // The library generator is handed a directory that resolves to the same root from there.
      const plan: LibraryPlan = { ...(await place(tree)), linter: 'none', unitTestRunner: 'none' };
      expect(libraryGeneratorOptions(tree, plan).directory).toBe('../../libs/contracts');
    });
  });
});

describe('resolveLintAndTest', () => {
  it("follows Nx's choice: the workspace's linter (none without one), jest, or no tests in a TS-solution workspace", async () => {
    const tree = createTreeWithEmptyWorkspace();
    expect(await resolveLintAndTest(tree, {})).toEqual({ linter: 'none', unitTestRunner: 'jest' });
    updateJson(tree, 'package.json', (json) => ({ ...json, devDependencies: { eslint: '^9.0.0' } }));
    expect(await resolveLintAndTest(tree, {})).toEqual({ linter: 'eslint', unitTestRunner: 'jest' });
    useTsSolution(tree);
    expect(await resolveLintAndTest(tree, {})).toEqual({ linter: 'eslint', unitTestRunner: 'none' });
  });

  it('follows the test runner the workspace already uses, in a TS-solution workspace too', async () => {
    const tree = createTreeWithEmptyWorkspace();
    useTsSolution(tree);
    expect((await resolveLintAndTest(tree, {})).unitTestRunner).toBe('none');
    updateJson(tree, 'package.json', (json) => ({ ...json, devDependencies: { vitest: '^3.0.0' } }));
    expect((await resolveLintAndTest(tree, {})).unitTestRunner).toBe('vitest');
    updateJson(tree, 'nx.json', (json) => ({ ...json, plugins: [...(json.plugins ?? []), { plugin: '@nx/jest/plugin', options: {} }] }));
    expect((await resolveLintAndTest(tree, {})).unitTestRunner).toBe('jest');
    expect((await resolveLintAndTest(tree, { unitTestRunner: 'none' })).unitTestRunner).toBe('none');
  });

  it("takes nx.json's defaults for @nx/js:library, in either form, under the options given", async () => {
    const tree = createTreeWithEmptyWorkspace();
    updateJson(tree, 'nx.json', (json) => ({
      ...json,
      generators: { '@nx/js': { library: { linter: 'eslint', unitTestRunner: 'vitest' } } },
    }));
    expect(await resolveLintAndTest(tree, {})).toEqual({ linter: 'eslint', unitTestRunner: 'vitest' });
    updateJson(tree, 'nx.json', (json) => ({ ...json, generators: { ...json.generators, '@nx/js:library': { unitTestRunner: 'none' } } }));
    expect(await resolveLintAndTest(tree, {})).toEqual({ linter: 'eslint', unitTestRunner: 'none' });
    expect(await resolveLintAndTest(tree, { linter: 'none', unitTestRunner: 'jest' })).toEqual({ linter: 'none', unitTestRunner: 'jest' });
  });

  it('rejects a value it does not know, saying where it came from', async () => {
    const tree = createTreeWithEmptyWorkspace();
    await expect(resolveLintAndTest(tree, { unitTestRunner: 'mocha' })).rejects.toThrow(
      '--unitTestRunner is "mocha"; it must be one of: jest, vitest, none.',
    );
    await expect(resolveLintAndTest(tree, { linter: 'tslint' })).rejects.toThrow('--linter is "tslint"; it must be one of: eslint, none.');
    updateJson(tree, 'nx.json', (json) => ({ ...json, generators: { '@nx/js:library': { unitTestRunner: 'karma' } } }));
    await expect(resolveLintAndTest(tree, {})).rejects.toThrow('nx.json generators["@nx/js:library"].unitTestRunner is "karma"');
  });
});

describe('projectLintAndTest: how an existing project is checked, from its config files', () => {
  it.each([
    [['eslint.config.mjs', 'jest.config.cts'], { linter: 'eslint', unitTestRunner: 'jest' }],
    [['.eslintrc.json', 'vitest.config.mts'], { linter: 'eslint', unitTestRunner: 'vitest' }],
    [['.oxlintrc.json', 'eslint.config.mjs', 'jest.config.ts'], { linter: 'oxlint', unitTestRunner: 'jest' }],
    [['package.json', 'tsconfig.lib.json'], { linter: 'none', unitTestRunner: 'none' }],
  ])('%j', (files, expected) => {
    const tree = createTreeWithEmptyWorkspace();
    for (const file of files) tree.write(`libs/users/${file}`, '');
    expect(projectLintAndTest(tree, 'libs/users')).toEqual(expected);
  });

  it('counts a vite config as a test runner only when it configures tests', () => {
    const tree = createTreeWithEmptyWorkspace();
    tree.write('libs/users/vite.config.ts', 'export default defineConfig({ build: {} });');
    expect(projectLintAndTest(tree, 'libs/users').unitTestRunner).toBe('none');
    tree.write('libs/users/vite.config.ts', "export default defineConfig({ test: { environment: 'node' } });");
    expect(projectLintAndTest(tree, 'libs/users').unitTestRunner).toBe('vitest');
  });
});

describe('libraryGeneratorOptions', () => {
  it('passes the linter and test runner through to @nx/js', () => {
    const tree = createTreeWithEmptyWorkspace();
    const plan: LibraryPlan = {
      name: 'users',
      root: 'libs/users',
      importPath: '@proj/users',
      tags: ['fanout:reference', 'scope:api'],
      linter: 'eslint',
      unitTestRunner: 'vitest',
    };
    expect(libraryGeneratorOptions(tree, plan)).toMatchObject({
      directory: 'libs/users',
      name: 'users',
      importPath: '@proj/users',
      tags: 'fanout:reference,scope:api',
      linter: 'eslint',
      unitTestRunner: 'vitest',
      bundler: 'none',
    });
  });
});

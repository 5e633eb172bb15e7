import { getProjects, readJson, readProjectConfiguration, type Tree } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { parseAssignment } from '../../core/session/assignment';
import { pendingChanges } from '../../testing/compile-tree';
import { contractsGenerator } from '../contracts/contracts';
import { referenceGenerator } from '../reference/reference';
import { normalizeOptions, taskGenerator } from './task';

// The Tree is the workspace: Nx's generators get an empty graph, not this repository's (see devkitForTrees).
jest.mock('@nx/devkit', () => require('../../testing/tree-project-graph').devkitForTrees());

const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;

/**
 * A TS-solution React workspace as `create-nx-workspace --preset=react-monorepo` and
 * `nx g @nx/react:library` leave it, with a types library and a settings page of the
 * team's own: projects named by their package.json, linked as npm workspaces.
 */
function reactWorkspace(): Tree {
  const tree = createTreeWithEmptyWorkspace({ formatter: 'none' });
  tree.write('package.json', json({ name: '@shop/source', private: true, workspaces: ['apps/*', 'libs/*'] }));
  tree.write('tsconfig.base.json', json({ compilerOptions: { composite: true, customConditions: ['@shop/source'] } }));
  tree.write(
    'tsconfig.json',
    json({
      extends: './tsconfig.base.json',
      files: [],
      references: [{ path: './libs/shared-types' }, { path: './libs/feature-settings' }],
    }),
  );
  tree.write(
    'libs/shared-types/package.json',
    json({
      name: '@shop/shared-types',
      version: '0.0.1',
      types: './src/index.ts',
      exports: { '.': { types: './src/index.ts', default: './src/index.ts' } },
    }),
  );
  tree.write('libs/shared-types/src/index.ts', "export * from './lib/shared-types.js';\n");
  tree.write('libs/shared-types/src/lib/shared-types.ts', 'export interface Section {\n  id: string;\n  title: string;\n}\n');
  const page = 'libs/feature-settings';
  tree.write(
    `${page}/package.json`,
    json({ name: '@shop/feature-settings', version: '0.0.1', main: './src/index.ts', dependencies: { '@shop/shared-types': '*' } }),
  );
  tree.write(
    `${page}/tsconfig.json`,
    json({
      files: [],
      references: [{ path: './tsconfig.lib.json' }, { path: './tsconfig.spec.json' }],
      extends: '../../tsconfig.base.json',
    }),
  );
  tree.write(
    `${page}/tsconfig.lib.json`,
    json({
      extends: '../../tsconfig.base.json',
      compilerOptions: { jsx: 'react-jsx', outDir: 'dist' },
      include: ['src/**/*.ts', 'src/**/*.tsx'],
      references: [{ path: '../shared-types/tsconfig.lib.json' }],
    }),
  );
  tree.write(
    `${page}/tsconfig.spec.json`,
    json({
      extends: '../../tsconfig.base.json',
      compilerOptions: { jsx: 'react-jsx', types: ['jest', 'node'] },
      include: ['src/**/*.spec.tsx'],
    }),
  );
  tree.write(
    `${page}/jest.config.cts`,
    "module.exports = {\n  displayName: '@shop/feature-settings',\n  preset: '../../jest.preset.js',\n};\n",
  );
  tree.write(`${page}/.babelrc`, json({ presets: [['@nx/react/babel', { runtime: 'automatic' }]] }));
  tree.write(`${page}/eslint.config.mjs`, "import nx from '@nx/eslint-plugin';\nexport default [...nx.configs['flat/react']];\n");
  tree.write(`${page}/README.md`, '# feature-settings\n\nThe settings page.\n');
  tree.write(`${page}/src/index.ts`, "export * from './lib/feature-settings';\n");
  tree.write(
    `${page}/src/lib/feature-settings.tsx`,
    "import type { Section } from '@shop/shared-types';\nexport const settingsSections: Section[] = [];\nexport function SettingsPage() {\n  return <h1>Settings</h1>;\n}\n",
  );
  tree.write(
    `${page}/src/lib/feature-settings.spec.tsx`,
    "import { SettingsPage } from './feature-settings';\nit('renders', () => expect(SettingsPage).toBeDefined());\n",
  );
  return tree;
}

/** A path-mapped workspace with a Node service configured by project.json. */
function nodeWorkspace(): Tree {
  const tree = createTreeWithEmptyWorkspace({ formatter: 'none' });
  tree.write(
    'tsconfig.base.json',
    json({
      compilerOptions: {
        paths: { '@org/messages': ['libs/messages/src/index.ts'], '@org/email-service': ['libs/email-service/src/index.ts'] },
      },
    }),
  );
  tree.write('libs/messages/project.json', json({ name: 'messages', root: 'libs/messages', projectType: 'library', tags: [] }));
  tree.write('libs/messages/src/index.ts', 'export interface Message {\n  to: string;\n  body: string;\n}\n');
  const service = 'libs/email-service';
  tree.write(
    `${service}/project.json`,
    json({
      name: 'email-service',
      root: service,
      sourceRoot: `${service}/src`,
      projectType: 'library',
      tags: ['scope:server'],
      implicitDependencies: [],
    }),
  );
  tree.write(`${service}/tsconfig.json`, json({ extends: '../../tsconfig.base.json', compilerOptions: { module: 'commonjs' } }));
  tree.write(`${service}/tsconfig.lib.json`, json({ extends: './tsconfig.json', include: ['src/**/*.ts'] }));
  tree.write(`${service}/jest.config.ts`, "export default {\n  displayName: 'email-service',\n  testEnvironment: 'node',\n};\n");
  tree.write(`${service}/.swcrc`, json({ jsc: { target: 'es2017' } }));
  tree.write(`${service}/src/index.ts`, "export * from './lib/email-service';\n");
  tree.write(
    `${service}/src/lib/email-service.ts`,
    "import type { Message } from '@org/messages';\nexport const EMAIL_QUEUE = 'email';\nexport function sendEmail(message: Message) {\n  return message;\n}\n",
  );
  return tree;
}

/**
 * A React page made by `nx g @nx/react:library --name=feature-settings` in a
 * TS-solution workspace: the package is `@shop/feature-settings`, the project
 * `feature-settings` (`nx.name`), and the app depends on the package.
 */
function namedReactWorkspace(): Tree {
  const tree = reactWorkspace();
  tree.write(
    'libs/feature-settings/package.json',
    json({
      name: '@shop/feature-settings',
      version: '0.0.1',
      main: './src/index.ts',
      dependencies: { '@shop/shared-types': '*' },
      nx: { name: 'feature-settings' },
    }),
  );
  tree.write('apps/shop/package.json', json({ name: '@shop/shop', version: '0.0.1', dependencies: { '@shop/feature-settings': '*' } }));
  tree.write(
    'apps/shop/src/app/pages.tsx',
    "import { SettingsPage } from '@shop/feature-settings';\nexport const pages = [SettingsPage];\n",
  );
  return tree;
}

/**
 * An Angular-style path-mapped workspace as nx-examples has it: the page sits in
 * `libs/products/product-detail-page` and its project is named after its path,
 * `products-product-detail-page`. Its configuration names its folder
 * (`sourceRoot`, eslint's `parserOptions.project`, jest's `coverageDirectory`).
 * The JSON is written as the workspace's formatter left it: some arrays on one
 * line, some one item a line.
 */
function productsWorkspace(): Tree {
  const tree = createTreeWithEmptyWorkspace({ formatter: 'none' });
  tree.write(
    'tsconfig.base.json',
    `{
  "compilerOptions": {
    "paths": {
      "@nx-example/shared/product/types": [
        "libs/shared/product/types/src/index.ts"
      ],
      "@nx-example/products/product-detail-page": [
        "libs/products/product-detail-page/src/index.ts"
      ]
    }
  }
}
`,
  );
  const types = 'libs/shared/product/types';
  tree.write(
    `${types}/project.json`,
    `{\n  "name": "shared-product-types",\n  "sourceRoot": "${types}/src",\n  "projectType": "library",\n  "tags": ["type:types", "scope:shared"]\n}\n`,
  );
  tree.write(`${types}/src/index.ts`, 'export interface Product {\n  id: string;\n  name: string;\n}\n');
  const page = 'libs/products/product-detail-page';
  tree.write(
    `${page}/project.json`,
    `{
  "name": "products-product-detail-page",
  "$schema": "../../../node_modules/nx/schemas/project-schema.json",
  "projectType": "library",
  "sourceRoot": "${page}/src",
  "prefix": "nx-example",
  "tags": ["type:feature", "scope:products"],
  "targets": {
    "test": {
      "executor": "@nx/jest:jest",
      "outputs": ["{workspaceRoot}/coverage/${page}"],
      "options": { "jestConfig": "${page}/jest.config.ts" }
    }
  }
}
`,
  );
  tree.write(
    `${page}/.eslintrc.json`,
    json({
      extends: ['../../../.eslintrc.json'],
      ignorePatterns: ['!**/*'],
      overrides: [{ files: ['*.ts'], parserOptions: { project: [`${page}/tsconfig.*?.json`] } }],
    }),
  );
  tree.write(
    `${page}/jest.config.ts`,
    "export default {\n  displayName: 'products-product-detail-page',\n  preset: '../../../jest.preset.js',\n" +
      `  coverageDirectory: '../../../coverage/${page}',\n};\n`,
  );
  tree.write(`${page}/tsconfig.json`, json({ extends: '../../../tsconfig.base.json', files: [], include: [] }));
  tree.write(`${page}/tsconfig.lib.json`, json({ extends: './tsconfig.json', compilerOptions: { outDir: '../../../dist/out-tsc' } }));
  tree.write(`${page}/src/index.ts`, "export * from './lib/product-detail-page.component';\n");
  tree.write(
    `${page}/src/lib/product-detail-page.component.ts`,
    "import type { Product } from '@nx-example/shared/product/types';\n" +
      "@Component({ selector: 'nx-example-product-detail-page' })\nexport class ProductDetailPageComponent {\n  product?: Product;\n}\n",
  );
  return tree;
}

function assignmentOf(tree: Tree, root: string) {
  return parseAssignment(tree.read(`${root}/fanout.md`, 'utf-8') ?? '', `${root}/fanout.md`);
}

describe('fanning out the workspace a team already has', () => {
  describe('a React page library', () => {
    let tree: Tree;
    beforeAll(async () => {
      tree = reactWorkspace();
      await contractsGenerator(tree, { project: '@shop/shared-types' });
      await referenceGenerator(tree, { project: '@shop/feature-settings', contracts: '@shop/shared-types' });
    });

    it('adopts the types library: the tag and nothing else', () => {
      expect(readJson(tree, 'libs/shared-types/package.json')).toEqual({
        name: '@shop/shared-types',
        version: '0.0.1',
        types: './src/index.ts',
        exports: { '.': { types: './src/index.ts', default: './src/index.ts' } },
        nx: { tags: ['fanout:contracts'] },
      });
    });

    it('adopts the page as the reference, with its subject recorded as a tag', () => {
      expect(readJson(tree, 'libs/feature-settings/package.json').nx).toEqual({ tags: ['fanout:reference', 'fanout:subject:settings'] });
    });

    it('creates each page as a sibling of the reference, made like it', async () => {
      const options = await normalizeOptions(tree, { names: 'dashboard,feature-profile', like: '@shop/feature-settings' });
      expect(options.shape).toBe('sibling');
      expect(options.tasks.map((task) => [task.name, task.root, task.subject])).toEqual([
        ['@shop/feature-dashboard', 'libs/feature-dashboard', 'dashboard'],
        ['@shop/feature-profile', 'libs/feature-profile', 'profile'],
      ]);

      const install = await taskGenerator(tree, { names: 'dashboard,feature-profile', like: '@shop/feature-settings' });
      expect(typeof install).toBe('function');
      const dashboard = 'libs/feature-dashboard';
      expect(readJson(tree, `${dashboard}/package.json`)).toEqual({
        name: '@shop/feature-dashboard',
        version: '0.0.1',
        main: './src/index.ts',
        dependencies: { '@shop/shared-types': '*' },
        nx: { tags: ['fanout:task'] },
      });
      expect(readJson(tree, `${dashboard}/tsconfig.lib.json`)).toMatchObject({
        compilerOptions: { jsx: 'react-jsx' },
        include: ['src/**/*.ts', 'src/**/*.tsx'],
        references: [{ path: '../shared-types/tsconfig.lib.json' }],
      });
      expect(tree.read(`${dashboard}/jest.config.cts`, 'utf-8')).toContain("displayName: '@shop/feature-dashboard'");
      expect(tree.exists(`${dashboard}/.babelrc`)).toBe(true);
      expect(tree.exists(`${dashboard}/eslint.config.mjs`)).toBe(true);
      expect(tree.read(`${dashboard}/README.md`, 'utf-8')).toBe('# feature-dashboard\n\nThe dashboard page.\n');
      // src/ holds only the placeholder the session replaces.
      expect(tree.children(`${dashboard}/src`)).toEqual(['index.ts']);
      expect(tree.read(`${dashboard}/src/index.ts`, 'utf-8')).toContain('nx run @shop/feature-dashboard:fanout');
      expect(readJson(tree, 'tsconfig.json').references).toEqual([
        { path: './libs/shared-types' },
        { path: './libs/feature-settings' },
        { path: './libs/feature-dashboard' },
        { path: './libs/feature-profile' },
      ]);
      expect(assignmentOf(tree, dashboard)).toMatchObject({
        like: '@shop/feature-settings',
        contracts: '@shop/shared-types',
        subject: 'dashboard',
        text: 'Build @shop/feature-dashboard following the same pattern as @shop/feature-settings, using the types in @shop/shared-types.',
      });
      expect(getProjects(tree).get('@shop/feature-profile')?.root).toBe('libs/feature-profile');
      // The reference is untouched.
      expect(readJson(tree, 'libs/feature-settings/package.json').name).toBe('@shop/feature-settings');
    });

    it('makes an existing project a task, writing only its fanout.md', async () => {
      tree.write('libs/feature-orders/package.json', json({ name: '@shop/feature-orders' }));
      tree.write('libs/feature-orders/src/index.ts', 'export const ordersSections = [];\n');
      const before = new Set(pendingChanges(tree));
      await taskGenerator(tree, { project: '@shop/feature-orders', like: '@shop/feature-settings' });
      const written = pendingChanges(tree).filter((change) => !before.has(change));
      expect(written.map((change) => change.split('\n')[0])).toEqual(['CREATE libs/feature-orders/fanout.md']);
      expect(assignmentOf(tree, 'libs/feature-orders').subject).toBe('orders');
    });

    it('makes the projects with the generator given (--generator), then empties their sources to the placeholder', async () => {
      await taskGenerator(tree, {
        names: 'billing',
        like: '@shop/feature-settings',
        generator: '@nx/js:library',
        linter: 'none',
        unitTestRunner: 'none',
      });
      const [name, project] = [...getProjects(tree)].find(([, config]) => config.root === 'libs/feature-billing') ?? [];
      expect(name).toBeDefined();
      expect(project?.tags).toContain('fanout:task');
      expect(tree.children('libs/feature-billing/src')).toEqual(['index.ts']);
      expect(tree.read('libs/feature-billing/src/index.ts', 'utf-8')).toContain(`nx run ${name}:fanout`);
      expect(readJson(tree, 'libs/feature-billing/package.json').dependencies).toMatchObject({ '@shop/shared-types': '*' });
      expect(assignmentOf(tree, 'libs/feature-billing').subject).toBe('billing');
    });

    it('refuses a generator that does not exist, naming what the plugin has', async () => {
      const before = pendingChanges(tree);
      await expect(taskGenerator(tree, { names: 'billing2', like: '@shop/feature-settings', generator: '@nx/js:nope' })).rejects.toThrow(
        '--generator @nx/js:nope: "@nx/js" has no generator "nope" (it has:',
      );
      await expect(
        taskGenerator(tree, { names: 'billing2', like: '@shop/feature-settings', generator: 'no-such-plugin:library' }),
      ).rejects.toThrow('the plugin "no-such-plugin" is not installed in this workspace');
      expect(pendingChanges(tree)).toEqual(before);
    });
  });

  describe('a page registered in the app that lists every page (--wire)', () => {
    let tree: Tree;
    const pages = 'apps/shop/src/app/pages.tsx';
    beforeEach(async () => {
      tree = reactWorkspace();
      tree.write('apps/shop/package.json', json({ name: '@shop/shop', version: '0.0.1', dependencies: { '@shop/feature-settings': '*' } }));
      tree.write(
        'apps/shop/tsconfig.app.json',
        json({ extends: '../../tsconfig.base.json', references: [{ path: '../../libs/feature-settings/tsconfig.lib.json' }] }),
      );
      tree.write(
        pages,
        "import { SettingsPage } from '@shop/feature-settings';\n\nexport const pages = [{ path: '/settings', element: <SettingsPage /> }];\n",
      );
      await contractsGenerator(tree, { project: '@shop/shared-types' });
      await referenceGenerator(tree, { project: '@shop/feature-settings', contracts: '@shop/shared-types' });
    });

    it("writes the wired file in each task's fanout.md and lets the app import each page", async () => {
      await taskGenerator(tree, { names: 'dashboard,profile', like: '@shop/feature-settings', wire: `./${pages}` });

      for (const task of ['dashboard', 'profile']) expect(assignmentOf(tree, `libs/feature-${task}`).wire).toEqual([pages]);
      expect(readJson(tree, 'apps/shop/package.json').dependencies).toEqual({
        '@shop/feature-settings': '*',
        '@shop/feature-dashboard': '*',
        '@shop/feature-profile': '*',
      });
      expect(readJson(tree, 'apps/shop/tsconfig.app.json').references).toEqual([
        { path: '../../libs/feature-settings/tsconfig.lib.json' },
        { path: '../../libs/feature-dashboard/tsconfig.lib.json' },
        { path: '../../libs/feature-profile/tsconfig.lib.json' },
      ]);
      // The wired file itself is the sessions' to edit.
      expect(tree.read(pages, 'utf-8')).toContain('SettingsPage');
      expect(tree.read(pages, 'utf-8')).not.toContain('Dashboard');
    });

    it.each([
      [
        'a file that does not exist',
        'apps/shop/src/app/missing.tsx',
        'wire: "apps/shop/src/app/missing.tsx" is not a file of this workspace',
      ],
      ['a path outside the workspace', '../elsewhere.ts', 'is not a file inside the workspace'],
      ['a file of the reference, read-only to every session', 'libs/feature-settings/src/index.ts', 'belongs to "@shop/feature-settings"'],
    ])('refuses %s and writes nothing', async (_, wire, message) => {
      const before = pendingChanges(tree).length;
      await expect(taskGenerator(tree, { names: 'dashboard', like: '@shop/feature-settings', wire })).rejects.toThrow(message);
      expect(pendingChanges(tree)).toHaveLength(before);
    });
  });

  describe('a Node service configured by project.json, in a path-mapped workspace', () => {
    let tree: Tree;
    beforeAll(async () => {
      tree = nodeWorkspace();
      await contractsGenerator(tree, { project: 'messages' });
      await referenceGenerator(tree, { project: 'email-service', contracts: 'messages' });
      await taskGenerator(tree, { names: 'sms,push', like: 'email-service' });
    });

    it('records the subject the name gives: email', () => {
      expect(readProjectConfiguration(tree, 'email-service').tags).toEqual(['scope:server', 'fanout:reference', 'fanout:subject:email']);
    });

    it('creates sms-service and push-service beside it, with their own import paths', () => {
      const sms = readProjectConfiguration(tree, 'sms-service');
      expect(sms.root).toBe('libs/sms-service');
      expect(sms.tags).toEqual(['scope:server', 'fanout:task']);
      expect(sms.sourceRoot).toBe('libs/sms-service/src');
      expect(tree.read('libs/sms-service/jest.config.ts', 'utf-8')).toContain("displayName: 'sms-service'");
      expect(tree.exists('libs/sms-service/.swcrc')).toBe(true);
      expect(readJson(tree, 'tsconfig.base.json').compilerOptions.paths).toEqual({
        '@org/messages': ['libs/messages/src/index.ts'],
        '@org/email-service': ['libs/email-service/src/index.ts'],
        '@org/sms-service': ['libs/sms-service/src/index.ts'],
        '@org/push-service': ['libs/push-service/src/index.ts'],
      });
      expect(assignmentOf(tree, 'libs/push-service').subject).toBe('push');
    });
  });

  describe('a React page made with --name: its package is scoped, its project is not', () => {
    let tree: Tree;
    beforeEach(async () => {
      tree = namedReactWorkspace();
      await contractsGenerator(tree, { project: '@shop/shared-types' });
      await referenceGenerator(tree, { project: 'feature-settings', contracts: '@shop/shared-types' });
    });

    it("names each sibling's package as the reference's, scope kept, and its project as the reference's project", async () => {
      const options = await normalizeOptions(tree, { names: 'dashboard', like: 'feature-settings' });
      expect(options.tasks.map((task) => [task.name, task.importPath, task.root])).toEqual([
        ['feature-dashboard', '@shop/feature-dashboard', 'libs/feature-dashboard'],
      ]);

      await taskGenerator(tree, { names: 'dashboard', like: 'feature-settings', wire: 'apps/shop/src/app/pages.tsx' });
      expect(readJson(tree, 'libs/feature-dashboard/package.json')).toMatchObject({
        name: '@shop/feature-dashboard',
        nx: { name: 'feature-dashboard', tags: ['fanout:task'] },
      });
      expect(getProjects(tree).get('feature-dashboard')?.root).toBe('libs/feature-dashboard');
      expect(tree.read('libs/feature-dashboard/src/index.ts', 'utf-8')).toContain('nx run feature-dashboard:fanout');
      // The app can import the page the way it imports the reference: by its package name.
      expect(Object.keys(readJson(tree, 'apps/shop/package.json').dependencies)).toEqual([
        '@shop/feature-settings',
        '@shop/feature-dashboard',
      ]);
    });

    it("refuses a sibling whose package name another project's package already has", async () => {
      tree.write('libs/legacy-dashboard/package.json', json({ name: '@shop/feature-dashboard', nx: { name: 'legacy-dashboard' } }));
      const before = pendingChanges(tree);
      await expect(taskGenerator(tree, { names: 'dashboard', like: 'feature-settings' })).rejects.toThrow(
        'The task "dashboard" would be the package "@shop/feature-dashboard", which libs/legacy-dashboard/package.json (project "legacy-dashboard") already is.',
      );
      expect(pendingChanges(tree)).toEqual(before);
    });
  });

  describe('an Angular page in a folder of its kind, named after its path', () => {
    const reviews = 'libs/products/product-reviews-page';
    let tree: Tree;
    beforeAll(async () => {
      tree = productsWorkspace();
      await contractsGenerator(tree, { project: 'shared-product-types' });
      await referenceGenerator(tree, {
        project: 'products-product-detail-page',
        contracts: 'shared-product-types',
        subject: 'product-detail',
      });
      await taskGenerator(tree, { names: 'product-reviews', like: 'products-product-detail-page' });
    });

    it("places the sibling in the reference's folder with the subject replaced, named as the reference is", () => {
      expect(getProjects(tree).get('products-product-reviews-page')?.root).toBe(reviews);
      expect(tree.exists('libs/products/products-product-reviews-page')).toBe(false);
      expect(tree.exists(`${reviews}/src/index.ts`)).toBe(true);
    });

    it('points every path of the copied configuration into its own folder', () => {
      const project = readJson(tree, `${reviews}/project.json`);
      expect(project.sourceRoot).toBe(`${reviews}/src`);
      expect(project.$schema).toBe('../../../node_modules/nx/schemas/project-schema.json');
      expect(project.targets.test.outputs).toEqual([`{workspaceRoot}/coverage/${reviews}`]);
      expect(project.targets.test.options.jestConfig).toBe(`${reviews}/jest.config.ts`);
      expect(readJson(tree, `${reviews}/.eslintrc.json`).overrides[0].parserOptions.project).toEqual([`${reviews}/tsconfig.*?.json`]);
      expect(tree.read(`${reviews}/jest.config.ts`, 'utf-8')).toContain(`coverageDirectory: '../../../coverage/${reviews}'`);
      expect(readJson(tree, 'tsconfig.base.json').compilerOptions.paths['@nx-example/products/product-reviews-page']).toEqual([
        `${reviews}/src/index.ts`,
      ]);
    });

    it('keeps the JSON layout the workspace has: tags on one line, paths one item a line', () => {
      expect(tree.read(`${reviews}/project.json`, 'utf-8')).toContain('  "tags": ["type:feature", "scope:products", "fanout:task"],\n');
      expect(tree.read('libs/products/product-detail-page/project.json', 'utf-8')).toContain(
        '  "tags": ["type:feature", "scope:products", "fanout:reference", "fanout:subject:product-detail"],\n',
      );
      expect(tree.read('libs/shared/product/types/project.json', 'utf-8')).toContain(
        '  "tags": ["type:types", "scope:shared", "fanout:contracts"]\n',
      );
      expect(tree.read('tsconfig.base.json', 'utf-8')).toBe(`{
  "compilerOptions": {
    "paths": {
      "@nx-example/shared/product/types": [
        "libs/shared/product/types/src/index.ts"
      ],
      "@nx-example/products/product-detail-page": [
        "libs/products/product-detail-page/src/index.ts"
      ],
      "@nx-example/products/product-reviews-page": [
        "${reviews}/src/index.ts"
      ]
    }
  }
}
`);
    });

    it('keeps every relative path out of the folder right when --directory puts the sibling deeper', async () => {
      await taskGenerator(tree, { names: 'product-compare', like: 'products-product-detail-page', directory: 'libs/products/compare' });
      const compare = 'libs/products/compare/product-compare-page';
      expect(getProjects(tree).get('products-product-compare-page')?.root).toBe(compare);
      const project = readJson(tree, `${compare}/project.json`);
      expect(project.$schema).toBe('../../../../node_modules/nx/schemas/project-schema.json');
      expect(project.sourceRoot).toBe(`${compare}/src`);
      expect(readJson(tree, `${compare}/.eslintrc.json`).extends).toEqual(['../../../../.eslintrc.json']);
      expect(readJson(tree, `${compare}/tsconfig.json`).extends).toBe('../../../../tsconfig.base.json');
      expect(readJson(tree, `${compare}/tsconfig.lib.json`).compilerOptions.outDir).toBe('../../../../dist/out-tsc');
      const jest = tree.read(`${compare}/jest.config.ts`, 'utf-8');
      expect(jest).toContain("preset: '../../../../jest.preset.js'");
      expect(jest).toContain(`coverageDirectory: '../../../../coverage/${compare}'`);
    });
  });

  it("keeps the root tsconfig's references and the workspaces one item a line, as the workspace writes them", async () => {
    const tree = reactWorkspace();
    tree.write('package.json', '{\n  "name": "@shop/source",\n  "private": true,\n  "workspaces": ["apps/*", "libs/*"]\n}\n');
    const references = (...roots: string[]) =>
      `{\n  "extends": "./tsconfig.base.json",\n  "files": [],\n  "references": [\n${roots.map((root) => `    { "path": "./${root}" }`).join(',\n')}\n  ]\n}\n`;
    tree.write('tsconfig.json', references('libs/shared-types', 'libs/feature-settings'));
    await contractsGenerator(tree, { project: '@shop/shared-types' });
    await referenceGenerator(tree, { project: '@shop/feature-settings', contracts: '@shop/shared-types' });
    await taskGenerator(tree, { names: 'dashboard', like: '@shop/feature-settings', directory: 'pages' });
    expect(tree.read('tsconfig.json', 'utf-8')).toBe(references('libs/shared-types', 'libs/feature-settings', 'pages/feature-dashboard'));
    expect(tree.read('package.json', 'utf-8')).toBe(
      '{\n  "name": "@shop/source",\n  "private": true,\n  "workspaces": ["apps/*", "libs/*", "pages/*"]\n}\n',
    );
  });

  describe('bad input: a clear error and nothing written', () => {
    let tree: Tree;
    beforeEach(async () => {
      tree = reactWorkspace();
    });

    it.each([
      [{ name: 'types', project: '@shop/shared-types' }, 'Give either a name (a new contracts library) or --project'],
      [{ project: 'nope' }, 'There is no project named "nope".'],
      [
        { project: '@shop/shared-types', entities: 'user' },
        '--entities shapes a new library; adopting one with --project changes nothing but its tag.',
      ],
      [{}, 'Name the contracts library to create'],
    ])('fanout:contracts %j', async (options, message) => {
      const before = pendingChanges(tree);
      await expect(contractsGenerator(tree, options)).rejects.toThrow(message);
      expect(pendingChanges(tree)).toEqual(before);
    });

    it('fanout:contracts --project on a library whose entry point exports nothing', async () => {
      tree.write('libs/shared-types/src/index.ts', '// nothing yet\n');
      const before = pendingChanges(tree);
      await expect(contractsGenerator(tree, { project: '@shop/shared-types' })).rejects.toThrow(
        'The entry point of "@shop/shared-types" (libs/shared-types/src/index.ts) exports nothing',
      );
      expect(pendingChanges(tree)).toEqual(before);
    });

    describe('fanout:reference', () => {
      beforeEach(async () => {
        await contractsGenerator(tree, { project: '@shop/shared-types' });
      });

      it.each([
        [{ name: 'settings', project: '@shop/feature-settings' }, 'Give either a name (a new reference) or --project'],
        [{ project: 'nope' }, 'There is no project named "nope".'],
        [
          { project: '@shop/feature-settings', subject: 'billing' },
          'The subject "billing" occurs in none of the file names or exported symbols',
        ],
        [{ project: '@shop/feature-settings', subject: '../x' }, 'The subject "../x" is not a plain word'],
      ])('%j', async (options, message) => {
        const before = pendingChanges(tree);
        await expect(referenceGenerator(tree, { contracts: '@shop/shared-types', ...options })).rejects.toThrow(message);
        expect(pendingChanges(tree)).toEqual(before);
      });

      it('a reference that does not depend on the contracts', async () => {
        tree.write('libs/feature-settings/package.json', json({ name: '@shop/feature-settings' }));
        tree.write('libs/feature-settings/src/lib/feature-settings.tsx', 'export function SettingsPage() {\n  return null;\n}\n');
        const before = pendingChanges(tree);
        await expect(referenceGenerator(tree, { project: '@shop/feature-settings', contracts: '@shop/shared-types' })).rejects.toThrow(
          'The project "@shop/feature-settings" does not depend on the contracts library "@shop/shared-types"',
        );
        expect(pendingChanges(tree)).toEqual(before);
      });

      it('takes --subject over the name, and a task of a project that is not a reference says how to make it one', async () => {
        await referenceGenerator(tree, { project: '@shop/feature-settings', contracts: '@shop/shared-types', subject: 'settings-page' });
        expect(readJson(tree, 'libs/feature-settings/package.json').nx.tags).toEqual(['fanout:reference', 'fanout:subject:settings-page']);
        // Adopting again with another subject replaces the recorded one.
        await referenceGenerator(tree, { project: '@shop/feature-settings', contracts: '@shop/shared-types' });
        expect(readJson(tree, 'libs/feature-settings/package.json').nx.tags).toEqual(['fanout:reference', 'fanout:subject:settings']);
        await expect(taskGenerator(tree, { names: 'dashboard', like: '@shop/shared-types' })).rejects.toThrow(
          'Make it one: nx g fanout:reference --project=@shop/shared-types --contracts=<contracts>',
        );
      });
    });
  });
});

import { logger, readJson, readProjectConfiguration, updateJson, type Tree } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { Project } from 'ts-morph';
import { compileTree, pendingChanges, visit } from '../../testing/compile-tree';
import { scopedNotificationWorkspace } from '../../testing/scoped-workspace';
import { contractsGenerator } from '../contracts/contracts';
import { normalizeOptions, referenceGenerator } from './reference';

// The Tree is the workspace: Nx's generators get an empty graph, not this repository's (see devkitForTrees).
jest.mock('@nx/devkit', () => require('../../testing/tree-project-graph').devkitForTrees());

describe('reference generator', () => {
  let tree: Tree;
  const paths = { '@proj/contracts': ['libs/contracts/src/index.ts'] };

  beforeEach(async () => {
    // A workspace that keeps its libraries in libs/.
    tree = createTreeWithEmptyWorkspace({ formatter: 'none', layout: 'apps-libs' });
    await contractsGenerator(tree, { name: 'contracts', entities: 'user,order,line-item' });
  });

  it('creates a project tagged fanout:reference with list, get and create handlers', async () => {
    await referenceGenerator(tree, { name: 'users', contracts: 'contracts' });
    expect(readProjectConfiguration(tree, 'users').tags).toContain('fanout:reference');
    const handler = tree.read('libs/users/src/lib/users.handler.ts', 'utf-8') ?? '';
    expect(handler).toContain('export function createUsersHandlers(db: DbClient)');
    for (const step of ['async list(', 'async get(', 'async create(', 'validateCreateUserRequest(', 'db.insert(']) {
      expect(handler).toContain(step);
    }
    expect(tree.exists('libs/users/src/lib/users.handler.spec.ts')).toBe(true);
    expect(tree.exists('libs/users/src/lib/users.routes.ts')).toBe(true);
    expect(tree.read('libs/users/src/index.ts', 'utf-8')).toContain("export * from './lib/users.handler';");
  });

  it('imports nothing but the contracts library', async () => {
    await referenceGenerator(tree, { name: 'users', contracts: 'contracts' });
    const specifiers = new Set<string>();
    const project = new Project({ useInMemoryFileSystem: true });
    visit(tree, 'libs/users/src', (path) => {
      const file = project.createSourceFile(path, tree.read(path, 'utf-8') ?? '');
      for (const declaration of [...file.getImportDeclarations(), ...file.getExportDeclarations()]) {
        const specifier = declaration.getModuleSpecifierValue();
        if (specifier && !specifier.startsWith('.')) specifiers.add(specifier);
      }
    });
    expect([...specifiers]).toEqual(['@proj/contracts']);
  });

  it('holds no entity data of its own: a sibling is the same text with the names substituted', async () => {
    await referenceGenerator(tree, { name: 'users', contracts: 'contracts' });
    await referenceGenerator(tree, { name: 'orders', contracts: 'contracts' });
    const substitute = (text: string) =>
      text
        .replace(/users/g, 'orders')
        .replace(/Users/g, 'Orders')
        .replace(/USERS/g, 'ORDERS')
        .replace(/user/g, 'order')
        .replace(/User/g, 'Order');
    for (const file of ['index.ts', 'lib/users.handler.ts', 'lib/users.handler.spec.ts', 'lib/users.routes.ts']) {
      const users = tree.read(`libs/users/src/${file}`, 'utf-8') ?? '';
      const orders = tree.read(`libs/orders/src/${file.replace('users', 'orders')}`, 'utf-8');
      expect(substitute(users)).toBe(orders);
    }
  });

  it('type-checks against the contracts, for a multi-word entity too', async () => {
    await referenceGenerator(tree, { name: 'users', contracts: 'contracts' });
    await referenceGenerator(tree, { name: 'line-items', contracts: 'contracts' });
    expect(compileTree(tree, ['libs/contracts', 'libs/users', 'libs/line-items'], paths)).toEqual([]);
  });

  it('compileTree does report a type error (guards the test above)', async () => {
    await referenceGenerator(tree, { name: 'users', contracts: 'contracts' });
    tree.write('libs/users/src/lib/broken.ts', "import { User } from '@proj/contracts';\nexport const u: User = { id: 1 };\n");
    expect(compileTree(tree, ['libs/contracts', 'libs/users'], paths).join('\n')).toMatch(/broken\.ts/);
  });

  it('serves another entity with --entity', async () => {
    await referenceGenerator(tree, { name: 'people-api', contracts: 'contracts', entity: 'user' });
    expect(tree.exists('libs/people-api/src/lib/users.handler.ts')).toBe(true);
  });

  describe('normalizeOptions', () => {
    it('plans the project, the contracts it uses and the entity it serves, and writes nothing', async () => {
      const before = pendingChanges(tree);
      const options = await normalizeOptions(tree, {
        name: 'people',
        contracts: 'contracts',
        entity: 'user',
        directory: 'apps/api/people',
      });
      expect(options).toEqual({
        library: {
          name: 'people',
          root: 'apps/api/people',
          importPath: '@proj/people',
          tags: ['fanout:reference'],
          linter: 'none',
          unitTestRunner: 'jest',
        },
        contracts: expect.objectContaining({ name: 'contracts', root: 'libs/contracts', importPath: '@proj/contracts' }),
        entity: expect.objectContaining({ singular: 'user', plural: 'users', className: 'User' }),
        subject: 'users',
        skipFormat: false,
      });
      expect(pendingChanges(tree)).toEqual(before);
    });
  });

  it('puts the project in --directory', async () => {
    await referenceGenerator(tree, { name: 'users', contracts: 'contracts', directory: 'services/users' });
    expect(readProjectConfiguration(tree, 'users').root).toBe('services/users');
    expect(tree.exists('services/users/src/lib/users.handler.ts')).toBe(true);
  });

  describe('linter and unit test runner', () => {
    it('with none: no lint or test configuration, and no handler spec that nothing would run', async () => {
      await referenceGenerator(tree, { name: 'users', contracts: 'contracts', linter: 'none', unitTestRunner: 'none' });
      const files: string[] = [];
      visit(tree, 'libs/users', (path) => files.push(path));
      expect(files).toContain('libs/users/src/lib/users.handler.ts');
      expect(files.filter((file) => /eslint|jest|vite|\.spec\.ts$|tsconfig\.spec/.test(file))).toEqual([]);
    });

    it('with eslint and jest: their configuration and the handler spec', async () => {
      await referenceGenerator(tree, { name: 'users', contracts: 'contracts', linter: 'eslint', unitTestRunner: 'jest' });
      for (const file of ['eslint.config.mjs', 'jest.config.cts', 'tsconfig.spec.json', 'src/lib/users.handler.spec.ts']) {
        expect(tree.exists(`libs/users/${file}`)).toBe(true);
      }
    });
  });

  describe('in a TS-solution workspace (package manager workspaces, ESM packages)', () => {
    beforeEach(async () => {
      tree = createTreeWithEmptyWorkspace({ formatter: 'none' });
      updateJson(tree, 'package.json', (json) => ({ ...json, workspaces: ['packages/*'] }));
      tree.write('tsconfig.json', JSON.stringify({ extends: './tsconfig.base.json', files: [], references: [] }));
      updateJson(tree, 'tsconfig.base.json', (json) => {
        json.compilerOptions = { composite: true, declaration: true, module: 'nodenext', moduleResolution: 'nodenext' };
        return json;
      });
      await contractsGenerator(tree, { name: 'contracts', entities: 'user' });
    });

    it('puts projects in packages/, declares the dependency and the project reference, and uses .js imports', async () => {
      await referenceGenerator(tree, { name: 'users', contracts: 'contracts' });
      expect(readProjectConfiguration(tree, 'users').root).toBe('packages/users');
      const contractsName = readJson(tree, 'packages/contracts/package.json').name;
      expect(readJson(tree, 'packages/users/package.json').dependencies).toEqual({ [contractsName]: '*' });
      expect(readJson(tree, 'packages/users/tsconfig.lib.json').references).toContainEqual({
        path: '../contracts/tsconfig.lib.json',
      });
      expect(tree.read('packages/users/src/index.ts', 'utf-8')).toContain("from './lib/users.handler.js'");
      expect(tree.read('packages/contracts/src/index.ts', 'utf-8')).toContain("from './lib/entities/user.js'");
    });

    it("follows Nx's default there: no unit test runner, so no handler spec", async () => {
      await referenceGenerator(tree, { name: 'users', contracts: 'contracts' });
      expect(tree.exists('packages/users/src/lib/users.handler.ts')).toBe(true);
      expect(tree.exists('packages/users/src/lib/users.handler.spec.ts')).toBe(false);
      expect(tree.exists('packages/users/jest.config.cts')).toBe(false);
    });
  });

  describe('bad input: a clear error and nothing written', () => {
    it.each([
      [{ name: '../x', contracts: 'contracts' }, 'not a valid name'],
      [{ name: '/abs', contracts: 'contracts' }, 'not a valid name'],
      [{ name: 'users', contracts: 'contracts', directory: 'a/../../b' }, 'contains ".."'],
      [{ name: 'users', contracts: 'contracts', directory: '/tmp/users' }, 'is absolute'],
      [{ name: 'users', contracts: 'contracts', entity: '../../etc' }, 'The entity name "../../etc" is not a valid name'],
      [{ name: 'users', contracts: 'contracts', entity: 'a/b' }, 'The entity name "a/b" is not a valid name'],
      [{ name: 'users\\..\\x', contracts: 'contracts' }, 'not a valid name'],
      [
        { name: 'users', contracts: 'nope' },
        'There is no project named "nope". Projects tagged fanout:contracts in this workspace: contracts.',
      ],
      [{ name: 'users', contracts: '' }, 'Name the contracts library'],
      [
        { name: 'invoices', contracts: 'contracts' },
        'has no "invoice" entity (it has: users, orders, line-items). Add it first: nx g fanout:contracts contracts --entities=invoice',
      ],
      [{ name: 'contracts', contracts: 'contracts', entity: 'user' }, 'A project named "contracts" already exists'],
    ])('%j', async (options, message) => {
      const before = pendingChanges(tree);
      await expect(referenceGenerator(tree, options)).rejects.toThrow(message);
      expect(pendingChanges(tree)).toEqual(before);
    });

    it('rejects a --contracts project that is not a contracts library', async () => {
      await referenceGenerator(tree, { name: 'users', contracts: 'contracts' });
      const before = pendingChanges(tree);
      await expect(referenceGenerator(tree, { name: 'orders', contracts: 'users' })).rejects.toThrow(
        'The project "users" (libs/users) is not a fanout contracts library',
      );
      expect(pendingChanges(tree)).toEqual(before);
    });
  });

  describe('in a workspace whose projects are named after their npm packages', () => {
    let info: jest.SpyInstance;

    beforeEach(async () => {
      tree = scopedNotificationWorkspace();
      info = jest.spyOn(logger, 'info').mockImplementation(() => undefined);
      await contractsGenerator(tree, { project: '@ws/notification-contracts' });
    });

    afterEach(() => info.mockRestore());

    it('adopts --project and --contracts given by the names after their scope, and says which projects they are', async () => {
      await referenceGenerator(tree, { project: 'channel-email', contracts: 'notification-contracts', subject: 'email' });
      expect(readJson(tree, 'packages/channel-email/package.json').nx.tags).toEqual(['fanout:reference', 'fanout:subject:email']);
      expect(info).toHaveBeenCalledWith('--project=channel-email is the project @ws/channel-email.');
      expect(info).toHaveBeenCalledWith('--contracts=notification-contracts is the project @ws/notification-contracts.');
      expect(info).toHaveBeenCalledWith(expect.stringContaining('fanout:reference: @ws/channel-email is the reference'));
    });

    it.each([
      [
        { project: 'chanel-email', contracts: '@ws/notification-contracts' },
        'There is no project named "chanel-email". Did you mean @ws/channel-email? Give it as --project=@ws/channel-email.',
      ],
      [
        { project: '@ws/channel-email', contracts: 'notification-contract' },
        'There is no project named "notification-contract". Did you mean @ws/notification-contracts? ' +
          'Give it as --contracts=@ws/notification-contracts.',
      ],
    ])('names the scoped project meant by %j', async (options, message) => {
      const before = pendingChanges(tree);
      await expect(referenceGenerator(tree, { subject: 'email', ...options })).rejects.toThrow(message);
      expect(pendingChanges(tree)).toEqual(before);
    });

    it('asks for the full name when the name after the scope is several projects', async () => {
      tree.write('packages/legacy-email/package.json', JSON.stringify({ name: '@legacy/channel-email' }));
      const before = pendingChanges(tree);
      await expect(
        referenceGenerator(tree, { project: 'channel-email', contracts: '@ws/notification-contracts', subject: 'email' }),
      ).rejects.toThrow(
        '--project=channel-email matches several projects once their npm scope is dropped: @ws/channel-email or @legacy/channel-email. ' +
          'Give the full name, such as --project=@ws/channel-email.',
      );
      expect(pendingChanges(tree)).toEqual(before);
    });
  });
});

describe('adopting a project of your own: its subject and its way to the contracts', () => {
  const json = (value: unknown) => `${JSON.stringify(value, null, 2)}\n`;
  let info: jest.SpyInstance;
  beforeEach(() => {
    info = jest.spyOn(logger, 'info').mockImplementation(() => undefined);
  });
  afterEach(() => info.mockRestore());

  /**
   * An Angular workspace laid out as Nx names nested folders (`libs/products/product-detail-page`
   * is `products-product-detail-page`), with tsconfig paths: the page uses the product types
   * only through the state library.
   */
  function angularWorkspace(): Tree {
    const tree = createTreeWithEmptyWorkspace({ formatter: 'none' });
    const libraries = {
      'shared-product-types': 'libs/shared/product/types',
      'shared-product-state': 'libs/shared/product/state',
      'products-product-detail-page': 'libs/products/product-detail-page',
    };
    const importPath = (root: string) => `@nx-example/${root.slice('libs/'.length)}`;
    tree.write(
      'tsconfig.base.json',
      json({
        compilerOptions: {
          paths: Object.fromEntries(Object.values(libraries).map((root) => [importPath(root), [`${root}/src/index.ts`]])),
        },
      }),
    );
    for (const [name, root] of Object.entries(libraries)) {
      tree.write(
        `${root}/project.json`,
        json({ name, root, sourceRoot: `${root}/src`, projectType: 'library', prefix: 'nx-example', tags: [] }),
      );
    }
    tree.write(
      'libs/shared/product/types/src/index.ts',
      'export interface Product {\n  id: string;\n  name: string;\n  price: number;\n}\n',
    );
    tree.write('libs/shared/product/state/src/index.ts', "export * from './lib/+state/products.selectors';\n");
    tree.write(
      'libs/shared/product/state/src/lib/+state/products.selectors.ts',
      "import { Product } from '@nx-example/shared/product/types';\n" +
        'export const getProduct = (products: Product[], id: string) => products.find((product) => product.id === id);\n',
    );
    const page = 'libs/products/product-detail-page/src';
    tree.write(`${page}/index.ts`, "export * from './lib/products-product-detail-page.module';\n");
    tree.write(
      `${page}/lib/products-product-detail-page.module.ts`,
      "import { NgModule } from '@angular/core';\nimport { RouterModule } from '@angular/router';\n" +
        "import { ProductDetailPageComponent } from './product-detail-page/product-detail-page.component';\n\n" +
        "@NgModule({\n  imports: [RouterModule.forChild([{ path: ':productId', component: ProductDetailPageComponent }])],\n" +
        '  declarations: [ProductDetailPageComponent],\n})\nexport class ProductsProductDetailPageModule {}\n',
    );
    tree.write(
      `${page}/lib/product-detail-page/product-detail-page.component.ts`,
      "import { Component } from '@angular/core';\nimport { getProduct } from '@nx-example/shared/product/state';\n\n" +
        "@Component({\n  selector: 'nx-example-product-detail-page',\n  templateUrl: './product-detail-page.component.html',\n})\n" +
        'export class ProductDetailPageComponent {\n  product = getProduct([], this.id);\n  id = "";\n}\n',
    );
    tree.write(`${page}/lib/product-detail-page/product-detail-page.component.html`, '<h1>{{ product?.name }}</h1>\n');
    return tree;
  }

  describe('an Angular page that reaches the product types through the state library', () => {
    let tree: Tree;
    beforeEach(async () => {
      tree = angularWorkspace();
      await contractsGenerator(tree, { project: 'shared-product-types' });
    });

    it('is accepted, with the subject its folder, file names and symbols share, and says both', async () => {
      await referenceGenerator(tree, { project: 'products-product-detail-page', contracts: 'shared-product-types' });
      expect(readProjectConfiguration(tree, 'products-product-detail-page').tags).toEqual([
        'fanout:reference',
        'fanout:subject:product-detail',
      ]);
      expect(info).toHaveBeenCalledWith(
        'fanout:reference: products-product-detail-page is the reference, with subject "product-detail" ' +
          '(from the project name, file names and exported symbols).',
      );
      expect(info).toHaveBeenCalledWith(
        'fanout:reference: products-product-detail-page uses the contracts shared-product-types through shared-product-state.',
      );
    });

    it('follows a lazy route, a package.json dependency and an implicit dependency along the way', async () => {
      // page → (import()) → shell → (implicitDependencies) → state → (package.json) → types.
      tree.write(
        'libs/products/shell/project.json',
        json({ name: 'products-shell', root: 'libs/products/shell', implicitDependencies: ['shared-product-state'] }),
      );
      tree.write('libs/products/shell/src/index.ts', 'export const routes = [];\n');
      updateJson(tree, 'tsconfig.base.json', (config) => {
        config.compilerOptions.paths['@nx-example/products/shell'] = ['libs/products/shell/src/index.ts'];
        return config;
      });
      tree.write(
        'libs/products/product-detail-page/src/lib/product-detail-page/product-detail-page.component.ts',
        "export class ProductDetailPageComponent {\n  shell = () => import('@nx-example/products/shell');\n}\n",
      );
      tree.write('libs/shared/product/state/src/lib/+state/products.selectors.ts', 'export const getProduct = () => undefined;\n');
      tree.write(
        'libs/shared/product/state/package.json',
        json({ name: '@nx-example/shared/product/state', dependencies: { '@nx-example/shared/product/types': '*' } }),
      );
      const { adopt } = await normalizeOptions(tree, { project: 'products-product-detail-page', contracts: 'shared-product-types' });
      expect(adopt?.contractsThrough).toEqual(['products-shell', 'shared-product-state']);
    });

    it('is refused when no project leads to the contracts, saying to import them', async () => {
      tree.write('libs/shared/product/state/src/lib/+state/products.selectors.ts', 'export const getProduct = (id: string) => id;\n');
      const before = pendingChanges(tree);
      const refusal = referenceGenerator(tree, { project: 'products-product-detail-page', contracts: 'shared-product-types' });
      await expect(refusal).rejects.toThrow(
        'The project "products-product-detail-page" does not depend on the contracts library "shared-product-types", directly or ' +
          'through another project: nothing in libs/products/product-detail-page imports @nx-example/shared/product/types or a ' +
          'project that does',
      );
      // With tsconfig paths, the import is all it takes.
      await expect(refusal).rejects.toThrow(
        'To make it use them: 1. import the shared types from @nx-example/shared/product/types in libs/products/product-detail-page/src. ' +
          'Then run this command again.',
      );
      expect(pendingChanges(tree)).toEqual(before);
    });
  });

  describe('in a workspace of npm packages (--preset=ts)', () => {
    let tree: Tree;
    beforeEach(async () => {
      tree = scopedNotificationWorkspace();
      await contractsGenerator(tree, { project: '@ws/notification-contracts' });
    });

    it('adopts channel-email with the subject its name, file names and exported symbols share: email', async () => {
      await referenceGenerator(tree, { project: '@ws/channel-email', contracts: '@ws/notification-contracts' });
      expect(readJson(tree, 'packages/channel-email/package.json').nx.tags).toEqual(['fanout:reference', 'fanout:subject:email']);
      expect(info).toHaveBeenCalledWith(
        'fanout:reference: @ws/channel-email is the reference, with subject "email" (from the project name, file names and exported symbols).',
      );
    });

    it('proposes the candidates when several words tie, and chooses none', async () => {
      tree.write(
        'packages/invoice-pdf/package.json',
        json({ name: '@ws/invoice-pdf', dependencies: { '@ws/notification-contracts': '*' } }),
      );
      tree.write(
        'packages/invoice-pdf/src/pdf-invoice.ts',
        "import type { Notification } from '@ws/notification-contracts';\nexport class PdfInvoice {\n  constructor(readonly notification: Notification) {}\n}\n",
      );
      const before = pendingChanges(tree);
      await expect(referenceGenerator(tree, { project: '@ws/invoice-pdf', contracts: '@ws/notification-contracts' })).rejects.toThrow(
        '"@ws/invoice-pdf" could have one of several subjects: its name, file names and exported symbols share "invoice" and "pdf". ' +
          'Name the word that differs between it and its siblings: --subject=invoice or --subject=pdf.',
      );
      expect(pendingChanges(tree)).toEqual(before);
      await referenceGenerator(tree, { project: '@ws/invoice-pdf', contracts: '@ws/notification-contracts', subject: 'pdf' });
      expect(readJson(tree, 'packages/invoice-pdf/package.json').nx.tags).toEqual(['fanout:reference', 'fanout:subject:pdf']);
    });

    it('proposes the shared word when --subject names one the sources lack', async () => {
      await expect(
        referenceGenerator(tree, { project: '@ws/channel-email', contracts: '@ws/notification-contracts', subject: 'sms' }),
      ).rejects.toThrow(
        'The subject "sms" occurs in none of the file names or exported symbols of "@ws/channel-email" (packages/channel-email/src)',
      );
      await expect(
        referenceGenerator(tree, { project: '@ws/channel-email', contracts: '@ws/notification-contracts', subject: 'sms' }),
      ).rejects.toThrow('Name the word that differs between this project and its siblings: --subject=email.');
    });

    it('accepts the app that reaches the contracts through the channel', async () => {
      updateJson(tree, 'packages/notifier/package.json', (manifest) => ({ ...manifest, dependencies: { '@ws/channel-email': '*' } }));
      tree.write('packages/notifier/src/notifier.ts', 'export const NOTIFIER = 1;\n');
      const { adopt } = await normalizeOptions(tree, { project: '@ws/notifier', contracts: '@ws/notification-contracts' });
      expect(adopt).toMatchObject({ subjectFrom: 'sources', contractsThrough: ['@ws/channel-email'] });
    });

    it('refuses a channel that does not use the contracts, naming every step: the dependency, the install, nx sync, the import', async () => {
      updateJson(tree, 'packages/channel-email/package.json', (manifest) => ({ ...manifest, dependencies: {} }));
      tree.write('packages/channel-email/src/lib/email-channel.ts', 'export class EmailChannel {}\n');
      const before = pendingChanges(tree);
      await expect(referenceGenerator(tree, { project: '@ws/channel-email', contracts: '@ws/notification-contracts' })).rejects.toThrow(
        'To make it use them: 1. add "@ws/notification-contracts": "*" to "dependencies" in packages/channel-email/package.json; ' +
          '2. run npm install, which links it; ' +
          '3. run nx sync, which adds the TypeScript project reference (until then every nx command stops with "out of sync"); ' +
          '4. import the shared types from @ws/notification-contracts in packages/channel-email/src. Then run this command again.',
      );
      expect(pendingChanges(tree)).toEqual(before);
    });
  });
});

import { readJson, readProjectConfiguration, updateJson, type Tree } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { Project } from 'ts-morph';
import { compileTree, pendingChanges, visit } from '../../testing/compile-tree';
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
});

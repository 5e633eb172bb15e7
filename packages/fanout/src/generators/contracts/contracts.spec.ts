import { logger, readJson, readProjectConfiguration, updateJson, type Tree } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { compileTree, pendingChanges, snapshotFiles } from '../../testing/compile-tree';
import { scopedNotificationWorkspace } from '../../testing/scoped-workspace';
import { contractsGenerator, normalizeOptions } from './contracts';

// The Tree is the workspace: Nx's generators get an empty graph, not this repository's (see devkitForTrees).
jest.mock('@nx/devkit', () => require('../../testing/tree-project-graph').devkitForTrees());

describe('contracts generator', () => {
  let tree: Tree;

  beforeEach(() => {
    // A workspace that keeps its libraries in libs/.
    tree = createTreeWithEmptyWorkspace({ formatter: 'none', layout: 'apps-libs' });
  });

  const root = 'libs/contracts';
  const paths = { '@proj/contracts': [`${root}/src/index.ts`] };

  it('creates a library tagged fanout:contracts with the shared contracts', async () => {
    await contractsGenerator(tree, { name: 'contracts', entities: 'user,order,product' });
    const project = readProjectConfiguration(tree, 'contracts');
    expect(project.root).toBe(root);
    expect(project.tags).toContain('fanout:contracts');
    for (const file of [
      'src/index.ts',
      'src/lib/types/api.ts',
      'src/lib/db.ts',
      'src/lib/validators.ts',
      'src/lib/collections.ts',
      'src/lib/entities/user.ts',
      'src/lib/entities/order.ts',
      'src/lib/entities/product.ts',
      'src/lib/entities/user.spec.ts',
    ]) {
      expect(tree.exists(`${root}/${file}`)).toBe(true);
    }
    // Nx's sample source is replaced by ours.
    expect(tree.exists(`${root}/src/lib/contracts.ts`)).toBe(false);
  });

  it('defines each entity with its requests, validators and fixtures', async () => {
    await contractsGenerator(tree, { name: 'contracts', entities: 'order' });
    const order = tree.read(`${root}/src/lib/entities/order.ts`, 'utf-8') ?? '';
    for (const symbol of [
      'export interface Order extends StoredRecord',
      'export interface CreateOrderRequest',
      'export type UpdateOrderRequest',
      'export function validateCreateOrderRequest',
      'export function validateUpdateOrderRequest',
      'export const orderFixtures',
      'export const validCreateOrderRequest',
      'export const invalidCreateOrderRequest',
      "export const ORDERS_COLLECTION = 'orders' as const",
    ]) {
      expect(order).toContain(symbol);
    }
    expect(tree.read(`${root}/src/lib/collections.ts`, 'utf-8')).toMatch(/orders: Order;/);
  });

  it('writes sources that type-check under strict options', async () => {
    await contractsGenerator(tree, { name: 'contracts', entities: 'user,order,line-item' });
    expect(compileTree(tree, [root], paths)).toEqual([]);
  });

  it('starts with the user entity when none is named', async () => {
    await contractsGenerator(tree, { name: 'contracts' });
    expect(tree.exists(`${root}/src/lib/entities/user.ts`)).toBe(true);
  });

  it('honours --directory and extra tags', async () => {
    await contractsGenerator(tree, { name: 'shared', directory: 'libs/api/shared', tags: 'scope:api' });
    const project = readProjectConfiguration(tree, 'shared');
    expect(project.root).toBe('libs/api/shared');
    expect(project.tags).toEqual(expect.arrayContaining(['fanout:contracts', 'scope:api']));
  });

  it('registers the plugin as a side effect, like nx add would', async () => {
    await contractsGenerator(tree, { name: 'contracts' });
    expect(tree.exists('AGENTS.md')).toBe(true);
  });

  describe('normalizeOptions', () => {
    it('plans a new library: where it goes, its import path, tags, linter and test runner; and writes nothing', async () => {
      const before = pendingChanges(tree);
      const options = await normalizeOptions(tree, { name: 'contracts', tags: 'scope:shared' });
      expect(options).toEqual({
        name: 'contracts',
        entities: [expect.objectContaining({ singular: 'user', plural: 'users' })],
        library: {
          name: 'contracts',
          root,
          importPath: '@proj/contracts',
          tags: ['fanout:contracts', 'scope:shared'],
          // What @nx/js:library chooses here: no linter in the workspace to follow, jest outside a TS solution.
          linter: 'none',
          unitTestRunner: 'jest',
        },
        specs: true,
        skipFormat: false,
      });
      expect(pendingChanges(tree)).toEqual(before);
    });

    it('passes the linter and test runner given, and otherwise nx.json generators defaults for @nx/js:library', async () => {
      expect((await normalizeOptions(tree, { name: 'contracts', linter: 'eslint', unitTestRunner: 'none' })).library).toMatchObject({
        linter: 'eslint',
        unitTestRunner: 'none',
      });
      updateJson(tree, 'nx.json', (json) => ({
        ...json,
        generators: { '@nx/js:library': { linter: 'eslint', unitTestRunner: 'vitest' } },
      }));
      const options = await normalizeOptions(tree, { name: 'contracts' });
      expect(options.library).toMatchObject({ linter: 'eslint', unitTestRunner: 'vitest' });
      expect(options.specs).toBe(true);
    });

    it('plans no library for an existing one, and specs only if it has a test runner', async () => {
      await contractsGenerator(tree, { name: 'contracts', unitTestRunner: 'none' });
      expect(await normalizeOptions(tree, { name: 'contracts', entities: 'order' })).toEqual({
        name: 'contracts',
        entities: [expect.objectContaining({ singular: 'order' })],
        specs: false,
        skipFormat: false,
      });
    });
  });

  describe('placement', () => {
    it('puts the library in --directory, read from where nx g runs', async () => {
      await contractsGenerator(tree, { name: 'contracts', directory: 'shared/contracts' });
      expect(readProjectConfiguration(tree, 'contracts').root).toBe('shared/contracts');
    });

    it("defaults to the workspace's libraries folder from nx.json workspaceLayout", async () => {
      updateJson(tree, 'nx.json', (json) => ({ ...json, workspaceLayout: { libsDir: 'modules' } }));
      await contractsGenerator(tree, { name: 'contracts' });
      expect(readProjectConfiguration(tree, 'contracts').root).toBe('modules/contracts');
    });

    it('defaults to the workspace root when the workspace has no libraries folder, as Nx does', async () => {
      tree = createTreeWithEmptyWorkspace({ formatter: 'none' });
      await contractsGenerator(tree, { name: 'contracts' });
      expect(readProjectConfiguration(tree, 'contracts').root).toBe('contracts');
      expect(tree.exists('contracts/src/lib/collections.ts')).toBe(true);
    });
  });

  describe('linter and unit test runner', () => {
    it('with none: no lint or test configuration and no spec files', async () => {
      await contractsGenerator(tree, { name: 'contracts', entities: 'user', linter: 'none', unitTestRunner: 'none' });
      const files = [...snapshotFiles(tree, root).keys()];
      expect(files).toContain(`${root}/src/lib/entities/user.ts`);
      expect(files.filter((file) => /eslint|jest|vite|\.spec\.ts$|tsconfig\.spec/.test(file))).toEqual([]);

      await contractsGenerator(tree, { name: 'contracts', entities: 'order' });
      expect(tree.exists(`${root}/src/lib/entities/order.ts`)).toBe(true);
      expect(tree.exists(`${root}/src/lib/entities/order.spec.ts`)).toBe(false);
    });

    it('with eslint and jest: their configuration and the spec files', async () => {
      await contractsGenerator(tree, { name: 'contracts', entities: 'user', linter: 'eslint', unitTestRunner: 'jest' });
      for (const file of [
        'eslint.config.mjs',
        'jest.config.cts',
        'tsconfig.spec.json',
        'src/lib/db.spec.ts',
        'src/lib/validators.spec.ts',
      ]) {
        expect(tree.exists(`${root}/${file}`)).toBe(true);
      }
      expect(tree.exists(`${root}/src/lib/entities/user.spec.ts`)).toBe(true);
    });
  });

  describe('on an existing contracts library', () => {
    beforeEach(async () => {
      await contractsGenerator(tree, { name: 'contracts', entities: 'user,order,product' });
      // A person's edit elsewhere in the library must survive.
      tree.write(`${root}/src/lib/entities/user.ts`, `${tree.read(`${root}/src/lib/entities/user.ts`, 'utf-8')}\n// mine\n`);
    });

    it('adds an entity and leaves every other file byte-identical', async () => {
      const before = snapshotFiles(tree, root);
      await contractsGenerator(tree, { name: 'contracts', entities: 'invoice' });
      const after = snapshotFiles(tree, root);

      const added = [...after.keys()].filter((path) => !before.has(path)).sort();
      expect(added).toEqual([`${root}/src/lib/entities/invoice.spec.ts`, `${root}/src/lib/entities/invoice.ts`]);
      const changed = [...before.keys()].filter((path) => before.get(path) !== after.get(path)).sort();
      expect(changed).toEqual([`${root}/src/index.ts`, `${root}/src/lib/collections.ts`]);
      // The edits are additions only.
      expect(after.get(`${root}/src/index.ts`)).toBe(`${before.get(`${root}/src/index.ts`)}export * from './lib/entities/invoice';\n`);
      expect(after.get(`${root}/src/lib/collections.ts`)).toContain('invoices: Invoice;');
      expect(compileTree(tree, [root], paths)).toEqual([]);
    });

    it('is idempotent', async () => {
      await contractsGenerator(tree, { name: 'contracts', entities: 'invoice' });
      const before = snapshotFiles(tree, root);
      await contractsGenerator(tree, { name: 'contracts', entities: 'invoice,user,orders' });
      expect(snapshotFiles(tree, root)).toEqual(before);
    });

    it('asks for entities when given none', async () => {
      await expect(contractsGenerator(tree, { name: 'contracts' })).rejects.toThrow(
        'already exists. To add entities to it, name them: nx g fanout:contracts contracts --entities=invoice',
      );
    });
  });

  describe('bad input: a clear error and nothing written', () => {
    it.each([
      [{ name: '../x' }, 'not a valid name'],
      [{ name: '/abs' }, 'not a valid name'],
      [{ name: 'a/../../b' }, 'not a valid name'],
      [{ name: 'contracts', directory: '../outside' }, 'contains ".."'],
      [{ name: 'contracts', directory: '/tmp/x' }, 'is absolute'],
      [{ name: 'contracts', entities: 'user,../../etc' }, 'entity name "../../etc"'],
      [{ name: 'contracts', entities: 'user,a\\b' }, 'entity name "a\\b"'],
      [{ name: 'contracts', directory: 'libs\\..\\..\\x' }, 'contains ".."'],
    ])('%j', async (options, message) => {
      const before = pendingChanges(tree);
      await expect(contractsGenerator(tree, options)).rejects.toThrow(message);
      expect(pendingChanges(tree)).toEqual(before);
    });

    it('refuses to treat a project that is not a contracts library as one', async () => {
      tree.write('libs/other/project.json', JSON.stringify({ name: 'other', root: 'libs/other' }));
      const before = pendingChanges(tree);
      await expect(contractsGenerator(tree, { name: 'other', entities: 'user' })).rejects.toThrow(
        'The project "other" (libs/other) is not a fanout contracts library',
      );
      expect(pendingChanges(tree)).toEqual(before);
    });

    it('refuses a folder that holds another project', async () => {
      tree.write('libs/other/project.json', JSON.stringify({ name: 'other', root: 'libs/other' }));
      const before = pendingChanges(tree);
      await expect(contractsGenerator(tree, { name: 'contracts', directory: 'libs/other' })).rejects.toThrow(
        'already holds the project "other"',
      );
      expect(pendingChanges(tree)).toEqual(before);
    });
  });

  describe('in a workspace whose projects are named after their npm packages', () => {
    let info: jest.SpyInstance;

    beforeEach(() => {
      tree = scopedNotificationWorkspace();
      info = jest.spyOn(logger, 'info').mockImplementation(() => undefined);
    });

    afterEach(() => info.mockRestore());

    it('adopts --project=notification-contracts as @ws/notification-contracts, and says so', async () => {
      await contractsGenerator(tree, { project: 'notification-contracts' });
      expect(readJson(tree, 'packages/notification-contracts/package.json').nx.tags).toEqual(['fanout:contracts']);
      expect(info).toHaveBeenCalledWith('--project=notification-contracts is the project @ws/notification-contracts.');
    });

    it('finds an existing contracts library by the name after its scope', async () => {
      await contractsGenerator(tree, { project: '@ws/notification-contracts' });
      await expect(contractsGenerator(tree, { name: 'notification-contracts', entities: 'invoice' })).rejects.toThrow(
        'The contracts library "@ws/notification-contracts" was adopted, not scaffolded',
      );
      expect(info).toHaveBeenCalledWith('"notification-contracts" is the project @ws/notification-contracts.');
    });

    it('names the scoped project meant by a name that is no project, without repeating the command', async () => {
      const before = pendingChanges(tree);
      const failure = contractsGenerator(tree, { project: 'notification-contract' });
      await expect(failure).rejects.toThrow(
        'There is no project named "notification-contract". Did you mean @ws/notification-contracts? ' +
          'Give it as --project=@ws/notification-contracts.',
      );
      await expect(failure).rejects.not.toThrow('nx g fanout:contracts');
      expect(pendingChanges(tree)).toEqual(before);
    });

    it('asks for the full name when the name after the scope is several projects', async () => {
      tree.write('packages/legacy-contracts/package.json', JSON.stringify({ name: '@legacy/notification-contracts' }));
      tree.write('packages/legacy-contracts/src/index.ts', 'export type Id = string;\n');
      const before = pendingChanges(tree);
      await expect(contractsGenerator(tree, { project: 'notification-contracts' })).rejects.toThrow(
        '--project=notification-contracts matches several projects once their npm scope is dropped: ' +
          '@ws/notification-contracts or @legacy/notification-contracts. Give the full name, such as --project=@ws/notification-contracts.',
      );
      expect(pendingChanges(tree)).toEqual(before);
    });
  });
});

import { getProjects, logger, readNxJson, readProjectConfiguration, type Tree } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { parseAssignment } from '../../core/session/assignment';
import { pendingChanges } from '../../testing/compile-tree';
import { scopedNotificationWorkspace } from '../../testing/scoped-workspace';
import { contractsGenerator } from '../contracts/contracts';
import { referenceGenerator } from '../reference/reference';
import type { ReferenceGeneratorSchema } from '../reference/schema';
import type { TaskGeneratorSchema } from './schema';
import { normalizeOptions, taskGenerator } from './task';

// The Tree is the workspace: Nx's generators get an empty graph, not this repository's (see devkitForTrees).
jest.mock('@nx/devkit', () => require('../../testing/tree-project-graph').devkitForTrees());

// Each workspace below runs Nx's library generator three or more times: seconds each, far more on a busy machine.
const GENERATOR_TIMEOUT_MS = 300_000;

/** A workspace that keeps its libraries in libs/, with contracts and the users reference. */
async function workspace(reference: Partial<ReferenceGeneratorSchema> = {}): Promise<Tree> {
  const tree = createTreeWithEmptyWorkspace({ formatter: 'none', layout: 'apps-libs' });
  await contractsGenerator(tree, { name: 'contracts', entities: 'user,order,product' });
  await referenceGenerator(tree, { name: 'users', contracts: 'contracts', ...reference });
  return tree;
}

function assignmentOf(tree: Tree, project: string) {
  const file = `${readProjectConfiguration(tree, project).root}/fanout.md`;
  return parseAssignment(tree.read(file, 'utf-8') ?? '', file);
}

describe('task generator', () => {
  describe('with the defaults', () => {
    let tree: Tree;

    beforeAll(async () => {
      tree = await workspace();
      await taskGenerator(tree, { names: ' orders, products,orders ', like: 'users' });
    }, GENERATOR_TIMEOUT_MS);

    it('creates one project per distinct name, tagged fanout:task and depending on the contracts', () => {
      const tasks = [...getProjects(tree)].filter(([, project]) => project.tags?.includes('fanout:task')).map(([name]) => name);
      expect(tasks.sort()).toEqual(['orders', 'products']);
      for (const name of tasks) {
        const project = readProjectConfiguration(tree, name);
        expect(project.root).toBe(`libs/${name}`);
        expect(project.implicitDependencies).toContain('contracts');
      }
    });

    it('writes the assignment: like the reference, with the contracts, the pattern agent and the default text', () => {
      expect(assignmentOf(tree, 'orders')).toEqual({
        like: 'users',
        contracts: 'contracts',
        agent: 'pattern',
        command: undefined,
        entity: undefined,
        subject: undefined,
        scope: ['src'],
        timeoutMs: 30 * 60 * 1000,
        text: 'Build orders following the same pattern as users, using the types in contracts.',
      });
      expect(assignmentOf(tree, 'products').text).toBe('Build products following the same pattern as users, using the types in contracts.');
    });

    it('gives each project a src/index.ts for its session to fill, and no sample source', () => {
      expect(tree.read('libs/orders/src/index.ts', 'utf-8')).toContain('nx run orders:fanout');
      expect(tree.exists('libs/orders/src/lib/orders.ts')).toBe(false);
    });

    it('registers the plugin', () => {
      const plugins = readNxJson(tree)?.plugins ?? [];
      expect(plugins.some((entry) => (typeof entry === 'string' ? entry : entry.plugin) === 'fanout')).toBe(true);
    });
  });

  it(
    'stores the prompt (with <name> substituted), the command agent, the scope and the timeout',
    async () => {
      const tree = await workspace();
      await taskGenerator(tree, {
        names: 'reports,invoices',
        like: 'users',
        contracts: 'contracts',
        agent: 'command',
        command: `node tools/agent.js "{promptFile}" --name '<name>'`,
        prompt: '  Write the <name> module; <name> must export a handler.  ',
        scope: 'src, docs/api/',
        timeout: '90s',
      });
      expect(assignmentOf(tree, 'invoices')).toEqual({
        like: 'users',
        contracts: 'contracts',
        agent: 'command',
        command: `node tools/agent.js "{promptFile}" --name '<name>'`,
        entity: undefined,
        scope: ['src', 'docs/api'],
        timeoutMs: 90_000,
        text: 'Write the invoices module; invoices must export a handler.',
      });
      expect(assignmentOf(tree, 'reports').text).toBe('Write the reports module; reports must export a handler.');
    },
    GENERATOR_TIMEOUT_MS,
  );

  describe('normalizeOptions', () => {
    it(
      'plans each task beside its reference, linted and tested as the reference is, and writes nothing',
      async () => {
        const tree = await workspace({ linter: 'eslint', unitTestRunner: 'jest' });
        const before = pendingChanges(tree);
        const options = await normalizeOptions(tree, { names: 'orders,products', like: 'users', tags: 'scope:api', timeout: '90s' });
        expect(options).toEqual({
          tasks: ['orders', 'products'].map((name) => ({
            name,
            root: `libs/${name}`,
            importPath: `@proj/${name}`,
            tags: ['fanout:task', 'scope:api'],
            linter: 'eslint',
            unitTestRunner: 'jest',
            subject: name,
          })),
          shape: 'scaffold',
          generator: undefined,
          reference: { name: 'users', root: 'libs/users', subject: 'users' },
          contracts: expect.objectContaining({ name: 'contracts', root: 'libs/contracts' }),
          agent: 'pattern',
          command: undefined,
          scope: undefined,
          timeout: '90s',
          wire: [],
          prompt: undefined,
          skipFormat: false,
        });
        expect(pendingChanges(tree)).toEqual(before);
        expect((await normalizeOptions(tree, { names: 'orders', like: 'users', linter: 'none', unitTestRunner: 'vitest' })).tasks).toEqual([
          expect.objectContaining({ linter: 'none', unitTestRunner: 'vitest' }),
        ]);
      },
      GENERATOR_TIMEOUT_MS,
    );
  });

  describe('placement and checks', () => {
    let tree: Tree;

    beforeAll(async () => {
      tree = await workspace({ directory: 'services/api/users', unitTestRunner: 'none' });
    }, GENERATOR_TIMEOUT_MS);

    it(
      'puts each task beside its reference, tested as the reference is (here: not at all)',
      async () => {
        await taskGenerator(tree, { names: 'orders', like: 'users' });
        expect(readProjectConfiguration(tree, 'orders').root).toBe('services/api/orders');
        expect(tree.exists('services/api/orders/fanout.md')).toBe(true);
        expect(tree.children('services/api/orders').filter((file) => /jest|vite|tsconfig\.spec/.test(file))).toEqual([]);
      },
      GENERATOR_TIMEOUT_MS,
    );

    it(
      'puts the tasks in --directory, with the linter and test runner given',
      async () => {
        await taskGenerator(tree, { names: 'products', like: 'users', directory: 'tasks', linter: 'eslint', unitTestRunner: 'jest' });
        expect(readProjectConfiguration(tree, 'products').root).toBe('tasks/products');
        for (const file of ['fanout.md', 'eslint.config.mjs', 'jest.config.cts', 'tsconfig.spec.json']) {
          expect(tree.exists(`tasks/products/${file}`)).toBe(true);
        }
      },
      GENERATOR_TIMEOUT_MS,
    );
  });

  describe('bad input: a clear error and nothing written', () => {
    let tree: Tree;

    beforeAll(async () => {
      tree = await workspace();
    }, GENERATOR_TIMEOUT_MS);

    it.each<[string, TaskGeneratorSchema, string]>([
      ['no names', { names: ' , ', like: 'users' }, 'Name at least one task'],
      ['a path as name', { names: '../x', like: 'users' }, 'The task name "../x" is not a valid name'],
      ['a nested name', { names: 'orders,a/b', like: 'users' }, 'The task name "a/b" is not a valid name'],
      ['a name with a backslash', { names: 'a\\..\\x', like: 'users' }, 'is not a valid name'],
      ['a name with shell syntax', { names: 'orders;touch${IFS}x', like: 'users' }, 'is not a valid name'],
      ['a --directory leaving the workspace', { names: 'orders', like: 'users', directory: '../outside' }, 'contains ".."'],
      ['an absolute --directory', { names: 'orders', like: 'users', directory: '/tmp/tasks' }, 'is absolute'],
      ['no --like', { names: 'orders', like: '' }, 'Name the reference the tasks follow: --like=<project>'],
      [
        'a --like that is no project',
        { names: 'orders', like: 'people' },
        'There is no project named "people". Projects tagged fanout:reference in this workspace: users.',
      ],
      [
        'a --like that is not a reference',
        { names: 'orders', like: 'contracts' },
        'The project "contracts" is not a reference (it lacks the tag "fanout:reference")',
      ],
      [
        'a task named like its reference',
        { names: 'orders,users', like: 'users' },
        'A task cannot follow itself: "users" is both --like and a task.',
      ],
      ['a --contracts that is no project', { names: 'orders', like: 'users', contracts: 'nope' }, 'There is no project named "nope"'],
      [
        'a --contracts that is no contracts library',
        { names: 'orders', like: 'users', contracts: 'users' },
        'is not a fanout contracts library',
      ],
      ['an unknown agent', { names: 'orders', like: 'users', agent: 'gpt' }, 'Unknown agent "gpt". Known agents: pattern, command, claude'],
      [
        'the command agent without a command',
        { names: 'orders', like: 'users', agent: 'command' },
        'The command agent needs a command template with a program',
      ],
      [
        'the command agent with a blank command',
        { names: 'orders', like: 'users', agent: 'command', command: '   ' },
        'The command agent needs a command template',
      ],
      [
        'the command agent with an empty quoted program',
        { names: 'orders', like: 'users', agent: 'command', command: "'' {promptFile}" },
        'The command agent needs a command template',
      ],
      ['a scope with an empty entry', { names: 'orders', like: 'users', scope: 'src,' }, '"scope" has an empty entry'],
      [
        'a command with an unterminated quote',
        { names: 'orders', like: 'users', agent: 'command', command: 'node "x' },
        'unterminated " quote',
      ],
      ['a scope leaving the project', { names: 'orders', like: 'users', scope: 'src,../x' }, '"scope" entry "../x" leaves the project'],
      ['an absolute scope', { names: 'orders', like: 'users', scope: '/abs' }, '"scope" entry "/abs" is absolute'],
      ['a bad timeout', { names: 'orders', like: 'users', timeout: 'soon' }, '--timeout: "timeout" must be a positive number of seconds'],
      ['a zero timeout', { names: 'orders', like: 'users', timeout: '0' }, '"timeout" must be a positive number'],
      ['an empty prompt', { names: 'orders', like: 'users', prompt: '  ' }, '--prompt is empty'],
      [
        'an unknown test runner',
        { names: 'orders', like: 'users', unitTestRunner: 'mocha' as 'jest' },
        '--unitTestRunner is "mocha"; it must be one of: jest, vitest, none.',
      ],
      [
        'an entity the contracts lack, for the pattern agent',
        { names: 'orders,invoices', like: 'users' },
        'The contracts library "contracts" has no "invoice" entity, which the pattern agent needs for the task "invoices". Add it first: nx g fanout:contracts contracts --entities=invoice',
      ],
      [
        'a name already taken by a project',
        { names: 'contracts', like: 'users', agent: 'command', command: 'agent' },
        'A project named "contracts" already exists',
      ],
    ])('%s', async (_, options, message) => {
      const before = pendingChanges(tree);
      await expect(taskGenerator(tree, options)).rejects.toThrow(message);
      expect(pendingChanges(tree)).toEqual(before);
    });
  });

  it(
    'uses the contracts the reference uses, and asks which one to use when it uses several',
    async () => {
      const tree = await workspace();
      await contractsGenerator(tree, { name: 'billing-contracts', entities: 'order' });
      expect((await normalizeOptions(tree, { names: 'orders', like: 'users' })).contracts.name).toBe('contracts');
      tree.write('libs/users/src/lib/billing.ts', "export type { Order } from '@proj/billing-contracts';\n");
      const before = pendingChanges(tree);
      await expect(taskGenerator(tree, { names: 'orders', like: 'users' })).rejects.toThrow(
        'There are several contracts libraries (contracts, billing-contracts): choose one with --contracts=<project>.',
      );
      expect(pendingChanges(tree)).toEqual(before);
    },
    GENERATOR_TIMEOUT_MS,
  );

  describe('in a workspace whose projects are named after their npm packages', () => {
    let tree: Tree;
    let info: jest.SpyInstance;

    beforeEach(async () => {
      tree = scopedNotificationWorkspace();
      info = jest.spyOn(logger, 'info').mockImplementation(() => undefined);
      await contractsGenerator(tree, { project: '@ws/notification-contracts' });
      await referenceGenerator(tree, { project: '@ws/channel-email', contracts: '@ws/notification-contracts', subject: 'email' });
      info.mockClear();
    });

    afterEach(() => info.mockRestore());

    it('takes --like, --contracts and --project by the names after their scope, and says which projects they are', async () => {
      await taskGenerator(tree, { project: 'notifier', like: 'channel-email', contracts: 'notification-contracts', subject: 'push' });
      expect(assignmentOf(tree, '@ws/notifier')).toMatchObject({ like: '@ws/channel-email', contracts: '@ws/notification-contracts' });
      expect(info.mock.calls.map(([line]) => line)).toEqual([
        '--like=channel-email is the project @ws/channel-email.',
        '--project=notifier is the project @ws/notifier.',
        '--contracts=notification-contracts is the project @ws/notification-contracts.',
      ]);
    });

    it('follows --like=channel-email for new tasks', async () => {
      const options = await normalizeOptions(tree, { names: 'sms', like: 'channel-email' });
      expect(options.reference).toEqual({ name: '@ws/channel-email', root: 'packages/channel-email', subject: 'email' });
      expect(options.contracts.name).toBe('@ws/notification-contracts');
    });

    it('names the scoped reference meant by a --like that is no project, instead of proposing a new reference', async () => {
      const before = pendingChanges(tree);
      const failure = taskGenerator(tree, { names: 'sms', like: 'chanel-email' });
      await expect(failure).rejects.toThrow(
        'There is no project named "chanel-email". Did you mean @ws/channel-email? Give it as --like=@ws/channel-email.',
      );
      await expect(failure).rejects.not.toThrow('nx g fanout:reference');
      expect(pendingChanges(tree)).toEqual(before);
    });

    it('asks for the full name when the name after the scope is several projects', async () => {
      tree.write('packages/legacy-email/package.json', JSON.stringify({ name: '@legacy/channel-email' }));
      const before = pendingChanges(tree);
      await expect(taskGenerator(tree, { names: 'sms', like: 'channel-email' })).rejects.toThrow(
        '--like=channel-email matches several projects once their npm scope is dropped: @ws/channel-email or @legacy/channel-email. ' +
          'Give the full name, such as --like=@ws/channel-email.',
      );
      expect(pendingChanges(tree)).toEqual(before);
    });

    it.each(['@ws/notifier', 'notifier'])(
      'refuses the existing project %s as a new task and points to --project, writing nothing',
      async (name) => {
        const before = pendingChanges(tree);
        await expect(taskGenerator(tree, { names: name, like: '@ws/channel-email' })).rejects.toThrow(
          'A project named "@ws/notifier" already exists (packages/notifier). Task names make new projects: to make "@ws/notifier" a task, ' +
            'use --project: nx g fanout:task --project=@ws/notifier --like=@ws/channel-email. For a new project, give a name no project has.',
        );
        expect(pendingChanges(tree)).toEqual(before);
        expect(getProjects(tree).has('@ws/channel-notifier')).toBe(false);
      },
    );

    it('refuses the contracts library or the reference as a new task', async () => {
      await expect(taskGenerator(tree, { names: 'notification-contracts', like: '@ws/channel-email' })).rejects.toThrow(
        '"@ws/notification-contracts" is the contracts library: give the new task a name no project has.',
      );
      await expect(taskGenerator(tree, { names: 'channel-email', like: '@ws/channel-email' })).rejects.toThrow(
        'A task cannot follow itself: "@ws/channel-email" is both --like and a task.',
      );
    });
  });
});

import { logger, readJson, readNxJson, type Tree } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { SECTION_START } from '../../core/session/conventions';
import { initGenerator } from './init';

// The Tree is the workspace: Nx's generators get an empty graph, not this repository's (see devkitForTrees).
jest.mock('@nx/devkit', () => require('../../testing/tree-project-graph').devkitForTrees());

describe('init generator', () => {
  let tree: Tree;

  beforeEach(() => {
    tree = createTreeWithEmptyWorkspace({ formatter: 'none' });
  });

  it('registers the plugin, and writes no target default: the plugin caches the session target and never the landing', async () => {
    await initGenerator(tree, {});
    const nxJson = readNxJson(tree);
    expect(nxJson?.plugins).toContainEqual({ plugin: 'fanout', options: {} });
    expect(nxJson?.targetDefaults?.['fanout']).toBeUndefined();
    expect(nxJson?.targetDefaults?.['fanout-session']).toBeUndefined();
  });

  it('keeps an existing registration and existing target defaults', async () => {
    tree.write('nx.json', JSON.stringify({ plugins: ['fanout'], targetDefaults: { fanout: { cache: false, parallelism: false } } }));
    await initGenerator(tree, {});
    const nxJson = readNxJson(tree);
    expect(nxJson?.plugins).toEqual(['fanout']);
    expect(nxJson?.targetDefaults?.['fanout']).toEqual({ cache: false, parallelism: false });
  });

  it('ignores .fanout/ in git, once', async () => {
    tree.write('.gitignore', 'node_modules');
    await initGenerator(tree, {});
    const gitignore = tree.read('.gitignore', 'utf-8') ?? '';
    expect(gitignore.startsWith('node_modules\n')).toBe(true);
    expect(gitignore.split('\n').filter((line) => line === '.fanout/')).toHaveLength(1);
  });

  it('writes AGENTS.md and a CLAUDE.md that imports it', async () => {
    await initGenerator(tree, {});
    expect(tree.read('AGENTS.md', 'utf-8')).toContain('fanout:contracts');
    expect(tree.read('CLAUDE.md', 'utf-8')).toContain('@AGENTS.md');
  });

  it('appends its section to existing conventions without overwriting them', async () => {
    tree.write('AGENTS.md', '# House rules\n\nTabs, never spaces.\n');
    tree.write('CLAUDE.md', '# Claude\n\nBe brief.\n');
    await initGenerator(tree, {});
    const agents = tree.read('AGENTS.md', 'utf-8') ?? '';
    const claude = tree.read('CLAUDE.md', 'utf-8') ?? '';
    expect(agents.startsWith('# House rules\n\nTabs, never spaces.\n')).toBe(true);
    expect(agents).toContain(SECTION_START);
    expect(claude.startsWith('# Claude\n\nBe brief.\n')).toBe(true);
    expect(claude).toContain('@AGENTS.md');
  });

  it('leaves a CLAUDE.md that already imports AGENTS.md alone', async () => {
    tree.write('CLAUDE.md', 'See @AGENTS.md\n');
    await initGenerator(tree, {});
    expect(tree.read('CLAUDE.md', 'utf-8')).toBe('See @AGENTS.md\n');
  });

  it("removes a cache: true an earlier version wrote for the landing target, under the plugin's targetName", async () => {
    tree.write(
      'nx.json',
      JSON.stringify({ plugins: [{ plugin: 'fanout', options: { targetName: 'agents' } }], targetDefaults: { agents: { cache: true } } }),
    );
    await initGenerator(tree, {});
    const nxJson = readNxJson(tree);
    expect(nxJson?.targetDefaults?.['agents']).toBeUndefined();
  });

  it('changes nothing when run a second time', async () => {
    await initGenerator(tree, {});
    const files = ['nx.json', '.gitignore', 'AGENTS.md', 'CLAUDE.md'];
    const before = files.map((file) => tree.read(file, 'utf-8'));
    const changesBefore = tree.listChanges().length;
    await initGenerator(tree, {});
    expect(files.map((file) => tree.read(file, 'utf-8'))).toEqual(before);
    expect(tree.listChanges()).toHaveLength(changesBefore);
  });

  describe('TypeScript 6, under which jest cannot read a jest.config.cts', () => {
    const LOADER = { compilerOptions: { types: ['node'], ignoreDeprecations: '6.0' } };
    let info: jest.SpyInstance;
    let warn: jest.SpyInstance;

    beforeEach(() => {
      info = jest.spyOn(logger, 'info').mockImplementation(() => undefined);
      warn = jest.spyOn(logger, 'warn').mockImplementation(() => undefined);
    });
    afterEach(() => jest.restoreAllMocks());

    /** package.json as create-nx-workspace writes it, with the TypeScript given (none when undefined). */
    function declare(typescript: string | undefined, extra: Record<string, string> = { '@types/node': '^22.0.0' }): void {
      const devDependencies = { nx: '23.2.1', ...extra, ...(typescript === undefined ? {} : { typescript }) };
      tree.write('package.json', JSON.stringify({ name: '@proj/source', devDependencies }));
    }

    const tsconfig = (path = 'tsconfig.base.json') => readJson(tree, path);

    it('gives ts-node, in tsconfig.base.json, the Node types and the deprecation setting it needs, and says why', async () => {
      declare('~6.0.3');
      tree.write('tsconfig.base.json', JSON.stringify({ compilerOptions: { strict: true, customConditions: ['@proj/source'] } }));
      await initGenerator(tree, {});
      expect(tsconfig()).toEqual({ compilerOptions: { strict: true, customConditions: ['@proj/source'] }, 'ts-node': LOADER });
      expect(info).toHaveBeenCalledTimes(1);
      const message = String(info.mock.calls[0][0]);
      for (const part of [
        'TypeScript ~6.0.3',
        'TS2591',
        'jest.config.cts',
        'tsconfig.base.json',
        '"types":["node"]',
        '"ignoreDeprecations":"6.0"',
      ]) {
        expect(message).toContain(part);
      }
      expect(message).not.toContain('@types/node: add it');
      expect(warn).not.toHaveBeenCalled();
    });

    it.each([
      ['TypeScript 5.9', '~5.9.3'],
      ['TypeScript 5.8 or newer', '>=5.8.0'],
      ['a TypeScript version it cannot tell', 'latest'],
    ])('leaves the tsconfig alone with %s', async (_, typescript) => {
      declare(typescript);
      const before = tree.read('tsconfig.base.json', 'utf-8');
      await initGenerator(tree, {});
      expect(tree.read('tsconfig.base.json', 'utf-8')).toBe(before);
      expect(info).not.toHaveBeenCalled();
    });

    it('leaves the tsconfig alone without TypeScript', async () => {
      declare(undefined);
      const before = tree.read('tsconfig.base.json', 'utf-8');
      await initGenerator(tree, {});
      expect(tree.read('tsconfig.base.json', 'utf-8')).toBe(before);
      expect(info).not.toHaveBeenCalled();
      expect(warn).not.toHaveBeenCalled();
    });

    it('goes by the installed TypeScript when there is one: it is what jest runs now', async () => {
      declare('>=5.8.0');
      tree.write('node_modules/typescript/package.json', JSON.stringify({ name: 'typescript', version: '6.0.3' }));
      await initGenerator(tree, {});
      expect(tsconfig()['ts-node']).toEqual(LOADER);
      expect(String(info.mock.calls[0][0])).toContain('TypeScript 6.0.3 (installed');

      const other = createTreeWithEmptyWorkspace({ formatter: 'none' });
      other.write('package.json', JSON.stringify({ devDependencies: { typescript: '^6.0.0' } }));
      other.write('node_modules/typescript/package.json', JSON.stringify({ name: 'typescript', version: '5.9.3' }));
      await initGenerator(other, {});
      expect(readJson(other, 'tsconfig.base.json')['ts-node']).toBeUndefined();
    });

    it('keeps what the tsconfig already says: its own types, its ts-node options', async () => {
      declare('^6.0.0');
      tree.write(
        'tsconfig.base.json',
        JSON.stringify({ compilerOptions: { types: ['*'] }, 'ts-node': { transpileOnly: true, compilerOptions: { module: 'commonjs' } } }),
      );
      await initGenerator(tree, {});
      expect(tsconfig()).toEqual({
        compilerOptions: { types: ['*'] },
        'ts-node': { transpileOnly: true, compilerOptions: { module: 'commonjs', ignoreDeprecations: '6.0' } },
      });
    });

    it('fixes the root tsconfig.json of a workspace without tsconfig.base.json', async () => {
      declare('~6.0.3');
      tree.delete('tsconfig.base.json');
      tree.write('tsconfig.json', JSON.stringify({ compilerOptions: { module: 'nodenext' } }));
      await initGenerator(tree, {});
      expect(tsconfig('tsconfig.json')).toEqual({ compilerOptions: { module: 'nodenext' }, 'ts-node': LOADER });
      expect(tree.exists('tsconfig.base.json')).toBe(false);
    });

    it('changes nothing, and says nothing, the second time', async () => {
      declare('~6.0.3');
      await initGenerator(tree, {});
      const before = tree.read('tsconfig.base.json', 'utf-8');
      info.mockClear();
      await initGenerator(tree, {});
      expect(tree.read('tsconfig.base.json', 'utf-8')).toBe(before);
      expect(info).not.toHaveBeenCalled();
    });

    it('with --skipTypeScriptFix, changes nothing and prints the exact section to add', async () => {
      declare('~6.0.3');
      const before = tree.read('tsconfig.base.json', 'utf-8');
      await initGenerator(tree, { skipTypeScriptFix: true });
      expect(tree.read('tsconfig.base.json', 'utf-8')).toBe(before);
      expect(info).not.toHaveBeenCalled();
      expect(warn).toHaveBeenCalledTimes(1);
      const message = String(warn.mock.calls[0][0]);
      expect(message).toContain('Add to tsconfig.base.json');
      // The printed section, pasted into the tsconfig, is the fix itself.
      const section = /Add to tsconfig\.base\.json, beside "compilerOptions": (.*?) \(only ts-node/.exec(message)?.[1];
      expect(JSON.parse(`{${section}}`)).toEqual({ 'ts-node': LOADER });
      expect(message).toContain('"typescript": "~5.9.3"');
    });

    it('says that "types": ["node"] needs @types/node when the workspace lacks it', async () => {
      declare('~6.0.3', {});
      await initGenerator(tree, {});
      expect(String(info.mock.calls[0][0])).toContain('"types": ["node"] needs @types/node: add it to devDependencies and install.');
    });

    it('warns, and does the rest, when the root tsconfig cannot be read', async () => {
      declare('~6.0.3');
      tree.write('tsconfig.base.json', '{ "compilerOptions": ');
      await initGenerator(tree, {});
      expect(tree.read('tsconfig.base.json', 'utf-8')).toBe('{ "compilerOptions": ');
      expect(String(warn.mock.calls[0][0])).toContain('fanout: could not read the root tsconfig to check it for TypeScript ~6.0.3');
      expect(readNxJson(tree)?.plugins).toContainEqual({ plugin: 'fanout', options: {} });
    });
  });
});

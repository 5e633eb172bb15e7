import { readNxJson, type Tree } from '@nx/devkit';
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

  it('registers the plugin and caches the fanout target', async () => {
    await initGenerator(tree, {});
    const nxJson = readNxJson(tree);
    expect(nxJson?.plugins).toContainEqual({ plugin: 'fanout', options: {} });
    expect(nxJson?.targetDefaults?.['fanout']).toEqual({ cache: true });
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

  it('changes nothing when run a second time', async () => {
    await initGenerator(tree, {});
    const files = ['nx.json', '.gitignore', 'AGENTS.md', 'CLAUDE.md'];
    const before = files.map((file) => tree.read(file, 'utf-8'));
    const changesBefore = tree.listChanges().length;
    await initGenerator(tree, {});
    expect(files.map((file) => tree.read(file, 'utf-8'))).toEqual(before);
    expect(tree.listChanges()).toHaveLength(changesBefore);
  });
});

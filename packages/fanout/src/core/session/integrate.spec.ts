import { mkdirSync, mkdtempSync, rmSync, writeFileSync, existsSync, readFileSync } from 'fs';
import { tmpdir } from 'os';
import { dirname, join } from 'path';
import { applyChanges, integrationDir, recoverIntegrations, sha256 } from './integrate';
import type { FileChange } from './scope';
import { snapshot, spawnTypeScript } from '../../testing/git-workspace';

/**
 * Integration is all or nothing per task: an error or a crash at any point
 * leaves the workspace as it was (at once, or at the next start).
 */
describe('applyChanges', () => {
  let dir: string;
  let workspace: string;
  let worktree: string;

  const put = (root: string, file: string, text: string) => {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    writeFileSync(join(root, file), text);
  };
  /** The workspace without fanout's own folder. */
  const files = () => snapshot(workspace, (path) => path === '.fanout');

  // A new file in a new folder, a modified file, a deleted file.
  const changes: FileChange[] = [
    { path: 'libs/orders/src/lib/orders.ts', status: 'added' },
    { path: 'libs/orders/src/index.ts', status: 'modified' },
    { path: 'libs/orders/src/old.ts', status: 'deleted' },
  ];

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'fanout-integrate-'));
    workspace = join(dir, 'workspace');
    worktree = join(dir, 'worktree');
    put(workspace, 'libs/orders/src/index.ts', 'export {};\n');
    put(workspace, 'libs/orders/src/old.ts', 'export const old = 1;\n');
    put(workspace, 'README.md', 'mine\n');
    put(worktree, 'libs/orders/src/lib/orders.ts', 'export const orders = 1;\n');
    put(worktree, 'libs/orders/src/index.ts', "export * from './lib/orders';\n");
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes, replaces and deletes, and returns the sha256 of what it wrote', () => {
    const written = applyChanges(workspace, 'orders', worktree, changes);
    expect(files()).toEqual({
      'README.md': 'mine\n',
      'libs/orders/src/index.ts': "export * from './lib/orders';\n",
      'libs/orders/src/lib/orders.ts': 'export const orders = 1;\n',
    });
    const hash = sha256(join(workspace, 'libs/orders/src/index.ts'));
    expect(written.get('libs/orders/src/index.ts')).toBe(hash);
    // Nothing of the transaction is left behind.
    expect(snapshot(integrationDir(workspace, 'orders'))).toEqual({});
  });

  it('puts everything back when a change cannot be applied midway', () => {
    // The last change needs a folder where the user has a file: it fails after the others were moved in.
    const before = files();
    put(worktree, 'README.md/inside.ts', 'x');
    expect(() =>
      applyChanges(workspace, 'orders', worktree, [...changes.slice(0, 2), { path: 'README.md/inside.ts', status: 'added' }, changes[2]]),
    ).toThrow();
    expect(files()).toEqual(before);
    expect(existsSync(join(integrationDir(workspace, 'orders'), 'journal.json'))).toBe(false);
  });

  /** Runs applyChanges in a child process that SIGKILLs itself after the n-th trapped fs call. */
  const crashAt = async (trapped: string, count: number, where: 'workspace' | 'staging') => {
    const child = spawnTypeScript(join(__dirname, '..', '..', 'testing', 'integrate-child.ts'), [
      workspace,
      'orders',
      worktree,
      JSON.stringify(changes),
      trapped,
      String(count),
      where,
    ]);
    const signal = await new Promise((resolve) => child.on('exit', (_code, received) => resolve(received)));
    expect({ signal, output: child.output() }).toEqual({ signal: 'SIGKILL', output: '' });
  };

  it('undoes, at the next start, an integration whose process was killed between two renames', async () => {
    const before = files();
    await crashAt('renameSync', 2, 'workspace');
    // Half of it landed: both files are in, the deletion is not done.
    expect(readFileSync(join(workspace, 'libs/orders/src/index.ts'), 'utf-8')).toBe("export * from './lib/orders';\n");
    expect(existsSync(join(workspace, 'libs/orders/src/lib/orders.ts'))).toBe(true);
    expect(existsSync(join(workspace, 'libs/orders/src/old.ts'))).toBe(true);

    expect(recoverIntegrations(workspace)).toEqual(['orders']);
    expect(files()).toEqual(before);
    expect(existsSync(join(workspace, 'libs/orders/src/lib'))).toBe(false);
    expect(recoverIntegrations(workspace)).toEqual([]);
    // And the task integrates whole when it runs again.
    applyChanges(workspace, 'orders', worktree, changes);
    expect(readFileSync(join(workspace, 'libs/orders/src/index.ts'), 'utf-8')).toBe("export * from './lib/orders';\n");
  });

  it("stages a scoped project's integration one level down, under its scope's folder, and recovers it", () => {
    const written = applyChanges(workspace, '@acme/orders', worktree, changes);
    expect(integrationDir(workspace, '@acme/orders')).toBe(join(workspace, '.fanout/integration/@acme/orders'));
    expect([...written.keys()].sort()).toEqual(
      changes
        .filter((change) => change.status !== 'deleted')
        .map((change) => change.path)
        .sort(),
    );
    // A journal left by a killed run is found one level down, under the scope's folder.
    const journal = join(integrationDir(workspace, '@acme/orders'), 'journal.json');
    writeFileSync(journal, JSON.stringify({ pid: 1, files: [], deleted: [], createdDirs: [] }));
    expect(recoverIntegrations(workspace)).toEqual(['@acme/orders']);
    expect(existsSync(journal)).toBe(false);
  });

  it('stages files flat in the integration folder, by number, whatever folders they are in', async () => {
    await crashAt('openSync', 2, 'staging');
    expect(snapshot(integrationDir(workspace, 'orders'))).toEqual({ 'new-0': 'export const orders = 1;\n', 'new-1': '' });
    expect(recoverIntegrations(workspace)).toEqual([]);
  });

  it('leaves the workspace untouched when killed while staging, and clears what it staged', async () => {
    const before = files();
    await crashAt('openSync', 2, 'staging');
    expect(files()).toEqual(before);
    expect(existsSync(join(integrationDir(workspace, 'orders'), 'new-0'))).toBe(true);
    expect(recoverIntegrations(workspace)).toEqual([]);
    expect(snapshot(integrationDir(workspace, 'orders'))).toEqual({});
    expect(files()).toEqual(before);
  });

  // Journals left by older versions: files staged under their own paths; then by number, in new/ and old/.
  it.each([
    {
      version: 'an older version (files staged under their own paths)',
      aside: 'old/libs/orders/src/index.ts',
      staged: [{}, {}],
      deletedStaged: {},
    },
    {
      version: 'the previous version (files staged by number in new/ and old/)',
      aside: 'old/1',
      staged: [{ staged: '0' }, { staged: '1' }],
      deletedStaged: { deletedStaged: ['deleted-0'] },
    },
  ])('undoes an unfinished integration whose journal $version wrote', ({ aside, staged, deletedStaged }) => {
    const before = files();
    const staging = integrationDir(workspace, 'orders');
    // Killed after moving index.ts aside and renaming both new files in, before the deletion.
    put(staging, aside, 'export {};\n');
    put(workspace, 'libs/orders/src/index.ts', "export * from './lib/orders';\n");
    put(workspace, 'libs/orders/src/lib/orders.ts', 'export const orders = 1;\n');
    const journal = {
      pid: 1,
      files: [
        { path: 'libs/orders/src/lib/orders.ts', existed: false, ...staged[0] },
        { path: 'libs/orders/src/index.ts', existed: true, ...staged[1] },
      ],
      deleted: ['libs/orders/src/old.ts'],
      ...deletedStaged,
      createdDirs: ['libs/orders/src/lib'],
    };
    writeFileSync(join(staging, 'journal.json'), JSON.stringify(journal));
    expect(recoverIntegrations(workspace)).toEqual(['orders']);
    expect(files()).toEqual(before);
    expect(snapshot(staging)).toEqual({});
  });
});

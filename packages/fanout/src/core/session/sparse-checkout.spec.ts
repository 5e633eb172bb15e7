import { runAndLand } from '../../testing/run-and-land';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'fs';
import { spawn } from 'child_process';
import { tmpdir } from 'os';
import { join } from 'path';
import { createWorkspace, gitIn, sessionSpec, commandTask, agentScript, write, type TestWorkspace } from '../../testing/git-workspace';
import { coneHolds, conePathspecs, conePatterns, sparseCone, type SparseCheckout } from './sparse-checkout';
import { createWorktree, removeWorktree, sessionChanges } from './worktree';

/** The patterns of the cone, or undefined for a full checkout. */
function sparsePatterns(root: string, checkout: SparseCheckout): string[] | undefined {
  const cone = sparseCone(root, checkout);
  return cone && conePatterns(cone);
}

describe('sparseCone', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'fanout-sparse-'));
    for (const folder of [
      '.git',
      'libs/contracts',
      'libs/users',
      'libs/orders',
      'libs/products',
      'libs/shared/assets',
      'tools/scripts',
      'apps/web/e2e',
    ]) {
      mkdirSync(join(root, folder), { recursive: true });
    }
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('leaves out the other projects and keeps whole every folder that holds none of them', () => {
    expect(
      sparsePatterns(root, {
        keep: ['libs/orders', 'libs/contracts', 'libs/users'],
        leave: ['libs/products', 'apps/web'],
      }),
    ).toEqual([
      '/*',
      '!/*/',
      '/apps/',
      '!/apps/*/',
      '/libs/',
      '!/libs/*/',
      '/libs/contracts/',
      '/libs/orders/',
      '/libs/shared/',
      '/libs/users/',
      '/tools/',
    ]);
  });

  it('says which files the cone holds: those directly in the root and walked folders, and inside kept ones', () => {
    const cone = sparseCone(root, { keep: ['libs/orders'], leave: ['libs/products', 'apps/web'] });
    if (!cone) throw new Error('expected a sparse cone');
    for (const held of [
      'package.json',
      'libs/README.md',
      'libs/orders/src/index.ts',
      'libs/shared/assets/logo.svg',
      'tools/scripts/x.js',
      'apps/x.md',
    ])
      expect([held, coneHolds(cone, held)]).toEqual([held, true]);
    for (const left of ['libs/products/src/index.ts', 'apps/web/e2e/app.spec.ts', 'libs/products/package.json'])
      expect([left, coneHolds(cone, left)]).toEqual([left, false]);
  });

  it('sees a folder added to the workspace since the last cone it worked out', () => {
    const checkout = { keep: ['libs/orders'], leave: ['libs/products'] };
    expect(sparsePatterns(root, checkout)).not.toContain('/libs/payments/');
    mkdirSync(join(root, 'libs', 'payments'));
    mkdirSync(join(root, 'docs'));
    expect(sparsePatterns(root, checkout)).toEqual(expect.arrayContaining(['/libs/payments/', '/docs/']));
  });

  it('is undefined when nothing would be left out, or a kept project is the workspace root', () => {
    expect(sparsePatterns(root, { keep: ['libs/orders'], leave: [] })).toBeUndefined();
    expect(sparsePatterns(root, { keep: ['.', 'libs/orders'], leave: ['libs/products'] })).toBeUndefined();
    expect(sparsePatterns(root, { keep: ['libs/orders'], leave: ['.'] })).toBeUndefined();
  });

  it('keeps a left-out project that holds a kept one, and one inside a kept project', () => {
    expect(sparsePatterns(root, { keep: ['apps/web/e2e'], leave: ['apps/web', 'libs/products'] })).toEqual([
      '/*',
      '!/*/',
      '/apps/',
      '/libs/',
      '!/libs/*/',
      '/libs/contracts/',
      '/libs/orders/',
      '/libs/shared/',
      '/libs/users/',
      '/tools/',
    ]);
    expect(sparsePatterns(root, { keep: ['apps/web'], leave: ['apps/web/e2e'] })).toBeUndefined();
  });

  it('escapes glob characters in folder names', () => {
    mkdirSync(join(root, 'libs', 'odd[1]*'));
    expect(sparsePatterns(root, { keep: ['libs/orders'], leave: ['libs/products'] })).toContain('/libs/odd\\[1\\]\\*/');
  });

  it('gives literal pathspecs for the files directly in the root and walked folders of every root, and the whole folders', () => {
    write(root, 'nx.json', '{}');
    write(root, 'libs/README.md', '# libs');
    const worktree = mkdtempSync(join(tmpdir(), 'fanout-sparse-worktree-'));
    write(worktree, 'deleted-in-the-workspace.json', '{}');
    write(worktree, '.git', 'gitdir: elsewhere');
    const cone = sparseCone(root, { keep: ['libs/orders'], leave: ['libs/products', 'libs/users', 'libs/contracts', 'apps/web'] });
    expect(cone && conePathspecs(cone, [root, worktree])).toEqual(
      ['deleted-in-the-workspace.json', 'libs/README.md', 'libs/orders', 'libs/shared', 'nx.json', 'tools'].map(
        (path) => `:(top,literal)${path}`,
      ),
    );
    rmSync(worktree, { recursive: true, force: true });
  });
});

describe('a sparse worktree', () => {
  let workspace: TestWorkspace;
  const checkout = { keep: ['libs/orders', 'libs/contracts', 'libs/users'], leave: ['libs/products', 'libs/invoices'] };

  beforeEach(() => {
    workspace = createWorkspace(['orders', 'products', 'invoices']);
    write(workspace.root, 'tools/agent.js', '// a script a command agent runs\n');
    gitIn(workspace.root, 'add', '-A');
    gitIn(workspace.root, 'commit', '-q', '-m', 'tools');
  });
  afterEach(() => workspace.remove());

  it('holds the kept projects and what is no project, not the other projects, and leaves the repository config alone', async () => {
    const configBefore = readFileSync(join(workspace.root, '.git', 'config'), 'utf-8');
    const worktree = await createWorktree(workspace.root, 'orders', [], checkout);
    expect(worktree.sparse).toBe(true);
    for (const file of [
      'libs/orders/src/index.ts',
      'libs/contracts/src/index.ts',
      'libs/users/src/index.ts',
      'tools/agent.js',
      'AGENTS.md',
    ]) {
      expect(existsSync(join(worktree.path, file))).toBe(true);
    }
    expect(existsSync(join(worktree.path, 'libs/products'))).toBe(false);
    expect(existsSync(join(worktree.path, 'libs/invoices'))).toBe(false);
    // A sparse index: a left-out project is one directory entry of the worktree's index, not one per
    // file; git marks such an index with its "sdir" extension (gitformat-index).
    const gitDir = gitIn(worktree.path, 'rev-parse', '--absolute-git-dir').trim();
    expect(readFileSync(join(gitDir, 'index')).includes('sdir')).toBe(true);
    expect(await sessionChanges(workspace.root, worktree)).toEqual([]);
    // A git without fanout's settings there (an agent's own `git status`) reads the same worktree.
    write(worktree.path, 'libs/orders/src/orders.ts', 'export const orders = 1;\n');
    expect(gitIn(worktree.path, 'status', '--porcelain')).toBe('?? libs/orders/src/orders.ts\n');
    expect(readFileSync(join(workspace.root, '.git', 'config'), 'utf-8')).toBe(configBefore);
    await removeWorktree(workspace.root, 'orders');
  });

  it("sees every write, also into a left-out project, and lays the user's uncommitted files over what it holds", async () => {
    write(workspace.root, 'libs/invoices/src/draft.ts', 'export const elsewhere = 1;\n');
    write(workspace.root, 'libs/contracts/src/draft.ts', 'export const kept = 1;\n');
    write(workspace.root, 'notes.md', 'uncommitted\n');
    // Tracked files the user deleted and has not committed: one directly in the root, one in a kept folder.
    rmSync(join(workspace.root, 'tools/agent.js'));
    rmSync(join(workspace.root, 'AGENTS.md'));
    const worktree = await createWorktree(workspace.root, 'orders', [], checkout);
    expect(existsSync(join(worktree.path, 'AGENTS.md'))).toBe(false);
    expect(existsSync(join(worktree.path, 'tools/agent.js'))).toBe(false);
    expect(existsSync(join(worktree.path, 'libs/orders/src/index.ts'))).toBe(true);
    expect(readFileSync(join(worktree.path, 'libs/contracts/src/draft.ts'), 'utf-8')).toBe('export const kept = 1;\n');
    expect(readFileSync(join(worktree.path, 'notes.md'), 'utf-8')).toBe('uncommitted\n');
    expect(existsSync(join(worktree.path, 'libs/invoices'))).toBe(false);
    write(worktree.path, 'libs/orders/src/orders.ts', 'export const orders = 1;\n');
    write(worktree.path, 'libs/products/src/index.ts', 'export const overwritten = true;\n');
    write(worktree.path, 'libs/products/src/new.ts', 'export const added = true;\n');
    const changes = await sessionChanges(workspace.root, worktree);
    expect(changes.sort((a, b) => a.path.localeCompare(b.path))).toEqual([
      { path: 'libs/orders/src/orders.ts', status: 'added' },
      { path: 'libs/products/src/index.ts', status: 'modified' },
      { path: 'libs/products/src/new.ts', status: 'added' },
    ]);
    await removeWorktree(workspace.root, 'orders');
  });

  it('starts from HEAD itself in a clean workspace, and from a commit of what it laid over HEAD otherwise', async () => {
    const head = gitIn(workspace.root, 'rev-parse', 'HEAD').trim();
    const clean = await createWorktree(workspace.root, 'orders', [], checkout);
    expect(clean.baseline).toBe(head);
    await removeWorktree(workspace.root, 'orders');
    write(workspace.root, 'libs/contracts/src/draft.ts', 'export const kept = 1;\n');
    const laid = await createWorktree(workspace.root, 'orders', [], checkout);
    expect(laid.baseline).not.toBe(head);
    expect(gitIn(laid.path, 'rev-parse', `${laid.baseline}^`).trim()).toBe(head);
    expect(await sessionChanges(workspace.root, laid)).toEqual([]);
    await removeWorktree(workspace.root, 'orders');
    rmSync(join(workspace.root, 'libs/contracts/src/draft.ts'));
  });

  it('hands the removal after the move to `later`: the folder is gone at once, the branch when that runs', async () => {
    const worktree = await createWorktree(workspace.root, 'orders', [], checkout);
    const handed: (() => Promise<void>)[] = [];
    await removeWorktree(workspace.root, 'orders', (work) => void handed.push(work));
    expect(existsSync(worktree.path)).toBe(false);
    expect(handed).toHaveLength(1);
    expect(gitIn(workspace.root, 'branch', '--list', 'fanout/orders').trim()).not.toBe('');
    await handed[0]();
    expect(gitIn(workspace.root, 'branch', '--list', 'fanout/orders').trim()).toBe('');
    expect(gitIn(workspace.root, 'worktree', 'list', '--porcelain').match(/^worktree /gm)).toHaveLength(1);
    expect(readdirSync(join(workspace.root, '.fanout', 'trash'))).toEqual([]);
  });

  it("ends what the session's agents left running in the worktree: at once, or when the handed-over removal runs", async () => {
    const alive = (pid: number) => {
      try {
        process.kill(pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    // A helper that left the agent's process group (as setsid does), given the worktree as every agent is.
    const stray = (path: string) => {
      const child = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], {
        detached: true,
        stdio: 'ignore',
        env: { ...process.env, FANOUT_WORKTREE: path },
      });
      child.unref();
      return child.pid as number;
    };
    const until = async (done: () => boolean) => {
      for (let waited = 0; !done() && waited < 5000; waited += 50) await new Promise((resolve) => setTimeout(resolve, 50));
    };

    const now = await createWorktree(workspace.root, 'orders', [], checkout);
    const first = stray(now.path);
    await removeWorktree(workspace.root, 'orders');
    await until(() => !alive(first));
    expect(alive(first)).toBe(false);

    const deferred = await createWorktree(workspace.root, 'orders', [], checkout);
    const second = stray(deferred.path);
    const handed: (() => Promise<void>)[] = [];
    await removeWorktree(workspace.root, 'orders', (work) => void handed.push(work));
    expect(alive(second)).toBe(true);
    await handed[0]();
    await until(() => !alive(second));
    expect(alive(second)).toBe(false);
  });

  it('is what a session gets: a write into a left-out project fails the session and nothing is integrated', async () => {
    const script = agentScript(
      workspace,
      'outside',
      "fs.mkdirSync('libs/products/src', { recursive: true }); fs.writeFileSync('libs/products/src/index.ts', 'export const taken = 1;\\n');" +
        "fs.writeFileSync('libs/orders/src/index.ts', 'export const orders = 1;\\n');",
    );
    const result = await runAndLand(sessionSpec(workspace.root, 'orders', commandTask(`node ${script}`), { sparse: checkout }));
    expect(result.status).toBe('failed');
    expect(result.rejected).toEqual([expect.objectContaining({ path: 'libs/products/src/index.ts', reason: 'outside-scope' })]);
    expect(readFileSync(join(workspace.root, 'libs/products/src/index.ts'), 'utf-8')).toBe('export {};\n');
    expect(readFileSync(join(workspace.root, 'libs/orders/src/index.ts'), 'utf-8')).toBe('export {};\n');
  });
});

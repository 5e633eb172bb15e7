import { runAndLand } from '../../testing/run-and-land';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'fs';
import { join } from 'path';
import { agentScript, commandTask, createWorkspace, gitIn, sessionSpec, write, type TestWorkspace } from '../../testing/git-workspace';
import { parseAssignment } from './assignment';
import { assembleBase } from './prompt';
import { type SessionSpec } from './session-spec';
import { bytes } from '../../testing/workspace-bytes';

/**
 * The user's work in the workspace: uncommitted files inside a task's scope stop
 * the task before it starts; every other uncommitted change, staged or not,
 * stays byte for byte as it was; the contracts, the reference and the assignment
 * are read-only to sessions even where a scope covers them.
 */

const fanoutBranches = (root: string) => gitIn(root, 'branch', '--list', 'fanout/*').trim();

describe("the user's work", () => {
  let ws: TestWorkspace;

  beforeEach(() => {
    ws = createWorkspace(['orders', 'products']);
    write(ws.root, 'libs/orders/src/lib/old.ts', 'export const old = 1;\n');
    gitIn(ws.root, 'add', '-A');
    gitIn(ws.root, 'commit', '-q', '-m', 'old');
  });

  afterEach(() => ws.remove());

  it.each([
    ['the whole workspace', undefined],
    ['a sparse checkout', { keep: ['libs/orders', 'libs/contracts', 'libs/users'], leave: ['libs/products'] }],
  ])('blocks a task whose scope holds uncommitted changes, naming them and what to do, before anything runs (%s)', async (_, sparse) => {
    const ran = join(ws.scripts, 'ran');
    const script = agentScript(
      ws,
      'writer',
      `fs.writeFileSync(${JSON.stringify(ran)}, 'ran'); fs.writeFileSync('libs/orders/src/index.ts', 'export const v = 1;\\n');`,
    );
    const spec = sessionSpec(ws.root, 'orders', commandTask(`node ${script}`), sparse ? { sparse } : {});
    writeFileSync(join(ws.root, 'libs/orders/src/index.ts'), '// my work in progress\n');
    write(ws.root, 'libs/orders/src/notes.ts', '// untracked, mine\n');
    rmSync(join(ws.root, 'libs/orders/src/lib/old.ts'));
    const before = bytes(ws.root);
    const status = gitIn(ws.root, 'status', '--porcelain');

    const result = await runAndLand(spec);

    expect(result.status).toBe('failed');
    expect(result.error).toBe(
      "uncommitted changes of yours inside this task's scope (libs/orders/src): libs/orders/src/index.ts, " +
        'libs/orders/src/lib/old.ts, libs/orders/src/notes.ts. The session may rewrite or delete any file there, so it ' +
        'was not started. Commit or stash them (git stash push --include-untracked -- libs/orders/src), or move them ' +
        'out of the scope, then run the task again.',
    );
    expect(existsSync(ran)).toBe(false);
    expect(existsSync(join(ws.root, '.fanout/worktrees/orders'))).toBe(false);
    expect(fanoutBranches(ws.root)).toBe('');
    expect(bytes(ws.root)).toEqual(before);
    expect(gitIn(ws.root, 'status', '--porcelain')).toBe(status);

    // Once they are committed, the same task runs.
    gitIn(ws.root, 'add', '-A', 'libs/orders/src');
    gitIn(ws.root, 'commit', '-q', '-m', 'my work');
    const again = await runAndLand(spec);
    expect(again.error).toBeUndefined();
    expect(existsSync(ran)).toBe(true);
  });

  it('leaves every other uncommitted change byte-identical, staged ones staged, when it integrates', async () => {
    const script = agentScript(
      ws,
      'writer',
      `fs.writeFileSync('libs/orders/src/orders.ts', 'export const orders = [];\\n');
       fs.writeFileSync('libs/orders/src/index.ts', "export * from './orders';\\n");`,
    );
    const spec = sessionSpec(ws.root, 'orders', commandTask(`node ${script}`));
    // The user's work everywhere but in the task's scope.
    write(ws.root, 'libs/users/src/index.ts', "export const USERS = 'people';\n");
    gitIn(ws.root, 'add', 'libs/users/src/index.ts');
    write(ws.root, 'libs/users/src/index.ts', "export const USERS = 'people'; // and more\n");
    write(ws.root, 'libs/contracts/src/index.ts', 'export interface User { id: string }\n');
    write(ws.root, 'notes/todo.md', '- first\r\n- second, no newline at the end');
    mkdirSync(join(ws.root, 'assets'));
    writeFileSync(join(ws.root, 'assets/logo.bin'), Buffer.from(Array.from({ length: 256 }, (_, index) => index)));
    rmSync(join(ws.root, 'libs/products/src/index.ts'));
    write(ws.root, 'libs/orders/README.md', '# orders, outside the scope\n');
    const before = bytes(ws.root);
    const staged = gitIn(ws.root, 'diff', '--cached', '--name-status');
    const status = gitIn(ws.root, 'status', '--porcelain', '--untracked-files=all').split('\n').filter(Boolean);

    const result = await runAndLand(spec);

    expect(result.error).toBeUndefined();
    expect(result.files.map((file) => file.path).sort()).toEqual(['libs/orders/src/index.ts', 'libs/orders/src/orders.ts']);
    const after = bytes(ws.root);
    expect({ ...after, 'libs/orders/src/index.ts': undefined, 'libs/orders/src/orders.ts': undefined }).toEqual({
      ...before,
      'libs/orders/src/index.ts': undefined,
    });
    expect(gitIn(ws.root, 'diff', '--cached', '--name-status')).toBe(staged);
    expect(gitIn(ws.root, 'status', '--porcelain', '--untracked-files=all').split('\n').filter(Boolean).sort()).toEqual(
      [...status, ' M libs/orders/src/index.ts', '?? libs/orders/src/orders.ts'].sort(),
    );
  });

  describe('the contracts, the reference and the assignment are read-only', () => {
    /** A task whose project is the workspace root, scope ".": everything is inside its scope. */
    function rootTask(script: string): SessionSpec {
      const fanoutMd = commandTask(`node ${script}`, 'scope: "."\n');
      write(ws.root, 'fanout.md', fanoutMd);
      const contracts = { project: 'contracts', root: 'libs/contracts', importPath: '@ws/contracts' };
      const reference = { project: 'users', root: 'libs/users' };
      return {
        workspaceRoot: ws.root,
        project: 'app',
        projectRoot: '.',
        assignment: parseAssignment(fanoutMd, 'fanout.md'),
        contracts,
        reference,
        base: assembleBase({ workspaceRoot: ws.root, conventions: ['AGENTS.md'], contracts, reference }),
        copyFiles: [],
        portBase: 20_000,
        echo: false,
        // The rejection itself is what these tests look at; repair rounds have their own spec.
        repairs: 0,
      };
    }

    it('rejects a session that edits them, even with a scope that covers them, and keeps the workspace copies as they were', async () => {
      const script = agentScript(
        ws,
        'tamper',
        `fs.appendFileSync('libs/contracts/src/index.ts', 'export type Hack = 1;\\n');
         fs.rmSync('libs/users/src/index.ts');
         fs.writeFileSync('libs/users/src/extra.ts', 'export const extra = 1;\\n');
         fs.appendFileSync('fanout.md', 'Also give yourself a wider scope next time.\\n');
         fs.mkdirSync('src', { recursive: true });
         fs.writeFileSync('src/app.ts', 'export const app = 1;\\n');`,
      );
      const spec = rootTask(script);
      // An uncommitted edit of the user's to the contracts: the session starts from it, and it must survive.
      write(ws.root, 'libs/contracts/src/index.ts', 'export interface User { id: string; email: string }\n');
      const before = bytes(ws.root);

      const result = await runAndLand(spec);

      expect(result.status).toBe('failed');
      expect([...result.rejected].sort((a, b) => a.path.localeCompare(b.path))).toEqual([
        { path: 'fanout.md', status: 'modified', reason: 'read-only' },
        { path: 'libs/contracts/src/index.ts', status: 'modified', reason: 'read-only' },
        { path: 'libs/users/src/extra.ts', status: 'added', reason: 'read-only' },
        { path: 'libs/users/src/index.ts', status: 'deleted', reason: 'read-only' },
      ]);
      expect(result.error).toContain(
        'the contracts (libs/contracts), the reference (libs/users) and the assignment (fanout.md) are read-only',
      );
      expect(bytes(ws.root)).toEqual(before);
      expect(existsSync(join(ws.root, 'src/app.ts'))).toBe(false);
    });
  });
});

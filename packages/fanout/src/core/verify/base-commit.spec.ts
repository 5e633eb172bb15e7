import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { createWorkspace, gitIn, write, type TestWorkspace } from '../../testing/git-workspace';
import { chooseBaseCommit } from './base-commit';

const TASKS = ['orders', 'products'];
/** What the tasks' cache keys depend on in the test workspace. */
const INPUT_PATHS = [...TASKS.map((task) => `libs/${task}/fanout.md`), 'libs/users', 'libs/contracts', 'AGENTS.md'];
const ASSIGNMENT = '---\nlike: users\ncontracts: contracts\n---\n\nBuild it.\n';

const head = (root: string) => gitIn(root, 'rev-parse', 'HEAD').trim();
const short = (commit: string) => commit.slice(0, 7);
const sessions = (...baseCommits: string[]) => baseCommits.map((baseCommit, index) => ({ project: TASKS[index % 2], baseCommit }));

function commitAll(root: string, message: string): string {
  gitIn(root, 'add', '-A');
  gitIn(root, 'commit', '-q', '--allow-empty', '-m', message);
  return head(root);
}

describe('chooseBaseCommit', () => {
  let a: TestWorkspace;
  /** Other clones and repositories a test makes, removed after it. */
  let extra: string[] = [];
  const folder = (name: string) => {
    const path = mkdtempSync(join(tmpdir(), `fanout-base-${name}-`));
    extra.push(path);
    return path;
  };

  beforeEach(() => {
    a = createWorkspace(TASKS);
  });
  afterEach(() => {
    a.remove();
    for (const path of extra) rmSync(path, { recursive: true, force: true });
    extra = [];
  });

  it('is the commit the sessions recorded, when the repository has it', async () => {
    for (const task of TASKS) write(a.root, `libs/${task}/fanout.md`, ASSIGNMENT);
    const tasks = commitAll(a.root, 'tasks');

    expect(await chooseBaseCommit({ workspaceRoot: a.root, results: sessions(tasks, tasks), inputPaths: INPUT_PATHS })).toEqual({
      commit: tasks,
      source: 'recorded',
      note: `base ${short(tasks)} (recorded by the sessions)`,
    });
  });

  it('is the newest commit the recorded bases share, when sessions started from different commits', async () => {
    const first = head(a.root);
    const second = commitAll(a.root, 'second');

    const base = await chooseBaseCommit({ workspaceRoot: a.root, results: sessions(second, first), inputPaths: INPUT_PATHS });

    expect(base.commit).toBe(first);
    expect(base.source).toBe('recorded');
    expect(base.note).toContain(`the newest commit the sessions' recorded bases`);
  });

  it("in a clone that replayed another clone's sessions, is the last commit that changed the tasks' inputs there, and says why", async () => {
    // B is cloned before A commits its tasks, then commits the same files itself: same inputs, other commits.
    const b = join(folder('clone'), 'b');
    gitIn(a.root, 'clone', '-q', a.root, b);
    for (const task of TASKS) write(a.root, `libs/${task}/fanout.md`, ASSIGNMENT);
    const recorded = commitAll(a.root, 'tasks');
    for (const task of TASKS) write(b, `libs/${task}/fanout.md`, ASSIGNMENT);
    commitAll(b, 'the same tasks, committed in this clone');
    write(b, 'libs/contracts/src/index.ts', 'export interface User { id: string }\n');
    const inputsChanged = commitAll(b, 'contracts');
    write(b, 'README.md', '# Not an input\n');
    commitAll(b, 'readme');

    expect(await chooseBaseCommit({ workspaceRoot: b, results: sessions(recorded, recorded), inputPaths: INPUT_PATHS })).toEqual({
      commit: inputsChanged,
      source: 'inputs',
      note:
        `base ${short(inputsChanged)}: the recorded base ${short(recorded)} is not in this repository (a replay from another clone's cache); ` +
        "using the last commit that changed the tasks' inputs",
    });
  });

  it('falls back the same way when only some of the recorded bases are missing, naming those', async () => {
    const here = head(a.root);
    const elsewhere = 'c'.repeat(40);

    const base = await chooseBaseCommit({ workspaceRoot: a.root, results: sessions(here, elsewhere), inputPaths: INPUT_PATHS });

    expect(base).toMatchObject({ commit: here, source: 'inputs' });
    expect(base.note).toContain(`the recorded base ${short(elsewhere)} is not in this repository`);
  });

  it('falls back when no session recorded a base', async () => {
    const base = await chooseBaseCommit({ workspaceRoot: a.root, results: [], inputPaths: INPUT_PATHS });

    expect(base).toMatchObject({ commit: head(a.root), source: 'inputs' });
    expect(base.note).toContain('no session recorded the commit it started from');
  });

  it('is the merge base with the default branch when no commit changed the inputs, origin/HEAD first', async () => {
    const forkPoint = head(a.root);
    gitIn(a.root, 'checkout', '-q', '-b', 'feature');
    write(a.root, 'README.md', '# Feature\n');
    commitAll(a.root, 'feature work');
    const uncommitted = ['libs/orders/fanout.md'];

    expect(await chooseBaseCommit({ workspaceRoot: a.root, results: sessions('d'.repeat(40)), inputPaths: uncommitted })).toMatchObject({
      commit: forkPoint,
      source: 'merge-base',
      note: expect.stringContaining("no commit changed the tasks' inputs; using the merge base of HEAD and main"),
    });

    // A clone whose default branch is neither main nor master still has origin/HEAD.
    gitIn(a.root, 'branch', '-q', '-m', 'main', 'trunk');
    gitIn(a.root, 'checkout', '-q', 'trunk');
    const clone = join(folder('trunk'), 'clone');
    gitIn(a.root, 'clone', '-q', a.root, clone);
    gitIn(clone, 'checkout', '-q', '-b', 'feature');
    commitAll(clone, 'feature work');
    expect(await chooseBaseCommit({ workspaceRoot: clone, results: [], inputPaths: uncommitted })).toMatchObject({
      commit: forkPoint,
      source: 'merge-base',
      note: expect.stringContaining('using the merge base of HEAD and origin/HEAD'),
    });
  });

  it('throws, saying what it tried and what to do, when no base exists', async () => {
    gitIn(a.root, 'branch', '-q', '-m', 'main', 'trunk');
    const missing = 'e'.repeat(40);

    const choosing = chooseBaseCommit({ workspaceRoot: a.root, results: sessions(missing), inputPaths: ['libs/orders/fanout.md'] });

    await expect(choosing).rejects.toThrow(`the recorded base ${short(missing)} is not in this repository`);
    await expect(choosing).rejects.toThrow("no commit changed the tasks' inputs (libs/orders/fanout.md)");
    await expect(choosing).rejects.toThrow('Pass --base=<commit>');
  });

  it('never hands git a recorded base that is not a commit id', async () => {
    const hostile = '--output=/tmp/fanout-base-hostile';

    const base = await chooseBaseCommit({ workspaceRoot: a.root, results: sessions(hostile), inputPaths: INPUT_PATHS });

    expect(base).toMatchObject({ commit: head(a.root), source: 'inputs' });
    expect(base.note).toContain(`the recorded base ${hostile} is not in this repository`);
  });

  it('takes --base as given when it names a commit here, and refuses one that does not, naming it', async () => {
    const recorded = head(a.root);
    gitIn(a.root, 'tag', 'before-tasks');

    expect(
      await chooseBaseCommit({ workspaceRoot: a.root, results: sessions(recorded), inputPaths: INPUT_PATHS, requested: 'before-tasks' }),
    ).toEqual({
      commit: 'before-tasks',
      source: 'option',
      note: 'base before-tasks (given with --base)',
    });
    for (const requested of ['cb6f1e5', 'no-such-branch', '--all']) {
      await expect(
        chooseBaseCommit({ workspaceRoot: a.root, results: sessions(recorded), inputPaths: INPUT_PATHS, requested }),
      ).rejects.toThrow(`--base=${requested} is not a commit of the repository at ${a.root}`);
    }
  });
});

import { runAndLand } from '../../testing/run-and-land';
import { existsSync, readdirSync, readFileSync } from 'fs';
import { join } from 'path';
import { commandTask, createWorkspace, gitIn, sessionSpec, type TestWorkspace } from '../../testing/git-workspace';
import { CHECKS } from '../checks/registry';

/**
 * Git under concurrency: sixteen sessions of one repository create worktrees,
 * commit their baselines and integrate at the same time. What git cannot do
 * concurrently (worktree add/remove, branch changes, integration) is serialized
 * by the workspace lock; nothing may fail on index.lock or a ref lock.
 */
describe('sixteen sessions at once', () => {
  let ws: TestWorkspace;

  // Real processes and git on a shared machine: a generous bound, not a speed requirement.
  jest.setTimeout(180_000);

  afterEach(() => ws.remove());

  it('all integrate, and leave no worktree, branch or lock behind', async () => {
    const projects = Array.from({ length: 16 }, (_, index) => `task${index}`);
    ws = createWorkspace(projects);
    // A quick agent that starts no node process of its own: it copies its prompt into its scope.
    // The code checks are off: they are not what this test is about, and they cost CPU, not git.
    const checks = { checks: Object.fromEntries(CHECKS.map((check) => [check.name, 'off' as const])) };
    const results = await Promise.all(
      projects.map((project) =>
        runAndLand(sessionSpec(ws.root, project, commandTask('cp {promptFile} {projectRoot}/src/prompt.md'), { checks })),
      ),
    );

    expect(results.filter((result) => result.status !== 'succeeded').map((result) => `${result.project}: ${result.error}`)).toEqual([]);
    for (const project of projects) {
      expect(readFileSync(join(ws.root, `libs/${project}/src/prompt.md`), 'utf-8')).toContain(`Write only inside: libs/${project}/src.`);
    }
    expect(gitIn(ws.root, 'worktree', 'list', '--porcelain').match(/^worktree /gm)).toHaveLength(1);
    expect(gitIn(ws.root, 'branch', '--list', '--format=%(refname:short)', 'fanout/*').trim()).toBe('');
    expect(existsSync(join(ws.root, '.fanout/git.lock'))).toBe(false);
    expect(readdirSync(join(ws.root, '.git')).filter((name) => name.endsWith('.lock'))).toEqual([]);
    expect(gitIn(ws.root, 'fsck', '--no-progress', '--no-dangling').trim()).toBe('');
  });
});

import { execFileSync } from 'child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { headCommit, headCommitSync, headFromFiles } from './git';

/** HEAD read from a repository's files: what git says, or undefined where git must be asked. */
describe('headFromFiles', () => {
  let root: string;
  const git = (cwd: string, ...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], { cwd, encoding: 'utf-8' }).trim();
  const revParse = (cwd: string) => git(cwd, 'rev-parse', '--verify', '-q', 'HEAD');

  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'fanout-head-'));
    git(root, 'init', '-q', '-b', 'main');
  });

  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const commit = (message: string) => {
    writeFileSync(join(root, `${message}.txt`), message);
    git(root, 'add', '-A');
    git(root, 'commit', '-q', '-m', message);
  };

  it('is undefined before the first commit, and headCommit says there is none', async () => {
    expect(headFromFiles(root)).toBeUndefined();
    await expect(headCommit(root)).resolves.toBe('');
    expect(headCommitSync(root)).toBe('');
  });

  it('headCommitSync says there is none outside a git repository', () => {
    const outside = mkdtempSync(join(tmpdir(), 'fanout-head-outside-'));
    try {
      expect(headCommitSync(outside)).toBe('');
    } finally {
      rmSync(outside, { recursive: true, force: true });
    }
  });

  it("reads a branch's loose ref", async () => {
    commit('one');
    expect(headFromFiles(root)).toBe(revParse(root));
    await expect(headCommit(root)).resolves.toBe(revParse(root));
  });

  it('reads a packed ref, and the loose one that overrides it after a commit', () => {
    commit('one');
    git(root, 'pack-refs', '--all');
    expect(headFromFiles(root)).toBe(revParse(root));
    commit('two');
    expect(headFromFiles(root)).toBe(revParse(root));
  });

  it('reads a detached HEAD', () => {
    commit('one');
    commit('two');
    git(root, 'checkout', '-q', '--detach', 'HEAD~1');
    expect(headFromFiles(root)).toBe(revParse(root));
  });

  it("reads a linked worktree's HEAD from the repository's common folder", () => {
    commit('one');
    const linked = join(root, 'linked');
    git(root, 'worktree', 'add', '-q', '-b', 'other', linked);
    writeFileSync(join(linked, 'two.txt'), 'two');
    git(linked, 'add', '-A');
    git(linked, 'commit', '-q', '-m', 'two');
    expect(headFromFiles(linked)).toBe(revParse(linked));
    expect(headFromFiles(linked)).not.toBe(headFromFiles(root));
  });

  it('is undefined in a subfolder of a repository, where headCommit asks git', async () => {
    commit('one');
    const sub = join(root, 'packages', 'app');
    mkdirSync(sub, { recursive: true });
    expect(headFromFiles(sub)).toBeUndefined();
    await expect(headCommit(sub)).resolves.toBe(revParse(root));
    expect(headCommitSync(sub)).toBe(revParse(root));
  });
});

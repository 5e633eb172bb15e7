import {
  copyFileSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
  type Dirent,
} from 'fs';
import { dirname, join, resolve } from 'path';
import { commonDirOf, dirtyPaths, git, gitDirOf, headCommit } from '../system/git';
import { present } from '../system/files';
import { processAlive, withLock } from '../system/lock';
import { endStrays } from '../system/process';
import { parseNameStatus, type FileChange } from './scope';
import { GATE_SCRATCH_PATHS } from './gate';
import { linkModules } from './linked-modules';
import { FANOUT_DIR, lockPath, worktreePath } from '../../constants';
import { coneHolds, conePathspecs, conePatterns, sparseCone, type SparseCheckout, type SparseCone } from './sparse-checkout';

export interface Worktree {
  path: string;
  branch: string;
  /** The commit the session starts from: HEAD plus the user's uncommitted state. */
  baseline: string;
  /** Whether projects the session does not need were left out (a sparse checkout). */
  sparse?: boolean;
}

/**
 * Sparse checkout for one git command, leaving the user's repository configuration
 * alone: the patterns live in the worktree's own git folder, and only fanout's
 * commands read them. With a sparse index, a project left out is one entry of the
 * worktree's index instead of one per file (2 MB against 0.2 MB in a workspace of
 * 20,000 files), which every command that reads the index gains from. Any git
 * that runs without these settings in the worktree (an agent's `git status`)
 * still works: it expands the index as it reads it.
 */
const SPARSE = ['-c', 'core.sparseCheckout=true', '-c', 'core.sparseCheckoutCone=true', '-c', 'index.sparse=true'];

/** Runs git in a session's worktree, with the sparse settings when it is a sparse checkout. */
export function worktreeGit(worktree: Pick<Worktree, 'path' | 'sparse'>, args: string[]): Promise<string> {
  return git(worktree.path, worktree.sparse ? [...SPARSE, ...args] : args);
}

let sparseSupport: Promise<boolean> | undefined;

/**
 * Git 2.37 and later notice a file written outside the sparse patterns and stage
 * it (`add --sparse`); with an older git a session's write into a left-out project
 * would go unseen by the scope check, so worktrees are then checked out in full.
 */
function gitStagesOutsideSparse(cwd: string): Promise<boolean> {
  sparseSupport ??= git(cwd, ['version']).then(
    (output) => {
      const [major, minor] = (/(\d+)\.(\d+)/.exec(output) ?? []).slice(1).map(Number);
      return major > 2 || (major === 2 && minor >= 37);
    },
    () => false,
  );
  return sparseSupport;
}

/**
 * What a session must not see as its own change: the shared node_modules link
 * (a symlink, which a `node_modules/` ignore pattern does not match), and what
 * Nx writes when the gate runs it in the worktree.
 */
const WORKTREE_EXCLUDES = ['/node_modules', ...GATE_SCRATCH_PATHS.map((path) => `/${path}/`)].join('\n') + '\n';

function stageAll(worktree: string, workspaceRoot: string, sparse = false): Promise<string> {
  const excludes = join(workspaceRoot, FANOUT_DIR, 'worktree-excludes');
  if (!existsSync(excludes) || readFileSync(excludes, 'utf-8') !== WORKTREE_EXCLUDES) {
    // Written aside and renamed into place: a session starting meanwhile must never read it empty.
    mkdirSync(dirname(excludes), { recursive: true });
    const draft = `${excludes}.${process.pid}.${Math.random().toString(36).slice(2)}`;
    writeFileSync(draft, WORKTREE_EXCLUDES);
    renameSync(draft, excludes);
  }
  return worktreeGit({ path: worktree, sparse }, ['-c', `core.excludesFile=${excludes}`, 'add', '-A', ...(sparse ? ['--sparse'] : [])]);
}

/**
 * What must hold of the user's workspace before a session's worktree is made:
 * `check` is given the uncommitted changes under `paths` (with whatever else the
 * status held) and throws to refuse.
 */
export interface WorkspaceGuard {
  paths: readonly string[];
  check: (dirty: ReadonlyMap<string, 'deleted' | 'changed'>) => void;
}

/**
 * A git worktree for one session on branch `fanout/<project>`, made from HEAD
 * with the user's uncommitted files laid over it, so the session sees the
 * workspace as it is now (freshly generated projects included). node_modules is
 * linked, not reinstalled, with the workspace's own packages linked to the
 * worktree's copies (linkModules). A worktree, branch or ref lock left by an earlier
 * session (kept on failure, or left by a killed run) is cleared first. Given
 * `checkout`, the projects the session does not need are left out of it. Given
 * `guard`, the one status of the workspace the worktree needs covers its paths
 * too, and its check runs before anything is made.
 */
export async function createWorktree(
  workspaceRoot: string,
  project: string,
  copyFiles: readonly string[] = [],
  checkout?: SparseCheckout,
  guard?: WorkspaceGuard,
): Promise<Worktree> {
  const path = worktreePath(workspaceRoot, project);
  const branch = `fanout/${project}`;
  const cone = checkout && (await gitStagesOutsideSparse(workspaceRoot)) ? sparseCone(workspaceRoot, checkout) : undefined;
  const sparse = cone !== undefined;
  // Only what the worktree holds (git status over a whole large workspace takes seconds), and the guard's paths.
  const guarded = (guard?.paths ?? []).map((entry) => entry.replace(/\/+$/, ''));
  const whole = !cone || guarded.some((entry) => entry === '' || entry === '.');
  const dirty = await dirtyPaths(
    workspaceRoot,
    whole ? [] : [...conePathspecs(cone, [workspaceRoot]), ...guarded.map((entry) => `:(top,literal)${entry}`)],
  );
  guard?.check(dirty);
  // Under the lock only what touches the shared repository: registering the worktree and its branch.
  await withLock(lockPath(workspaceRoot), async () => {
    const add = () => git(workspaceRoot, ['worktree', 'add', '--force', '--no-checkout', '-B', branch, path, 'HEAD']);
    try {
      await add();
    } catch {
      // Usually nothing is left over, so the clean-up runs only when the first attempt fails.
      await removeWorktreeUnlocked(workspaceRoot, project);
      await add();
    }
  });
  if (cone) {
    const info = join(gitDirOf(path), 'info');
    mkdirSync(info, { recursive: true });
    writeFileSync(join(info, 'sparse-checkout'), `${conePatterns(cone).join('\n')}\n`);
  }
  await worktreeGit({ path, sparse }, ['reset', '--hard', '-q']);
  // What is laid over HEAD: the user's uncommitted files, and the files copied in.
  let laid = 0;
  for (const [file, state] of dirty) {
    if (file.startsWith(`${FANOUT_DIR}/`) || (cone && !coneHolds(cone, file))) continue;
    const target = join(path, file);
    if (state === 'deleted') {
      rmSync(target, { force: true });
      laid++;
    } else if (existsSync(join(workspaceRoot, file)) && lstatSync(join(workspaceRoot, file)).isFile()) {
      mkdirSync(dirname(target), { recursive: true });
      copyFileSync(join(workspaceRoot, file), target);
      laid++;
    }
  }
  if (cone) laid += layDeletions(workspaceRoot, path, cone, dirty);
  for (const file of copyFiles) {
    const source = join(workspaceRoot, file);
    if (existsSync(source)) {
      mkdirSync(dirname(join(path, file)), { recursive: true });
      copyFileSync(source, join(path, file));
      laid++;
    }
  }
  linkModules(workspaceRoot, path);

  // Nothing laid over HEAD (a clean workspace, as in CI): HEAD is the baseline, and
  // staging and committing it again would only cost two git processes.
  if (laid > 0) {
    await stageAll(path, workspaceRoot, sparse);
    await worktreeGit({ path, sparse }, ['commit', '--no-verify', '--allow-empty', '-q', '-m', `fanout: baseline for ${project}`]);
  }
  // The branch's tip, read from git's files where it can be (as `git commit` has just written it).
  const baseline = await headCommit(path);
  return { path, branch, baseline, sparse };
}

/**
 * The user's deletions (uncommitted) of files directly in the root and the walked
 * folders of a sparse worktree: the status of the workspace is limited to the files
 * listed there, so it cannot name a file that is gone. Any file the checkout put
 * there (tracked, from HEAD) that the workspace no longer has is removed, as the
 * user removed it. Returns how many.
 */
function layDeletions(workspaceRoot: string, worktree: string, cone: SparseCone, dirty: ReadonlyMap<string, unknown>): number {
  let removed = 0;
  for (const folder of ['', ...cone.folders.filter((entry) => entry.walked).map((entry) => entry.path)]) {
    let entries: Dirent[] = [];
    try {
      entries = readdirSync(join(worktree, folder), { withFileTypes: true });
    } catch {
      continue; // Nothing of it in HEAD.
    }
    for (const entry of entries) {
      if (entry.isDirectory() || (folder === '' && entry.name === '.git')) continue;
      const file = folder === '' ? entry.name : `${folder}/${entry.name}`;
      if (dirty.has(file) || present(join(workspaceRoot, file))) continue;
      rmSync(join(worktree, file), { force: true });
      removed++;
    }
  }
  return removed;
}

/** Every file the session added, modified or deleted since the baseline. */
export async function sessionChanges(workspaceRoot: string, worktree: Worktree): Promise<FileChange[]> {
  await stageAll(worktree.path, workspaceRoot, worktree.sparse);
  return parseNameStatus(await worktreeGit(worktree, ['diff', '--cached', '--name-status', '--no-renames', '-z', worktree.baseline]));
}

/** Git holds a ref lock for milliseconds; one this old was left by a git process that was killed. */
const STALE_REF_LOCK_MS = 5_000;

/**
 * Removes the lock file of the session's branch if a killed git left it behind,
 * which would otherwise fail every later branch update with "File exists".
 * Called under the workspace lock, so no fanout git command is updating that branch.
 */
async function clearStaleRefLock(workspaceRoot: string, branch: string): Promise<void> {
  const common = resolve(workspaceRoot, (await git(workspaceRoot, ['rev-parse', '--git-common-dir'])).trim());
  const refLock = join(common, 'refs', 'heads', ...`${branch}.lock`.split('/'));
  try {
    if (Date.now() - statSync(refLock).mtimeMs > STALE_REF_LOCK_MS) rmSync(refLock, { force: true });
  } catch {
    // No lock: the usual case.
  }
}

async function removeWorktreeUnlocked(workspaceRoot: string, project: string): Promise<void> {
  const path = worktreePath(workspaceRoot, project);
  await clearStaleRefLock(workspaceRoot, `fanout/${project}`);
  if (existsSync(path)) {
    endStrays(path);
    await git(workspaceRoot, ['worktree', 'remove', '--force', '--force', path], { allowFailure: true });
    rmSync(path, { recursive: true, force: true });
  }
  await git(workspaceRoot, ['worktree', 'prune'], { allowFailure: true });
  await git(workspaceRoot, ['branch', '-D', `fanout/${project}`], { allowFailure: true });
}

/**
 * Removes a session's worktree and branch. The folder is moved aside at once and
 * deleted outside the lock (deleting is the slow part in a large workspace);
 * under the lock git forgets the worktree and the branch goes. Given `later`
 * (a batch, which waits for them before it ends), everything after the move is
 * handed to it, so the next session need not wait for it.
 */
export async function removeWorktree(workspaceRoot: string, project: string, later?: (work: () => Promise<void>) => void): Promise<void> {
  const path = worktreePath(workspaceRoot, project);
  const trash = join(workspaceRoot, FANOUT_DIR, 'trash');
  const aside = join(trash, `${process.pid}-${Math.random().toString(36).slice(2)}`);
  let moved = false;
  let admin: string | undefined;
  // What the session's agents left running (recognised by the worktree they were given, wherever
  // the folder is by then): at once, or with the rest when that is handed to `later`.
  const present = existsSync(path);
  if (present && !later) endStrays(path);
  if (present) {
    admin = ownAdminDir(workspaceRoot, path);
    mkdirSync(trash, { recursive: true });
    renameSync(path, aside);
    moved = true;
  }
  const rest = () => forgetWorktree(workspaceRoot, project, { admin, aside: moved ? aside : undefined, trash });
  if (!later) return rest();
  later(() => {
    if (present) endStrays(path);
    return rest();
  });
}

/** What removeWorktree does after moving the folder aside: git forgets the worktree and its branch, and the folder goes. */
async function forgetWorktree(
  workspaceRoot: string,
  project: string,
  { admin, aside, trash }: { admin?: string; aside?: string; trash: string },
): Promise<void> {
  await withLock(lockPath(workspaceRoot), async () => {
    // What `git worktree prune` would remove for this worktree, without a git process;
    // prune itself where the worktree's git folder is not where git keeps them.
    if (admin) rmSync(admin, { recursive: true, force: true });
    else await git(workspaceRoot, ['worktree', 'prune'], { allowFailure: true });
    await git(workspaceRoot, ['branch', '-D', `fanout/${project}`], { allowFailure: true });
  });
  if (aside) rmSync(aside, { recursive: true, force: true });
  // What a run killed between the move and the delete left behind.
  const left = existsSync(trash) ? readdirSync(trash, { withFileTypes: true }) : [];
  for (const entry of left.filter((item) => item.isDirectory())) {
    const pid = Number(entry.name.split('-')[0]);
    if (Number.isInteger(pid) && pid > 0 && pid !== process.pid && !processAlive(pid)) {
      rmSync(join(trash, entry.name), { recursive: true, force: true });
    }
  }
}

/**
 * The worktree's administrative folder (`<common git dir>/worktrees/<id>`, gitrepository-layout),
 * when the worktree's `.git` file points there and it points back at the worktree.
 */
function ownAdminDir(workspaceRoot: string, worktree: string): string | undefined {
  try {
    const admin = gitDirOf(worktree);
    const common = commonDirOf(admin);
    const back = readFileSync(join(admin, 'gitdir'), 'utf-8').trim();
    const inWorktrees = dirname(admin) === join(common, 'worktrees');
    return inWorktrees && resolve(back) === resolve(worktree, '.git') && resolve(workspaceRoot) !== resolve(worktree) ? admin : undefined;
  } catch {
    return undefined;
  }
}

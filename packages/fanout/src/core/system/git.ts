import { execFile, execFileSync } from 'child_process';
import { existsSync, readFileSync, statSync } from 'fs';
import { join, resolve } from 'path';

/** The identity fanout commits with inside session worktrees (never in the user's branch). */
const IDENTITY = ['-c', 'user.name=fanout', '-c', 'user.email=fanout@localhost', '-c', 'commit.gpgsign=false'];
/**
 * Many sessions run git at once: no automatic gc or maintenance (they take the
 * repository's packed-refs and gc locks), and no optional index lock for
 * `status`, which would make the user's own git commands fail meanwhile.
 */
const CONCURRENCY = ['-c', 'gc.auto=0', '-c', 'maintenance.auto=false'];
/** Never ask for credentials, and never take the index lock the user's own git commands need. */
const QUIET = { GIT_TERMINAL_PROMPT: '0', GIT_OPTIONAL_LOCKS: '0' };

class GitError extends Error {
  constructor(
    readonly args: string[],
    readonly stderr: string,
    readonly code: number | null,
  ) {
    super(`git ${args.join(' ')} failed${code === null ? '' : ` (exit ${code})`}: ${stderr.trim()}`);
    this.name = 'GitError';
  }
}

/** Runs git with an argv array (never a shell) and returns its stdout. */
export function git(cwd: string, args: string[], options: { allowFailure?: boolean } = {}): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      [...IDENTITY, ...CONCURRENCY, ...args],
      { cwd, maxBuffer: 256 * 1024 * 1024, env: { ...process.env, ...QUIET } },
      (error, stdout, stderr) => {
        if (error && !options.allowFailure) {
          reject(new GitError(args, String(stderr), typeof error.code === 'number' ? error.code : null));
        } else {
          resolve(String(stdout));
        }
      },
    );
  });
}

/** Paths with uncommitted changes (tracked or untracked, not ignored), workspace-relative. */
export async function dirtyPaths(cwd: string, pathspecs: string[] = []): Promise<Map<string, 'deleted' | 'changed'>> {
  const output = await git(cwd, ['status', '--porcelain=v1', '-z', '--untracked-files=all', '--no-renames', '--', ...pathspecs]);
  const result = new Map<string, 'deleted' | 'changed'>();
  for (const entry of output.split('\0')) {
    if (entry.length < 4) continue;
    const status = entry.slice(0, 2);
    result.set(entry.slice(3), status.includes('D') ? 'deleted' : 'changed');
  }
  return result;
}

const COMMIT = /^[0-9a-f]{40}([0-9a-f]{24})?$/;

/** The git folder of `root`: its `.git` folder, or the one a linked worktree's `.git` file points at. */
export function gitDirOf(root: string): string {
  const dotGit = join(root, '.git');
  if (!statSync(dotGit).isFile()) return dotGit;
  const pointer = /^gitdir:\s*(.+)$/m.exec(readFileSync(dotGit, 'utf-8'))?.[1]?.trim();
  if (!pointer) throw new Error(`${dotGit} names no git folder`);
  return resolve(root, pointer);
}

/** The repository's common git folder: the one a linked worktree's git folder names in `commondir`, else itself. */
export function commonDirOf(gitDir: string): string {
  const commondir = join(gitDir, 'commondir');
  return existsSync(commondir) ? resolve(gitDir, readFileSync(commondir, 'utf-8').trim()) : gitDir;
}

/**
 * The commit HEAD names, read from the repository's files when `root` is the top
 * of a plain repository or linked worktree whose branch is a loose or packed ref:
 * what `git rev-parse --verify -q HEAD` says, without a git process. Undefined for
 * anything else (a subfolder of a repository, a ref store of another kind, no
 * commit yet), where the caller asks git.
 */
export function headFromFiles(root: string): string | undefined {
  try {
    const gitDir = gitDirOf(root);
    const head = readFileSync(join(gitDir, 'HEAD'), 'utf-8').trim();
    if (COMMIT.test(head)) return head;
    const ref = /^ref:\s*(refs\/heads\/\S+)$/.exec(head)?.[1];
    if (!ref) return undefined;
    // A linked worktree keeps its refs in the repository's common folder.
    const common = commonDirOf(gitDir);
    if (existsSync(join(common, 'reftable'))) return undefined;
    const loose = join(common, ...ref.split('/'));
    if (existsSync(loose)) {
      const commit = readFileSync(loose, 'utf-8').trim();
      return COMMIT.test(commit) ? commit : undefined;
    }
    const packed = join(common, 'packed-refs');
    if (!existsSync(packed)) return undefined;
    for (const line of readFileSync(packed, 'utf-8').split('\n')) {
      const [commit, name] = line.trim().split(' ');
      if (name === ref && COMMIT.test(commit)) return commit;
    }
    return undefined;
  } catch {
    return undefined;
  }
}

const REV_PARSE_HEAD = ['rev-parse', '--verify', '-q', 'HEAD'];

/** The commit HEAD names ('' when there is none): from the files where they tell, else from git. */
export async function headCommit(root: string): Promise<string> {
  return headFromFiles(root) ?? (await git(root, REV_PARSE_HEAD, { allowFailure: true })).trim();
}

/** headCommit for callers that cannot wait, such as the report written on a task's way out; '' also when git fails. */
export function headCommitSync(root: string): string {
  const fromFiles = headFromFiles(root);
  if (fromFiles !== undefined) return fromFiles;
  try {
    return execFileSync('git', [...IDENTITY, ...CONCURRENCY, ...REV_PARSE_HEAD], {
      cwd: root,
      encoding: 'utf-8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ...QUIET },
    }).trim();
  } catch {
    return '';
  }
}

import { execFile } from 'child_process';

/** The identity fanout commits with inside session worktrees (never in the user's branch). */
const IDENTITY = ['-c', 'user.name=fanout', '-c', 'user.email=fanout@localhost', '-c', 'commit.gpgsign=false'];
/**
 * Many sessions run git at once: no automatic gc or maintenance (they take the
 * repository's packed-refs and gc locks), and no optional index lock for
 * `status`, which would make the user's own git commands fail meanwhile.
 */
const CONCURRENCY = ['-c', 'gc.auto=0', '-c', 'maintenance.auto=false'];

export class GitError extends Error {
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
      { cwd, maxBuffer: 256 * 1024 * 1024, env: { ...process.env, GIT_TERMINAL_PROMPT: '0', GIT_OPTIONAL_LOCKS: '0' } },
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

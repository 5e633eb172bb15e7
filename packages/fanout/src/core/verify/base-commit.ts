import { git } from '../system/git';
import type { SessionResult } from '../session/result';

/**
 * The base `fanout-verify` gives `nx affected`, and where it came from. The
 * sessions record the commit they started from, but a session can be replayed
 * from Nx's cache (local or remote) in another clone of the repository, whose
 * history may lack that commit: git then fails with "bad object". The base is
 * therefore the recorded one where this repository has it, else a commit it does
 * have that still counts every session's changes as affected.
 */
type BaseSource = 'option' | 'recorded' | 'inputs' | 'merge-base';

export interface BaseCommit {
  /** What `nx affected --base=` gets: a commit id, or the reference given with --base. */
  commit: string;
  source: BaseSource;
  /** One line for people: the base, and why it is that one. */
  note: string;
}

export interface BaseCommitInput {
  workspaceRoot: string;
  /** The sessions to verify, each with the commit it recorded as its start. */
  results: readonly Pick<SessionResult, 'project' | 'baseCommit'>[];
  /**
   * Workspace-relative paths the sessions' cache keys depend on: each task's
   * fanout.md, the contracts' and the references' roots, the conventions file.
   */
  inputPaths: readonly string[];
  /** --base, when given: used as it is, once git confirms it names a commit. */
  requested?: string;
}

/** Branches a clone's work usually starts from, in the order they are tried. */
const DEFAULT_BRANCHES = [
  { ref: 'refs/remotes/origin/HEAD', name: 'origin/HEAD' },
  { ref: 'refs/heads/main', name: 'main' },
  { ref: 'refs/heads/master', name: 'master' },
];

/** A result.json comes from a cache anyone with write access filled: only a hex id reaches git. */
const COMMIT_ID = /^[0-9a-f]{7,64}$/i;

const short = (commit: string) => (COMMIT_ID.test(commit) ? commit.slice(0, 7) : commit);
const list = (commits: readonly string[]) => commits.map(short).join(', ');

/** The full id of the commit `reference` names here, or undefined when this repository has none. */
async function resolveCommit(workspaceRoot: string, reference: string): Promise<string | undefined> {
  // A leading dash would be read as an option.
  if (reference.startsWith('-')) return undefined;
  const commit = (await git(workspaceRoot, ['rev-parse', '--verify', '--quiet', `${reference}^{commit}`], { allowFailure: true })).trim();
  return commit || undefined;
}

/** The newest commit all of `commits` descend from, or undefined when they share none. */
async function mergeBase(workspaceRoot: string, commits: readonly string[]): Promise<string | undefined> {
  if (commits.length === 1) return commits[0];
  const base = (await git(workspaceRoot, ['merge-base', '--octopus', ...commits], { allowFailure: true })).trim();
  return base || undefined;
}

/** Why the recorded base cannot be used, or the base itself. */
async function recordedBase(input: BaseCommitInput): Promise<BaseCommit | { reason: string }> {
  const recorded = [...new Set(input.results.map((result) => result.baseCommit).filter((commit): commit is string => Boolean(commit)))];
  if (recorded.length === 0) return { reason: 'no session recorded the commit it started from' };
  const found: string[] = [];
  const missing: string[] = [];
  for (const commit of recorded) {
    const resolved = COMMIT_ID.test(commit) ? await resolveCommit(input.workspaceRoot, commit) : undefined;
    if (resolved) found.push(resolved);
    else missing.push(commit);
  }
  if (missing.length > 0) {
    const one = missing.length === 1;
    return {
      reason: `the recorded base${one ? '' : 's'} ${list(missing)} ${one ? 'is' : 'are'} not in this repository (a replay from another clone's cache)`,
    };
  }
  const commit = await mergeBase(input.workspaceRoot, found);
  if (!commit) return { reason: `the recorded bases ${list(found)} share no commit` };
  const why = found.length === 1 ? 'recorded by the sessions' : `the newest commit the sessions' recorded bases ${list(found)} share`;
  return { commit, source: 'recorded', note: `base ${short(commit)} (${why})` };
}

/**
 * The base of `nx affected` for the sessions: --base when given (an error if it
 * names no commit here); else the commit the sessions recorded, if this
 * repository has it; else the last commit that changed the tasks' inputs (the
 * sessions' outputs are uncommitted changes on top of it); else the merge base
 * of HEAD with the default branch. Throws, saying why, when none exists.
 */
export async function chooseBaseCommit(input: BaseCommitInput): Promise<BaseCommit> {
  if (input.requested !== undefined) {
    if (!(await resolveCommit(input.workspaceRoot, input.requested))) {
      throw new Error(
        `--base=${input.requested} is not a commit of the repository at ${input.workspaceRoot}. ` +
          'Pass a commit id, branch or tag that git knows here (git log shows them), or leave --base out to use the commit the sessions recorded.',
      );
    }
    return { commit: input.requested, source: 'option', note: `base ${short(input.requested)} (given with --base)` };
  }

  const recorded = await recordedBase(input);
  if ('commit' in recorded) return recorded;

  const paths = [...new Set(input.inputPaths)];
  if (paths.length > 0) {
    // Literal: a project root is a path, never pathspec magic.
    const changed = (
      await git(input.workspaceRoot, ['--literal-pathspecs', 'log', '-1', '--format=%H', '--', ...paths], { allowFailure: true })
    ).trim();
    if (changed) {
      return {
        commit: changed,
        source: 'inputs',
        note: `base ${short(changed)}: ${recorded.reason}; using the last commit that changed the tasks' inputs`,
      };
    }
  }

  for (const { ref, name } of DEFAULT_BRANCHES) {
    if (!(await resolveCommit(input.workspaceRoot, ref))) continue;
    const base = (await git(input.workspaceRoot, ['merge-base', 'HEAD', ref], { allowFailure: true })).trim();
    if (!base) continue;
    return {
      commit: base,
      source: 'merge-base',
      note: `base ${short(base)}: ${recorded.reason}, and no commit changed the tasks' inputs; using the merge base of HEAD and ${name}`,
    };
  }

  throw new Error(
    `no base commit for nx affected: ${recorded.reason}, no commit changed the tasks' inputs (${paths.join(', ') || 'none known'}), ` +
      `and HEAD has no merge base with ${DEFAULT_BRANCHES.map((branch) => branch.name).join(', ')}. ` +
      'Pass --base=<commit>, or commit the tasks and run their sessions again (nx run-many -t fanout) so they record a commit of this repository.',
  );
}

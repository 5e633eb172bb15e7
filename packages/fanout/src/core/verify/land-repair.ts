import { createHash } from 'crypto';
import { existsSync, lstatSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { dirname, join } from 'path';
import { decideLanding, DELETED } from '../landing/decide';
import { readLanded, writeLanded } from '../landing/landed';
import { applyChanges, integrationDir, IntegrationRefused, recoverIntegrations, refuseWorkspaceLinks, sha256 } from '../session/integrate';
import type { FileChange } from '../session/scope';
import { describeConflicts, mergeWiredEdits } from '../session/wiring';
import type { Worktree } from '../session/worktree';
import { lockPath } from '../../constants';
import { syntaxError } from '../landing/syntax';
import { git, headCommit } from '../system/git';
import { withLock } from '../system/lock';
import type { PassedRepair } from './whole-repair';

/**
 * Landing a repair of the whole, and undoing every repair when the failure
 * persists. A repair lands as any session's work does, under the workspace lock and
 * all or nothing: each of its files by the landing rules (decideLanding: a file
 * the user changed since the repair started is theirs, and kept), each wired edit
 * merged three-way into the workspace's file, refused if it conflicts or leaves
 * the file unparsable. It lands as part of the session's record: what landed.json
 * says the record left is what the repair left, so landing the record again (a
 * replay from Nx's cache) does not undo the repair.
 */

/** Every file the repairs wrote, as it was before the first of them, and each landed.json they changed. */
export class RepairSnapshot {
  private readonly files = new Map<string, Buffer | undefined>();
  private readonly landed = new Map<string, string | undefined>();

  constructor(private readonly workspaceRoot: string) {}

  /** Keeps `path` as it is now, unless it was kept before. */
  keep(path: string): void {
    if (this.files.has(path)) return;
    const file = join(this.workspaceRoot, path);
    this.files.set(path, existsSync(file) && lstatSync(file).isFile() ? readFileSync(file) : undefined);
  }

  keepLanded(project: string): void {
    if (this.landed.has(project)) return;
    const file = join(integrationDir(this.workspaceRoot, project), 'landed.json');
    this.landed.set(project, existsSync(file) ? readFileSync(file, 'utf-8') : undefined);
  }

  get paths(): string[] {
    return [...this.files.keys()].sort();
  }

  /** Puts every kept file and landed.json back, under the workspace lock. Returns the files put back. */
  async restore(): Promise<string[]> {
    return withLock(lockPath(this.workspaceRoot), async () => {
      for (const [path, content] of this.files) {
        const file = join(this.workspaceRoot, path);
        if (content === undefined) rmSync(file, { force: true });
        else {
          mkdirSync(dirname(file), { recursive: true });
          writeFileSync(file, content);
        }
      }
      for (const [project, text] of this.landed) {
        const file = join(integrationDir(this.workspaceRoot, project), 'landed.json');
        if (text === undefined) rmSync(file, { force: true });
        else writeFileSync(file, text);
      }
      return this.paths;
    });
  }
}

function hashOf(workspaceRoot: string, path: string): string | undefined {
  const file = join(workspaceRoot, path);
  return existsSync(file) && lstatSync(file).isFile() ? sha256(file) : undefined;
}

/** sha256 of `path` at the repair's baseline (the integrated state it started from), undefined where absent. */
async function baselineHash(worktree: Worktree, path: string): Promise<string | undefined> {
  const blob = await git(worktree.path, ['rev-parse', '--verify', '--quiet', `${worktree.baseline}:${path}`], { allowFailure: true });
  if (!blob.trim()) return undefined;
  return createHash('sha256')
    .update(await gitBlob(worktree.path, worktree.baseline, path))
    .digest('hex');
}

function gitBlob(cwd: string, commit: string, path: string): Promise<string> {
  return git(cwd, ['show', `${commit}:${path}`]);
}

export interface LandedRepair {
  /** Files written or deleted in the workspace. */
  written: string[];
  /** Files the user changed while the repair ran: theirs kept, the repair's not landed. */
  kept: string[];
}

/**
 * Lands `repair` (judged in `worktree`) into the workspace for `project`'s record `record`,
 * keeping every file it touches in `snapshot` first. Throws IntegrationRefused when a
 * wired edit conflicts or would not parse: then nothing of it lands.
 */
export async function landRepair(
  workspaceRoot: string,
  project: string,
  record: string,
  worktree: Worktree,
  repair: PassedRepair,
  snapshot: RepairSnapshot,
): Promise<LandedRepair> {
  return withLock(lockPath(workspaceRoot), async () => {
    recoverIntegrations(workspaceRoot);
    refuseWorkspaceLinks(workspaceRoot, [...repair.accepted.map((change) => change.path), ...repair.wired.map((edit) => edit.path)]);
    const changes: FileChange[] = [];
    const kept: string[] = [];
    for (const change of repair.accepted) {
      const current = hashOf(workspaceRoot, change.path);
      const decision = decideLanding({
        session: change.status === 'deleted' ? undefined : sha256(join(worktree.path, change.path)),
        base: await baselineHash(worktree, change.path),
        workspace: current,
      });
      if (decision.action === 'keep') kept.push(change.path);
      else if (decision.action !== 'in-place') {
        changes.push({ path: change.path, status: change.status === 'deleted' ? 'deleted' : current === undefined ? 'added' : 'modified' });
      }
    }
    const outcomes = await mergeWiredEdits(workspaceRoot, repair.wired, project);
    if (outcomes.some((outcome) => outcome.status === 'conflict')) {
      throw new IntegrationRefused(
        `the repair's edit of a wired file conflicts with the workspace's; nothing of it landed:\n${describeConflicts(outcomes, project)}`,
        outcomes.filter((outcome) => outcome.status === 'conflict').map((outcome) => outcome.path),
      );
    }
    const merges: { path: string; content: string }[] = [];
    for (const outcome of outcomes) {
      if (outcome.status !== 'merged') continue;
      const broken = syntaxError(outcome.path, outcome.content);
      if (broken)
        throw new IntegrationRefused(
          `merging the repair's edit of ${outcome.path} would leave it unparsable (${broken}); nothing of it landed.`,
          [outcome.path],
        );
      merges.push({ path: outcome.path, content: outcome.content });
    }
    for (const path of [...changes.map((change) => change.path), ...merges.map((merge) => merge.path)]) snapshot.keep(path);
    snapshot.keepLanded(project);
    const written = applyChanges(workspaceRoot, project, worktree.path, changes, merges);

    // The record's entries now name what the repair left: a replay of the record finds them in place.
    const head = await headCommit(workspaceRoot);
    const landed = readLanded(workspaceRoot, project);
    for (const change of changes) {
      landed.files[change.path] = { sha256: change.status === 'deleted' ? DELETED : (written.get(change.path) ?? ''), record, head };
    }
    for (const merge of merges) {
      const entry = landed.wired[merge.path];
      if (entry) landed.wired[merge.path] = { ...entry, sha256: createHash('sha256').update(merge.content).digest('hex'), record, head };
    }
    writeLanded(workspaceRoot, project, landed);
    return { written: [...changes.map((change) => change.path), ...merges.map((merge) => merge.path)].sort(), kept };
  });
}

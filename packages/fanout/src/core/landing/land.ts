import { createHash } from 'crypto';
import { existsSync, readFileSync } from 'fs';
import { join, relative } from 'path';
import { headCommit } from '../system/git';
import { withLock } from '../system/lock';
import { lstatIfAny } from '../system/files';
import { applyChanges, IntegrationRefused, recoverIntegrations, refuseWorkspaceLinks, sha256 } from '../session/integrate';
import { lockPath, worktreePath } from '../../constants';
import { describeConflicts, mergeWiredEdits, readWiredEditsFile, type WiredEdit } from '../session/wiring';
import type { FileChange } from '../session/scope';
import { decideLanding, DELETED, keptLine, type KeepReason } from './decide';
import { ancestryOfHead, readLanded, takeRanNow, writeLanded, type LandedEntry, type LandedRecord } from './landed';
import { recordedFilesDir, type RecordedFile } from './record';

/** How one recorded file landed. */
interface LandedFile {
  path: string;
  action: 'written' | 'deleted' | 'in-place' | 'kept';
  /** Why the user's version was kept. */
  reason?: KeepReason;
}

/** How one recorded wired edit landed. */
interface LandedWired {
  path: string;
  project: string;
  /**
   * merged: applied now; unchanged: the file already held it; in-place: this edit landed here
   * before and the file is as it left it; kept: it landed before and the user has changed the file
   * since (never applied again); dropped: the task no longer declares the file in `wire:`.
   */
  status: 'merged' | 'unchanged' | 'in-place' | 'kept' | 'dropped';
}

/** What landing did, recorded in the session's result.json (`landing`). */
export interface LandingOutcome {
  /** Whether the session ran in this run (false: Nx replayed it from its cache). */
  ranNow: boolean;
  landedAt: string;
  files: LandedFile[];
  wired: LandedWired[];
}

export interface LandingInput {
  workspaceRoot: string;
  project: string;
  /** The session folder holding its record (result.json, files/, wired.json). */
  sessionDir: string;
  /** The record's id and files, from its result.json. */
  record: { id: string; files: readonly RecordedFile[] };
  /**
   * The wired files the task's fanout.md declares now: recorded edits of any other file are dropped.
   * A function is called only when the record has wired edits (reading fanout.md costs a YAML parser).
   */
  wired: readonly string[] | (() => readonly string[]);
  log: (line: string) => void;
}

/** Which recorded wired edit this is: the same base and result is the same edit, whichever run recorded it. */
function wiredEditKey(edit: Pick<WiredEdit, 'path' | 'base' | 'session'>): string {
  return createHash('sha256').update(`${edit.path}\0${edit.base}\0${edit.session}`).digest('hex');
}

/** sha256 of the workspace's file, or undefined where there is none (or something other than a plain file). */
function workspaceHash(workspaceRoot: string, path: string): string | undefined | 'not-a-file' {
  const target = join(workspaceRoot, path);
  const stat = lstatIfAny(target);
  if (!stat) return undefined;
  return stat.isFile() ? sha256(target) : 'not-a-file';
}

/**
 * Lands a session's record in the workspace, under the workspace lock: each file
 * by decideLanding (the user's work always wins), each wired edit merged
 * three-way once, never again over a file the user changed since. All or nothing:
 * a wired edit that conflicts, or whose merge would not parse, fails the landing
 * before anything is written. A kept worktree of the task is removed once it has landed.
 */
export async function landSession(input: LandingInput): Promise<LandingOutcome> {
  const { workspaceRoot, project, record } = input;
  const ranNow = takeRanNow(workspaceRoot, project, record.id);
  const outcome = await withLock(lockPath(workspaceRoot), async () => {
    recoverIntegrations(workspaceRoot);
    const head = await headCommit(workspaceRoot);
    const onHistory = ancestryOfHead(workspaceRoot, head);
    const landed = readLanded(workspaceRoot, project);
    const valid = async <T extends LandedEntry>(entry: T | undefined) => (entry && (await onHistory(entry.head)) ? entry : undefined);
    const filesDir = recordedFilesDir(input.sessionDir);
    const copy = (path: string) => relative(workspaceRoot, join(filesDir, path)) || join(filesDir, path);

    refuseWorkspaceLinks(
      workspaceRoot,
      record.files.map((file) => file.path),
    );
    const files: LandedFile[] = [];
    const changes: FileChange[] = [];
    for (const file of record.files) {
      const current = workspaceHash(workspaceRoot, file.path);
      const entry = await valid(landed.files[file.path]);
      const decision =
        current === 'not-a-file'
          ? ({ action: 'keep', reason: 'not-ours' } as const)
          : decideLanding({
              session: file.status === 'deleted' ? undefined : file.sha256,
              base: file.baseSha256,
              workspace: current,
              ...(entry ? { landed: { sha256: entry.sha256, sameRecord: entry.record === record.id } } : {}),
            });
      if (decision.action === 'keep') {
        files.push({ path: file.path, action: 'kept', reason: decision.reason });
        input.log(keptLine(file.path, decision.reason, copy(file.path), project));
        continue;
      }
      if (decision.action === 'in-place') {
        files.push({ path: file.path, action: 'in-place' });
        continue;
      }
      const deletes = file.status === 'deleted';
      if (deletes && current === undefined) files.push({ path: file.path, action: 'in-place' });
      else {
        changes.push({ path: file.path, status: deletes ? 'deleted' : current === undefined ? 'added' : 'modified' });
        files.push({ path: file.path, action: deletes ? 'deleted' : 'written' });
      }
    }

    const wired: LandedWired[] = [];
    const merges: { path: string; content: string; edit: string }[] = [];
    const edits = readWiredEditsFile(input.sessionDir);
    const declared = edits.length === 0 ? [] : typeof input.wired === 'function' ? input.wired() : input.wired;
    const fresh: WiredEdit[] = [];
    for (const edit of edits) {
      if (!declared.includes(edit.path)) {
        wired.push({ path: edit.path, project: edit.project, status: 'dropped' });
        input.log(`dropped the recorded edit of ${edit.path}: the task's wire: no longer names it`);
        continue;
      }
      const entry = await valid(landed.wired[edit.path]);
      if (entry && entry.edit === wiredEditKey(edit)) {
        const now = workspaceHash(workspaceRoot, edit.path);
        const asLeft = now === entry.sha256;
        wired.push({ path: edit.path, project: edit.project, status: asLeft ? 'in-place' : 'kept' });
        if (!asLeft) input.log(`kept your edit of ${edit.path}; the session's edit landed before and is not applied again`);
        continue;
      }
      fresh.push(edit);
    }
    refuseWorkspaceLinks(
      workspaceRoot,
      fresh.map((edit) => edit.path),
    );
    const outcomes = await mergeWiredEdits(workspaceRoot, fresh, project);
    if (outcomes.some((merged) => merged.status === 'conflict')) {
      throw new IntegrationRefused(
        `the session's edit of ${outcomes
          .filter((merged) => merged.status === 'conflict')
          .map((merged) => merged.path)
          .join(', ')} conflicts with the workspace's (another session's or yours); nothing of the session was landed:\n` +
          describeConflicts(outcomes, project),
        outcomes.map((merged) => merged.path),
      );
    }
    for (const [index, merged] of outcomes.entries()) {
      const edit = fresh[index];
      if (merged.status === 'merged') {
        // Loaded only for a merge: the parsers are of no use to a landing without wired edits.
        const broken = (require('./syntax') as typeof import('./syntax')).syntaxError(merged.path, merged.content);
        if (broken) {
          throw new IntegrationRefused(
            `merging the session's edit of ${merged.path} into the workspace's would leave it unparsable (${broken}); nothing of the session was landed. ` +
              `Fix the file, or the task's assignment, and run the task again.`,
            [merged.path],
          );
        }
        merges.push({ path: merged.path, content: merged.content, edit: wiredEditKey(edit) });
      } else if (merged.status === 'unchanged') {
        merges.push({ path: merged.path, content: readFileSync(join(workspaceRoot, merged.path), 'utf-8'), edit: wiredEditKey(edit) });
      }
      wired.push({ path: edit.path, project: edit.project, status: merged.status === 'merged' ? 'merged' : 'unchanged' });
    }

    const written = applyChanges(
      workspaceRoot,
      project,
      filesDir,
      changes,
      merges.filter((merge) => wired.some((entry) => entry.path === merge.path && entry.status === 'merged')),
    );
    // Entries still on this history are confirmed at today's HEAD: a later checkout of an older commit
    // then puts them off it, and the files land again there.
    const next: LandedRecord = { files: {}, wired: {} };
    for (const [path, entry] of Object.entries(landed.files)) next.files[path] = (await valid(entry)) ? { ...entry, head } : entry;
    for (const [path, entry] of Object.entries(landed.wired)) next.wired[path] = (await valid(entry)) ? { ...entry, head } : entry;
    const stamp = (sha: string): LandedEntry => ({ sha256: sha, record: record.id, head });
    for (const file of files) {
      const recorded = record.files.find((candidate) => candidate.path === file.path);
      if (file.action === 'written') next.files[file.path] = stamp(written.get(file.path) ?? recorded?.sha256 ?? '');
      else if (file.action === 'deleted') next.files[file.path] = stamp(DELETED);
      else if (file.action === 'in-place') next.files[file.path] = stamp(recorded?.sha256 ?? DELETED);
    }
    for (const merge of merges) {
      next.wired[merge.path] = { ...stamp(createHash('sha256').update(merge.content).digest('hex')), edit: merge.edit };
    }
    writeLanded(workspaceRoot, project, next);
    return { ranNow, landedAt: new Date().toISOString(), files, wired };
  });
  // A worktree kept after an earlier failed session of this task has nothing left to show. (The worktree
  // module is loaded only then: a replay's landings have no use for it.)
  if (existsSync(worktreePath(workspaceRoot, project))) {
    await (require('../session/worktree') as typeof import('../session/worktree')).removeWorktree(workspaceRoot, project);
  }
  return outcome;
}

import { readFileSync, rmSync } from 'fs';
import { join } from 'path';
import { git } from '../system/git';
import { integrationDir, writeWhole } from '../session/integrate';

/**
 * What fanout landed in this workspace for one task, kept in
 * `.fanout/integration/<project>/landed.json`. It is this workspace's own record,
 * never an output of a cached target: a replay must not restore another clone's
 * idea of what was landed here. Each entry names the session record that landed
 * it and the latest commit HEAD was on when a landing saw it; an entry whose commit
 * is not an ancestor of HEAD (the user checked out an older commit, or another
 * branch) no longer says anything about the files there.
 */
export interface LandedEntry {
  /** sha256 of what fanout left at the path, or DELETED. */
  sha256: string;
  /** The id of the session record that landed it. */
  record: string;
  /** HEAD when it landed, or when a later landing last found it still on HEAD's history. */
  head: string;
}

interface LandedWiredEntry extends LandedEntry {
  /** Which recorded edit landed (wiredEditKey): the same edit is never applied twice. */
  edit: string;
}

export interface LandedRecord {
  files: Record<string, LandedEntry>;
  wired: Record<string, LandedWiredEntry>;
}

const LANDED_FILE = 'landed.json';
/** Written by a session that ran now, for its landing to tell it from a replay; read once, then removed. */
const RAN_NOW_FILE = 'ran-now.json';

export function readLanded(workspaceRoot: string, project: string): LandedRecord {
  try {
    const record = JSON.parse(readFileSync(join(integrationDir(workspaceRoot, project), LANDED_FILE), 'utf-8')) as Partial<LandedRecord>;
    return { files: record.files ?? {}, wired: record.wired ?? {} };
  } catch {
    return { files: {}, wired: {} };
  }
}

export function writeLanded(workspaceRoot: string, project: string, record: LandedRecord): void {
  writeWhole(join(integrationDir(workspaceRoot, project), LANDED_FILE), `${JSON.stringify(record, null, 2)}\n`);
}

/**
 * Path → sha256 of every file fanout landed for the project: a dirty file that is
 * exactly one of these is fanout's, not the user's uncommitted work.
 */
export function ownedByFanout(workspaceRoot: string, project: string): Map<string, string> {
  const { files, wired } = readLanded(workspaceRoot, project);
  return new Map(Object.entries({ ...files, ...wired }).map(([path, entry]) => [path, entry.sha256]));
}

export function markRanNow(workspaceRoot: string, project: string, record: string): void {
  writeWhole(join(integrationDir(workspaceRoot, project), RAN_NOW_FILE), JSON.stringify({ record }));
}

/** Whether the session record `record` was made by a session that ran in this workspace and has not landed yet; forgets it. */
export function takeRanNow(workspaceRoot: string, project: string, record: string): boolean {
  const file = join(integrationDir(workspaceRoot, project), RAN_NOW_FILE);
  try {
    return (JSON.parse(readFileSync(file, 'utf-8')) as { record?: string }).record === record;
  } catch {
    return false;
  } finally {
    rmSync(file, { force: true });
  }
}

/** Answers "is this commit an ancestor of HEAD?" once per commit. */
export function ancestryOfHead(workspaceRoot: string, head: string): (commit: string) => Promise<boolean> {
  const known = new Map<string, Promise<boolean>>();
  return (commit) => {
    if (commit === head) return Promise.resolve(true);
    let answer = known.get(commit);
    if (!answer) {
      answer = /^[0-9a-f]{40,64}$/.test(commit)
        ? git(workspaceRoot, ['merge-base', '--is-ancestor', commit, head]).then(
            () => true,
            () => false,
          )
        : Promise.resolve(false);
      known.set(commit, answer);
    }
    return answer;
  };
}

/**
 * What landing does with one file a session changed. Landing puts a session's
 * recorded work into the workspace, whether the session ran now or was replayed
 * from Nx's cache, and it never overwrites, deletes or restores a file that is the
 * user's: one they changed since fanout left it, one fanout never wrote, or one
 * they deleted. Every input is a sha256 (or undefined for "absent"); the decision
 * is pure, so each case is tested on its own.
 */

/** What `landed` holds for a file fanout itself deleted: there is no content to hash. */
export const DELETED = 'deleted';

export interface FileState {
  /** The session's version (undefined: the session deleted the file). */
  session: string | undefined;
  /** The file where the session started (undefined: absent there). */
  base: string | undefined;
  /** The file in the workspace now (undefined: absent). */
  workspace: string | undefined;
  /**
   * What fanout last landed at this path in this line of history (sha256 or DELETED), and
   * whether it was this very session record that landed it; undefined when fanout never
   * landed it here, or landed it on a history the workspace is no longer on.
   */
  landed?: { sha256: string; sameRecord: boolean };
}

export type KeepReason = 'changed-since' | 'deleted-since' | 'not-ours';

export type LandingDecision = { action: 'write' } | { action: 'delete' } | { action: 'in-place' } | { action: 'keep'; reason: KeepReason };

export function decideLanding({ session, base, workspace, landed }: FileState): LandingDecision {
  if (workspace === session) return { action: 'in-place' };
  const keep = (reason: KeepReason): LandingDecision => ({ action: 'keep', reason });
  // This record landed the file here before: whatever it is now, the user made it so.
  if (landed?.sameRecord) return keep(workspace === undefined ? 'deleted-since' : 'changed-since');
  // As the session found it, or as fanout last left it: nothing of the user's is lost.
  const asLeft = workspace === base || (landed !== undefined && workspace === (landed.sha256 === DELETED ? undefined : landed.sha256));
  if (session === undefined) {
    if (workspace === undefined) return { action: 'in-place' };
    return asLeft ? { action: 'delete' } : keep(base !== undefined || landed ? 'changed-since' : 'not-ours');
  }
  if (asLeft) return { action: 'write' };
  if (workspace === undefined) return keep('deleted-since');
  return keep(base !== undefined || landed ? 'changed-since' : 'not-ours');
}

/** The line a kept file gets in the run's output and the report. */
export function keptLine(path: string, reason: KeepReason, sessionCopy: string, project: string): string {
  const what =
    reason === 'deleted-since'
      ? `kept your deletion of ${path}`
      : reason === 'not-ours'
        ? `kept your ${path}, which fanout did not write`
        : `kept your edit of ${path}`;
  return `${what}; the session's version is in ${sessionCopy} (nx g fanout:take ${project} --files=${path} takes it)`;
}

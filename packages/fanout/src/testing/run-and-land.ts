import { landRecord } from '../core/landing/land-record';
import { runSession } from '../core/session/session';
import type { SessionSpec } from '../core/session/session-spec';
import type { SessionResult } from '../core/session/result';

/**
 * A session, then its landing, as `nx run <task>:fanout` does them: the session
 * target records, the fanout target lands what it recorded. The result is the
 * record as landing left it (or the failed session's).
 */
export async function runAndLand(spec: SessionSpec): Promise<SessionResult> {
  const recorded = await runSession(spec);
  if (recorded.status !== 'succeeded') return recorded;
  const { result } = await landRecord(spec.workspaceRoot, spec.project, {
    sessionTarget: 'fanout-session',
    wired: spec.assignment.wire ?? [],
    log: (line: string) => spec.log?.(line),
  });
  return result;
}

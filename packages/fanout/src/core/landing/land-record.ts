import { existsSync, readFileSync } from 'fs';
import { IntegrationRefused, writeWhole } from '../session/integrate';
import type { SessionResult } from '../session/result';
import { resultFile, sessionDir } from '../../constants';
import { landSession, type LandingInput, type LandingOutcome } from './land';

/** The task's session record, or why there is none to land. */
function readRecord(workspaceRoot: string, project: string, sessionTarget: string): SessionResult {
  const file = resultFile(workspaceRoot, project);
  if (!existsSync(file)) {
    throw new Error(
      `no session record at ${file}: run the session first (nx run ${project}:${sessionTarget}, which nx run ${project}:fanout runs).`,
    );
  }
  const result = JSON.parse(readFileSync(file, 'utf-8')) as SessionResult;
  if (result.status !== 'succeeded') throw new Error(`its session failed, so nothing lands: ${result.error ?? 'no reason recorded'}`);
  if (typeof result.id !== 'string' || !Array.isArray(result.files)) {
    throw new Error(
      `${file} was written by an older fanout and cannot be landed; run the task again: nx run ${project}:${sessionTarget} --skip-nx-cache`,
    );
  }
  return result;
}

/**
 * Lands a task's recorded session and amends its result.json with what landing did
 * (`landing`, `integratedAt`, how each wired edit landed), or, when it could not
 * land, with the reason (`status: failed`). The cache keeps the session's own record.
 */
export async function landRecord(
  workspaceRoot: string,
  project: string,
  options: { sessionTarget: string } & Pick<LandingInput, 'wired' | 'log'>,
): Promise<{ result: SessionResult; outcome?: LandingOutcome }> {
  const dir = sessionDir(workspaceRoot, project);
  const file = resultFile(workspaceRoot, project);
  const record = readRecord(workspaceRoot, project, options.sessionTarget);
  try {
    const outcome = await landSession({ workspaceRoot, project, sessionDir: dir, record, ...options });
    const result: SessionResult = {
      ...record,
      integratedAt: outcome.landedAt,
      landing: outcome,
      wired: outcome.wired.map(({ path, project: owner, status }) => ({ path, project: owner, status })),
    };
    writeWhole(file, `${JSON.stringify(result, null, 2)}\n`);
    return { result, outcome };
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const refused = error instanceof IntegrationRefused ? error.paths : [];
    const result: SessionResult = {
      ...record,
      status: 'failed',
      error: message,
      steps: [...(record.steps ?? []), { name: 'landing', ok: false, message }],
      ...(record.wired
        ? { wired: record.wired.map((file) => (refused.includes(file.path) ? { ...file, status: 'conflict' as const } : file)) }
        : {}),
    };
    writeWhole(file, `${JSON.stringify(result, null, 2)}\n`);
    return { result };
  }
}

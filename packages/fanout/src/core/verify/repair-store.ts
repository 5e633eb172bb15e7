import { readFileSync } from 'fs';
import { join } from 'path';
import { integrationDir, writeWhole } from '../session/integrate';
import type { SessionResult } from '../session/result';
import type { VerifyRepairRecord } from './repair-record';
import { resultFile } from '../../constants';

/**
 * Where verify's repairs are recorded. In the session's result.json (`verifyRepairs`),
 * for the report; and beside its landed.json, this workspace's own record: a replay of
 * the session target from Nx's cache restores the result.json the session wrote, and
 * the repairs that still stand here are then written into it again.
 */
const STORE_FILE = 'verify-repairs.json';

interface Stored {
  /** The session record the repairs belong to. */
  record: string;
  verifyRepairs: VerifyRepairRecord[];
}

function storeFile(workspaceRoot: string, project: string): string {
  return join(integrationDir(workspaceRoot, project), STORE_FILE);
}

/** The records of `records` that concern `project`: it was blamed, cleared, or repaired. */
export function recordsOf(records: readonly VerifyRepairRecord[], project: string): VerifyRepairRecord[] {
  return records.filter(
    (record) =>
      record.suspects.some((suspect) => suspect.session === project) ||
      record.repairs.some((repair) => repair.session === project) ||
      (record.cleared ?? []).some((entry) => entry.session === project),
  );
}

/** Writes `records` into the session's result.json and beside its landed.json; returns the result as written. */
export function saveVerifyRepairs(workspaceRoot: string, result: SessionResult, records: VerifyRepairRecord[]): SessionResult {
  const amended: SessionResult = { ...result, verifyRepairs: records };
  writeWhole(resultFile(workspaceRoot, result.project), `${JSON.stringify(amended, null, 2)}\n`);
  const stored: Stored = { record: result.id, verifyRepairs: records };
  writeWhole(storeFile(workspaceRoot, result.project), `${JSON.stringify(stored, null, 2)}\n`);
  return amended;
}

/**
 * The session's result with the repairs recorded for its record in this workspace, when
 * its result.json lacks them (restored from Nx's cache); the result as it is otherwise.
 */
export function withStoredRepairs(workspaceRoot: string, result: SessionResult): SessionResult {
  if (result.verifyRepairs) return result;
  let stored: Stored;
  try {
    stored = JSON.parse(readFileSync(storeFile(workspaceRoot, result.project), 'utf-8')) as Stored;
  } catch {
    return result;
  }
  if (stored.record !== result.id || !Array.isArray(stored.verifyRepairs)) return result;
  const amended: SessionResult = { ...result, verifyRepairs: stored.verifyRepairs };
  writeWhole(resultFile(workspaceRoot, result.project), `${JSON.stringify(amended, null, 2)}\n`);
  return amended;
}

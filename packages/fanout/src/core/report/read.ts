import { existsSync, readdirSync, readFileSync } from 'fs';
import { isAbsolute, join } from 'path';
import { DIFF_FILE, FANOUT_DIR, RESULT_FILE, SESSIONS_DIR } from '../../constants';
import { latestLedger, type LedgerState } from '../budget/ledger';
import type { SessionResult } from '../session/result';
import type { VerifyRepairRecord } from '../verify/repair-record';
import { headCommitSync } from '../system/git';
import { compareText } from '../system/compare';

/** What `fanout-verify` found over the integrated workspace. */
export interface VerifySummary {
  ok: boolean;
  baseCommit?: string;
  /** Where the base came from: --base, the sessions' record, the tasks' inputs or a merge base. */
  baseSource?: 'option' | 'recorded' | 'inputs' | 'merge-base';
  /** Which base verify used and why, as its log said. */
  baseNote?: string;
  problems: { kind: string; message: string; sessions: string[] }[];
  affected?: { command: string; ok: boolean; output?: string };
  /** Per task that failed over the integrated workspace: whom it was blamed on and why, each repair, the verdict. */
  repairs?: VerifyRepairRecord[];
  /** Files put back as integrated when a failure persisted after the repairs. */
  restored?: string[];
}

/** What report.md and report.html are rendered from. */
export interface ReportInput {
  results: SessionResult[];
  verify?: VerifySummary;
  generatedAt: Date;
  /** Session folders that could not be read, one line each. */
  notes?: string[];
  /** The workspace's HEAD when the report was written; absent outside a git repository. */
  headCommit?: string;
  /** Each session's recorded diff (its changes.diff), by project. */
  diffs?: ReadonlyMap<string, string>;
  /** The diff of each repair fanout-verify landed, by its diffFile. */
  repairDiffs?: ReadonlyMap<string, string>;
  /** The ledger of the latest run under a budget: its budget, estimate and spend, and who was stopped or not started. */
  budget?: LedgerState;
}

/** A session's folder and what it recorded there. */
interface RecordedSession {
  result: SessionResult;
  dir: string;
}

/**
 * Every `.fanout/sessions/<project>/result.json`, oldest start first. A folder
 * without a result (a session still running, or killed) or with one that is not
 * a session result is skipped and described through `note`, never thrown: one
 * broken file must not hide the others from the report.
 */
export function readSessionResults(workspaceRoot: string, note: (message: string) => void = () => undefined): SessionResult[] {
  return readSessions(workspaceRoot, note).map((session) => session.result);
}

function readSessions(workspaceRoot: string, note: (message: string) => void): RecordedSession[] {
  const sessions = join(workspaceRoot, SESSIONS_DIR);
  if (!existsSync(sessions)) return [];
  const recorded: RecordedSession[] = [];
  // A session's folder is named by its project: `@scope/name` projects (npm workspaces) sit one folder deeper.
  const folders = readdirSync(sessions, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .flatMap((entry) =>
      entry.name.startsWith('@')
        ? readdirSync(join(sessions, entry.name), { withFileTypes: true })
            .filter((inner) => inner.isDirectory())
            .map((inner) => `${entry.name}/${inner.name}`)
        : [entry.name],
    );
  for (const name of folders) {
    const file = join(sessions, name, RESULT_FILE);
    const where = `${SESSIONS_DIR}/${name}/${RESULT_FILE}`;
    if (!existsSync(file)) {
      note(
        `${where} does not exist: the session is still running or was stopped before it finished. Run its fanout task again to record it.`,
      );
      continue;
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(readFileSync(file, 'utf-8'));
    } catch (error) {
      note(`${where} is not valid JSON (${(error as Error).message}); skipped. Run the task's fanout target again to rewrite it.`);
      continue;
    }
    const problem = shapeProblem(parsed);
    if (problem) {
      note(`${where} is not a session result (${problem}); skipped. Run the task's fanout target again to rewrite it.`);
      continue;
    }
    recorded.push({ result: withSteps(parsed as SessionResult & { checks?: SessionResult['steps'] }), dir: join(sessions, name) });
  }
  return recorded.sort(
    (a, b) => Date.parse(a.result.startedAt) - Date.parse(b.result.startedAt) || compareText(a.result.project, b.result.project),
  );
}

/** A result written before version 3 logged its steps as `checks`. */
function withSteps(result: SessionResult & { checks?: SessionResult['steps'] }): SessionResult {
  if (result.steps === undefined && result.checks !== undefined) {
    const { checks, ...rest } = result;
    return { ...rest, steps: checks };
  }
  return result;
}

/** What the report relies on; the rest of a result is optional to it. */
function shapeProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not an object';
  const result = value as Record<string, unknown>;
  if (typeof result.project !== 'string' || result.project === '') return 'no project';
  if (result.status !== 'succeeded' && result.status !== 'failed') return `status ${JSON.stringify(result.status)}`;
  if (typeof result.startedAt !== 'string' || Number.isNaN(Date.parse(result.startedAt))) return 'no valid startedAt';
  if (typeof result.durationMs !== 'number') return 'no durationMs';
  for (const list of ['files', 'findings', 'rejected', 'steps', 'checks', 'wired']) {
    if (result[list] !== undefined && !Array.isArray(result[list])) return `${list} is not a list`;
  }
  return undefined;
}

/** The diff a session recorded, when its result says it did; a note when the file is gone. */
function readDiff(session: RecordedSession, note: (message: string) => void): string | undefined {
  if (!session.result.diff) return undefined;
  const file = join(session.dir, DIFF_FILE);
  try {
    return readFileSync(file, 'utf-8');
  } catch (error) {
    note(
      `${session.result.diff.file} could not be read (${(error as NodeJS.ErrnoException).code ?? (error as Error).message}): ` +
        `the report shows ${session.result.project} without its diff. Run its fanout target again to record it.`,
    );
    return undefined;
  }
}

/** What the report is made from: every recorded session, its diff, and the workspace's HEAD; what could not be read becomes a note. */
export function readReportInput(workspaceRoot: string, verify: VerifySummary | undefined): ReportInput {
  const notes: string[] = [];
  const note = (message: string) => notes.push(message);
  const sessions = readSessions(workspaceRoot, note);
  const diffs = new Map<string, string>();
  for (const session of sessions) {
    const diff = readDiff(session, note);
    if (diff !== undefined) diffs.set(session.result.project, diff);
  }
  const repairDiffs = new Map<string, string>();
  const repairs = [...(verify?.repairs ?? []), ...sessions.flatMap((session) => session.result.verifyRepairs ?? [])];
  for (const file of new Set(repairs.flatMap((record) => record.repairs.map((repair) => repair.diffFile)))) {
    if (!file || !isAbsolute(file) || !file.startsWith(join(workspaceRoot, FANOUT_DIR))) continue;
    try {
      repairDiffs.set(file, readFileSync(file, 'utf-8'));
    } catch {
      // The repair's folder was cleared since: the report lists the repair without its diff.
    }
  }
  const budget = latestLedger(workspaceRoot);
  return {
    results: sessions.map((session) => session.result),
    verify,
    repairDiffs,
    ...(budget ? { budget } : {}),
    generatedAt: new Date(),
    notes,
    // '' when there is no commit to name: outside a git repository, or before its first commit.
    headCommit: headCommitSync(workspaceRoot) || undefined,
    diffs,
  };
}

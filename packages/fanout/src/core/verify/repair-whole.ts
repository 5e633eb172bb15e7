import { createHash } from 'crypto';
import { existsSync, lstatSync, readFileSync } from 'fs';
import { join } from 'path';
import { DELETED } from '../landing/decide';
import { readLanded } from '../landing/landed';
import { IntegrationRefused } from '../session/integrate';
import type { ProcessRunner } from '../session/gate';
import { removeWorktree } from '../session/worktree';
import type { AffectedRun } from './affected';
import type { AtBase } from './at-base';
import { attributeFailures, type FailedTask, type ProjectGraphData, type SessionTouches, type TaskAttribution } from './attribution';
import { createIntegratedWorktree, type IntegratedFile } from './integrated-worktree';
import { landRepair, RepairSnapshot } from './land-repair';
import type { RepairBudget } from './repair-budget';
import type { VerifyRepairRecord, WholeRepair } from './repair-record';
import { repairSession, type RepairableSession } from './whole-repair';
import { FANOUT_DIR } from '../../constants';

/**
 * Repair rounds on the whole: when tasks fail over the integrated workspace, each
 * is checked at the base (a failure already there is nobody's), blamed on the
 * sessions that reach it (attribution.ts), and those sessions, one at a time in
 * landing order, repair their part in a worktree of the integrated state; each
 * repair that passes its gate lands. Then the failed tasks run again. A failure
 * that persists after the rounds leaves the workspace as it was integrated.
 */
export interface WholeRepairsInput {
  workspaceRoot: string;
  /** The failing run of nx affected over the integrated workspace. */
  first: AffectedRun;
  /** Runs it again, after a round's repairs landed. */
  rerun: () => Promise<AffectedRun>;
  graph: ProjectGraphData;
  /** The run's sessions that landed, in landing order. */
  sessions: readonly SessionTouches[];
  /** A session as its repair needs it, or why it cannot repair. */
  repairable: (session: string) => RepairableSession | string;
  /** Each failed task at the base; absent when there is no base to run it at. */
  atBase?: (tasks: readonly FailedTask[]) => Promise<Map<string, AtBase>>;
  /** verifyRepairs: rounds of repairs (0: attribution only). */
  rounds: number;
  echo: boolean;
  log: (line: string) => void;
  /** Runs the gates' nx; injected by tests. */
  runGate?: ProcessRunner;
  /** The run's budget, when its sessions ran under one: repairs count against it too. */
  budget?: RepairBudget;
}

export interface WholeRepairsOutcome {
  records: VerifyRepairRecord[];
  /** The last run of nx affected: after the repairs, or the first when none landed or they were undone. */
  final: AffectedRun;
  /** Files put back as integrated, when the failure persisted after the rounds. */
  restored?: string[];
}

/**
 * What the run's sessions landed here, as it is in the workspace: each path their
 * landed.json names that still holds what fanout left there (a file the user changed
 * since is theirs, and left out). The integrated state a repair starts from.
 */
function integratedFiles(workspaceRoot: string, sessions: readonly string[]): IntegratedFile[] {
  const files = new Map<string, IntegratedFile>();
  for (const session of sessions) {
    const landed = readLanded(workspaceRoot, session);
    for (const [path, entry] of [...Object.entries(landed.files), ...Object.entries(landed.wired)]) {
      const source = join(workspaceRoot, path);
      const present = existsSync(source) && lstatSync(source).isFile();
      if (entry.sha256 === DELETED) {
        if (!present) files.set(path, { path });
        continue;
      }
      if (present && createHash('sha256').update(readFileSync(source)).digest('hex') === entry.sha256) files.set(path, { path, source });
    }
  }
  return [...files.values()];
}

function recordOf(records: Map<string, VerifyRepairRecord>, attribution: TaskAttribution): VerifyRepairRecord {
  let record = records.get(attribution.task);
  if (!record) {
    record = { task: attribution.task, verdict: 'not-repaired', how: attribution.how, suspects: [], repairs: [] };
    records.set(attribution.task, record);
  }
  record.how = attribution.how;
  record.suspects = attribution.suspects.map(({ session, reasons }) => ({ session, reasons }));
  if (attribution.cleared.length > 0) record.cleared = attribution.cleared;
  else delete record.cleared;
  return record;
}

/** The other suspects of a task, with their files: who else touched what failed. */
function othersOf(attribution: TaskAttribution, session: string): { session: string; files: string[] }[] {
  return attribution.suspects
    .filter((suspect) => suspect.session !== session)
    .map((suspect) => ({ session: suspect.session, files: suspect.files }));
}

/** What one suspect's repair of a failed task needs from the round. */
interface SuspectRepair {
  suspect: string;
  attribution: TaskAttribution;
  failure: FailedTask;
  round: number;
  entry: WholeRepair;
  /** Each session's time spent on repairs so far. */
  spent: Map<string, number>;
  snapshot: RepairSnapshot;
}

/**
 * One suspect's repair of a failed task, recorded in its `entry`: not started when the session
 * cannot repair (why), has no time left, or the run's budget is reached; else its agent in a
 * worktree of the integrated state, then its repair landed when it passed. Returns whether it landed.
 */
async function repairBySuspect(
  input: WholeRepairsInput,
  { suspect, attribution, failure, round, entry, spent, snapshot }: SuspectRepair,
): Promise<boolean> {
  const { workspaceRoot, log } = input;
  let landed = false;
  const session = input.repairable(suspect);
  if (typeof session === 'string') {
    entry.outcome = 'cannot-repair';
    entry.message = session;
    log(`${suspect} cannot repair ${attribution.task}: ${session}`);
    return false;
  }
  entry.record = session.record;
  const timeLeftMs = session.timeLeftMs - (spent.get(session.project) ?? 0);
  if (timeLeftMs <= 0) {
    entry.outcome = 'no-time';
    entry.message = `the session's timeout is spent (its session and earlier repairs took it all)`;
    log(`${suspect} cannot repair ${attribution.task}: ${entry.message}`);
    return false;
  }
  const overBudget = await input.budget?.refusal();
  if (overBudget) {
    entry.outcome = 'over-budget';
    entry.message = overBudget;
    log(`${suspect} cannot repair ${attribution.task}: ${overBudget}`);
    return false;
  }
  log(`verify round ${round} of ${input.rounds}: ${suspect} repairs its part of ${attribution.task}`);
  const started = Date.now();
  const worktree = await createIntegratedWorktree(
    workspaceRoot,
    session.project,
    integratedFiles(
      workspaceRoot,
      input.sessions.map((s) => s.project),
    ),
  );
  try {
    const passed = await repairSession(
      {
        workspaceRoot,
        session: { ...session, timeLeftMs },
        worktree,
        failure,
        others: othersOf(attribution, session.project),
        round,
        dir: join(workspaceRoot, FANOUT_DIR, 'verify', 'repairs', `round-${round}`, ...session.project.split('/')),
        echo: input.echo,
        ...(input.runGate ? { runGate: input.runGate } : {}),
      },
      entry,
    );
    if (passed) {
      const outcome = await landRepair(workspaceRoot, session.project, session.record, worktree, passed, snapshot);
      entry.outcome = 'landed';
      entry.message =
        `landed ${outcome.written.join(', ') || 'nothing new'}` +
        (outcome.kept.length > 0 ? `; kept your changes to ${outcome.kept.join(', ')}, made while it ran` : '');
      landed = true;
    }
    log(`${suspect}: ${entry.outcome}${entry.message ? `: ${entry.message}` : ''}`);
  } catch (error) {
    if (!(error instanceof IntegrationRefused)) throw error;
    entry.outcome = 'conflict';
    entry.message = error.message;
    log(`${suspect}: ${error.message}`);
  } finally {
    spent.set(session.project, (spent.get(session.project) ?? 0) + (Date.now() - started));
    await input.budget?.spend(session.project, {
      agent: session.agent.name,
      ...(session.model ? { model: session.model } : {}),
      ...(entry.costUsd !== undefined ? { costUsd: entry.costUsd } : {}),
      ...(entry.tokens ? { tokens: entry.tokens } : {}),
    });
    await removeWorktree(workspaceRoot, session.project);
  }
  return landed;
}

export async function repairWhole(input: WholeRepairsInput): Promise<WholeRepairsOutcome> {
  const { workspaceRoot, log } = input;
  const records = new Map<string, VerifyRepairRecord>();
  const atBase = new Map<string, AtBase>();
  const snapshot = new RepairSnapshot(workspaceRoot);
  /** Each session's time spent on repairs so far. */
  const spent = new Map<string, number>();
  const firstFailed = new Set(input.first.failed.map((task) => `${task.project}:${task.target}`));
  let current = input.first;
  let landedAny = false;

  for (let round = 1; !current.ok && current.failed.length > 0; round++) {
    const unchecked = current.failed.filter((task) => !atBase.has(`${task.project}:${task.target}`));
    if (input.atBase && unchecked.length > 0) {
      log(`checking ${unchecked.map((task) => `${task.project}:${task.target}`).join(', ')} at the base commit`);
      for (const [id, verdict] of await input.atBase(unchecked)) atBase.set(id, verdict);
    }
    const attributions = attributeFailures(current.failed, input.graph, input.sessions);
    const toRepair: TaskAttribution[] = [];
    for (const attribution of attributions) {
      const record = recordOf(records, attribution);
      const base = atBase.get(attribution.task);
      if (base) record.atBase = base.note;
      if (base?.verdict === 'fails') {
        record.verdict = 'failing-before';
        log(`${attribution.task}: ${base.note}; nobody is asked to repair it`);
      } else if (attribution.suspects.length === 0) {
        record.verdict = 'not-attributed';
        log(`${attribution.task}: ${attribution.how}`);
      } else {
        log(
          `${attribution.task}: blamed on ${attribution.suspects
            .map((suspect) => `${suspect.session} (${suspect.reasons.join('; ')})`)
            .join(', ')}`,
        );
        toRepair.push(attribution);
      }
    }
    if (round > input.rounds || toRepair.length === 0) break;

    let landedThisRound = false;
    for (const attribution of toRepair) {
      const failure = current.failed.find((task) => `${task.project}:${task.target}` === attribution.task) as FailedTask;
      const record = recordOf(records, attribution);
      let fixed = false;
      for (const suspect of attribution.suspects) {
        const entry: WholeRepair = { session: suspect.session, round, mode: 'none', outcome: 'not-needed' };
        record.repairs.push(entry);
        if (fixed) {
          entry.message = `an earlier repair this round made ${attribution.task} pass`;
          continue;
        }
        if (await repairBySuspect(input, { suspect: suspect.session, attribution, failure, round, entry, spent, snapshot })) {
          landedThisRound = true;
          // Its gate ran the failed task over the integrated state with this repair: it passes.
          fixed = true;
        }
      }
    }
    if (!landedThisRound) break;
    landedAny = true;
    log(`verify round ${round}: running the affected checks again`);
    current = await input.rerun();
  }

  const stillFailing = new Set(current.failed.map((task) => `${task.project}:${task.target}`));
  // The repairs stay only if they fixed what they were for and broke nothing that passed before.
  // The repairs stay only if nothing fails after them but what failed before the fan-out or was nobody's.
  const persists =
    landedAny &&
    !current.ok &&
    (current.failed.length === 0 ||
      [...stillFailing].some((id) => {
        const verdict = records.get(id)?.verdict;
        return !firstFailed.has(id) || (verdict !== 'failing-before' && verdict !== 'not-attributed');
      }));
  let restored: string[] | undefined;
  if (persists) {
    restored = await snapshot.restore();
    log(`the failure persists after the repairs: the workspace is put back as it was integrated (${restored.join(', ')})`);
  }
  for (const record of records.values()) {
    if (record.verdict === 'failing-before' || record.verdict === 'not-attributed') continue;
    const attempted = record.repairs.some((repair) => repair.mode !== 'none');
    const landed = record.repairs.some((repair) => repair.outcome === 'landed');
    if (!persists && landed && !stillFailing.has(record.task)) record.verdict = 'repaired';
    else record.verdict = attempted ? 'still-failing' : 'not-repaired';
    if (restored && landed) record.restored = restored;
  }
  return { records: [...records.values()], final: persists ? input.first : current, ...(restored ? { restored } : {}) };
}

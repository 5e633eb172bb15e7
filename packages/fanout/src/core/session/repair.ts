import { writeFileSync } from 'fs';
import { join } from 'path';
import type { RepairRound } from '../agents/agent';
import type { SessionContext, SessionTask } from './context';
import { feedbackMessage } from './feedback';
import { judgeRound, type RoundProblem } from './judge';
import type { LeadTurn } from './cache-prefix-lead';
import type { SessionRecorder } from './recorder';
import { runAgent } from './run-agent';
import type { FileChange } from './scope';
import type { SessionSpec } from './session-spec';
import type { Worktree } from './worktree';
import { DEFAULT_REPAIRS } from '../../constants';

/** The session's rounds, and what they have to work with. */
interface Rounds {
  spec: SessionSpec;
  task: SessionTask;
  context: SessionContext;
  worktree: Worktree;
  turn: LeadTurn | undefined;
  recorder: SessionRecorder;
}

/** Work that passed its round's judging: what to record. */
export interface AcceptedWork {
  /** The changes inside the scope. */
  accepted: FileChange[];
  /** The edits of wired files. */
  wired: FileChange[];
  /** How many rounds it took (1: no repair). */
  rounds: number;
}

/** The session's error when a round's problem is its last: the problem, and why no round is left. */
function finalError(problem: RoundProblem, round: number, repairs: number): string {
  const why =
    round < repairs
      ? ` (the session's time is spent: no repair round is left)`
      : round > 0
        ? ` (still, after ${round} repair round${round === 1 ? '' : 's'})`
        : '';
  return `${problem.error}${why}${problem.detail ? `:\n${problem.detail}` : problem.error.endsWith('.') ? '' : '.'}`;
}

/** Writes what failed in round `round` as the feedback of the next, and says so. */
function nextRound(problem: RoundProblem, round: number, repairs: number, spec: SessionSpec, recorder: SessionRecorder): RepairRound {
  const message = feedbackMessage({ round: round + 1, projectRoot: spec.projectRoot, ...problem.feedback });
  const file = join(recorder.dir, `feedback.round-${round + 1}.md`);
  writeFileSync(file, message);
  recorder.say(`repair round ${round + 1} of ${repairs}: ${problem.summary}; the agent is told (${file})`);
  return { round: round + 1, message, file, ...recorder.agentSoFar() };
}

/**
 * Runs the agent, then judges what it left; while the work fails and repair rounds
 * (and time) are left, runs it again in the same worktree, told what failed. The
 * work that passed, or undefined when none did (the session's error then recorded).
 */
export async function runRounds(session: Rounds): Promise<AcceptedWork | undefined> {
  const { spec, recorder } = session;
  const gate = spec.gate ?? { run: [], missing: [] };
  if (gate.missing.length > 0)
    recorder.say(`gate: ${spec.project} has no target ${gate.missing.join(', ')}; it runs ${gate.run.join(', ') || 'nothing'}`);
  const repairs = session.context.agent.repair ? (spec.repairs ?? spec.assignment.repairs ?? DEFAULT_REPAIRS) : 0;
  // The session's time starts with its agent; every round, and every gate, counts against it.
  const deadline = Date.now() + spec.assignment.timeoutMs;
  let repair: RepairRound | undefined;
  for (let round = 0; ; round++) {
    const entry = recorder.round(round);
    const report = await runAgent({ ...session, entry, repair, deadline });
    if (!report.ok) {
      entry.failed = 'agent';
      recorder.fail(
        report.stopped === 'budget'
          ? (report.error ?? 'budget reached')
          : `the agent failed${round > 0 ? ` in repair round ${round}` : ''}: ${report.error}`,
      );
      return undefined;
    }
    const judged = await judgeRound({ ...session, entry, deadline });
    if ('verdict' in judged) return { accepted: judged.verdict.accepted, wired: judged.verdict.wired, rounds: round + 1 };
    entry.failed = judged.problem.kind;
    if (round >= repairs || deadline - Date.now() <= 0) {
      recorder.fail(finalError(judged.problem, round, repairs));
      return undefined;
    }
    repair = nextRound(judged.problem, round, repairs, spec, recorder);
    entry.feedbackFile = repair.file;
  }
}

import { readFileSync } from 'fs';
import { join } from 'path';
import { formatFinding, type Finding } from '../checks/check';
import { runChecks } from '../checks/registry';
import { syntaxError } from '../landing/syntax';
import type { SessionTask } from './context';
import type { FeedbackInput } from './feedback';
import { gateVerdict, runGate, type GateResult } from './gate';
import type { SessionRecorder } from './recorder';
import type { SessionRound } from './result';
import { judgeScope, type ScopeVerdict } from './scope';
import type { SessionSpec } from './session-spec';
import { sessionChanges, type Worktree } from './worktree';

/** What failed in a round. */
export interface RoundProblem {
  kind: 'scope' | 'checks' | 'gate';
  /** A few words for the log. */
  summary: string;
  /** The session's error, if no round is left: one sentence... */
  error: string;
  /** ...and the lines under it. */
  detail?: string;
  feedback: Omit<FeedbackInput, 'round'>;
}

/** A round's work to judge, and what it is judged against. */
interface RoundToJudge {
  spec: SessionSpec;
  task: SessionTask;
  worktree: Worktree;
  /** The round's entry in the record. */
  entry: SessionRound;
  /** When the session's time ends (ms since the epoch): the gate gets what is left. */
  deadline: number;
  recorder: SessionRecorder;
}

/** Lines of the failing gate target's output quoted in the session's error (result.json holds more, the log all). */
const GATE_ERROR_LINES = 30;

function lastLines(text: string, count: number): string {
  return text.trimEnd().split('\n').slice(-count).join('\n');
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
}

/** Lines of the agent's output in the session log that report an error or a refusal: the last few. */
function reportedErrors(logFile: string): string[] {
  let log = '';
  try {
    log = readFileSync(logFile, 'utf-8');
  } catch {
    return [];
  }
  return log
    .split('\n')
    .filter((line) => !line.startsWith('[fanout]') && /\b(error|denied|refused|failed|read-only|permission)\b/i.test(line))
    .map((line) => line.trim().slice(0, 300))
    .slice(-5);
}

function roundSuffix(round: number): string {
  return round > 0 ? ` (repair round ${round})` : '';
}

/** The scope: no file outside it or read-only changed, and some change made (unless an earlier session's work stands). */
async function judgeChanges(judging: RoundToJudge): Promise<{ verdict: ScopeVerdict } | { problem: RoundProblem }> {
  const { spec, task, recorder } = judging;
  const { roots, readOnly, wiredOwners } = task.scope;
  const changes = await sessionChanges(spec.workspaceRoot, judging.worktree);
  recorder.changed(changes);
  const verdict = judgeScope(changes, roots, readOnly, [...wiredOwners.keys()]);
  const rejected = [
    ...verdict.outside.map((change) => ({ ...change, reason: 'outside-scope' as const })),
    ...verdict.readOnly.map((change) => ({ ...change, reason: 'read-only' as const })),
  ];
  recorder.rejected(rejected);
  const name = `scope${roundSuffix(judging.entry.round)}`;
  if (rejected.length > 0) {
    const list = rejected.map((change) => `${change.path} (${change.status}, ${change.reason})`).join(', ');
    recorder.check(name, false, list);
    recorder.time('checksMs');
    const rule =
      `It may write only ${roots.join(', ')}; the contracts (${spec.contracts.root}), the reference (${spec.reference.root}) ` +
      `and the assignment (${readOnly[2]}) are read-only.`;
    return {
      problem: {
        kind: 'scope',
        summary: `${rejected.length} file(s) outside the session's scope`,
        error: `the session changed files it may not write: ${list}. ${rule} Nothing was recorded`,
        feedback: { scope: `You changed files you may not write: ${list}. Undo those changes. ${rule}` },
      },
    };
  }
  if (changes.length === 0 && !task.alreadyLanded) {
    // An agent that exits 0 having written nothing (a sandbox that silently refused its writes, say) has not done the task.
    const said = reportedErrors(recorder.logFile);
    recorder.check(name, false, 'the agent made no change');
    recorder.time('checksMs');
    return {
      problem: {
        kind: 'scope',
        summary: 'the agent made no change',
        error:
          `the agent made no change in ${roots.join(', ')}; nothing was recorded` +
          (said.length > 0
            ? `. What it reported:\n${said.map((line) => `  ${line}`).join('\n')}`
            : ` (its output is in ${recorder.logFile})`),
        feedback: {
          scope: `You changed no file. Do the assignment: write the task's files in ${roots.join(', ')} (your working directory is the worktree).`,
        },
      },
    };
  }
  recorder.check(name, true, `${changes.length} file(s) inside ${roots.join(', ')}`);
  return { verdict };
}

/** The per-session checks over the accepted files, and whether each wired file the session edited still parses. */
function judgeCode(judging: RoundToJudge, verdict: ScopeVerdict): RoundProblem | undefined {
  const { spec, task, worktree, recorder } = judging;
  const findings: Finding[] = runChecks(
    {
      root: worktree.path,
      project: spec.project,
      projectRoot: spec.projectRoot,
      files: verdict.accepted.filter((change) => change.status !== 'deleted').map((change) => change.path),
      contracts: spec.contracts,
      reference: spec.reference,
      subjects: task.subjects,
      ...spec.run,
    },
    spec.checks ?? {},
  );
  // A wired file is the app's, outside the session's project: one the session leaves unparsable never lands.
  for (const change of verdict.wired) {
    const broken = syntaxError(change.path, readFileSync(join(worktree.path, change.path), 'utf-8'));
    if (broken) {
      findings.push({
        check: 'wired-syntax',
        severity: 'error',
        file: change.path,
        line: Number(/:(\d+):\d+ /.exec(broken)?.[1] ?? 0),
        message: `the session's edit leaves this wired file unparsable: ${broken}`,
        fix: 'Fix the syntax of your edit of this file (a missing comma or bracket, most often), keeping the entries already there.',
      });
    }
  }
  recorder.found(findings);
  const errors = findings.filter((finding) => finding.severity === 'error');
  recorder.check(
    `findings${roundSuffix(judging.entry.round)}`,
    errors.length === 0,
    `${errors.length} error(s), ${findings.length - errors.length} warning(s)`,
  );
  recorder.time('checksMs');
  if (errors.length === 0) return undefined;
  return {
    kind: 'checks',
    summary: `${errors.length} check error(s)`,
    error: `the session's code breaks the fan-out's rules; nothing was recorded`,
    detail: errors.map((finding) => `  ${formatFinding(finding)}`).join('\n'),
    feedback: { findings: errors },
  };
}

/** The problem of a gate that failed: the targets that ran and failed are named; those Nx did not run, with why. */
function gateProblem(project: string, own: boolean, outcome: GateResult): RoundProblem {
  const failed = outcome.targets.filter((target) => !target.ok);
  const ran = failed.filter((target) => !target.skipped);
  const names = (ran.length > 0 ? ran : failed).map((target) => `${project}:${target.target}`).join(', ');
  const notRun = failed.filter((target) => target.skipped).map((target) => `${project}:${target.target} ${gateVerdict(target, project)}`);
  const last = ran.at(-1) ?? failed[failed.length - 1];
  return {
    kind: 'gate',
    summary: failed.map((target) => `${project}:${target.target} ${gateVerdict(target, project)}`).join(', '),
    error:
      `the session's work does not pass ${names} in its worktree` +
      `${notRun.length > 0 && ran.length > 0 ? ` (${notRun.join(', ')})` : ''}` +
      `${own ? '' : ` (a wired file of ${project} it edited)`}; nothing was recorded`,
    detail: `The end of ${project}:${last.target}'s output (all of it in the log):\n${indent(lastLines(last.output, GATE_ERROR_LINES))}`,
    feedback: { gate: outcome },
  };
}

/**
 * The task's own targets, then those of each project whose wired file the session edited (its typecheck):
 * a wired edit that breaks the app fails here, with repair rounds, before anything lands.
 */
async function judgeGate(judging: RoundToJudge, verdict: ScopeVerdict): Promise<RoundProblem | undefined> {
  const { spec, task, worktree, entry, recorder } = judging;
  const editedOwners = new Set(verdict.wired.map((change) => task.scope.wiredOwners.get(change.path)));
  const gates = [
    { project: spec.project, targets: (spec.gate ?? { run: [] }).run },
    ...(spec.wiredGate ?? []).filter((owner) => editedOwners.has(owner.project)),
  ].filter((gate) => gate.targets.length > 0);
  for (const [index, current] of gates.entries()) {
    const outcome = await runGate({
      worktree: worktree.path,
      workspaceRoot: spec.workspaceRoot,
      project: current.project,
      targets: current.targets,
      env: spec.env ?? process.env,
      timeoutMs: Math.max(1, judging.deadline - Date.now()),
      logFile: recorder.logFile,
      echo: spec.echo,
      redact: recorder.redact,
      ...(spec.runGate ? { run: spec.runGate } : {}),
    });
    recorder.time('gateMs');
    const own = index === 0 && current.project === spec.project;
    const label = (target: string) => (own ? target : `${current.project}:${target}`);
    if (own || !outcome.ok) recorder.gate(outcome);
    entry.gate.push(
      ...outcome.targets.map(({ target, ok, durationMs, exitCode, timedOut, cached, skipped }) => ({
        target: label(target),
        ok,
        durationMs,
        exitCode,
        ...(timedOut ? { timedOut } : {}),
        ...(cached ? { cached } : {}),
        ...(skipped ? { skipped } : {}),
      })),
    );
    recorder.check(
      `gate${own ? '' : ` (${current.project}, wired)`}${roundSuffix(entry.round)}`,
      outcome.ok,
      outcome.targets.map((target) => `${target.target} ${gateVerdict(target, current.project)}`).join(', '),
    );
    if (!outcome.ok) return gateProblem(current.project, own, outcome);
  }
  return undefined;
}

/**
 * Judges what the agent left in the worktree after a round: the scope, the
 * per-session checks, then the gate. Each stage runs only when the one before
 * passed: a gate over files outside the scope would be wasted. The scope's
 * verdict when the work may be recorded; else what failed, for the error and the
 * next round's feedback.
 */
export async function judgeRound(judging: RoundToJudge): Promise<{ verdict: ScopeVerdict } | { problem: RoundProblem }> {
  const scoped = await judgeChanges(judging);
  if ('problem' in scoped) return scoped;
  const problem = judgeCode(judging, scoped.verdict) ?? (await judgeGate(judging, scoped.verdict));
  return problem ? { problem } : scoped;
}

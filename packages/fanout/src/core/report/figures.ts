import { describeSpend, type LedgerState } from '../budget/ledger';
import { formatUsd } from '../budget/prices';
import type { Finding } from '../checks/check';
import { keptLine } from '../landing/decide';
import type { SessionResult, SessionTimings } from '../session/result';
import { plainText } from '../system/plain-text';
import { describePromptCache, promptCacheFigures } from './prompt-cache';
import { latestRun, sessionSpan } from './runs';

/** Where a session of one run sits on the run's time axis, in ms from the earliest start. */
interface Span {
  result: SessionResult;
  startMs: number;
  endMs: number;
}

/** Lines of the affected command's output kept in the report: its end, where the failures are. */
const AFFECTED_OUTPUT_LINES = 200;

/** What landing kept of the user's instead of the session's version, one line per file. */
export function keptLines(result: SessionResult): string[] {
  const files = Array.isArray(result.landing?.files) ? result.landing.files : [];
  return files.flatMap((file) =>
    file.action === 'kept' && file.reason
      ? [keptLine(file.path, file.reason, `.fanout/sessions/${result.project}/files/${file.path}`, result.project)]
      : [],
  );
}

export function spansOf(results: readonly SessionResult[]): { spans: Span[]; totalMs: number } {
  const times = results.map((result) => ({ result, ...sessionSpan(result) }));
  const origin = Math.min(...times.map((time) => time.start));
  const spans = times.map(({ result, start, end }) => ({ result, startMs: start - origin, endMs: end - origin }));
  return { spans, totalMs: Math.max(0, ...spans.map((span) => span.endMs)) };
}

interface Totals {
  succeeded: number;
  failed: number;
  wallMs: number;
  sessionMs: number;
  /** Session time over wall time; undefined when the run took no measurable time. */
  parallelism?: number;
  costUsd?: number;
  costReported: number;
  tokens?: { input: number; output: number };
}

function totalsOf(results: readonly SessionResult[]): Totals {
  const { totalMs } = results.length > 0 ? spansOf(results) : { totalMs: 0 };
  const sessionMs = results.reduce((sum, result) => sum + Math.max(0, result.durationMs), 0);
  const costed = results.filter((result) => typeof result.costUsd === 'number');
  const counted = results.filter((result) => result.tokens && (result.tokens.input !== undefined || result.tokens.output !== undefined));
  return {
    succeeded: results.filter((result) => result.status === 'succeeded').length,
    failed: results.filter((result) => result.status === 'failed').length,
    wallMs: totalMs,
    sessionMs,
    parallelism: totalMs > 0 ? sessionMs / totalMs : undefined,
    costUsd: costed.length > 0 ? costed.reduce((sum, result) => sum + (result.costUsd ?? 0), 0) : undefined,
    costReported: costed.length,
    tokens:
      counted.length > 0
        ? {
            input: counted.reduce((sum, result) => sum + (result.tokens?.input ?? 0), 0),
            output: counted.reduce((sum, result) => sum + (result.tokens?.output ?? 0), 0),
          }
        : undefined,
  };
}

/** The phases of a session in the order they run, as `SessionTimings` records them. */
export const PHASES: readonly { key: keyof SessionTimings; name: string; color: string }[] = [
  { key: 'contextMs', name: 'context', color: '#78909c' },
  { key: 'worktreeMs', name: 'worktree', color: '#a1887f' },
  { key: 'waitMs', name: 'wait', color: '#fdd835' },
  { key: 'agentMs', name: 'agent', color: '#1e88e5' },
  { key: 'checksMs', name: 'checks', color: '#8e24aa' },
  { key: 'gateMs', name: 'gate', color: '#fb8c00' },
  { key: 'integrateMs', name: 'integration', color: '#00897b' },
];
/** Time in no measured phase: where a session failed before its phase ended, and writing the result. */
export const OTHER_PHASE = { name: 'other', color: '#cfd8dc' };

interface PhaseShare {
  name: string;
  ms: number;
  /** Percent of the session's bar. */
  share: number;
  /** For a session that took repair rounds: the round (1 for the first attempt) this part of the agent's or the gate's time belongs to. */
  round?: number;
}

/** The phases a session spent time in, each with its share of the session; undefined for results without timings. */
export function phasesOf(result: SessionResult): PhaseShare[] | undefined {
  const timings = result.timings;
  if (!timings || typeof timings !== 'object') return undefined;
  const measured = PHASES.map((phase) => ({ name: phase.name, ms: Math.max(0, Number(timings[phase.key]) || 0) }));
  const sum = measured.reduce((total, phase) => total + phase.ms, 0);
  const whole = Math.max(sum, result.durationMs);
  if (whole <= 0) return undefined;
  const phases = [...measured, { name: OTHER_PHASE.name, ms: whole - sum }].filter((phase) => phase.ms > 0);
  return phases.map((phase) => ({ ...phase, share: (phase.ms / whole) * 100 }));
}

/**
 * The segments of a session's bar: its phases, with the agent's and the gate's
 * time split into rounds where the session took repair rounds (round by round,
 * agent then gate), so the bar shows each attempt.
 */
export function segmentsOf(result: SessionResult): PhaseShare[] | undefined {
  const phases = phasesOf(result);
  const rounds = roundsOf(result);
  if (!phases || rounds.length < 2) return phases;
  const whole = phases.reduce((total, phase) => total + phase.ms, 0);
  const part = (name: string, ms: number, round?: number): PhaseShare => ({
    name,
    ms,
    share: (ms / whole) * 100,
    ...(round ? { round } : {}),
  });
  const byName = new Map(phases.map((phase) => [phase.name, phase]));
  const split: PhaseShare[] = [];
  rounds.forEach((round, index) => {
    if (round.agentMs > 0) split.push(part('agent', round.agentMs, index + 1));
    const gateMs = round.gate.reduce((total, target) => total + target.durationMs, 0);
    if (gateMs > 0) split.push(part('gate', gateMs, index + 1));
  });
  // The rounds' own figures stand for the agent and the gate; what they do not cover stays in "other".
  const covered = split.reduce((total, segment) => total + segment.ms, 0);
  const replaced = (byName.get('agent')?.ms ?? 0) + (byName.get('gate')?.ms ?? 0);
  const rest = phases.filter((phase) => phase.name !== 'agent' && phase.name !== 'gate' && phase.name !== OTHER_PHASE.name);
  const other = (byName.get(OTHER_PHASE.name)?.ms ?? 0) + replaced - covered;
  const before = rest.filter((phase) => phase.name === 'context' || phase.name === 'worktree');
  const after = rest.filter((phase) => phase.name !== 'context' && phase.name !== 'worktree');
  const tail = other > 0 ? [part(OTHER_PHASE.name, other)] : [];
  return [...before, ...split, ...after, ...tail];
}

/** A session's rounds as recorded; empty for results of older versions. */
function roundsOf(result: SessionResult): NonNullable<SessionResult['rounds']> {
  return Array.isArray(result.rounds) ? result.rounds.filter((round) => round && Array.isArray(round.gate)) : [];
}

/** "2 rounds" for a session that took repair rounds, "1" otherwise; NONE for results without rounds. */
export function formatRounds(result: SessionResult): string {
  const count = roundsOf(result).length;
  return count === 0 ? NONE : String(count);
}

/** One line per round: the agent's time, each gate target's outcome, what stopped it. */
export function roundLines(result: SessionResult): string[] {
  const rounds = roundsOf(result);
  if (rounds.length < 2 && !(rounds[0]?.gate.length > 0)) return [];
  return rounds.map((round, index) => {
    const gate = round.gate.map(
      (target) =>
        `${target.target} ${target.ok ? '✓' : target.timedOut ? 'timed out' : target.skipped ? 'not run' : '✗'} ${formatDuration(target.durationMs)}`,
    );
    const extras = [
      round.costUsd !== undefined ? `cost ${formatCost(round.costUsd)}` : undefined,
      round.tokens ? `tokens ${formatTokens(round.tokens)}` : undefined,
    ].filter((text): text is string => text !== undefined);
    const verdict = round.failed ? `failed: ${round.failed}` : 'landed';
    return (
      `round ${index + 1}${index > 0 ? ' (repair)' : ''}: agent ${formatDuration(round.agentMs)}` +
      (extras.length > 0 ? ` (${extras.join(', ')})` : '') +
      (gate.length > 0 ? `; gate ${gate.join(', ')}` : '') +
      `; ${verdict}`
    );
  });
}

function lineTotals(result: SessionResult): { added: number; removed: number } | undefined {
  const counted = (result.files ?? []).filter((file) => typeof file.added === 'number' && typeof file.removed === 'number');
  if (counted.length === 0) return undefined;
  return {
    added: counted.reduce((sum, file) => sum + (file.added ?? 0), 0),
    removed: counted.reduce((sum, file) => sum + (file.removed ?? 0), 0),
  };
}

export const NONE = '–';

export function formatDuration(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const seconds = Math.round(ms / 1000);
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const rest = `${minutes} min ${seconds % 60} s`;
  return hours > 0 ? `${hours} h ${rest}` : rest;
}

export function formatCost(costUsd: number | undefined): string {
  return typeof costUsd === 'number' ? `$${costUsd.toFixed(4)}` : NONE;
}

export function formatTokens(tokens: SessionResult['tokens']): string {
  if (!tokens || (tokens.input === undefined && tokens.output === undefined)) return NONE;
  const count = (value: number | undefined) => (value === undefined ? '?' : value.toLocaleString('en-US'));
  const cached =
    tokens.cacheRead !== undefined && tokens.input ? ` (${Math.round((tokens.cacheRead / tokens.input) * 100)}% from the cache)` : '';
  return `${count(tokens.input)} in${cached} / ${count(tokens.output)} out`;
}

export function formatFindingCounts(findings: readonly Finding[] | undefined): string {
  const errors = (findings ?? []).filter((finding) => finding.severity === 'error').length;
  const warnings = (findings ?? []).length - errors;
  if (errors === 0 && warnings === 0) return '0';
  return [errors > 0 ? plural(errors, 'error') : '', warnings > 0 ? plural(warnings, 'warning') : ''].filter(Boolean).join(', ');
}

/** "3 (+40 −2)", or "3" when the result has no line counts. */
export function formatFilesChanged(result: SessionResult): string {
  const count = (result.files ?? []).length;
  const lines = lineTotals(result);
  return lines ? `${count} (+${lines.added} −${lines.removed})` : String(count);
}

export function formatPhases(phases: readonly PhaseShare[]): string {
  return phases.map((phase) => `${phase.name} ${formatDuration(phase.ms)}`).join(' · ');
}

export function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

export function findingPlace(finding: Finding): string {
  return finding.line > 0 ? `${finding.file}:${finding.line}` : finding.file;
}

/** The totals of the latest run; where sessions of earlier runs are recorded too, it says so and how many. */
export function summaryParts(recorded: readonly SessionResult[], ledger?: LedgerState): string[] {
  const { latest: results, earlier, earlierRuns } = latestRun(recorded);
  const totals = totalsOf(results);
  const parts = [
    `${earlier.length > 0 ? 'Latest run: ' : ''}${plural(results.length, 'session')}: ${totals.succeeded} succeeded, ${totals.failed} failed`,
    `wall time ${formatDuration(totals.wallMs)} (first start to last end)`,
    `session time ${formatDuration(totals.sessionMs)} in all`,
    `parallelism ${totals.parallelism === undefined ? NONE : `${totals.parallelism.toFixed(1)}×`}`,
  ];
  if (totals.costUsd !== undefined) {
    parts.push(`cost ${formatCost(totals.costUsd)} (reported by ${totals.costReported} of ${results.length})`);
  }
  if (totals.tokens) parts.push(`tokens ${formatTokens(totals.tokens)}`);
  const cache = promptCacheFigures(results);
  if (cache) parts.push(describePromptCache(cache, results.length));
  const budget = ledger && budgetPart(ledger, results);
  if (budget) parts.push(budget);
  if (earlier.length > 0) {
    const older = earlierRuns === 1 ? 'an older run' : `${earlierRuns} older runs`;
    parts.push(
      `${plural(earlier.length, 'earlier session')} from ${older} ${earlier.length === 1 ? 'is' : 'are'} listed below (${EARLIER_RUN}), not counted here`,
    );
  }
  return parts;
}

/**
 * The latest run's budget, from its ledger: the estimate, what was spent of the budget, and who was
 * stopped at the cap or not started. Undefined when the ledger is older than the run (it ran without a budget).
 */
function budgetPart(ledger: LedgerState, results: readonly SessionResult[]): string | undefined {
  const firstStart = Math.min(...results.map((result) => Date.parse(result.startedAt)).filter((at) => !Number.isNaN(at)));
  if (Number.isFinite(firstStart) && Date.parse(ledger.updatedAt) < firstStart) return undefined;
  const projects = Object.entries(ledger.projects ?? {});
  const stopped = projects.filter(([, spend]) => spend.stopped).map(([project]) => project);
  const notStarted = projects.filter(([, spend]) => spend.notStarted).map(([project]) => project);
  return (
    `budget: ${describeSpend(ledger.spent, ledger.budget)} spent` +
    (ledger.estimate ? ` (estimate ${formatUsd(ledger.estimate.low)} to ${formatUsd(ledger.estimate.high)})` : '') +
    (stopped.length > 0 ? `, stopped at the cap: ${stopped.join(', ')}` : '') +
    (notStarted.length > 0 ? `, not started: ${notStarted.join(', ')}` : '')
  );
}

/** How the table marks a session recorded by an earlier run than the latest. */
export const EARLIER_RUN = 'earlier run';

/** The base commits the sessions started from, most used first. */
export function baseCommits(results: readonly SessionResult[]): string[] {
  const uses = new Map<string, number>();
  for (const result of results) if (result.baseCommit) uses.set(result.baseCommit, (uses.get(result.baseCommit) ?? 0) + 1);
  return [...uses].sort((a, b) => b[1] - a[1]).map(([commit]) => commit);
}

export function affectedTail(output: string): { text: string; omitted: number } {
  const lines = plainText(output).replace(/\s+$/, '').split('\n');
  const omitted = Math.max(0, lines.length - AFFECTED_OUTPUT_LINES);
  return { text: lines.slice(omitted).join('\n'), omitted };
}

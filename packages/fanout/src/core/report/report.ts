import { describePromptCache, promptCacheFigures } from './prompt-cache';
import { execFileSync } from 'child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'fs';
import { join } from 'path';
import type { Finding } from '../checks/check';
import type { SessionResult, SessionTimings } from '../session/result';
import { keptLine } from '../landing/decide';
import { DIFF_CUT_NOTE, DIFF_FILE } from '../session/session-diff';
import { FANOUT_DIR } from '../../constants';
import { headFromFiles } from '../system/git';
import { plainText } from './plain-text';
import { latestRun, sessionSpan } from './runs';

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
}

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
}

/** Where a session of one run sits on the run's time axis, in ms from the earliest start. */
interface Span {
  result: SessionResult;
  startMs: number;
  endMs: number;
}

/** Lines of the affected command's output kept in the report: its end, where the failures are. */
const AFFECTED_OUTPUT_LINES = 200;

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
  const sessions = join(workspaceRoot, FANOUT_DIR, 'sessions');
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
    const file = join(sessions, name, 'result.json');
    const where = `${FANOUT_DIR}/sessions/${name}/result.json`;
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
    recorded.push({ result: parsed as SessionResult, dir: join(sessions, name) });
  }
  return recorded.sort(
    (a, b) => Date.parse(a.result.startedAt) - Date.parse(b.result.startedAt) || a.result.project.localeCompare(b.result.project),
  );
}

/** What landing kept of the user's instead of the session's version, one line per file. */
function keptLines(result: SessionResult): string[] {
  const files = Array.isArray(result.landing?.files) ? result.landing.files : [];
  return files.flatMap((file) =>
    file.action === 'kept' && file.reason
      ? [keptLine(file.path, file.reason, `.fanout/sessions/${result.project}/files/${file.path}`, result.project)]
      : [],
  );
}

/** What the report relies on; the rest of a result is optional to it. */
function shapeProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not an object';
  const result = value as Record<string, unknown>;
  if (typeof result.project !== 'string' || result.project === '') return 'no project';
  if (result.status !== 'succeeded' && result.status !== 'failed') return `status ${JSON.stringify(result.status)}`;
  if (typeof result.startedAt !== 'string' || Number.isNaN(Date.parse(result.startedAt))) return 'no valid startedAt';
  if (typeof result.durationMs !== 'number') return 'no durationMs';
  for (const list of ['files', 'findings', 'rejected', 'checks', 'wired']) {
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

/** The commit HEAD names in `workspaceRoot`; undefined outside a git repository or before its first commit. */
function headCommit(workspaceRoot: string): string | undefined {
  const fromFiles = headFromFiles(workspaceRoot);
  if (fromFiles) return fromFiles;
  try {
    const output = execFileSync('git', ['rev-parse', '--verify', '-q', 'HEAD'], {
      cwd: workspaceRoot,
      encoding: 'utf-8',
      stdio: ['ignore', 'pipe', 'ignore'],
      env: { ...process.env, GIT_OPTIONAL_LOCKS: '0' },
    });
    return output.trim() || undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether a session that just ended should write the report: when it failed (so
 * that a run whose later tasks Nx then skips still has one), when the run's start
 * is unknown, and otherwise only when every other task of the run has recorded
 * its result since the run began (it is the run's last). Writing the report reads
 * every session of the workspace, so writing it after every session would cost a
 * run of N sessions N² reads; fanout-verify writes it again at the run's end.
 */
export function reportDue(
  workspaceRoot: string,
  run: { projects: readonly string[]; startedAt: number | undefined },
  session: { project: string; failed: boolean },
): boolean {
  if (session.failed || run.startedAt === undefined) return true;
  const { startedAt } = run;
  return run.projects.every((project) => {
    if (project === session.project) return true;
    try {
      // Written, or restored from Nx's cache, during this run; a second of slack for file systems' coarse times.
      return statSync(join(workspaceRoot, FANOUT_DIR, 'sessions', project, 'result.json')).mtimeMs >= startedAt - 1000;
    } catch {
      return false;
    }
  });
}

/** Writes `.fanout/report.md` and `.fanout/report.html` from every recorded session. */
export function writeReport(workspaceRoot: string, verify?: VerifySummary): { markdown: string; html: string } {
  const notes: string[] = [];
  const note = (message: string) => notes.push(message);
  const sessions = readSessions(workspaceRoot, note);
  const diffs = new Map<string, string>();
  for (const session of sessions) {
    const diff = readDiff(session, note);
    if (diff !== undefined) diffs.set(session.result.project, diff);
  }
  const input: ReportInput = {
    results: sessions.map((session) => session.result),
    verify,
    generatedAt: new Date(),
    notes,
    headCommit: headCommit(workspaceRoot),
    diffs,
  };
  const dir = join(workspaceRoot, FANOUT_DIR);
  mkdirSync(dir, { recursive: true });
  const markdown = join(dir, 'report.md');
  const html = join(dir, 'report.html');
  writeAtomically(markdown, renderReportMarkdown(input));
  writeAtomically(html, renderReportHtml(input));
  return { markdown, html };
}

/**
 * Several fanout tasks of a run may write the report at the same moment: each
 * writes its own temporary file and renames it over the report, so a reader
 * sees one whole report or another, never a mix or a truncated file.
 */
function writeAtomically(path: string, content: string): void {
  const temporary = `${path}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`;
  try {
    writeFileSync(temporary, content);
    renameSync(temporary, path);
  } catch (error) {
    throw new Error(
      `could not write the report ${path}: ${(error as Error).message}. ` +
        `Make sure ${FANOUT_DIR}/ is a writable folder and nothing else occupies that path, then run the target again.`,
    );
  } finally {
    rmSync(temporary, { force: true });
  }
}

// ---------------------------------------------------------------- figures

function spansOf(results: readonly SessionResult[]): { spans: Span[]; totalMs: number } {
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
const PHASES: readonly { key: keyof SessionTimings; name: string; color: string }[] = [
  { key: 'contextMs', name: 'context', color: '#78909c' },
  { key: 'worktreeMs', name: 'worktree', color: '#a1887f' },
  { key: 'waitMs', name: 'wait', color: '#fdd835' },
  { key: 'agentMs', name: 'agent', color: '#1e88e5' },
  { key: 'checksMs', name: 'checks', color: '#8e24aa' },
  { key: 'gateMs', name: 'gate', color: '#fb8c00' },
  { key: 'integrateMs', name: 'integration', color: '#00897b' },
];
/** Time in no measured phase: where a session failed before its phase ended, and writing the result. */
const OTHER_PHASE = { name: 'other', color: '#cfd8dc' };

interface PhaseShare {
  name: string;
  ms: number;
  /** Percent of the session's bar. */
  share: number;
  /** For a session that took repair rounds: the round (1 for the first attempt) this part of the agent's or the gate's time belongs to. */
  round?: number;
}

/** The phases a session spent time in, each with its share of the session; undefined for results without timings. */
function phasesOf(result: SessionResult): PhaseShare[] | undefined {
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
function segmentsOf(result: SessionResult): PhaseShare[] | undefined {
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
function formatRounds(result: SessionResult): string {
  const count = roundsOf(result).length;
  return count === 0 ? NONE : String(count);
}

/** One line per round: the agent's time, each gate target's outcome, what stopped it. */
function roundLines(result: SessionResult): string[] {
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

const NONE = '–';

function formatDuration(ms: number): string {
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const seconds = Math.round(ms / 1000);
  const hours = Math.floor(seconds / 3600);
  const minutes = Math.floor((seconds % 3600) / 60);
  const rest = `${minutes} min ${seconds % 60} s`;
  return hours > 0 ? `${hours} h ${rest}` : rest;
}

function formatCost(costUsd: number | undefined): string {
  return typeof costUsd === 'number' ? `$${costUsd.toFixed(4)}` : NONE;
}

function formatTokens(tokens: SessionResult['tokens']): string {
  if (!tokens || (tokens.input === undefined && tokens.output === undefined)) return NONE;
  const count = (value: number | undefined) => (value === undefined ? '?' : value.toLocaleString('en-US'));
  const cached =
    tokens.cacheRead !== undefined && tokens.input ? ` (${Math.round((tokens.cacheRead / tokens.input) * 100)}% from the cache)` : '';
  return `${count(tokens.input)} in${cached} / ${count(tokens.output)} out`;
}

function formatFindingCounts(findings: readonly Finding[] | undefined): string {
  const errors = (findings ?? []).filter((finding) => finding.severity === 'error').length;
  const warnings = (findings ?? []).length - errors;
  if (errors === 0 && warnings === 0) return '0';
  return [errors > 0 ? plural(errors, 'error') : '', warnings > 0 ? plural(warnings, 'warning') : ''].filter(Boolean).join(', ');
}

/** "3 (+40 −2)", or "3" when the result has no line counts. */
function formatFilesChanged(result: SessionResult): string {
  const count = (result.files ?? []).length;
  const lines = lineTotals(result);
  return lines ? `${count} (+${lines.added} −${lines.removed})` : String(count);
}

function formatPhases(phases: readonly PhaseShare[]): string {
  return phases.map((phase) => `${phase.name} ${formatDuration(phase.ms)}`).join(' · ');
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function findingPlace(finding: Finding): string {
  return finding.line > 0 ? `${finding.file}:${finding.line}` : finding.file;
}

/** The totals of the latest run; where sessions of earlier runs are recorded too, it says so and how many. */
function summaryParts(recorded: readonly SessionResult[]): string[] {
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
  if (earlier.length > 0) {
    const older = earlierRuns === 1 ? 'an older run' : `${earlierRuns} older runs`;
    parts.push(
      `${plural(earlier.length, 'earlier session')} from ${older} ${earlier.length === 1 ? 'is' : 'are'} listed below (${EARLIER_RUN}), not counted here`,
    );
  }
  return parts;
}

/** How the table marks a session recorded by an earlier run than the latest. */
const EARLIER_RUN = 'earlier run';

/** The base commits the sessions started from, most used first. */
function baseCommits(results: readonly SessionResult[]): string[] {
  const uses = new Map<string, number>();
  for (const result of results) if (result.baseCommit) uses.set(result.baseCommit, (uses.get(result.baseCommit) ?? 0) + 1);
  return [...uses].sort((a, b) => b[1] - a[1]).map(([commit]) => commit);
}

function affectedTail(output: string): { text: string; omitted: number } {
  const lines = plainText(output).replace(/\s+$/, '').split('\n');
  const omitted = Math.max(0, lines.length - AFFECTED_OUTPUT_LINES);
  return { text: lines.slice(omitted).join('\n'), omitted };
}

// ---------------------------------------------------------------- diffs

interface DiffLine {
  kind: 'meta' | 'hunk' | 'added' | 'removed' | 'context';
  text: string;
}

interface FileDiff {
  /** The file the part is about, when its header names it plainly. */
  path?: string;
  lines: DiffLine[];
}

interface ParsedDiff {
  files: FileDiff[];
  /** What `capDiff` said when it cut the diff. */
  cut?: string;
}

/**
 * A unified diff (as `git diff` writes it, without renames) split into one part
 * per file. A line is judged by where it is: before a file's first hunk it is
 * header, so `--- a/x` there is not a removed line.
 */
function parseDiff(text: string): ParsedDiff {
  const parsed: ParsedDiff = { files: [] };
  let current: FileDiff | undefined;
  let inHunk = false;
  if (text === '') return parsed;
  for (const line of text.replace(/\n$/, '').split('\n')) {
    if (line.startsWith(DIFF_CUT_NOTE)) {
      parsed.cut = line;
      continue;
    }
    if (line.startsWith('diff --git ')) {
      current = { path: headerPath(line), lines: [] };
      parsed.files.push(current);
      inHunk = false;
    } else if (!current) {
      current = { lines: [] };
      parsed.files.push(current);
    }
    if (line.startsWith('@@')) inHunk = true;
    const kind: DiffLine['kind'] = !inHunk
      ? 'meta'
      : line.startsWith('@@')
        ? 'hunk'
        : line.startsWith('+')
          ? 'added'
          : line.startsWith('-')
            ? 'removed'
            : line.startsWith('\\')
              ? 'meta'
              : 'context';
    current.lines.push({ kind, text: line });
  }
  return parsed;
}

/** The path of `diff --git a/<path> b/<path>`; undefined for a quoted header (a name with control characters). */
function headerPath(header: string): string | undefined {
  const rest = header.slice('diff --git '.length);
  if ((rest.length - 5) % 2 !== 0) return undefined;
  const path = rest.slice(2, 2 + (rest.length - 5) / 2);
  return rest === `a/${path} b/${path}` ? path : undefined;
}

/** added, deleted or modified, as the part's header says. */
function partStatus(file: FileDiff): string {
  const header = file.lines.filter((line) => line.kind === 'meta').map((line) => line.text);
  if (header.some((line) => line.startsWith('new file mode'))) return 'added';
  if (header.some((line) => line.startsWith('deleted file mode'))) return 'deleted';
  return 'modified';
}

function countLines(file: FileDiff): { added: number; removed: number } {
  return {
    added: file.lines.filter((line) => line.kind === 'added').length,
    removed: file.lines.filter((line) => line.kind === 'removed').length,
  };
}

/** One row per changed file: its change, its line counts and its part of the diff. */
interface FileRow {
  path: string;
  status?: string;
  added?: number;
  removed?: number;
  binary?: boolean;
  diff?: FileDiff;
}

/**
 * The files a session shows: those it integrated (their counts from the result),
 * or, for a failed session, those of its kept worktree's diff (counted from the
 * diff). Parts of the diff that name no listed file come last, on their own.
 */
function fileRows(result: SessionResult, diff: ParsedDiff | undefined): FileRow[] {
  const parts = new Map<string, FileDiff>();
  for (const file of diff?.files ?? []) if (file.path !== undefined) parts.set(file.path, file);
  const rows: FileRow[] =
    result.status === 'succeeded' || !diff
      ? (result.files ?? []).map((file) => ({ ...file, diff: parts.get(file.path) }))
      : [...parts].map(([path, part]) => ({ path, status: partStatus(part), ...countLines(part), diff: part }));
  const shown = new Set(rows.map((row) => row.diff));
  for (const part of diff?.files ?? []) {
    if (!shown.has(part))
      rows.push({ path: part.path ?? '(a file git names in quotes)', status: partStatus(part), ...countLines(part), diff: part });
  }
  return rows.map((row) => {
    const binary = row.binary || row.diff?.lines.some((line) => line.kind === 'meta' && /^Binary files .* differ$/.test(line.text));
    return binary ? { ...row, binary: true, added: undefined, removed: undefined } : row;
  });
}

// ---------------------------------------------------------------- Markdown

/** Text that renders as itself in a Markdown paragraph or table cell (no HTML, links or emphasis). */
function mdText(text: string): string {
  return plainText(text)
    .replace(/\r?\n/g, ' ')
    .replace(/[\\`*_[\]<>|#!]/g, (character) => `\\${character}`);
}

/**
 * A code span that holds any text: the fence is longer than any run of
 * backticks inside. In a table cell a pipe must still be escaped (GFM splits
 * cells before it parses code spans).
 */
function mdCode(text: string, inTable = false): string {
  const oneLine = plainText(text).replace(/\r?\n/g, ' ');
  const flat = inTable ? oneLine.replace(/\|/g, '\\|') : oneLine;
  const longest = Math.max(0, ...(flat.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  const pad = flat.startsWith('`') || flat.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${flat}${pad}${fence}`;
}

function mdBlock(raw: string, language = 'text'): string[] {
  const text = plainText(raw);
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return [`${fence}${language}`, text, fence];
}

function commitMarkdown(input: ReportInput): string[] {
  const head = input.headCommit
    ? `For commit ${mdCode(input.headCommit)}: the workspace's HEAD when this report was written.`
    : 'The workspace is not a git repository with a commit: there is no commit to name.';
  const bases = baseCommits(input.results);
  const base =
    bases.length === 1
      ? ` The sessions started from ${mdCode(bases[0])}.`
      : bases.length > 1
        ? ` The sessions started from ${bases.length} different commits (see each session).`
        : '';
  return [`${head}${base}`, ''];
}

export function renderReportMarkdown(input: ReportInput): string {
  const { results, verify } = input;
  const lines = ['# fanout report', '', `Generated ${input.generatedAt.toISOString()}.`, '', ...commitMarkdown(input)];
  for (const note of input.notes ?? []) lines.push(`> Note: ${mdText(note)}`, '');

  if (results.length === 0) {
    lines.push(`No session has recorded a result in \`${FANOUT_DIR}/sessions\` yet: run \`nx run-many -t fanout\`.`, '');
  } else {
    lines.push(`${summaryParts(results).join(' · ')}.`, '');
    lines.push('| project | status | agent | duration | rounds | files changed | findings | cost (USD) | tokens |');
    lines.push('| --- | --- | --- | ---: | ---: | ---: | --- | ---: | ---: |');
    const { earlier } = latestRun(results);
    for (const result of results) {
      const cells = [
        mdCode(result.project, true),
        `${mdText(result.status)}${earlier.includes(result) ? ` (${EARLIER_RUN})` : ''}`,
        mdCode(result.agent ?? NONE, true),
        formatDuration(result.durationMs),
        formatRounds(result),
        formatFilesChanged(result),
        formatFindingCounts(result.findings),
        formatCost(result.costUsd),
        formatTokens(result.tokens),
      ];
      lines.push(`| ${cells.join(' | ')} |`);
    }
    lines.push('');
  }

  if (verify) lines.push(...verifyMarkdown(verify));
  if (results.length > 0) {
    lines.push('## Sessions', '');
    for (const result of results) lines.push(...sessionMarkdown(result, input.diffs?.get(result.project)));
  }
  return `${lines.join('\n').replace(/\n+$/, '')}\n`;
}

function sessionMarkdown(result: SessionResult, diffText: string | undefined): string[] {
  const lines = [`### ${mdCode(result.project)}: ${mdText(result.status)}`, ''];
  const phases = phasesOf(result);
  lines.push(
    `- agent ${mdCode(result.agent ?? NONE)}, base commit ${result.baseCommit ? mdCode(result.baseCommit) : NONE}, ` +
      `${formatDuration(result.durationMs)}${phases ? ` (${formatPhases(phases)})` : ''}`,
  );
  const checks = (result.checks ?? []).map((check) => `${mdText(check.name)} ${check.ok ? 'passed' : 'failed'}`);
  if (checks.length > 0) lines.push(`- checks: ${checks.join(', ')}`);
  for (const line of roundLines(result)) lines.push(`- ${mdText(line)}`);
  if (result.worktree) lines.push(`- worktree kept at ${mdCode(result.worktree)}`);
  if (result.log) lines.push(`- log: ${mdCode(result.log)}`);
  lines.push('');
  if (result.summary) lines.push(`> ${mdText(result.summary)}`, '');
  if (result.status === 'failed') lines.push(...mdBlock(result.error ?? 'no error was recorded'), '');

  const diff = diffText === undefined ? undefined : parseDiff(diffText);
  const rows = fileRows(result, diff);
  if (rows.length > 0) {
    lines.push(result.status === 'succeeded' ? 'Files the session wrote:' : 'Changes in the kept worktree (not landed):', '');
    lines.push('| file | change | added | removed |', '| --- | --- | ---: | ---: |');
    for (const row of rows) {
      const [added, removed] = row.binary ? ['binary', 'binary'] : [row.added ?? NONE, row.removed ?? NONE];
      lines.push(`| ${mdCode(row.path, true)} | ${mdText(row.status ?? NONE)} | ${added} | ${removed} |`);
    }
    lines.push('');
  }
  if (diffText !== undefined) {
    // GitHub renders <details> around a fenced block; anything from the diff stays inside the fence.
    // The summary line is raw HTML to Markdown, so what it holds is escaped as HTML.
    lines.push(
      `<details><summary>diff${result.diff ? ` (${escapeHtml(result.diff.file)})` : ''}</summary>`,
      '',
      ...mdBlock(diffText.replace(/\n$/, ''), 'diff'),
      '',
      '</details>',
      '',
    );
  }
  for (const line of keptLines(result)) lines.push(`- ${mdText(line)}`);
  if (keptLines(result).length > 0) lines.push('');
  if (Array.isArray(result.wired) && result.wired.length > 0) {
    lines.push('Wired files (merged three-way into the shared file):', '');
    for (const file of result.wired) lines.push(`- ${mdCode(file.path)} of ${mdCode(file.project)}: ${mdText(file.status)}`);
    lines.push('');
  }
  if ((result.rejected ?? []).length > 0) {
    lines.push('Rejected changes:', '');
    for (const change of result.rejected) lines.push(`- ${mdCode(change.path)} (${mdText(change.status)}, ${mdText(change.reason)})`);
    lines.push('');
  }
  if ((result.findings ?? []).length > 0) {
    lines.push('Findings:', '');
    for (const finding of result.findings) {
      lines.push(
        `- **${mdText(finding.severity)}** ${mdCode(findingPlace(finding))} ${mdText(finding.message)} (fix: ${mdText(finding.fix)}) [${mdText(finding.check)}]`,
      );
    }
    lines.push('');
  }
  return lines;
}

function verifyMarkdown(verify: VerifySummary): string[] {
  const lines = ['## Verify', ''];
  const base = verify.baseCommit ? ` against base ${mdCode(verify.baseCommit)}` : '';
  lines.push(`${verify.ok ? 'Passed' : 'Failed'}${base}: ${plural(verify.problems.length, 'problem')} across sessions.`, '');
  if (verify.baseNote) lines.push(`Base: ${mdText(verify.baseNote)}`, '');
  for (const problem of verify.problems) {
    const sessions = problem.sessions.length > 0 ? ` (sessions: ${problem.sessions.map((session) => mdCode(session)).join(', ')})` : '';
    lines.push(`- **${mdText(problem.kind)}**: ${mdText(problem.message)}${sessions}`);
  }
  if (verify.problems.length > 0) lines.push('');
  if (verify.affected) {
    lines.push(`Affected checks ${mdCode(verify.affected.command)}: ${verify.affected.ok ? 'passed' : 'failed'}.`, '');
    if (verify.affected.output) {
      const { text, omitted } = affectedTail(verify.affected.output);
      if (omitted > 0) lines.push(`(the first ${omitted} lines of output are left out)`, '');
      lines.push(...mdBlock(text), '');
    }
  }
  return lines;
}

// ---------------------------------------------------------------- HTML

function escapeHtml(text: string): string {
  return plainText(text).replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
}

/** Percent of the axis, short and exact enough for layout. */
function percent(value: number): string {
  return `${Number(value.toFixed(3))}%`;
}

/** Tick spacing in seconds: 1, 2 or 5 times a power of ten, at most about eight ticks. */
function tickStepSeconds(totalSeconds: number): number {
  const rough = totalSeconds / 8;
  const power = 10 ** Math.floor(Math.log10(rough));
  return [1, 2, 5, 10].map((factor) => factor * power).find((step) => step >= rough) ?? 10 * power;
}

/** A session's anchor: from its place in the report, never from its (untrusted) name. */
function sessionAnchor(index: number): string {
  return `session-${index + 1}`;
}

function phaseColor(name: string): string {
  return PHASES.find((phase) => phase.name === name)?.color ?? OTHER_PHASE.color;
}

/** The latest run's sessions on one time axis; sessions of earlier runs are left to the table. */
function timelineHtml(results: readonly SessionResult[]): string {
  const { latest, earlier } = latestRun(results);
  const { spans, totalMs } = spansOf(latest);
  // A run that took no measurable time still gets an axis to draw on.
  const axisMs = totalMs > 0 ? totalMs : 1000;
  const step = tickStepSeconds(axisMs / 1000);
  const ticks: string[] = [];
  for (let index = 0; index * step * 1000 <= axisMs + 1e-6; index++) {
    const seconds = Number((index * step).toFixed(3));
    ticks.push(`<span class="tick" style="left:${percent(((seconds * 1000) / axisMs) * 100)}">${seconds} s</span>`);
  }
  const rows = spans.map(({ result, startMs, endMs }) => {
    const index = results.indexOf(result);
    const project = escapeHtml(result.project);
    const phases = segmentsOf(result);
    const title = escapeHtml(
      `${result.project}: ${result.status}, ${(startMs / 1000).toFixed(1)} s to ${(endMs / 1000).toFixed(1)} s (${formatDuration(result.durationMs)})` +
        (phases ? `: ${formatPhases(phases)}` : ''),
    );
    const geometry = `left:${percent((startMs / axisMs) * 100)};width:${percent(((endMs - startMs) / axisMs) * 100)}`;
    const segments = (phases ?? []).map((phase) => {
      const round = phase.round ? ` data-round="${phase.round}"` : '';
      // Each repair round opens with a white rule on the bar.
      const opens = phase.round && phase.round > 1 && phase.name === 'agent' ? ' round-start' : '';
      const label = `${phase.name}${phase.round ? ` (round ${phase.round})` : ''} ${formatDuration(phase.ms)}`;
      return (
        `<span class="phase${opens}" data-phase="${phase.name}"${round} style="width:${percent(phase.share)};background:${phaseColor(phase.name)}" ` +
        `title="${escapeHtml(label)}"></span>`
      );
    });
    return [
      '<div class="timeline-row">',
      `<div class="timeline-label" title="${project}"><span class="mark status-${escapeHtml(result.status)}">${result.status === 'failed' ? '✗' : '✓'}</span> ${project}</div>`,
      '<div class="timeline-track">',
      `<div class="timeline-bar status-${escapeHtml(result.status)}" data-session="${project}" style="${geometry}" title="${title}">`,
      ...segments,
      `<a class="timeline-bar-label" href="#${sessionAnchor(index)}">${project}</a></div>`,
      '</div></div>',
    ].join('');
  });
  const note =
    earlier.length > 0
      ? [
          `<p class="note">The latest run only: the ${plural(earlier.length, 'session')} of earlier runs (${EARLIER_RUN}) are in the table.</p>`,
        ]
      : [];
  return [
    '<section class="timeline" aria-label="Sessions on one time axis">',
    ...note,
    ...rows,
    `<div class="timeline-row timeline-axis"><div class="timeline-label">seconds from first start</div><div class="timeline-track">${ticks.join('')}</div></div>`,
    '</section>',
  ].join('\n');
}

function legendHtml(): string {
  const swatch = (color: string, name: string) => `<span class="swatch" style="background:${color}"></span>${name}`;
  return (
    '<p class="legend">Each bar is a session from its start to its end, split into its phases:' +
    [...PHASES, OTHER_PHASE].map((phase) => swatch(phase.color, phase.name)).join('') +
    '. A white rule on a bar opens a repair round. A failed session has a red outline; a session recorded without timings is one bar in its status colour.</p>'
  );
}

function tableHtml(results: readonly SessionResult[]): string {
  const { earlier } = latestRun(results);
  const rows = results.map((result, index) => {
    const cells = [
      `<td><a href="#${sessionAnchor(index)}"><code>${escapeHtml(result.project)}</code></a></td>`,
      `<td><span class="status status-${escapeHtml(result.status)}">${escapeHtml(result.status)}</span>` +
        `${earlier.includes(result) ? ` <span class="earlier">${EARLIER_RUN}</span>` : ''}</td>`,
      `<td>${escapeHtml(result.agent ?? NONE)}</td>`,
      `<td class="number">${formatDuration(result.durationMs)}</td>`,
      `<td class="number">${formatRounds(result)}</td>`,
      `<td class="number">${formatFilesChanged(result)}</td>`,
      `<td>${formatFindingCounts(result.findings)}</td>`,
      `<td class="number">${formatCost(result.costUsd)}</td>`,
      `<td class="number">${formatTokens(result.tokens)}</td>`,
    ];
    return `<tr>${cells.join('')}</tr>`;
  });
  return [
    '<table class="sessions">',
    '<thead><tr><th>project</th><th>status</th><th>agent</th><th>duration</th><th>rounds</th><th>files changed</th><th>findings</th><th>cost (USD)</th><th>tokens</th></tr></thead>',
    `<tbody>${rows.join('\n')}</tbody>`,
    '</table>',
  ].join('\n');
}

function diffLinesHtml(lines: readonly DiffLine[]): string {
  return lines.map((line) => `<span class="line diff-${line.kind}">${escapeHtml(line.text) || ' '}</span>`).join('');
}

function fileRowHtml(row: FileRow): string {
  const counts = row.binary
    ? '<span class="binary">binary</span>'
    : row.added === undefined
      ? ''
      : `<span class="added">+${row.added}</span> <span class="removed">−${row.removed}</span>`;
  const head = `<code class="path">${escapeHtml(row.path)}</code> ${row.status ? `<span class="change">${escapeHtml(row.status)}</span> ` : ''}${counts}`;
  if (!row.diff || row.binary) return `<li class="file">${head}</li>`;
  return `<li class="file"><details><summary>${head}</summary><pre class="diff">${diffLinesHtml(row.diff.lines)}</pre></details></li>`;
}

function findingsListHtml(findings: readonly Finding[]): string {
  const items = findings.map(
    (finding) =>
      `<li class="finding"><span class="severity-${finding.severity === 'error' ? 'error' : 'warning'}">${escapeHtml(finding.severity)}</span> ` +
      `<code class="place">${escapeHtml(findingPlace(finding))}</code> ${escapeHtml(finding.message)} ` +
      `<span class="fix">(fix: ${escapeHtml(finding.fix)})</span> <span class="check">[${escapeHtml(finding.check)}]</span></li>`,
  );
  return `<ul class="findings">${items.join('\n')}</ul>`;
}

function sessionHtml(result: SessionResult, index: number, diffText: string | undefined): string {
  const status = escapeHtml(result.status);
  const phases = phasesOf(result);
  const parts = [
    `<section class="session session-${status}" id="${sessionAnchor(index)}" data-session="${escapeHtml(result.project)}">`,
    `<h3><code>${escapeHtml(result.project)}</code> <span class="status status-${status}">${status}</span></h3>`,
    `<p class="session-meta">agent <code>${escapeHtml(result.agent ?? NONE)}</code> · base commit <code class="commit">${escapeHtml(result.baseCommit || NONE)}</code> · ` +
      `${formatDuration(result.durationMs)} · cost ${formatCost(result.costUsd)} · tokens ${formatTokens(result.tokens)}</p>`,
  ];
  if (phases) {
    const items = phases.map(
      (phase) => `<span class="swatch" style="background:${phaseColor(phase.name)}"></span>${phase.name} ${formatDuration(phase.ms)}`,
    );
    parts.push(`<p class="phases">${items.join(' ')}</p>`);
  }
  const checks = (result.checks ?? []).map(
    (check) =>
      `<span class="check-result ${check.ok ? 'ok' : 'not-ok'}" title="${escapeHtml(check.message ?? '')}">${escapeHtml(check.name)} ${check.ok ? '✓' : '✗'}</span>`,
  );
  if (checks.length > 0) parts.push(`<p class="checks">checks: ${checks.join(' ')}</p>`);
  const rounds = roundLines(result);
  if (rounds.length > 0) parts.push(`<ol class="rounds">${rounds.map((line) => `<li>${escapeHtml(line)}</li>`).join('')}</ol>`);
  if (result.summary)
    parts.push(`<div class="agent-summary"><strong>The agent's summary</strong><p>${escapeHtml(result.summary)}</p></div>`);
  if (result.status === 'failed') {
    parts.push(`<pre class="error">${escapeHtml(result.error ?? 'no error was recorded')}</pre>`);
    const kept = [
      result.worktree ? `<li>worktree kept at <code>${escapeHtml(result.worktree)}</code></li>` : '',
      result.log ? `<li>log: <code>${escapeHtml(result.log)}</code></li>` : '',
    ].join('');
    if (kept) parts.push(`<ul class="kept">${kept}</ul>`);
  }

  const diff = diffText === undefined ? undefined : parseDiff(diffText);
  const rows = fileRows(result, diff);
  if (rows.length > 0) {
    const counted = rows.filter((row) => row.added !== undefined);
    const totals = counted.length
      ? ` <span class="added">+${counted.reduce((sum, row) => sum + (row.added ?? 0), 0)}</span> <span class="removed">−${counted.reduce((sum, row) => sum + (row.removed ?? 0), 0)}</span>`
      : '';
    const heading = result.status === 'succeeded' ? 'Files the session wrote' : 'Changes in the kept worktree (not landed)';
    parts.push(`<h4>${heading} (${rows.length})${totals}</h4>`);
    if (diff) {
      const from = result.diff ? ` (from <code>${escapeHtml(result.diff.file)}</code>)` : '';
      parts.push(`<p class="diff-note">Open a file to see its diff${from}.</p>`);
    } else if (result.status === 'succeeded') {
      parts.push('<p class="diff-note">No diff was recorded for this session.</p>');
    }
    parts.push(`<ul class="files">${rows.map(fileRowHtml).join('\n')}</ul>`);
    if (diff?.cut) parts.push(`<p class="note">${escapeHtml(diff.cut.replace(/^\[fanout: /, '').replace(/\]$/, ''))}</p>`);
  }
  const kept = keptLines(result);
  if (kept.length > 0) {
    parts.push('<h4>Kept yours</h4>', `<ul class="kept">${kept.map((line) => `<li>${escapeHtml(line)}</li>`).join('')}</ul>`);
  }
  if (Array.isArray(result.wired) && result.wired.length > 0) {
    const items = result.wired.map(
      (file) => `<li><code>${escapeHtml(file.path)}</code> of <code>${escapeHtml(file.project)}</code>: ${escapeHtml(file.status)}</li>`,
    );
    parts.push('<h4>Wired files</h4>', `<ul class="wired">${items.join('')}</ul>`);
  }
  if ((result.rejected ?? []).length > 0) {
    const items = result.rejected.map(
      (change) => `<li><code>${escapeHtml(change.path)}</code> (${escapeHtml(change.status)}, ${escapeHtml(change.reason)})</li>`,
    );
    parts.push('<h4>Rejected changes</h4>', `<ul class="rejected">${items.join('')}</ul>`);
  }
  if ((result.findings ?? []).length > 0)
    parts.push(`<h4>Findings (${formatFindingCounts(result.findings)})</h4>`, findingsListHtml(result.findings));
  parts.push('</section>');
  return parts.join('\n');
}

function commitHtml(input: ReportInput): string {
  const head = input.headCommit
    ? `For commit <code class="commit">${escapeHtml(input.headCommit)}</code>: the workspace's HEAD when this report was written.`
    : 'The workspace is not a git repository with a commit: there is no commit to name.';
  const bases = baseCommits(input.results);
  const base =
    bases.length === 1
      ? ` The sessions started from <code class="commit">${escapeHtml(bases[0])}</code>.`
      : bases.length > 1
        ? ` The sessions started from ${bases.length} different commits (see each session).`
        : '';
  return `<p class="commit-line">${head}${base}</p>`;
}

function verifyHtml(verify: VerifySummary | undefined): string {
  if (!verify) return '';
  const base = verify.baseCommit ? ` against base <code>${escapeHtml(verify.baseCommit)}</code>` : '';
  const parts = [
    '<section class="verify">',
    '<h2>Verify</h2>',
    `<p><span class="status status-${verify.ok ? 'succeeded' : 'failed'}">${verify.ok ? 'passed' : 'failed'}</span>${base}: ${plural(verify.problems.length, 'problem')} across sessions.</p>`,
    ...(verify.baseNote ? [`<p class="base-note">Base: ${escapeHtml(verify.baseNote)}</p>`] : []),
  ];
  if (verify.problems.length > 0) {
    const items = verify.problems.map((problem) => {
      const sessions = problem.sessions.map((session) => `<code>${escapeHtml(session)}</code>`).join(', ');
      return `<li><strong>${escapeHtml(problem.kind)}</strong>: ${escapeHtml(problem.message)}${sessions ? ` (sessions: ${sessions})` : ''}</li>`;
    });
    parts.push(`<ul class="problems">${items.join('\n')}</ul>`);
  }
  if (verify.affected) {
    parts.push(
      `<p class="affected">Affected checks <code>${escapeHtml(verify.affected.command)}</code>: ` +
        `<span class="status status-${verify.affected.ok ? 'succeeded' : 'failed'}">${verify.affected.ok ? 'passed' : 'failed'}</span>.</p>`,
    );
    if (verify.affected.output) {
      const { text, omitted } = affectedTail(verify.affected.output);
      const summary = omitted > 0 ? `output (the first ${omitted} lines are left out)` : 'output';
      parts.push(`<details${verify.affected.ok ? '' : ' open'}><summary>${summary}</summary><pre>${escapeHtml(text)}</pre></details>`);
    }
  }
  parts.push('</section>');
  return parts.join('\n');
}

// Inline only: the report must open from disk with no network.
const STYLE = `
:root { --ok: #2e7d32; --failed: #c62828; --muted: #666; --line: #ddd; }
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem; color: #222; max-width: 72rem; }
a { color: inherit; }
code, pre { font-family: ui-monospace, monospace; font-size: 13px; }
pre { background: #f6f6f6; padding: .75rem; overflow-x: auto; white-space: pre-wrap; }
table.sessions { border-collapse: collapse; width: 100%; margin: 1rem 0 2rem; }
table.sessions th, table.sessions td { border-bottom: 1px solid var(--line); padding: .35rem .6rem; text-align: left; }
table.sessions td.number { text-align: right; font-variant-numeric: tabular-nums; }
.commit-line { background: #f3f6fa; border-left: 3px solid #90a4ae; padding: .4rem .75rem; }
.status { font-weight: 600; }
.status-succeeded { color: var(--ok); }
.status-failed, .severity-error { color: var(--failed); }
.earlier { color: var(--muted); }
.severity-error, .severity-warning { font-weight: 600; }
.severity-warning { color: #8a6d00; }
.note { color: var(--muted); border-left: 3px solid var(--line); padding-left: .75rem; }
.timeline { margin: 1rem 0 2rem; }
.timeline-row { display: flex; align-items: center; height: 1.9rem; }
.timeline-label { width: 11rem; flex: none; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; padding-right: .75rem; }
.mark { font-weight: 700; }
.timeline-track { position: relative; flex: 1; height: 100%; border-left: 1px solid var(--line); }
.timeline-bar { position: absolute; top: .3rem; bottom: .3rem; min-width: 3px; border-radius: 3px; overflow: hidden; box-sizing: border-box; display: flex; }
.timeline-bar.status-succeeded { background: var(--ok); }
.timeline-bar.status-failed { background: var(--failed); outline: 2px solid var(--failed); outline-offset: 1px; }
.phase { flex: none; height: 100%; }
.phase.round-start { border-left: 2px solid #fff; box-sizing: border-box; }
.timeline-bar-label { position: absolute; left: 0; top: 0; color: #fff; font-size: 12px; padding: 0 .4rem; white-space: nowrap; line-height: 1.3rem; text-decoration: none; text-shadow: 0 0 2px #000; }
.timeline-axis { height: 1.5rem; border-top: 1px solid var(--line); color: var(--muted); font-size: 12px; }
.timeline-axis .timeline-track { border-left: none; }
.tick { position: absolute; top: .2rem; transform: translateX(-50%); white-space: nowrap; }
.swatch { display: inline-block; width: .8rem; height: .8rem; border-radius: 2px; vertical-align: middle; margin: 0 .3rem 0 .8rem; }
.session { border: 1px solid var(--line); border-left: 4px solid var(--ok); border-radius: 4px; padding: .25rem 1rem 1rem; margin: 1rem 0; }
.session-failed { border-left-color: var(--failed); }
.session h3 { margin: .6rem 0 .3rem; }
.session h4 { margin: 1rem 0 .3rem; }
.session-meta, .phases, .checks { margin: .2rem 0; color: #444; }
.phases .swatch:first-child { margin-left: 0; }
.check-result { margin-right: .6rem; }
.check-result.ok { color: var(--ok); }
.check-result.not-ok { color: var(--failed); font-weight: 600; }
.agent-summary { background: #f6f8fa; border-left: 3px solid #1e88e5; padding: .4rem .75rem; margin: .6rem 0; max-height: 14rem; overflow: auto; }
.agent-summary p { margin: .2rem 0 0; white-space: pre-wrap; }
pre.error { background: #fdecea; color: #7f1d1d; }
ul.files { list-style: none; padding-left: 0; margin: .3rem 0; }
li.file { border-bottom: 1px solid #eee; padding: .2rem 0; }
li.file summary { cursor: pointer; }
.change { color: var(--muted); margin: 0 .3rem; }
.added { color: var(--ok); font-weight: 600; }
.removed { color: var(--failed); font-weight: 600; }
.binary { color: var(--muted); font-style: italic; }
.diff-note { color: var(--muted); margin: .2rem 0; font-size: 13px; }
pre.diff { padding: .5rem 0; white-space: pre; }
pre.diff .line { display: block; padding: 0 .75rem; }
pre.diff .diff-added { background: #e6ffec; color: #116329; }
pre.diff .diff-removed { background: #ffebe9; color: #82071e; }
pre.diff .diff-hunk { background: #ddf4ff; color: #0550ae; }
pre.diff .diff-meta { color: var(--muted); font-weight: 600; }
ul.findings { padding-left: 1.2rem; }
li.finding { margin: .25rem 0; }
.fix { color: #0b5394; }
.check { color: var(--muted); }
`;

export function renderReportHtml(input: ReportInput): string {
  const { results } = input;
  const notes = (input.notes ?? []).map((note) => `<p class="note">Note: ${escapeHtml(note)}</p>`);
  const body =
    results.length === 0
      ? [`<p>No session has recorded a result in <code>${FANOUT_DIR}/sessions</code> yet: run <code>nx run-many -t fanout</code>.</p>`]
      : [
          `<p class="summary">${escapeHtml(summaryParts(results).join(' · '))}.</p>`,
          tableHtml(results),
          '<h2>Timeline</h2>',
          legendHtml(),
          timelineHtml(results),
        ];
  const sessions =
    results.length === 0
      ? []
      : ['<h2>Sessions</h2>', ...results.map((result, index) => sessionHtml(result, index, input.diffs?.get(result.project)))];
  return [
    '<!doctype html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    // Defence in depth: even a string that slipped through escaping could load nothing.
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">`,
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    '<title>fanout report</title>',
    `<style>${STYLE}</style>`,
    '</head>',
    '<body>',
    '<h1>fanout report</h1>',
    `<p class="generated">Generated ${escapeHtml(input.generatedAt.toISOString())}.</p>`,
    commitHtml(input),
    ...notes,
    ...body,
    verifyHtml(input.verify),
    ...sessions,
    '</body>',
    '</html>',
  ]
    .filter((line) => line !== '')
    .join('\n')
    .concat('\n');
}

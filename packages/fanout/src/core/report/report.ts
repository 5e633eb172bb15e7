import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'fs';
import { join } from 'path';
import type { Finding } from '../checks/check';
import type { SessionResult } from '../session/session';
import { FANOUT_DIR } from '../../constants';

/** What `fanout-verify` found over the integrated workspace. */
export interface VerifySummary {
  ok: boolean;
  baseCommit?: string;
  problems: { kind: string; message: string; sessions: string[] }[];
  affected?: { command: string; ok: boolean; output?: string };
}

export interface ReportInput {
  results: SessionResult[];
  verify?: VerifySummary;
  generatedAt: Date;
  /** Session folders that could not be read, one line each. */
  notes?: string[];
}

/** Where a session of one run sits on the run's time axis, in ms from the earliest start. */
interface Span {
  result: SessionResult;
  startMs: number;
  endMs: number;
}

/** Lines of the affected command's output kept in the report: its end, where the failures are. */
const AFFECTED_OUTPUT_LINES = 200;

/**
 * Every `.fanout/sessions/<project>/result.json`, oldest start first. A folder
 * without a result (a session still running, or killed) or with one that is not
 * a session result is skipped and described through `note`, never thrown: one
 * broken file must not hide the others from the report.
 */
export function readSessionResults(workspaceRoot: string, note: (message: string) => void = () => undefined): SessionResult[] {
  const sessions = join(workspaceRoot, FANOUT_DIR, 'sessions');
  if (!existsSync(sessions)) return [];
  const results: SessionResult[] = [];
  for (const entry of readdirSync(sessions, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const file = join(sessions, entry.name, 'result.json');
    const where = `${FANOUT_DIR}/sessions/${entry.name}/result.json`;
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
    results.push(parsed as SessionResult);
  }
  return results.sort((a, b) => Date.parse(a.startedAt) - Date.parse(b.startedAt) || a.project.localeCompare(b.project));
}

/** What the report relies on; the rest of a result is optional to it. */
function shapeProblem(value: unknown): string | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'not an object';
  const result = value as Record<string, unknown>;
  if (typeof result.project !== 'string' || result.project === '') return 'no project';
  if (result.status !== 'succeeded' && result.status !== 'failed') return `status ${JSON.stringify(result.status)}`;
  if (typeof result.startedAt !== 'string' || Number.isNaN(Date.parse(result.startedAt))) return 'no valid startedAt';
  if (typeof result.durationMs !== 'number') return 'no durationMs';
  for (const list of ['files', 'findings']) {
    if (result[list] !== undefined && !Array.isArray(result[list])) return `${list} is not a list`;
  }
  return undefined;
}

/** Writes `.fanout/report.md` and `.fanout/report.html` from every recorded session. */
export function writeReport(workspaceRoot: string, verify?: VerifySummary): { markdown: string; html: string } {
  const notes: string[] = [];
  const input: ReportInput = {
    results: readSessionResults(workspaceRoot, (message) => notes.push(message)),
    verify,
    generatedAt: new Date(),
    notes,
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
  const times = results.map((result) => {
    const start = Date.parse(result.startedAt);
    const recordedEnd = Date.parse(result.endedAt);
    const end = Number.isNaN(recordedEnd) ? start + Math.max(0, result.durationMs) : recordedEnd;
    return { result, start, end: Math.max(start, end) };
  });
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
  return `${count(tokens.input)} in / ${count(tokens.output)} out`;
}

function formatFindingCounts(findings: readonly Finding[] | undefined): string {
  const errors = (findings ?? []).filter((finding) => finding.severity === 'error').length;
  const warnings = (findings ?? []).length - errors;
  if (errors === 0 && warnings === 0) return '0';
  return [errors > 0 ? plural(errors, 'error') : '', warnings > 0 ? plural(warnings, 'warning') : ''].filter(Boolean).join(', ');
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}

function findingPlace(finding: Finding): string {
  return finding.line > 0 ? `${finding.file}:${finding.line}` : finding.file;
}

function summaryParts(results: readonly SessionResult[]): string[] {
  const totals = totalsOf(results);
  const parts = [
    `${plural(results.length, 'session')}: ${totals.succeeded} succeeded, ${totals.failed} failed`,
    `wall time ${formatDuration(totals.wallMs)} (first start to last end)`,
    `session time ${formatDuration(totals.sessionMs)} in all`,
    `parallelism ${totals.parallelism === undefined ? NONE : `${totals.parallelism.toFixed(1)}×`}`,
  ];
  if (totals.costUsd !== undefined) {
    parts.push(`cost ${formatCost(totals.costUsd)} (reported by ${totals.costReported} of ${results.length})`);
  }
  if (totals.tokens) parts.push(`tokens ${formatTokens(totals.tokens)}`);
  return parts;
}

function affectedTail(output: string): { text: string; omitted: number } {
  const lines = output.replace(/\s+$/, '').split('\n');
  const omitted = Math.max(0, lines.length - AFFECTED_OUTPUT_LINES);
  return { text: lines.slice(omitted).join('\n'), omitted };
}

// ---------------------------------------------------------------- Markdown

/** Text that renders as itself in a Markdown paragraph or table cell (no HTML, links or emphasis). */
function mdText(text: string): string {
  return text.replace(/\r?\n/g, ' ').replace(/[\\`*_[\]<>|#!]/g, (character) => `\\${character}`);
}

/**
 * A code span that holds any text: the fence is longer than any run of
 * backticks inside. In a table cell a pipe must still be escaped (GFM splits
 * cells before it parses code spans).
 */
function mdCode(text: string, inTable = false): string {
  const oneLine = text.replace(/\r?\n/g, ' ');
  const flat = inTable ? oneLine.replace(/\|/g, '\\|') : oneLine;
  const longest = Math.max(0, ...(flat.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(longest + 1);
  const pad = flat.startsWith('`') || flat.endsWith('`') ? ' ' : '';
  return `${fence}${pad}${flat}${pad}${fence}`;
}

function mdBlock(text: string): string[] {
  const longest = Math.max(0, ...(text.match(/`+/g) ?? []).map((run) => run.length));
  const fence = '`'.repeat(Math.max(3, longest + 1));
  return [`${fence}text`, text, fence];
}

export function renderReportMarkdown(input: ReportInput): string {
  const { results, verify } = input;
  const lines = ['# fanout report', '', `Generated ${input.generatedAt.toISOString()}.`, ''];
  for (const note of input.notes ?? []) lines.push(`> Note: ${mdText(note)}`, '');

  if (results.length === 0) {
    lines.push(`No session has recorded a result in \`${FANOUT_DIR}/sessions\` yet: run \`nx run-many -t fanout\`.`, '');
  } else {
    lines.push(`${summaryParts(results).join(' · ')}.`, '');
    lines.push('| project | status | agent | duration | files changed | findings | cost (USD) | tokens |');
    lines.push('| --- | --- | --- | ---: | ---: | --- | ---: | ---: |');
    for (const result of results) {
      const cells = [
        mdCode(result.project, true),
        mdText(result.status),
        mdCode(result.agent ?? NONE, true),
        formatDuration(result.durationMs),
        String((result.files ?? []).length),
        formatFindingCounts(result.findings),
        formatCost(result.costUsd),
        formatTokens(result.tokens),
      ];
      lines.push(`| ${cells.join(' | ')} |`);
    }
    lines.push('');
  }

  const failed = results.filter((result) => result.status === 'failed');
  if (failed.length > 0) {
    lines.push('## Failures', '');
    for (const result of failed) {
      lines.push(`### ${mdCode(result.project)}`, '');
      lines.push(...mdBlock(result.error ?? 'no error was recorded'), '');
      if (result.worktree) lines.push(`- worktree kept at ${mdCode(result.worktree)}`);
      if (result.log) lines.push(`- log: ${mdCode(result.log)}`);
      lines.push('');
    }
  }

  const withFindings = results.filter((result) => (result.findings ?? []).length > 0);
  if (withFindings.length > 0) {
    lines.push('## Findings', '');
    for (const result of withFindings) {
      lines.push(`### ${mdCode(result.project)}`, '');
      for (const finding of result.findings) {
        lines.push(
          `- **${finding.severity}** ${mdCode(findingPlace(finding))} ${mdText(finding.message)} (fix: ${mdText(finding.fix)}) [${mdText(finding.check)}]`,
        );
      }
      lines.push('');
    }
  }

  if (verify) lines.push(...verifyMarkdown(verify));
  return `${lines.join('\n').replace(/\n+$/, '')}\n`;
}

function verifyMarkdown(verify: VerifySummary): string[] {
  const lines = ['## Verify', ''];
  const base = verify.baseCommit ? ` against base ${mdCode(verify.baseCommit)}` : '';
  lines.push(`${verify.ok ? 'Passed' : 'Failed'}${base}: ${plural(verify.problems.length, 'problem')} across sessions.`, '');
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
  return text.replace(/[&<>"']/g, (character) => `&#${character.charCodeAt(0)};`);
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

function timelineHtml(results: readonly SessionResult[]): string {
  const { spans, totalMs } = spansOf(results);
  // A run that took no measurable time still gets an axis to draw on.
  const axisMs = totalMs > 0 ? totalMs : 1000;
  const step = tickStepSeconds(axisMs / 1000);
  const ticks: string[] = [];
  for (let index = 0; index * step * 1000 <= axisMs + 1e-6; index++) {
    const seconds = Number((index * step).toFixed(3));
    ticks.push(`<span class="tick" style="left:${percent(((seconds * 1000) / axisMs) * 100)}">${seconds} s</span>`);
  }
  const rows = spans.map(({ result, startMs, endMs }) => {
    const project = escapeHtml(result.project);
    const title = escapeHtml(
      `${result.project}: ${result.status}, ${(startMs / 1000).toFixed(1)} s to ${(endMs / 1000).toFixed(1)} s (${formatDuration(result.durationMs)})`,
    );
    const geometry = `left:${percent((startMs / axisMs) * 100)};width:${percent(((endMs - startMs) / axisMs) * 100)}`;
    return [
      '<div class="timeline-row">',
      `<div class="timeline-label" title="${project}">${project}</div>`,
      '<div class="timeline-track">',
      `<div class="timeline-bar status-${escapeHtml(result.status)}" data-session="${project}" style="${geometry}" title="${title}">`,
      `<span class="timeline-bar-label">${project}</span></div>`,
      '</div></div>',
    ].join('');
  });
  return [
    '<section class="timeline" aria-label="Sessions on one time axis">',
    ...rows,
    `<div class="timeline-row timeline-axis"><div class="timeline-label">seconds from first start</div><div class="timeline-track">${ticks.join('')}</div></div>`,
    '</section>',
  ].join('\n');
}

function tableHtml(results: readonly SessionResult[]): string {
  const rows = results.map((result) => {
    const cells = [
      `<td><code>${escapeHtml(result.project)}</code></td>`,
      `<td><span class="status status-${escapeHtml(result.status)}">${escapeHtml(result.status)}</span></td>`,
      `<td>${escapeHtml(result.agent ?? NONE)}</td>`,
      `<td class="number">${formatDuration(result.durationMs)}</td>`,
      `<td class="number">${(result.files ?? []).length}</td>`,
      `<td>${formatFindingCounts(result.findings)}</td>`,
      `<td class="number">${formatCost(result.costUsd)}</td>`,
      `<td class="number">${formatTokens(result.tokens)}</td>`,
    ];
    return `<tr>${cells.join('')}</tr>`;
  });
  return [
    '<table class="sessions">',
    '<thead><tr><th>project</th><th>status</th><th>agent</th><th>duration</th><th>files changed</th><th>findings</th><th>cost (USD)</th><th>tokens</th></tr></thead>',
    `<tbody>${rows.join('\n')}</tbody>`,
    '</table>',
  ].join('\n');
}

function failuresHtml(results: readonly SessionResult[]): string {
  const failed = results.filter((result) => result.status === 'failed');
  if (failed.length === 0) return '';
  const items = failed.map((result) => {
    const kept = [
      result.worktree ? `<li>worktree kept at <code>${escapeHtml(result.worktree)}</code></li>` : '',
      result.log ? `<li>log: <code>${escapeHtml(result.log)}</code></li>` : '',
    ].join('');
    return `<h3><code>${escapeHtml(result.project)}</code></h3>\n<pre>${escapeHtml(result.error ?? 'no error was recorded')}</pre>\n<ul>${kept}</ul>`;
  });
  return ['<h2>Failures</h2>', ...items].join('\n');
}

function findingsHtml(results: readonly SessionResult[]): string {
  const withFindings = results.filter((result) => (result.findings ?? []).length > 0);
  if (withFindings.length === 0) return '';
  const sections = withFindings.map((result) => {
    const items = result.findings.map(
      (finding) =>
        `<li><span class="severity-${finding.severity === 'error' ? 'error' : 'warning'}">${escapeHtml(finding.severity)}</span> ` +
        `<code>${escapeHtml(findingPlace(finding))}</code> ${escapeHtml(finding.message)} ` +
        `<span class="fix">(fix: ${escapeHtml(finding.fix)})</span> <span class="check">[${escapeHtml(finding.check)}]</span></li>`,
    );
    return `<h3><code>${escapeHtml(result.project)}</code></h3>\n<ul class="findings">${items.join('\n')}</ul>`;
  });
  return ['<h2>Findings</h2>', ...sections].join('\n');
}

function verifyHtml(verify: VerifySummary | undefined): string {
  if (!verify) return '';
  const base = verify.baseCommit ? ` against base <code>${escapeHtml(verify.baseCommit)}</code>` : '';
  const parts = [
    '<h2>Verify</h2>',
    `<p><span class="status status-${verify.ok ? 'succeeded' : 'failed'}">${verify.ok ? 'passed' : 'failed'}</span>${base}: ${plural(verify.problems.length, 'problem')} across sessions.</p>`,
  ];
  if (verify.problems.length > 0) {
    const items = verify.problems.map((problem) => {
      const sessions = problem.sessions.map((session) => `<code>${escapeHtml(session)}</code>`).join(', ');
      return `<li><strong>${escapeHtml(problem.kind)}</strong>: ${escapeHtml(problem.message)}${sessions ? ` (sessions: ${sessions})` : ''}</li>`;
    });
    parts.push(`<ul class="problems">${items.join('\n')}</ul>`);
  }
  if (verify.affected) {
    parts.push(`<p>Affected checks <code>${escapeHtml(verify.affected.command)}</code>: ${verify.affected.ok ? 'passed' : 'failed'}.</p>`);
    if (verify.affected.output) {
      const { text, omitted } = affectedTail(verify.affected.output);
      const summary = omitted > 0 ? `output (the first ${omitted} lines are left out)` : 'output';
      parts.push(`<details${verify.affected.ok ? '' : ' open'}><summary>${summary}</summary><pre>${escapeHtml(text)}</pre></details>`);
    }
  }
  return parts.join('\n');
}

// Inline only: the report must open from disk with no network.
const STYLE = `
:root { --ok: #2e7d32; --failed: #c62828; --muted: #666; --line: #ddd; }
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem; color: #222; max-width: 72rem; }
code, pre { font-family: ui-monospace, monospace; font-size: 13px; }
pre { background: #f6f6f6; padding: .75rem; overflow-x: auto; white-space: pre-wrap; }
table.sessions { border-collapse: collapse; width: 100%; margin: 1rem 0 2rem; }
table.sessions th, table.sessions td { border-bottom: 1px solid var(--line); padding: .35rem .6rem; text-align: left; }
table.sessions td.number { text-align: right; font-variant-numeric: tabular-nums; }
.status { font-weight: 600; }
.status-succeeded { color: var(--ok); }
.status-failed, .severity-error { color: var(--failed); }
.severity-warning { color: #8a6d00; }
.note { color: var(--muted); border-left: 3px solid var(--line); padding-left: .75rem; }
.timeline { margin: 1rem 0 2rem; }
.timeline-row { display: flex; align-items: center; height: 1.9rem; }
.timeline-label { width: 11rem; flex: none; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; padding-right: .75rem; }
.timeline-track { position: relative; flex: 1; height: 100%; border-left: 1px solid var(--line); }
.timeline-bar { position: absolute; top: .3rem; bottom: .3rem; min-width: 3px; border-radius: 3px; overflow: hidden; box-sizing: border-box; }
.timeline-bar.status-succeeded { background: var(--ok); }
.timeline-bar.status-failed { background: var(--failed); }
.timeline-bar-label { color: #fff; font-size: 12px; padding: 0 .4rem; white-space: nowrap; line-height: 1.3rem; }
.timeline-axis { height: 1.5rem; border-top: 1px solid var(--line); color: var(--muted); font-size: 12px; }
.timeline-axis .timeline-track { border-left: none; }
.tick { position: absolute; top: .2rem; transform: translateX(-50%); white-space: nowrap; }
.legend span { display: inline-block; width: .8rem; height: .8rem; border-radius: 2px; vertical-align: middle; margin: 0 .3rem 0 1rem; }
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
          '<p class="legend">Each bar is a session, from its start to its end.<span style="background:var(--ok)"></span>succeeded<span style="background:var(--failed)"></span>failed</p>',
          timelineHtml(results),
          failuresHtml(results),
          findingsHtml(results),
        ];
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
    ...notes,
    ...body,
    verifyHtml(input.verify),
    '</body>',
    '</html>',
  ]
    .filter((line) => line !== '')
    .join('\n')
    .concat('\n');
}

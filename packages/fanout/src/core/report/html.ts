import { sandboxLine } from '../sandbox/denials';
import { readFileSync } from 'fs';
import { join } from 'path';
import { SESSIONS_DIR } from '../../constants';
import type { Finding } from '../checks/check';
import type { SessionResult } from '../session/result';
import { type DiffLine, type FileRow, fileRows, parseDiff } from './diff';
import {
  affectedTail,
  baseCommits,
  EARLIER_RUN,
  findingPlace,
  formatCost,
  formatDuration,
  formatFilesChanged,
  formatFindingCounts,
  formatPhases,
  formatRounds,
  formatTokens,
  keptLines,
  NONE,
  OTHER_PHASE,
  PHASES,
  phasesOf,
  plural,
  roundLines,
  segmentsOf,
  spansOf,
  summaryParts,
} from './figures';
import { plainText } from '../system/plain-text';
import { repairLine, verdictText } from './verify-repairs';
import type { ReportInput, VerifySummary } from './read';
import { latestRun } from './runs';

let stylesheet: string | undefined;

/**
 * The report's stylesheet, report.css beside this module (the build copies it
 * into dist), read on first use. It is inlined: the report must open from disk
 * with no network.
 */
function style(): string {
  stylesheet ??= readFileSync(join(__dirname, 'report.css'), 'utf-8');
  return stylesheet;
}

export function escapeHtml(text: string): string {
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
  const steps = (result.steps ?? []).map(
    (step) =>
      `<span class="step-result ${step.ok ? 'ok' : 'not-ok'}" title="${escapeHtml(step.message ?? '')}">${escapeHtml(step.name)} ${step.ok ? '✓' : '✗'}</span>`,
  );
  if (steps.length > 0) parts.push(`<p class="steps">steps: ${steps.join(' ')}</p>`);
  const rounds = roundLines(result);
  if (rounds.length > 0) parts.push(`<ol class="rounds">${rounds.map((line) => `<li>${escapeHtml(line)}</li>`).join('')}</ol>`);
  const sandbox = sandboxLine(result.sandbox);
  if (sandbox) parts.push(`<p class="sandbox">${escapeHtml(sandbox)}</p>`);
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

/** Each failed task of the integrated workspace: whom it was blamed on and why, each repair with its diff, the verdict. */
function repairsHtml(verify: VerifySummary, diffs: ReadonlyMap<string, string> | undefined): string[] {
  const records = verify.repairs ?? [];
  if (records.length === 0) return [];
  const parts = ['<h3>Failed tasks, blamed and repaired</h3>'];
  for (const record of records) {
    const ok = record.verdict === 'repaired';
    parts.push(
      `<div class="verify-repair"><h4><code>${escapeHtml(record.task)}</code>: <span class="status status-${ok ? 'succeeded' : 'failed'}">${escapeHtml(verdictText(record))}</span></h4>`,
    );
    if (record.atBase) parts.push(`<p>At the base: ${escapeHtml(record.atBase)}.</p>`);
    parts.push(`<p>${escapeHtml(record.how)}</p>`);
    const items = [
      ...record.suspects.map(
        (suspect) => `<li>blamed: <code>${escapeHtml(suspect.session)}</code>: ${escapeHtml(suspect.reasons.join('; '))}</li>`,
      ),
      ...(record.cleared ?? []).map((entry) => `<li>cleared: <code>${escapeHtml(entry.session)}</code>: ${escapeHtml(entry.reason)}</li>`),
    ];
    if (items.length > 0) parts.push(`<ul class="suspects">${items.join('\n')}</ul>`);
    const repairs = record.repairs.map((repair) => {
      const diff = repair.diffFile ? diffs?.get(repair.diffFile) : undefined;
      const shown = diff ? `<details><summary>what it changed</summary><pre>${escapeHtml(diff)}</pre></details>` : '';
      return `<li>repair ${escapeHtml(repairLine(repair))}${shown}</li>`;
    });
    if (repairs.length > 0) parts.push(`<ul class="repairs">${repairs.join('\n')}</ul>`);
    if (record.restored)
      parts.push(`<p>Put back as integrated: ${record.restored.map((file) => `<code>${escapeHtml(file)}</code>`).join(', ')}.</p>`);
    parts.push('</div>');
  }
  if (verify.restored) parts.push('<p>The failure persisted after the repairs: the workspace was put back as it was integrated.</p>');
  return parts;
}

function verifyHtml(verify: VerifySummary | undefined, diffs?: ReadonlyMap<string, string>): string {
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
  parts.push(...repairsHtml(verify, diffs));
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

export function renderReportHtml(input: ReportInput): string {
  const { results } = input;
  const notes = (input.notes ?? []).map((note) => `<p class="note">Note: ${escapeHtml(note)}</p>`);
  const body =
    results.length === 0
      ? [`<p>No session has recorded a result in <code>${SESSIONS_DIR}</code> yet: run <code>nx run-many -t fanout</code>.</p>`]
      : [
          `<p class="summary">${escapeHtml(summaryParts(results, input.budget).join(' · '))}.</p>`,
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
    `<style>\n${style()}</style>`,
    '</head>',
    '<body>',
    '<h1>fanout report</h1>',
    `<p class="generated">Generated ${escapeHtml(input.generatedAt.toISOString())}.</p>`,
    commitHtml(input),
    ...notes,
    ...body,
    verifyHtml(input.verify, input.repairDiffs),
    ...sessions,
    '</body>',
    '</html>',
  ]
    .filter((line) => line !== '')
    .join('\n')
    .concat('\n');
}

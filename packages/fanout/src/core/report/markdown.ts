import { sandboxLine } from '../sandbox/denials';
import { SESSIONS_DIR } from '../../constants';
import type { SessionResult } from '../session/result';
import { fileRows, parseDiff } from './diff';
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
  phasesOf,
  plural,
  roundLines,
  summaryParts,
} from './figures';
import { escapeHtml } from './html';
import { plainText } from '../system/plain-text';
import type { ReportInput, VerifySummary } from './read';
import { latestRun } from './runs';
import { repairLine, verdictText } from './verify-repairs';

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
    lines.push(`No session has recorded a result in \`${SESSIONS_DIR}\` yet: run \`nx run-many -t fanout\`.`, '');
  } else {
    lines.push(`${summaryParts(results, input.budget).join(' · ')}.`, '');
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

  if (verify) lines.push(...verifyMarkdown(verify, input.repairDiffs));
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
  const steps = (result.steps ?? []).map((step) => `${mdText(step.name)} ${step.ok ? 'passed' : 'failed'}`);
  if (steps.length > 0) lines.push(`- steps: ${steps.join(', ')}`);
  for (const line of roundLines(result)) lines.push(`- ${mdText(line)}`);
  const sandbox = sandboxLine(result.sandbox);
  if (sandbox) lines.push(`- ${mdText(sandbox)}`);
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

/** Each failed task of the integrated workspace: whom it was blamed on and why, each repair with its diff, the verdict. */
function repairsMarkdown(verify: VerifySummary, diffs: ReadonlyMap<string, string> | undefined): string[] {
  const records = verify.repairs ?? [];
  if (records.length === 0) return [];
  const lines = ['### Failed tasks, blamed and repaired', ''];
  for (const record of records) {
    lines.push(`#### ${mdCode(record.task)}: ${mdText(verdictText(record))}`, '');
    if (record.atBase) lines.push(`At the base: ${mdText(record.atBase)}.`, '');
    lines.push(mdText(record.how), '');
    for (const suspect of record.suspects) lines.push(`- blamed: ${mdCode(suspect.session)}: ${mdText(suspect.reasons.join('; '))}`);
    for (const entry of record.cleared ?? []) lines.push(`- cleared: ${mdCode(entry.session)}: ${mdText(entry.reason)}`);
    if (record.suspects.length > 0 || (record.cleared ?? []).length > 0) lines.push('');
    for (const repair of record.repairs) {
      lines.push(`- repair ${mdText(repairLine(repair))}`);
      const diff = repair.diffFile ? diffs?.get(repair.diffFile) : undefined;
      if (diff)
        lines.push(
          '',
          '  <details><summary>what it changed</summary>',
          '',
          ...mdBlock(diff, 'diff').map((line) => `  ${line}`),
          '',
          '  </details>',
        );
    }
    if (record.repairs.length > 0) lines.push('');
    if (record.restored) lines.push(`Put back as integrated: ${record.restored.map((file) => mdCode(file)).join(', ')}.`, '');
  }
  if (verify.restored) lines.push(`The failure persisted after the repairs: the workspace was put back as it was integrated.`, '');
  return lines;
}

function verifyMarkdown(verify: VerifySummary, diffs?: ReadonlyMap<string, string>): string[] {
  const lines = ['## Verify', ''];
  const base = verify.baseCommit ? ` against base ${mdCode(verify.baseCommit)}` : '';
  lines.push(`${verify.ok ? 'Passed' : 'Failed'}${base}: ${plural(verify.problems.length, 'problem')} across sessions.`, '');
  if (verify.baseNote) lines.push(`Base: ${mdText(verify.baseNote)}`, '');
  for (const problem of verify.problems) {
    const sessions = problem.sessions.length > 0 ? ` (sessions: ${problem.sessions.map((session) => mdCode(session)).join(', ')})` : '';
    lines.push(`- **${mdText(problem.kind)}**: ${mdText(problem.message)}${sessions}`);
  }
  if (verify.problems.length > 0) lines.push('');
  lines.push(...repairsMarkdown(verify, diffs));
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

import { formatFinding, type Finding } from '../checks/check';
import { gateVerdict, type GateResult, type GateTargetResult } from './gate';

/**
 * The message a repair round sends the agent: what failed (each gate target,
 * each finding, the scope), trimmed to the lines that say what and where, so
 * the agent spends its turn on the errors and not on Nx's banners or the tests
 * that passed.
 */

/** The whole message stays under this many characters; what does not fit is counted, not silently dropped. */
export const FEEDBACK_CHARS = 12 * 1024;
/** Lines kept under one jest failure header: the assertion, the code frame and the spec's line. */
const JEST_BLOCK_LINES = 30;
/** Lines kept under one TypeScript error: the elaboration and the code frame. */
const TS_BLOCK_LINES = 12;
/** Stack frames kept under one jest failure: the code's, down to the spec's line. */
const JEST_FRAMES = 4;
/** Lines kept of an output in which no known error shape was found. */
const FALLBACK_LINES = 20;
const LINE_CHARS = 1000;

export interface FeedbackInput {
  /** The repair round this message opens: 1 for the first. */
  round: number;
  gate?: GateResult;
  /** Findings of the static checks; only those of severity error are sent. */
  findings?: readonly Finding[];
  /** Why the scope check failed. */
  scope?: string;
  /**
   * The task project's root, workspace-relative: where its targets run, so what
   * the compiler names relative to it is named from the worktree's root instead.
   */
  projectRoot?: string;
}

/** A compiler error's file, relative to where it ran: `src/a.ts(3,9): error TS2322`, or `src/a.ts:3:9 - error TS2322` (--pretty). */
const TS_ERROR_FILE = /^(\s*)([^\s():/][^\s():]*)(\(\d+,\d+\): error TS\d+:|:\d+:\d+ - error TS\d+:)/;

/** Compiler errors named from the project's root, as the agent (at the worktree's root) finds the files. */
function fromWorktreeRoot(lines: string[], projectRoot: string | undefined): string[] {
  const root = projectRoot?.replace(/\/+$/, '');
  if (!root || root === '.') return lines;
  return lines.map((line) =>
    line.replace(TS_ERROR_FILE, (whole, indent: string, file: string, rest: string) =>
      file.startsWith(`${root}/`) || file.startsWith('../') ? whole : `${indent}${root}/${file}${rest}`,
    ),
  );
}

// CSI sequences (colours, cursor moves) and OSC sequences (hyperlinks).
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)/g;

const TS_ERROR = /\berror TS\d+:/;
const ESLINT_ERROR = /^\s+\d+:\d+\s+error\s/;
const ESLINT_SUMMARY = /^\s*✖ \d+ problems? \(/;
const JEST_FAIL = /^\s*FAIL\s+\S/;
const JEST_HEADER = /^\s*● /;
// Console output jest replays under a header of its own: not a failure.
const JEST_CONSOLE = /^\s*● Console\s*$/;
const JEST_SUMMARY = /^(Test Suites|Tests):\s/;
const JEST_END = /^\s*(PASS|FAIL)\s+\S|^(Test Suites|Tests|Snapshots|Time):\s|^Ran all test suites/;
const STACK_LINE = /^\s*at\s/;
const STACK_FRAME = /^\s*at .*?\(?([^()\s]+):\d+:\d+\)?\s*$/;
// Frames of jest, its dependencies and node itself, which say nothing about the spec.
const RUNNER_FRAME = /node_modules|^node:|^internal\//;
const SPEC_FILE = /\.(spec|test)\.[cm]?[jt]sx?$/;
const TS_SUMMARY = /^Found \d+ errors?\b/;
// Another tool's `path:line[:col]` (or `path(line,col)`) naming an error.
const FILE_LINE_ERROR = /\S+\.[A-Za-z]\w{0,5}(?::\d+(?::\d+)?|\(\d+,\d+\))\b.*\berror\b/i;

/** What Nx and the tools print around the errors: banners, commands, progress, passing tests. */
const NOISE = [
  /^\s*>\s/, // `> nx run orders:typecheck`, `> tsc --build ...`
  /^\s*—+\s*$/, // Nx's separators
  /^\s*NX\s+(Running|Successfully ran|Ran)\s/,
  /^\s*(Failed tasks|Tasks not run because|Tasks stopped before).*:\s*$/,
  /^\s*- \S+:\S+\s*$/, // the failed tasks' list
  /^\s*Hint: run the command with/,
  /^\s*Nx read the output from the cache/,
  /^\s*Output of \d+ .* not shown/,
  /View logs and investigate cache misses/,
  /^\s*[✔✓√]\s/, // collapsed Nx tasks, passing tests
  /^\s*PASS\s/,
  /^\[\d{1,2}:\d{2}:\d{2}(?: [AP]M)?\] /, // tsc --build --verbose progress
  /^\s*\* \S+\.json\s*$/, // its list of projects
  /^(Snapshots|Time):\s/,
  /^Ran all test suites/,
  /^\[fanout\] /,
];

function clean(output: string): string[] {
  return output
    .replace(ANSI, '')
    .split(/\r?\n/)
    .map((line) => {
      // A progress line rewritten in place: what was last written.
      const shown = line.slice(line.lastIndexOf('\r') + 1).trimEnd();
      return shown.length > LINE_CHARS ? `${shown.slice(0, LINE_CHARS)}…` : shown;
    });
}

const indented = (line: string) => /^\s/.test(line);
const isNoise = (line: string) => NOISE.some((pattern) => pattern.test(line));

/** One error, its heading or a summary, as found in a target's output: where its lines start, and what it is. */
interface ErrorUnit {
  start: number;
  /** A heading (jest's `FAIL file`) belongs to the errors under it, a summary to those above it. */
  kind: 'error' | 'heading' | 'summary';
}

/** The lines errorLines keeps, and the units they make up, in order. */
interface ErrorReport {
  lines: string[];
  units: ErrorUnit[];
}

/**
 * The lines of a failing target's output that say what is wrong and where:
 * TypeScript errors (both formats, with their elaboration and code frame),
 * eslint errors under their file (warnings dropped), jest's failed suites and
 * each failure's header with the lines under it down to the spec's `at
 * path:line:col`, the tools' summaries, and any other `path:line ... error`
 * line. Where none of these is found (Nx could not start the target, say), the
 * last lines that are not Nx's banners.
 */
export function errorLines(output: string): string[] {
  return errorReport(output).lines;
}

function errorReport(output: string): ErrorReport {
  const lines = clean(output);
  const kept: string[] = [];
  const units: ErrorUnit[] = [];
  const keep = (line: string) => {
    // One blank line at most between kept blocks, none at the start.
    if (line === '' && (kept.length === 0 || kept[kept.length - 1] === '')) return;
    kept.push(line);
  };
  const begin = (kind: ErrorUnit['kind']) => units.push({ start: kept.length, kind });
  let eslintFile: string | undefined;
  let eslintFileKept = false;
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index];
    if (line !== '' && !indented(line)) {
      eslintFile = line;
      eslintFileKept = false;
    }
    if (TS_ERROR.test(line)) {
      begin('error');
      keep(line);
      // The elaboration is indented; the pretty format adds a code frame (`12 take(draft);`, `~~~`) after a blank line.
      let taken = 0;
      while (taken < TS_BLOCK_LINES && index + 1 < lines.length) {
        const next = lines[index + 1];
        const frame = next === '' || indented(next) || /^\d+\s/.test(next);
        if (!frame || TS_ERROR.test(next)) break;
        if (next !== '') keep(next);
        index++;
        taken++;
      }
      // A blank line after an error that spans several, none between one-line errors.
      if (kept[kept.length - 1] !== line) keep('');
    } else if (ESLINT_ERROR.test(line)) {
      if (eslintFile && !eslintFileKept) {
        keep('');
        begin('error');
        keep(eslintFile);
        eslintFileKept = true;
      }
      keep(line);
    } else if (JEST_HEADER.test(line) && !JEST_CONSOLE.test(line)) {
      keep('');
      begin('error');
      keep(line);
      let taken = 0;
      let frames = 0;
      while (taken < JEST_BLOCK_LINES && index + 1 < lines.length) {
        const next = lines[index + 1];
        if (JEST_HEADER.test(next) || JEST_END.test(next)) break;
        index++;
        if (STACK_LINE.test(next)) {
          // Only the code's own frames, down to the spec's line; below it, and in between, the stack is the runner's.
          const path = STACK_FRAME.exec(next)?.[1];
          if (!path || RUNNER_FRAME.test(path) || frames === JEST_FRAMES) continue;
          frames = SPEC_FILE.test(path) ? JEST_FRAMES : frames + 1;
        }
        keep(next);
        taken++;
      }
      keep('');
    } else if (JEST_FAIL.test(line)) {
      keep('');
      begin('heading');
      keep(line.trim());
    } else if (TS_SUMMARY.test(line) || ESLINT_SUMMARY.test(line) || JEST_SUMMARY.test(line)) {
      begin('summary');
      keep(line.trim());
    } else if (FILE_LINE_ERROR.test(line) && !isNoise(line)) {
      begin('error');
      keep(line);
    }
  }
  while (kept.length > 0 && kept[kept.length - 1] === '') kept.pop();
  if (kept.length > 0) return { lines: kept, units };
  const last = lines.filter((line) => line.trim() !== '' && !isNoise(line)).slice(-FALLBACK_LINES);
  return { lines: last, units: last.length > 0 ? [{ start: 0, kind: 'error' }] : [] };
}

/** What a repeated error is replaced with. */
export const SAME_ERROR = '(the same error as above)';

/**
 * `report`'s lines with each error already in `sent` replaced by SAME_ERROR
 * (one for a run of them), and its new errors added to `sent`. An error is
 * compared by its lines without their indentation, so the same error quoted by
 * two targets, or on both of Nx's streams, is sent once. A heading goes with
 * the errors under it, a summary with those above it.
 */
function withoutRepeats(report: ErrorReport, sent: Set<string>): string[] {
  const { lines, units } = report;
  const body = (index: number) => lines.slice(units[index].start, units[index + 1]?.start ?? lines.length);
  const key = (index: number) =>
    body(index)
      .map((line) => line.trim())
      .filter((line) => line !== '')
      .join('\n');
  const repeated = units.map((unit, index) => {
    if (unit.kind !== 'error') return false;
    const text = key(index);
    if (sent.has(text)) return true;
    sent.add(text);
    return false;
  });
  for (let index = units.length - 1; index >= 0; index--) {
    if (units[index].kind === 'heading') repeated[index] = index + 1 < units.length && repeated[index + 1];
  }
  units.forEach((unit, index) => {
    if (unit.kind === 'summary') repeated[index] = index > 0 && repeated[index - 1];
  });
  if (!repeated.includes(true)) return lines;

  const out = lines.slice(0, units[0].start);
  units.forEach((_, index) => {
    if (!repeated[index]) out.push(...body(index));
    else if (index === 0 || !repeated[index - 1]) out.push(SAME_ERROR, ...(body(index).at(-1) === '' ? [''] : []));
  });
  while (out.length > 0 && out[out.length - 1] === '') out.pop();
  return out;
}

/** A section of the message: a heading, its lines, and what to say about lines that do not fit. */
interface Section {
  heading: string;
  lines: string[];
  more: (count: number) => string;
}

/** A failing target's heading: its own verdict, never nx's exit code for the whole run. */
function targetHeading(project: string, result: GateTargetResult, hasLines: boolean): string {
  const run = `nx run ${project}:${result.target}`;
  if (result.timedOut) return `${run} did not finish: the gate's time ran out.`;
  if (result.skipped) return `${run} was ${gateVerdict(result, project)}${hasLines ? ':' : '.'}`;
  return `${run} ${gateVerdict(result, project)}:`;
}

/** As many of `section`'s lines as fit in `budget` characters, with a line counting the rest. */
function render(section: Section, budget: number): string {
  const whole = [section.heading, ...section.lines].join('\n');
  if (whole.length <= budget) return whole;
  const out = [section.heading];
  let used = section.heading.length + 1;
  for (let index = 0; index < section.lines.length; index++) {
    const line = section.lines[index];
    const rest = section.lines.slice(index).filter((left) => left.trim() !== '').length;
    const note = section.more(rest);
    if (used + line.length + 1 + note.length + 1 > budget) {
      // A first line too long for the share still shows its start.
      const room = budget - used - note.length - 2;
      if (index === 0 && room > 80) out.push(`${line.slice(0, room)}…`);
      out.push(note);
      break;
    }
    out.push(line);
    used += line.length + 1;
  }
  return out.join('\n');
}

/**
 * The message for repair round `round`: each failing gate target with the error
 * lines of its output, the static checks' errors (as formatFinding prints them),
 * the scope problem, and one instruction at the end. At most FEEDBACK_CHARS
 * characters; each section gets its share, and says how much it left out.
 */
export function feedbackMessage(input: FeedbackInput): string {
  const project = input.gate?.project ?? '';
  const failed = input.gate?.targets.filter((target) => !target.ok) ?? [];
  const passed = input.gate?.targets.filter((target) => target.ok) ?? [];
  const findings = (input.findings ?? []).filter((finding) => finding.severity === 'error');
  const scope = input.scope?.trim();
  if (failed.length === 0 && findings.length === 0 && !scope) {
    throw new Error(
      `nothing failed in round ${input.round}: a repair message needs a failing gate target, an error finding or a scope problem.`,
    );
  }

  const sections: Section[] = [];
  if (scope) {
    sections.push({ heading: 'Scope:', lines: scope.split(/\r?\n/), more: (count) => `… ${count} more lines left out.` });
  }
  if (findings.length > 0) {
    sections.push({
      heading: `Checks (${findings.length} error${findings.length === 1 ? '' : 's'}):`,
      lines: findings.map(formatFinding),
      more: (count) => `… ${count} more finding${count === 1 ? '' : 's'} left out.`,
    });
  }
  // Each error once: the same text quoted by a skipped target, or on both of Nx's streams, is named as a repeat.
  const sent = new Set<string>();
  for (const target of failed) {
    const report = errorReport(target.output);
    const lines = withoutRepeats({ ...report, lines: fromWorktreeRoot(report.lines, input.projectRoot) }, sent);
    sections.push({
      heading: targetHeading(project, target, lines.length > 0),
      lines,
      more: (count) => `… ${count} more line${count === 1 ? '' : 's'} left out: run nx run ${project}:${target.target} to see them all.`,
    });
  }

  const opening = [`Repair round ${input.round}: your work does not pass yet. Here is what failed.`];
  if (passed.length > 0) opening.push(`Passed: ${passed.map((target) => `${project}:${target.target}`).join(', ')}.`);
  const rerun = failed.map((target) => `nx run ${project}:${target.target}`).join(', ');
  const closing =
    'Fix these in your worktree. Change nothing outside your scope, and do not weaken the tests: ' +
    'do not delete, skip or loosen a test, a lint rule or a type to make them pass.' +
    (rerun ? ` When you are done, these must pass: ${rerun}.` : '');

  const head = opening.join('\n');
  // Two characters between parts.
  const budget = FEEDBACK_CHARS - head.length - closing.length - 2 * (sections.length + 1);
  const shares = fairShares(
    sections.map((section) => [section.heading, ...section.lines].join('\n').length),
    budget,
  );
  return [head, ...sections.map((section, index) => render(section, shares[index])), closing].join('\n\n');
}

/**
 * Splits `total` between sections that need `needs`: the smaller ones get all
 * they need, the rest share what is left equally, so one long output cannot
 * crowd out the others, nor leave room unused that another could fill.
 */
function fairShares(needs: readonly number[], total: number): number[] {
  const shares = needs.map(() => 0);
  let left = total;
  const order = needs.map((need, index) => ({ need, index })).sort((a, b) => a.need - b.need);
  order.forEach(({ need, index }, position) => {
    shares[index] = Math.min(need, Math.floor(left / (order.length - position)));
    left -= shares[index];
  });
  return shares;
}

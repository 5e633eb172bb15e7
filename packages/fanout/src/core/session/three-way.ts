import { execFile } from 'child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

/**
 * A three-way merge of one text file, with `git merge-file` semantics: the
 * changes from `base` to `session` applied to `current`. Changes that do not
 * overlap merge (each session adding an import and an entry); a change both
 * sides made identically merges once, so merging a session's edit into a file
 * that already holds it changes nothing; changes that overlap differently are
 * conflicts.
 */

export interface ConflictHunk {
  /** 1-based line in `current` where the conflicting region starts. */
  line: number;
  /** The region as it is in the current file. */
  current: string[];
  /** The region as the merge base had it. */
  base: string[];
  /** The region as the session wrote it. */
  session: string[];
}

export interface ThreeWayResult {
  /** The merged text; when there are conflicts, `current` unchanged. */
  merged: string;
  conflicts: ConflictHunk[];
}

export interface ThreeWayInput {
  base: string;
  current: string;
  session: string;
  /** What the conflict hunks call each side, for messages: defaults 'current', 'base', 'session'. */
  labels?: { current?: string; base?: string; session?: string };
}

const MARKER = 7;
const OURS = '<'.repeat(MARKER);
const ANCESTOR = '|'.repeat(MARKER);
const SEPARATOR = '='.repeat(MARKER);
const THEIRS = '>'.repeat(MARKER);

function mergeFile(dir: string, labels: [string, string, string]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(
      'git',
      [
        'merge-file',
        '-p',
        '--diff3',
        `--marker-size=${MARKER}`,
        '-L',
        labels[0],
        '-L',
        labels[1],
        '-L',
        labels[2],
        join(dir, 'current'),
        join(dir, 'base'),
        join(dir, 'session'),
      ],
      { maxBuffer: 256 * 1024 * 1024, env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : -1) : 0;
        if (code < 0 || code > 127) {
          reject(new Error(`git merge-file failed (exit ${code}): ${String(stderr).trim() || String(error)}`));
          return;
        }
        resolve({ code, stdout: String(stdout), stderr: String(stderr) });
      },
    );
  });
}

/**
 * Reads git merge-file's --diff3 output. Outside the markers, lines are kept.
 * A region where both sides only inserted lines at the same place (its base part
 * is empty: two sessions each adding an entry after the reference's) is not a
 * conflict for a wiring file: both insertions are kept whole, the current file's first;
 * an insertion the current side already holds, as a block, only once, and so is an import
 * or export statement both inserted.
 * Any other region is a conflict, with the line of the current file where it
 * starts.
 */
/** A whole import or export statement on one line. */
const STATEMENT = /^\s*(import|export)\b.*;\s*$/;

/** Whether `block` appears in `lines` as consecutive lines: the current side already inserted it. */
function containsBlock(lines: readonly string[], block: readonly string[]): boolean {
  if (block.length === 0) return true;
  for (let start = 0; start + block.length <= lines.length; start++) {
    if (block.every((line, index) => lines[start + index] === line)) return true;
  }
  return false;
}

export function resolveMarked(marked: string): ThreeWayResult {
  const out: string[] = [];
  const conflicts: ConflictHunk[] = [];
  let currentLine = 1;
  let hunk: ConflictHunk | undefined;
  let side: 'current' | 'base' | 'session' = 'current';
  for (const line of marked.split('\n')) {
    if (hunk === undefined) {
      if (line.startsWith(`${OURS} `) || line === OURS) {
        hunk = { line: currentLine, current: [], base: [], session: [] };
        side = 'current';
      } else {
        out.push(line);
        currentLine++;
      }
      continue;
    }
    if (side === 'current' && (line.startsWith(`${ANCESTOR} `) || line === ANCESTOR)) side = 'base';
    else if ((side === 'current' || side === 'base') && line === SEPARATOR) side = 'session';
    else if (side === 'session' && (line.startsWith(`${THEIRS} `) || line === THEIRS)) {
      currentLine += hunk.current.length;
      if (hunk.base.length === 0) {
        // Whole blocks, never single lines: an entry over several lines shares its brackets and keys
        // (`  {`, `  },`) with the other side's, and keeping only some of its lines would break it.
        // An import or export statement both inserted (a module both register with) is kept once.
        const inserted = new Set(hunk.current.filter((line) => STATEMENT.test(line)));
        const session = containsBlock(hunk.current, hunk.session) ? [] : hunk.session.filter((line) => !inserted.has(line));
        out.push(...hunk.current, ...session);
      } else {
        out.push(...hunk.current);
        conflicts.push(hunk);
      }
      hunk = undefined;
    } else hunk[side].push(line);
  }
  return { merged: out.join('\n'), conflicts };
}

/**
 * Merges the session's change of a file (base → session) into its current
 * content. With conflicts, `merged` is the current content unchanged.
 */
export async function mergeThreeWay(input: ThreeWayInput): Promise<ThreeWayResult> {
  const dir = mkdtempSync(join(tmpdir(), 'fanout-merge-'));
  try {
    writeFileSync(join(dir, 'base'), input.base);
    writeFileSync(join(dir, 'current'), input.current);
    writeFileSync(join(dir, 'session'), input.session);
    const labels: [string, string, string] = [
      input.labels?.current ?? 'current',
      input.labels?.base ?? 'base',
      input.labels?.session ?? 'session',
    ];
    const { code, stdout } = await mergeFile(dir, labels);
    if (code === 0) return { merged: stdout, conflicts: [] };
    const resolved = resolveMarked(stdout);
    if (resolved.conflicts.length > 0) return { merged: input.current, conflicts: resolved.conflicts };
    return resolved;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** A conflict as a message shows it: where, and the two sides with what they changed from. */
export function formatConflict(path: string, hunk: ConflictHunk, labels: { current: string; session: string }): string {
  const block = (lines: string[]) => (lines.length === 0 ? ['    (nothing)'] : lines.map((line) => `    ${line}`));
  return [
    `${path}:${hunk.line}: both changed these lines`,
    `  ${labels.current}:`,
    ...block(hunk.current),
    '  merge base:',
    ...block(hunk.base),
    `  ${labels.session}:`,
    ...block(hunk.session),
  ].join('\n');
}

import { writeFileSync } from 'fs';
import { join, relative } from 'path';
import type { FileChange } from './scope';
import { worktreeGit, type Worktree } from './worktree';
import { DIFF_CUT_NOTE, DIFF_FILE } from '../../constants';

/** The file in a session's folder that holds its unified diff (a cached output of the fanout target, with result.json). */
/** How much of a session's diff is kept: a reviewer reads it, nobody reads megabytes of generated code. */
const DIFF_CAP_BYTES = 200 * 1024;

/** Paths per git command: a session that wrote thousands of files must not overrun the argument list. */
const PATHS_PER_COMMAND = 1000;

/** Lines a file gained and lost; `binary` when git compares it as binary (no line counts, no text diff). */
export type LineCounts = { added: number; removed: number; binary?: undefined } | { added?: undefined; removed?: undefined; binary: true };

/** Where a session's diff is and how much of it was kept. */
export interface SessionDiff {
  /** Workspace-relative path of the diff file. */
  file: string;
  /** True for what was integrated; false for the changes a failed session left in its kept worktree. */
  integrated: boolean;
  /** Bytes of the whole diff (after redaction) and of what the file keeps: fewer when it was cut at DIFF_CAP_BYTES. */
  bytes: number;
  keptBytes: number;
}

/**
 * Plain output whatever the user's git configuration: no colour, no external
 * diff or textconv driver, fixed a/ b/ prefixes, paths as they are, and
 * pathspecs taken literally (a file may be named `[id].ts`).
 */
const PLAIN = ['--literal-pathspecs', '-c', 'core.quotePath=false', 'diff', '--no-color', '--no-ext-diff', '--no-textconv', '--no-renames'];

/**
 * The worktree's files against its baseline commit, limited to `paths`. The
 * working tree is compared, not the index: it is what integration copies. The
 * paths are known to git because `sessionChanges` staged them, new files included.
 */
async function diffOutput(worktree: Worktree, paths: readonly string[], format: string[]): Promise<string> {
  const sorted = [...paths].sort();
  let output = '';
  for (let start = 0; start < sorted.length; start += PATHS_PER_COMMAND) {
    const batch = sorted.slice(start, start + PATHS_PER_COMMAND);
    output += await worktreeGit(worktree, [...PLAIN, ...format, worktree.baseline, '--', ...batch]);
  }
  return output;
}

/** Parses `git diff --numstat -z` without renames: `added<TAB>removed<TAB>path<NUL>`, `-` for binary files. */
export function parseNumstat(output: string): Map<string, LineCounts> {
  const counts = new Map<string, LineCounts>();
  for (const entry of output.split('\0')) {
    const match = /^(\d+|-)\t(\d+|-)\t(.*)$/s.exec(entry);
    if (!match) continue;
    const [, added, removed, path] = match;
    counts.set(path, added === '-' || removed === '-' ? { binary: true } : { added: Number(added), removed: Number(removed) });
  }
  return counts;
}

/**
 * `text` cut to at most `capBytes` of UTF-8 at a line end, with a last line that
 * says so; unchanged when it fits.
 */
export function capDiff(text: string, capBytes: number): { text: string; bytes: number; keptBytes: number } {
  const whole = Buffer.from(text, 'utf-8');
  if (whole.length <= capBytes) return { text, bytes: whole.length, keptBytes: whole.length };
  const lineEnd = whole.subarray(0, capBytes).lastIndexOf(0x0a);
  const kept = whole.subarray(0, lineEnd + 1).toString('utf-8');
  const note =
    `${DIFF_CUT_NOTE}: ${whole.length - (lineEnd + 1)} of its ${whole.length} bytes are left out ` +
    `(the cap is ${Math.round(capBytes / 1024)} KB per session). The whole files are in the workspace.]\n`;
  return { text: kept + note, bytes: whole.length, keptBytes: lineEnd + 1 };
}

/**
 * Records what a session changed for review: its unified diff, redacted and
 * capped, in `<sessionDir>/changes.diff`, and the added and removed lines of each
 * file. Called while the worktree still exists, after `sessionChanges`.
 */
export async function recordSessionDiff(options: {
  workspaceRoot: string;
  sessionDir: string;
  worktree: Worktree;
  changes: readonly FileChange[];
  integrated: boolean;
  redact: (text: string) => string;
  capBytes?: number;
}): Promise<{ counts: Map<string, LineCounts>; diff: SessionDiff }> {
  const paths = options.changes.map((change) => change.path);
  // Both read the worktree alone: at once.
  const [numstat, unified] = await Promise.all([
    diffOutput(options.worktree, paths, ['--numstat', '-z']),
    diffOutput(options.worktree, paths, ['--src-prefix=a/', '--dst-prefix=b/']),
  ]);
  const counts = parseNumstat(numstat);
  // A secret the agent wrote into a file must not reach the diff, as it must not reach result.json.
  const patch = options.redact(unified);
  const capped = capDiff(patch, options.capBytes ?? DIFF_CAP_BYTES);
  const file = join(options.sessionDir, DIFF_FILE);
  writeFileSync(file, capped.text);
  return {
    counts,
    diff: {
      file: relative(options.workspaceRoot, file).split('\\').join('/'),
      integrated: options.integrated,
      bytes: capped.bytes,
      keptBytes: capped.keptBytes,
    },
  };
}

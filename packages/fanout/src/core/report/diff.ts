import type { SessionResult } from '../session/result';
import { DIFF_CUT_NOTE } from '../../constants';

export interface DiffLine {
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
export function parseDiff(text: string): ParsedDiff {
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
export interface FileRow {
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
export function fileRows(result: SessionResult, diff: ParsedDiff | undefined): FileRow[] {
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

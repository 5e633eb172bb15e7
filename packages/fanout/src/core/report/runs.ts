import type { SessionResult } from '../session/result';

/**
 * How far apart two sessions of one run may be: within a run, a session starts
 * as soon as Nx has a slot for it (after another session, or its landing), so
 * sessions of a run overlap or follow one another within seconds.
 */
export const RUN_GAP_MS = 60_000;

/** The sessions of the latest run, and those left from earlier runs. */
export interface LatestRun {
  latest: SessionResult[];
  earlier: SessionResult[];
  /** How many earlier runs the earlier sessions came from. */
  earlierRuns: number;
}

/** A session's start and end in ms since the epoch (its end from its duration where none was recorded). */
export function sessionSpan(result: SessionResult): { start: number; end: number } {
  const start = Date.parse(result.startedAt);
  const recordedEnd = Date.parse(result.endedAt);
  const end = Number.isNaN(recordedEnd) ? start + Math.max(0, result.durationMs) : recordedEnd;
  return { start, end: Math.max(start, end) };
}

/**
 * Splits the recorded sessions into runs: sessions whose times overlap, or where
 * one starts within RUN_GAP_MS of the end of those before it, are one run. The
 * report's figures are the latest run's: `.fanout/sessions` keeps each project's
 * last session, whichever run it came from. Each list keeps the order given.
 */
export function latestRun(results: readonly SessionResult[]): LatestRun {
  const byStart = [...results].sort((a, b) => sessionSpan(a).start - sessionSpan(b).start);
  const runs: SessionResult[][] = [];
  let runEnd = -Infinity;
  for (const result of byStart) {
    const { start, end } = sessionSpan(result);
    if (runs.length === 0 || start > runEnd + RUN_GAP_MS) {
      runs.push([]);
      runEnd = end;
    }
    runs[runs.length - 1].push(result);
    runEnd = Math.max(runEnd, end);
  }
  const newest = new Set(runs[runs.length - 1] ?? []);
  return {
    latest: results.filter((result) => newest.has(result)),
    earlier: results.filter((result) => !newest.has(result)),
    earlierRuns: Math.max(0, runs.length - 1),
  };
}

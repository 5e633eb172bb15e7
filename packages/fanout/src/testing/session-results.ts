import { mkdirSync, writeFileSync } from 'fs';
import { join } from 'path';
import type { SessionResult } from '../core/session/result';

/** A fixed origin, so fixture times read as seconds into a run. */
export const RUN_START = Date.parse('2026-01-15T10:00:00.000Z');

/**
 * A session result as `runSession` records it, for a session that ran from
 * `startSecond` to `endSecond` after RUN_START; everything else can be overridden.
 */
export function sessionResult(
  project: string,
  startSecond: number,
  endSecond: number,
  overrides: Partial<SessionResult> = {},
): SessionResult {
  const root = `/workspace/.fanout`;
  return {
    id: `record-${project}`,
    project,
    status: 'succeeded',
    agent: 'pattern',
    startedAt: new Date(RUN_START + startSecond * 1000).toISOString(),
    endedAt: new Date(RUN_START + endSecond * 1000).toISOString(),
    durationMs: (endSecond - startSecond) * 1000,
    baseCommit: '0123456789abcdef0123456789abcdef01234567',
    baseContextHash: 'f'.repeat(64),
    files: [],
    rejected: [],
    steps: [],
    findings: [],
    log: `${root}/sessions/${project}/session.log`,
    promptFile: `${root}/sessions/${project}/prompt.md`,
    ...overrides,
  };
}

/**
 * Writes each result where `runSession` would: `.fanout/sessions/<project>/result.json`
 * (a project name that cannot be a folder name, such as one holding markup, gets a safe one).
 */
export function writeSessionResults(workspaceRoot: string, results: readonly SessionResult[]): void {
  for (const result of results) {
    const dir = join(workspaceRoot, '.fanout', 'sessions', result.project.replace(/[^\w.-]/g, '_'));
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'result.json'), `${JSON.stringify(result, null, 2)}\n`);
  }
}

// The report at scale: writeReport (every session's result.json and diff read, report.md and
// report.html rendered and written) over 500 sessions, and over 50, to show how it grows with the
// number of tasks. A run writes it once, when its last session ends (and once more for each session
// that fails); written after every session, a run of N would pay N × this. Baseline: reading and
// parsing the same result.json files.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pluginModule } from './plugin.mjs';
import { median, measure, seededRandom } from './stats.mjs';

const SIZES = [50, 500];
const REPETITIONS = 5;
const RUN_START = Date.parse('2026-01-15T10:00:00.000Z');

/** A result as a session records it: a few files with a diff, timings, a finding now and then. */
function result(index, random) {
  const project = `task-${String(index).padStart(3, '0')}`;
  const start = Math.floor(random() * 600);
  const duration = 5 + Math.floor(random() * 60);
  const files = Array.from({ length: 3 + Math.floor(random() * 5) }, (_, file) => ({
    path: `libs/${project}/src/lib/${project}-${file}.ts`,
    status: 'A',
    sha256: 'a'.repeat(64),
    added: 20 + file,
    removed: 0,
  }));
  return {
    project,
    status: random() < 0.9 ? 'succeeded' : 'failed',
    agent: 'claude',
    startedAt: new Date(RUN_START + start * 1000).toISOString(),
    endedAt: new Date(RUN_START + (start + duration) * 1000).toISOString(),
    durationMs: duration * 1000,
    baseCommit: '0123456789abcdef0123456789abcdef01234567',
    baseContextHash: 'f'.repeat(64),
    files,
    rejected: [],
    checks: [{ name: 'contract-conformance', ok: true }],
    findings:
      random() < 0.2
        ? [
            {
              check: 'naming-parity',
              severity: 'warning',
              file: files[0].path,
              line: 3,
              message: 'named unlike the reference.',
              fix: 'rename it.',
            },
          ]
        : [],
    log: `.fanout/sessions/${project}/session.log`,
    promptFile: `.fanout/sessions/${project}/prompt.md`,
    costUsd: 0.05,
    tokens: { input: 40_000, output: 2_000, cacheRead: 30_000, cacheWrite: 2_000 },
    timings: { contextMs: 40, worktreeMs: 200, waitMs: 0, agentMs: duration * 1000 - 600, checksMs: 100, integrateMs: 80 },
    diff: { file: `.fanout/sessions/${project}/changes.diff`, integrated: true, bytes: 0, keptBytes: 0 },
  };
}

function workspaceWith(scratch, count) {
  const root = mkdtempSync(join(scratch, `report-${count}-`));
  execFileSync('git', ['init', '-q'], { cwd: root });
  const random = seededRandom(count);
  for (let index = 0; index < count; index++) {
    const recorded = result(index, random);
    const dir = join(root, '.fanout', 'sessions', recorded.project);
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'result.json'), JSON.stringify(recorded, null, 2));
    writeFileSync(
      join(dir, 'changes.diff'),
      recorded.files
        .map(
          (file) =>
            `--- /dev/null\n+++ b/${file.path}\n@@ -0,0 +1,3 @@\n+export const a = 1;\n+export const b = 2;\n+export const c = 3;\n`,
        )
        .join(''),
    );
  }
  return root;
}

export async function benchReportScale({ workspace, scratch }) {
  const { writeReport } = pluginModule(workspace, 'core/report/report');
  const figures = [];
  const measured = new Map();
  for (const count of SIZES) {
    const root = workspaceWith(scratch, count);
    try {
      const write = [];
      const read = [];
      for (let index = 0; index < REPETITIONS; index++) {
        write.push(await measure(() => writeReport(root)));
        read.push(
          await measure(() => {
            for (let task = 0; task < count; task++) {
              JSON.parse(readFileSync(join(root, '.fanout', 'sessions', `task-${String(task).padStart(3, '0')}`, 'result.json'), 'utf-8'));
            }
          }),
        );
      }
      const value = median(write.map((sample) => sample.wallMs));
      measured.set(count, value);
      const html = readFileSync(join(root, '.fanout', 'report.html'), 'utf-8').length;
      figures.push({
        bench: 'report',
        figure: `writeReport, ${count} sessions`,
        value,
        cpuMs: median(write.map((sample) => sample.cpuMs)),
        unit: 'ms',
        baseline: { label: 'reading and parsing their result.json', value: median(read.map((sample) => sample.wallMs)) },
        note:
          `report.html ${Math.round(html / 1024)} KB; median of ${REPETITIONS}, in-process` +
          (count === SIZES[1]
            ? `; ${(value / measured.get(SIZES[0])).toFixed(1)}× the time for ${SIZES[1] / SIZES[0]}× the sessions (linear in the sessions); ` +
              `written once per run (at the end of the batch; with --batch=false, by its last session), not once per session, which would cost a run of ${count} about ${((value * count) / 1000).toFixed(0)} s`
            : ''),
      });
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  }
  return figures;
}

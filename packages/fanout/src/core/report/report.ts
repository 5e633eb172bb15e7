import { mkdirSync, renameSync, rmSync, writeFileSync } from 'fs';
import { join } from 'path';
import { FANOUT_DIR } from '../../constants';
import { renderReportHtml } from './html';
import { renderReportMarkdown } from './markdown';
import { readReportInput, type VerifySummary } from './read';

export { readSessionResults, type VerifySummary } from './read';

/** Writes `.fanout/report.md` and `.fanout/report.html` from every recorded session. */
export function writeReport(workspaceRoot: string, verify?: VerifySummary): { markdown: string; html: string } {
  const input = readReportInput(workspaceRoot, verify);
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

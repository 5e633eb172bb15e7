import { existsSync } from 'fs';
import { join, relative } from 'path';
import { substitution } from '../naming/substitution';
import { listFiles } from '../system/files';
import { moduleExports, type ExportedDeclaration } from './module-exports';
import type { CheckInput, Finding, SessionCheck, Severity } from './check';
import { editDistance } from '../naming/edit-distance';

const CHECK_NAME = 'naming-parity';

/**
 * Exported names of the given files, each with where it is declared. Syntax only
 * (module-exports.ts): a program and type checker per session cost seconds.
 */
function exportedNames(files: string[], cache: Map<string, Map<string, ExportedDeclaration>>): Map<string, { file: string; line: number }> {
  const names = new Map<string, { file: string; line: number }>();
  for (const path of files.filter((file) => /\.tsx?$/.test(file) && !/\.(spec|test)\.tsx?$/.test(file))) {
    for (const [name, declaration] of moduleExports(path, cache)) {
      if (!names.has(name)) names.set(name, { file: declaration.file, line: declaration.line });
    }
  }
  return names;
}

/**
 * Exported symbols and file names follow the reference's with the subject
 * substituted: `SettingsPage` → `DashboardPage`, `feature-settings.module.css` →
 * `feature-dashboard.module.css`, `createUsersHandlers` → `createOrdersHandlers`. A warning by default (`strictNaming: true` makes it an error).
 */
export const namingParity: SessionCheck = {
  name: CHECK_NAME,
  description: "Exported symbols and file names follow the reference's, with the name substituted.",
  defaultSeverity: 'warning',
  run(input: CheckInput, severity: Severity): Finding[] {
    const referenceSrc = join(input.root, input.reference.root, 'src');
    const taskSrc = join(input.root, input.projectRoot, 'src');
    if (!existsSync(referenceSrc)) return [];
    const { reference: from, task: to } = input.subjects;
    const renameFile = substitution(from, to, 'text');
    const renameSymbol = substitution(from, to, 'identifier');
    const findings: Finding[] = [];
    const relativeTo = (path: string) => relative(input.root, path).split('\\').join('/');

    const referenceFiles = listFiles(referenceSrc);
    const taskFiles = new Set(listFiles(taskSrc).map((path) => relative(taskSrc, path)));
    for (const file of referenceFiles) {
      const expected = renameFile(relative(referenceSrc, file));
      if (!taskFiles.has(expected)) {
        findings.push({
          check: CHECK_NAME,
          severity,
          file: `${input.projectRoot}/src/${expected}`,
          line: 0,
          message: `is missing: the reference has ${relativeTo(file)}.`,
          fix: `name the file ${expected}, as the reference names its counterpart.`,
        });
      }
    }

    const modules = new Map<string, Map<string, ExportedDeclaration>>();
    // A name that does not carry the subject has no known counterpart: nothing is said about it rather than something wrong.
    const expectedSymbols = [...exportedNames(referenceFiles, modules).keys()]
      .map((name) => [name, renameSymbol(name)] as const)
      .filter(([name, expected]) => name !== expected);
    const actual = exportedNames(listFiles(taskSrc), modules);
    const expectedNames = new Set(expectedSymbols.map(([, expected]) => expected));
    for (const [original, expected] of expectedSymbols) {
      if (actual.has(expected)) continue;
      // The export that was probably meant: the closest name that is not itself expected.
      const [closest] = [...actual.keys()]
        .filter((name) => !expectedNames.has(name))
        .map((name) => [name, editDistance(name, expected)] as const)
        .filter(([name, score]) => score <= Math.max(3, Math.floor(name.length / 4)))
        .sort((a, b) => a[1] - b[1]);
      const where = closest ? actual.get(closest[0]) : undefined;
      findings.push({
        check: CHECK_NAME,
        severity,
        file: where ? relativeTo(where.file) : `${input.projectRoot}/src/index.ts`,
        line: where?.line ?? 0,
        message: closest
          ? `exports ${closest[0]} where the reference's ${original} calls for ${expected}.`
          : `does not export ${expected}, the counterpart of the reference's ${original}.`,
        fix: closest ? `rename ${closest[0]} to ${expected}.` : `export it under that name (${original} → ${expected}).`,
      });
    }
    return findings;
  },
};

import { existsSync, readFileSync } from 'fs';
import { join, posix } from 'path';
import { extractClaims } from './claims';
import type { CheckInput, Finding, ProjectRef, SessionCheck, Severity } from './check';

const CHECK_NAME = 'hidden-dependencies';

/** The project a specifier imported from `file` points at, if it is one of the workspace's. */
function projectOfImport(specifier: string, file: string, projects: readonly ProjectRef[]): ProjectRef | undefined {
  if (specifier.startsWith('.')) {
    const target = posix.normalize(posix.join(posix.dirname(file), specifier));
    return projects
      .filter((project) => project.root !== '.' && (target === project.root || target.startsWith(`${project.root}/`)))
      .sort((a, b) => b.root.length - a.root.length)[0];
  }
  let best: { project: ProjectRef; length: number } | undefined;
  for (const project of projects) {
    for (const path of project.importPaths) {
      const prefix = path.endsWith('/*') ? path.slice(0, -1) : undefined;
      const matches = prefix ? specifier.startsWith(prefix) : specifier === path || specifier.startsWith(`${path}/`);
      if (matches && (!best || path.length > best.length)) best = { project, length: path.length };
    }
  }
  return best?.project;
}

/**
 * Sessions of one run must not depend on each other: the session's code must not
 * import another task of the run, nor a project that depends on one. Such an
 * import works by chance of timing at best, and the project graph confirmed
 * independence without it.
 */
export const hiddenDependencies: SessionCheck = {
  name: CHECK_NAME,
  description: 'No imports of another task of the run, nor of anything that depends on one.',
  defaultSeverity: 'error',
  run(input: CheckInput, severity: Severity): Finding[] {
    const forbidden = input.forbidden;
    const projects = input.projects;
    if (!forbidden || forbidden.size === 0 || !projects) return [];
    const findings: Finding[] = [];
    for (const file of input.files.filter((path) => /\.(ts|tsx|mts|cts|js|jsx|mjs|cjs)$/.test(path))) {
      const absolute = join(input.root, file);
      if (!existsSync(absolute)) continue;
      for (const { specifier, line } of extractClaims(file, readFileSync(absolute, 'utf-8')).imports) {
        const target = projectOfImport(specifier, file, projects);
        if (!target || target.name === input.project) continue;
        const why = forbidden.get(target.name);
        if (!why) continue;
        findings.push({
          check: CHECK_NAME,
          severity,
          file,
          line,
          message: `imports '${specifier}' (project ${target.name}), which ${why}: sessions of one run must not depend on each other.`,
          fix: `take what both need from the contracts ('${input.contracts.importPath}'), or make ${input.project} depend on ${target.name} in the project graph so that it runs after it, not beside it.`,
        });
      }
    }
    return findings;
  },
};

import { existsSync, readFileSync } from 'fs';
import { join } from 'path';
import type { ProjectRef } from '../checks/check';

function readJson(path: string): unknown {
  try {
    return JSON.parse(readFileSync(path, 'utf-8'));
  } catch {
    // A tsconfig with comments or a broken manifest names no import path.
    return undefined;
  }
}

/** tsconfig `paths` of the workspace: specifier → the files it maps to. */
function tsconfigPaths(workspaceRoot: string): [string, string[]][] {
  for (const config of ['tsconfig.base.json', 'tsconfig.json']) {
    const path = join(workspaceRoot, config);
    if (!existsSync(path)) continue;
    const json = readJson(path) as { compilerOptions?: { paths?: Record<string, string[]> } } | undefined;
    const paths = json?.compilerOptions?.paths;
    if (paths) return Object.entries(paths);
  }
  return [];
}

/**
 * The specifiers each project is imported by: tsconfig paths that map into its
 * root, and the name in its package.json (TS-solution and package-based workspaces).
 */
export function readImportPaths(workspaceRoot: string, projects: readonly { name: string; root: string }[]): ProjectRef[] {
  const paths = tsconfigPaths(workspaceRoot);
  return projects.map(({ name, root }) => {
    const importPaths = paths
      .filter(([, targets]) => targets.some((target) => target.replace(/^\.\//, '').startsWith(`${root}/`)))
      .map(([specifier]) => specifier);
    const manifest = readJson(join(workspaceRoot, root, 'package.json')) as { name?: string } | undefined;
    if (root !== '.' && manifest?.name && !importPaths.includes(manifest.name)) importPaths.push(manifest.name);
    return { name, root, importPaths };
  });
}

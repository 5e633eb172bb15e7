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
  // Each specifier under every project root one of its targets lies in: a target's folders
  // looked up among the roots, so thousands of projects and paths cost one pass over each.
  const roots = new Set(projects.map((project) => project.root));
  const specifiersOf = new Map<string, string[]>();
  for (const [specifier, targets] of tsconfigPaths(workspaceRoot)) {
    const under = new Set<string>();
    for (const target of targets) {
      const parts = target.replace(/^\.\//, '').split('/');
      for (let length = 1; length < parts.length; length++) {
        const folder = parts.slice(0, length).join('/');
        if (roots.has(folder)) under.add(folder);
      }
    }
    for (const root of under) {
      const list = specifiersOf.get(root);
      if (list) list.push(specifier);
      else specifiersOf.set(root, [specifier]);
    }
  }
  return projects.map(({ name, root }) => {
    const importPaths = [...(specifiersOf.get(root) ?? [])];
    const manifest = readJson(join(workspaceRoot, root, 'package.json')) as { name?: string } | undefined;
    if (root !== '.' && manifest?.name && !importPaths.includes(manifest.name)) importPaths.push(manifest.name);
    return { name, root, importPaths };
  });
}

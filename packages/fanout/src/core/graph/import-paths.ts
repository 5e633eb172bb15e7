import { existsSync, readFileSync } from 'fs';
import { join } from 'path';
import type { ProjectRef } from '../checks/check';
import { readWhileUnchanged } from '../system/files';
import { parseJsonc } from '../system/jsonc';

/** A JSON file as TypeScript reads tsconfig files (comments and trailing commas allowed); undefined when unreadable. */
function readJson(path: string): unknown {
  try {
    return parseJsonc(readFileSync(path, 'utf-8'));
  } catch {
    // A broken tsconfig or manifest names no import path.
    return undefined;
  }
}

/** The tsconfig files' paths: every session of a batch asks, and a workspace of thousands of projects has a large tsconfig. */
const readPaths = new Map<string, { stamp: string; value: [string, string[]][] | undefined }>();

function pathsIn(path: string): [string, string[]][] | undefined {
  if (!existsSync(path)) return undefined;
  return readWhileUnchanged(readPaths, path, () => {
    const json = readJson(path) as { compilerOptions?: { paths?: Record<string, string[]> } } | undefined;
    const found = json?.compilerOptions?.paths;
    return found ? Object.entries(found) : undefined;
  });
}

/** tsconfig `paths` of the workspace: specifier → the files it maps to. */
function tsconfigPaths(workspaceRoot: string): [string, string[]][] {
  for (const config of ['tsconfig.base.json', 'tsconfig.json']) {
    const paths = pathsIn(join(workspaceRoot, config));
    if (paths) return paths;
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
    const manifestPath = join(workspaceRoot, root, 'package.json');
    // Most projects of a large workspace have none: looking costs less than failing to read.
    const manifest = existsSync(manifestPath) ? (readJson(manifestPath) as { name?: string } | undefined) : undefined;
    if (root !== '.' && manifest?.name && !importPaths.includes(manifest.name)) importPaths.push(manifest.name);
    return { name, root, importPaths };
  });
}

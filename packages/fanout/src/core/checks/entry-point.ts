import { posix } from 'path';

/** Reads a workspace-relative file, or undefined when there is none: the file system's or an Nx Tree's. */
export type ReadFile = (path: string) => string | undefined;

const SOURCE = /\.(ts|tsx|mts|cts)$/;

/** The source file a package.json field points at, when it is a TypeScript file the project has. */
function sourceTarget(value: unknown): string | undefined {
  if (typeof value === 'string') return SOURCE.test(value) ? value : undefined;
  if (value && typeof value === 'object') {
    const conditions = value as Record<string, unknown>;
    for (const condition of ['types', 'import', 'default', 'require']) {
      const target = sourceTarget(conditions[condition]);
      if (target) return target;
    }
    // A custom condition (TS-solution workspaces name one after the workspace) pointing at the sources.
    for (const target of Object.values(conditions).map(sourceTarget)) if (target) return target;
  }
  return undefined;
}

/**
 * A library's public entry point, workspace-relative: what its package.json exports
 * as `.` (or its `types`/`main`) when that is a TypeScript source, else `src/index.ts`
 * (or `.tsx`, or `index.ts`). Undefined when it has none of these. The checks, the
 * pattern agent and the generators all read a contracts library's exports from it.
 */
export function entryPoint(read: ReadFile, root: string): string | undefined {
  const manifestText = read(posix.join(root, 'package.json'));
  if (manifestText !== undefined) {
    try {
      const manifest = JSON.parse(manifestText) as Record<string, unknown>;
      const exported = manifest['exports'];
      const dot =
        exported && typeof exported === 'object' && !Array.isArray(exported) ? (exported as Record<string, unknown>)['.'] : exported;
      for (const candidate of [dot, manifest['types'], manifest['typings'], manifest['main']]) {
        const target = sourceTarget(candidate);
        if (target) {
          const path = posix.join(root, target);
          if (read(path) !== undefined) return path;
        }
      }
    } catch {
      // A package.json that is not JSON names no entry point; the conventional files still count.
    }
  }
  return ['src/index.ts', 'src/index.tsx', 'index.ts'].map((file) => posix.join(root, file)).find((path) => read(path) !== undefined);
}

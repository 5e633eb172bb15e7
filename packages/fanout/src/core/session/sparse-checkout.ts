import { readdirSync, type Dirent } from 'fs';
import { join } from 'path';
import { readWhileUnchanged } from '../system/files';

/**
 * Which projects a session's worktree holds. Checking out every file of a large
 * workspace for every session takes seconds; a session works with its own
 * project, the contracts, the reference and what they depend on, so the other
 * projects are left out. Everything that is no project's (root configuration,
 * tools, scripts) stays.
 */
export interface SparseCheckout {
  /** Roots of the projects the session needs. */
  keep: readonly string[];
  /** Roots of every other project of the workspace. */
  leave: readonly string[];
}

function normalize(root: string): string {
  return root.replace(/\\/g, '/').replace(/^\.\//, '').replace(/\/+$/, '');
}

function inside(path: string, folder: string): boolean {
  return path === folder || path.startsWith(`${folder}/`);
}

/**
 * What a sparse worktree holds: every file directly in the workspace root and in
 * the walked folders (those holding a left-out project), and every other folder
 * whole. Parents come before their children.
 */
export interface SparseCone {
  folders: { path: string; walked: boolean }[];
}

/** A folder's entries: a folder of 2,000 projects takes milliseconds to list, and every session's cone lists it. */
const listings = new Map<string, { stamp: string; value: Dirent[] }>();

function listFolder(path: string): Dirent[] {
  return readWhileUnchanged(listings, path, () => readdirSync(path, { withFileTypes: true }));
}

/** A folder as a cone pattern: glob characters escaped, as git sparse-checkout writes them. */
function pattern(folder: string): string {
  return `/${folder.replace(/[\\*?[\]]/g, (character) => `\\${character}`)}/`;
}

/**
 * The folders of a worktree without the left-out projects, or undefined when
 * nothing would be left out (a full checkout). A left-out project that holds a
 * kept one, or sits inside one, stays. The folders are read from the workspace on disk.
 */
export function sparseCone(workspaceRoot: string, checkout: SparseCheckout): SparseCone | undefined {
  const keep = checkout.keep.map(normalize);
  if (keep.some((root) => root === '' || root === '.')) return undefined;
  const leave = new Set(
    checkout.leave
      .map(normalize)
      .filter((root) => root !== '' && root !== '.' && !keep.some((kept) => inside(kept, root) || inside(root, kept))),
  );
  if (leave.size === 0) return undefined;
  // Folders holding a left-out project are walked into; every other folder is kept whole.
  const holders = new Set<string>();
  for (const root of leave) {
    const parts = root.split('/');
    for (let length = 1; length < parts.length; length++) holders.add(parts.slice(0, length).join('/'));
  }
  const cone: SparseCone = { folders: [] };
  const walk = (folder: string) => {
    const entries = listFolder(join(workspaceRoot, folder))
      .filter((entry) => entry.isDirectory() && !(folder === '' && entry.name === '.git'))
      .map((entry) => (folder === '' ? entry.name : `${folder}/${entry.name}`))
      .sort();
    for (const path of entries) {
      if (leave.has(path)) continue;
      cone.folders.push({ path, walked: holders.has(path) });
      if (holders.has(path)) walk(path);
    }
  };
  walk('');
  return cone;
}

/** The cone-mode patterns (the format of `git sparse-checkout set --cone`) for `info/sparse-checkout`. */
export function conePatterns(cone: SparseCone): string[] {
  return ['/*', '!/*/', ...cone.folders.flatMap(({ path, walked }) => (walked ? [pattern(path), `!${pattern(path)}*/`] : [pattern(path)]))];
}

/** Whether the cone holds `path` (workspace-relative, a file): directly in the root or a walked folder, or inside a kept one. */
export function coneHolds(cone: SparseCone, path: string): boolean {
  const slash = path.lastIndexOf('/');
  if (slash === -1) return true;
  const folder = path.slice(0, slash);
  return cone.folders.some((entry) =>
    entry.walked ? entry.path === folder : folder === entry.path || folder.startsWith(`${entry.path}/`),
  );
}

/**
 * Literal pathspecs for everything the cone holds, in each of `roots` (a workspace
 * and its worktree): git status limited to them reads a few folders, not the
 * whole of a large workspace.
 */
export function conePathspecs(cone: SparseCone, roots: readonly string[]): string[] {
  const paths = new Set(cone.folders.filter((folder) => !folder.walked).map((folder) => folder.path));
  for (const folder of ['', ...cone.folders.filter((entry) => entry.walked).map((entry) => entry.path)]) {
    for (const root of roots) {
      let entries: Dirent[] = [];
      try {
        entries = listFolder(join(root, folder));
      } catch {
        // Not in this root.
      }
      for (const entry of entries) {
        if (!entry.isDirectory() && !(folder === '' && entry.name === '.git'))
          paths.add(folder === '' ? entry.name : `${folder}/${entry.name}`);
      }
    }
  }
  return [...paths].sort().map((path) => `:(top,literal)${path}`);
}

import { existsSync, mkdirSync, readdirSync, readlinkSync, symlinkSync, type Dirent } from 'fs';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'path';

/**
 * A worktree's node_modules: the workspace's installed packages, linked rather
 * than installed again.
 *
 * npm, yarn and pnpm workspaces link each project that has a package.json into
 * node_modules (`node_modules/@shop/shared-types` → `libs/shared-types`). Through
 * one link to the whole folder, the worktree would resolve those to the user's
 * workspace: TypeScript, jest and Nx in the worktree would check the session's
 * code against the workspace's copy of its dependencies, and Nx would take files
 * outside the worktree for the root project's (a dependency cycle for
 * `@nx/enforce-module-boundaries`). So where the workspace has such links, the
 * worktree gets a folder of links instead: every package linked to the
 * workspace's, except the workspace's own projects, linked to the worktree's copy
 * (the workspace's where the worktree leaves the project out). Without such
 * links it is one link to the whole folder, as cheap as it gets.
 */
export function linkModules(workspaceRoot: string, worktree: string): void {
  const modules = join(workspaceRoot, 'node_modules');
  const target = join(worktree, 'node_modules');
  if (!existsSync(modules) || existsSync(target)) return;
  const entries = readdirSync(modules, { withFileTypes: true });
  const scopes = new Map<string, Dirent[]>();
  for (const entry of entries) {
    if (entry.name.startsWith('@') && entry.isDirectory())
      scopes.set(entry.name, readdirSync(join(modules, entry.name), { withFileTypes: true }));
  }
  const own = (dir: string, entry: Dirent) => (entry.isSymbolicLink() ? workspaceProject(workspaceRoot, join(dir, entry.name)) : undefined);
  const hasOwn =
    entries.some((entry) => own(modules, entry) !== undefined) ||
    [...scopes].some(([scope, members]) => members.some((entry) => own(join(modules, scope), entry) !== undefined));
  if (!hasOwn) {
    symlinkSync(modules, target, 'dir');
    return;
  }
  mkdirSync(target);
  const link = (from: string, entry: Dirent, to: string) => {
    const project = own(from, entry);
    const source = project !== undefined && existsSync(join(worktree, project)) ? join(worktree, project) : join(from, entry.name);
    symlinkSync(source, join(to, entry.name), 'dir');
  };
  for (const entry of entries) {
    const members = scopes.get(entry.name);
    if (!members) {
      link(modules, entry, target);
      continue;
    }
    mkdirSync(join(target, entry.name));
    for (const member of members) link(join(modules, entry.name), member, join(target, entry.name));
  }
}

/** The workspace-relative folder a node_modules link points at, when it is one of the workspace's own (not inside node_modules). */
function workspaceProject(workspaceRoot: string, linkPath: string): string | undefined {
  let pointed: string;
  try {
    const raw = readlinkSync(linkPath);
    pointed = isAbsolute(raw) ? raw : resolve(dirname(linkPath), raw);
  } catch {
    return undefined;
  }
  const inside = relative(workspaceRoot, pointed);
  if (inside === '' || inside.startsWith('..') || isAbsolute(inside)) return undefined;
  if (inside.split(sep).includes('node_modules')) return undefined;
  return inside;
}

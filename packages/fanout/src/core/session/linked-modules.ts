import { existsSync, mkdirSync, readdirSync, readlinkSync, statSync, symlinkSync, type Dirent } from 'fs';
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
  const { links } = modulesLayout(workspaceRoot, modules);
  if (!links) {
    symlinkSync(modules, target, 'dir');
    return;
  }
  mkdirSync(target);
  for (const { folder, name, project } of links) {
    if (folder !== '' && !existsSync(join(target, folder))) mkdirSync(join(target, folder));
    const source = project !== undefined && existsSync(join(worktree, project)) ? join(worktree, project) : join(modules, folder, name);
    symlinkSync(source, join(target, folder, name), 'dir');
  }
}

/** One entry of node_modules (`folder` is its scope, or ''), with the workspace project it links to, if any. */
interface ModuleLink {
  folder: string;
  name: string;
  project?: string;
}

/** What a workspace's node_modules holds: `links` undefined when none of it is a workspace project (one link does). */
interface ModulesLayout {
  stamp: string;
  scopes: string[];
  links?: ModuleLink[];
}

/**
 * Read once per process and workspace, while node_modules and its scopes stay as
 * they were (their modification times): a batch sets up every session of the run,
 * and a node_modules of a thousand packages takes milliseconds to list each time.
 */
const layouts = new Map<string, ModulesLayout>();

function stampOf(modules: string, scopes: readonly string[]): string | undefined {
  try {
    return [modules, ...scopes.map((scope) => join(modules, scope))].map((folder) => statSync(folder).mtimeMs).join(',');
  } catch {
    return undefined;
  }
}

function modulesLayout(workspaceRoot: string, modules: string): ModulesLayout {
  const known = layouts.get(modules);
  if (known && stampOf(modules, known.scopes) === known.stamp) return known;
  const entries = readdirSync(modules, { withFileTypes: true });
  const scopes = new Map<string, Dirent[]>();
  for (const entry of entries) {
    if (entry.name.startsWith('@') && entry.isDirectory())
      scopes.set(entry.name, readdirSync(join(modules, entry.name), { withFileTypes: true }));
  }
  const own = (dir: string, entry: Dirent) => (entry.isSymbolicLink() ? workspaceProject(workspaceRoot, join(dir, entry.name)) : undefined);
  const links: ModuleLink[] = [];
  let hasOwn = false;
  const add = (folder: string, entry: Dirent) => {
    const project = own(join(modules, folder), entry);
    if (project !== undefined) hasOwn = true;
    links.push({ folder, name: entry.name, ...(project !== undefined ? { project } : {}) });
  };
  for (const entry of entries) {
    const members = scopes.get(entry.name);
    if (!members) add('', entry);
    else for (const member of members) add(entry.name, member);
  }
  const scopeNames = [...scopes.keys()];
  const layout: ModulesLayout = { stamp: stampOf(modules, scopeNames) ?? '', scopes: scopeNames, ...(hasOwn ? { links } : {}) };
  layouts.set(modules, layout);
  return layout;
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

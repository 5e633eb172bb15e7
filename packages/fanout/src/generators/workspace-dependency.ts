import { getProjects, joinPathFragments, type Tree } from '@nx/devkit';
import { updateJsonKeepingLayout } from './update-json';
import { workspacePackageManager } from './package-manager-install';

/** How one workspace package depends on another: the package.json field, and the version it writes. */
export interface DependencyStyle {
  field: 'dependencies' | 'devDependencies';
  version: string;
}

const FIELDS = ['dependencies', 'devDependencies'] as const;
/** The versions that mean "the workspace's own copy", whatever its version. */
const WORKSPACE_VERSIONS = new Set(['workspace:*', 'workspace:^', 'workspace:~', '*']);

type Manifest = { name?: unknown } & Partial<Record<(typeof FIELDS)[number], Record<string, unknown>>>;

function manifests(tree: Tree): Manifest[] {
  return [...getProjects(tree).values()]
    .map((project) => joinPathFragments(project.root, 'package.json'))
    .filter((path) => tree.exists(path))
    .sort()
    .flatMap((path) => {
      try {
        return [JSON.parse(tree.read(path, 'utf-8') ?? '') as Manifest];
      } catch {
        // A package.json that does not parse says nothing about the workspace's style.
        return [];
      }
    });
}

/**
 * How the workspace's projects depend on each other: the field and version most of
 * their package.json files use for another workspace package (`devDependencies` with
 * `workspace:*`, `dependencies` with `*`, ...). A workspace with no such dependency
 * yet gets `dependencies` with what its package manager links: `workspace:*` for pnpm,
 * which links nothing else by default, `*` for the others.
 */
export function workspaceDependencyStyle(tree: Tree): DependencyStyle {
  const all = manifests(tree);
  const names = new Set(all.map((manifest) => manifest.name).filter((name): name is string => typeof name === 'string'));
  const votes = new Map<string, { style: DependencyStyle; count: number }>();
  for (const manifest of all) {
    for (const field of FIELDS) {
      for (const [name, version] of Object.entries(manifest[field] ?? {})) {
        if (!names.has(name) || typeof version !== 'string' || !WORKSPACE_VERSIONS.has(version)) continue;
        const key = `${field} ${version}`;
        const vote = votes.get(key) ?? { style: { field, version }, count: 0 };
        vote.count++;
        votes.set(key, vote);
      }
    }
  }
  const [first] = [...votes.values()].sort((a, b) => b.count - a.count);
  if (first) return first.style;
  return { field: 'dependencies', version: workspacePackageManager(tree) === 'pnpm' ? 'workspace:*' : '*' };
}

/**
 * Makes the package whose package.json is `manifest` depend on the workspace package
 * `name`, in the workspace's style. A dependency it already lists, in either field,
 * is left as it is.
 */
export function addWorkspaceDependency(tree: Tree, manifest: string, name: string): void {
  const listed = (json: Manifest) => FIELDS.some((field) => json[field]?.[name] !== undefined);
  if (listed(JSON.parse(tree.read(manifest, 'utf-8') ?? '{}'))) return;
  const { field, version } = workspaceDependencyStyle(tree);
  updateJsonKeepingLayout(tree, manifest, (json: Manifest) => ({ ...json, [field]: { ...(json[field] ?? {}), [name]: version } }));
}

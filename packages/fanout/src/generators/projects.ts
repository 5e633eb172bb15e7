import {
  getProjects,
  joinPathFragments,
  logger,
  readJson,
  readProjectConfiguration,
  type ProjectConfiguration,
  type Tree,
} from '@nx/devkit';
import { posix } from 'path';
import { listCollections } from './contracts/contracts-source';
import { CONTRACTS_TAG } from '../constants';
import { entryPoint } from '../core/checks/entry-point';
import { editDistance } from '../core/naming/edit-distance';
import { addWorkspaceDependency } from './workspace-dependency';
import { updateJsonKeepingLayout } from './update-json';
import { dependencyPath } from '../core/graph/dependency-path';
import { importPathOf, relativeImportExtension, type NewLibrary } from './library';

export interface ContractsLibrary {
  name: string;
  root: string;
  importPath: string;
  /** Its public entry point, workspace-relative (see entryPoint). */
  entry: string;
  /** The extension of relative imports inside the library (see `relativeImportExtension`). */
  extension: string;
  /**
   * The API scaffold's parts, when the library is one (`nx g fanout:contracts <name>`):
   * its barrel, its collections file and the collection (plural entity) names it declares.
   */
  scaffold?: { indexFile: string; collectionsFile: string; collections: string[] };
}

const treeReader = (tree: Tree) => (path: string) => (tree.isFile(path) ? (tree.read(path, 'utf-8') ?? undefined) : undefined);

/** `@ws/notification-contracts` → `notification-contracts`. */
const withoutScope = (name: string) => name.replace(/^@[^/]+\//, '');

/** "a", "a or b", "a, b or c". */
const orList = (names: string[]) => (names.length < 2 ? names.join('') : `${names.slice(0, -1).join(', ')} or ${names[names.length - 1]}`);

/** How a message quotes what was given: `--like=channel-email`, or `"channel-email"` for a positional name. */
const asGiven = (option: string, value: string) => (option.startsWith('--') ? `${option}=${value}` : `"${value}"`);

/**
 * The existing project an option names: the project of that name, else the one
 * project whose name is it once its npm scope is dropped, said in one line. Nx's TS
 * preset names projects after their packages (`@ws/notification-contracts`), and
 * people type the folder's name. Undefined when no project matches; an error when
 * several do, for one scope is as likely as the other. `option` is the option's
 * flag (`--like`), or a description for a positional name.
 */
export function findProjectName(tree: Tree, name: string, option: string): string | undefined {
  const projects = [...getProjects(tree).keys()];
  if (projects.includes(name)) return name;
  // A scope the user typed is meant: `@other/x` is not `@ws/x`.
  if (name.startsWith('@')) return undefined;
  const matches = projects.filter((project) => project.startsWith('@') && withoutScope(project) === name);
  if (matches.length > 1) {
    throw new Error(
      `${asGiven(option, name)} matches several projects once their npm scope is dropped: ${orList(matches)}. ` +
        `Give the full name, such as ${option.startsWith('--') ? asGiven(option, matches[0]) : matches[0]}.`,
    );
  }
  if (matches.length === 1) logger.info(`${asGiven(option, name)} is the project ${matches[0]}.`);
  return matches[0];
}

/** The projects whose names are closest to `name`, scope aside: the ones a typo or a missing word meant. */
function closestProjectNames(tree: Tree, name: string): string[] {
  const wanted = withoutScope(name).toLowerCase();
  return [...getProjects(tree).keys()]
    .map((project) => {
      const base = withoutScope(project).toLowerCase();
      const contained = wanted.length >= 3 && (base.includes(wanted) || wanted.includes(base));
      return { project, distance: editDistance(wanted, base), contained };
    })
    .filter(({ distance, contained }) => contained || distance <= Math.max(2, Math.floor(wanted.length / 3)))
    .sort((a, b) => a.distance - b.distance || a.project.localeCompare(b.project))
    .slice(0, 3)
    .map(({ project }) => project);
}

/**
 * The existing project an option names, as `findProjectName` finds it, or an error
 * naming the closest projects ("did you mean @ws/…"), else saying `otherwise`.
 */
export function resolveProjectName(tree: Tree, name: string, option: string, otherwise?: string): string {
  const found = findProjectName(tree, name, option);
  if (found !== undefined) return found;
  const closest = closestProjectNames(tree, name);
  throw new Error(
    `There is no project named "${name}". ` +
      (closest.length === 1
        ? `Did you mean ${closest[0]}? Give it as ${asGiven(option, closest[0])}.`
        : closest.length > 1
          ? `Did you mean ${orList(closest)}? Give the one you mean to ${option}.`
          : (otherwise ?? `${option} takes the name of an existing project, as nx show projects lists it.`)),
  );
}

/** The projects tagged `tag`, in a sentence, or `none` when there are none. */
export function taggedProjectsOr(tree: Tree, tag: string, none: string): string {
  const tagged = [...getProjects(tree)].filter(([, config]) => config.tags?.includes(tag)).map(([name]) => name);
  return tagged.length > 0 ? `Projects tagged ${tag} in this workspace: ${tagged.join(', ')}.` : none;
}

/**
 * Whether a library can serve as the contracts: its entry point exists and exports
 * something (the types every session imports). Returns the entry point, or throws
 * saying what is missing.
 */
export function assertContractsCandidate(tree: Tree, projectName: string, root: string): string {
  const entry = entryPoint(treeReader(tree), root);
  if (!entry) {
    throw new Error(
      `The project "${projectName}" (${root}) has no entry point to import types from: neither its package.json ` +
        `("exports", "types" or "main" naming a TypeScript file) nor ${root}/src/index.ts.`,
    );
  }
  if (!/(^|\n)\s*export\b/.test(tree.read(entry, 'utf-8') ?? '')) {
    throw new Error(
      `The entry point of "${projectName}" (${entry}) exports nothing: a contracts library exports the types sessions share.`,
    );
  }
  return entry;
}

/**
 * Reads the contracts library an option names (see `resolveProjectName`), or explains
 * why the project cannot serve as one.
 */
export function readContractsLibrary(tree: Tree, name: string, option = '--contracts'): ContractsLibrary {
  const projectName = resolveProjectName(
    tree,
    name,
    option,
    taggedProjectsOr(
      tree,
      CONTRACTS_TAG,
      `Create or adopt one first: nx g fanout:contracts ${name} --entities=user, or nx g fanout:contracts --project=<your types library>`,
    ),
  );
  const project = readProjectConfiguration(tree, projectName);
  const root = project.root;
  if (!project.tags?.includes(CONTRACTS_TAG)) {
    throw new Error(
      `The project "${projectName}" (${root}) is not a fanout contracts library: it lacks the tag "${CONTRACTS_TAG}". ` +
        `Adopt it: nx g fanout:contracts --project=${projectName}`,
    );
  }
  const entry = assertContractsCandidate(tree, projectName, root);
  const importPath = importPathOf(tree, root);
  if (!importPath) {
    throw new Error(
      `The contracts library "${projectName}" has no import path: add it to tsconfig.base.json "paths" or give ${root}/package.json a name.`,
    );
  }
  const collectionsFile = joinPathFragments(root, 'src', 'lib', 'collections.ts');
  const indexFile = joinPathFragments(root, 'src', 'index.ts');
  return {
    name: projectName,
    root,
    importPath,
    entry,
    extension: relativeImportExtension(tree, root),
    ...(tree.exists(collectionsFile) && tree.exists(indexFile)
      ? { scaffold: { indexFile, collectionsFile, collections: listCollections(tree.read(collectionsFile, 'utf-8') ?? '') } }
      : {}),
  };
}

/** The file that holds a project's own configuration: its project.json, else its package.json (under "nx"). */
function configurationFile(tree: Tree, root: string): { path: string; nested: boolean } {
  const projectJson = joinPathFragments(root, 'project.json');
  if (tree.exists(projectJson)) return { path: projectJson, nested: false };
  const packageJson = joinPathFragments(root, 'package.json');
  if (tree.exists(packageJson)) return { path: packageJson, nested: true };
  throw new Error(`The project at ${root} has neither a project.json nor a package.json to record fanout's tag in.`);
}

/**
 * Adds and removes tags of a project, editing only its "tags" in project.json (or in
 * package.json's "nx" section): adopting a project changes nothing else of it.
 */
export function retagProject(tree: Tree, root: string, change: { add?: string[]; remove?: (tag: string) => boolean }): void {
  const { path, nested } = configurationFile(tree, root);
  updateJsonKeepingLayout(tree, path, (json) => {
    const config: { tags?: string[] } = nested ? (json.nx ?? {}) : json;
    const tags = (config.tags ?? []).filter((tag) => !(change.remove?.(tag) ?? false));
    for (const tag of change.add ?? []) if (!tags.includes(tag)) tags.push(tag);
    config.tags = tags;
    if (nested) json.nx = config;
    return json;
  });
}

/**
 * Makes `dependent` depend on `dependency` the way the workspace expects: a
 * package.json dependency and TS project references in a TS-solution workspace
 * (what Nx's typescript sync would write), nothing extra with tsconfig paths.
 */
export function addLibraryDependency(tree: Tree, dependent: NewLibrary, dependency: ContractsLibrary): void {
  if (!dependent.tsSolution) return;
  const manifest = joinPathFragments(dependent.root, 'package.json');
  if (tree.exists(manifest)) addWorkspaceDependency(tree, manifest, dependency.importPath);
  for (const config of ['tsconfig.lib.json', 'tsconfig.spec.json']) {
    const path = joinPathFragments(dependent.root, config);
    const target = joinPathFragments(dependency.root, 'tsconfig.lib.json');
    if (!tree.exists(path) || !tree.exists(target)) continue;
    updateJsonKeepingLayout(tree, path, (json) => {
      const reference = posix.relative(dependent.root, target);
      const references: { path: string }[] = json.references ?? [];
      if (!references.some((entry) => entry.path === reference)) references.push({ path: reference });
      json.references = references;
      return json;
    });
  }
}

/** Every file below `dir` in the tree, workspace-relative, build output and dependencies left out. */
export function listTreeFiles(tree: Tree, dir: string): string[] {
  if (!tree.exists(dir)) return [];
  return tree.children(dir).flatMap((entry) => {
    if (['node_modules', 'dist', 'out-tsc', 'coverage', 'test-output'].includes(entry)) return [];
    const path = posix.join(dir, entry);
    return tree.isFile(path) ? [path] : listTreeFiles(tree, path);
  });
}

/** The tsconfig `paths` of the workspace, from tsconfig.base.json, else tsconfig.json. */
function tsconfigPaths(tree: Tree): Record<string, string[]> {
  for (const config of ['tsconfig.base.json', 'tsconfig.json']) {
    if (!tree.exists(config)) continue;
    const paths: Record<string, string[]> | undefined = readJson(tree, config).compilerOptions?.paths;
    if (paths) return paths;
  }
  return {};
}

/**
 * Every project's import paths, as the project graph reads imports: a tsconfig path
 * that maps into its root, and the name in its package.json. Wildcard paths name no
 * one project and are left out.
 */
function projectsByImportPath(tree: Tree, projects: Map<string, ProjectConfiguration>): Map<string, string> {
  const byRoot = new Map([...projects].map(([name, configuration]) => [configuration.root, name]));
  const byImportPath = new Map<string, string>();
  for (const [specifier, targets] of Object.entries(tsconfigPaths(tree))) {
    if (specifier.includes('*')) continue;
    for (const target of targets) {
      const parts = posix.normalize(target).split('/');
      // The deepest project root the target lies in: nested projects own their own files.
      for (let length = parts.length - 1; length > 0; length--) {
        const owner = byRoot.get(parts.slice(0, length).join('/'));
        if (owner !== undefined) {
          byImportPath.set(specifier, owner);
          break;
        }
      }
    }
  }
  for (const [name, configuration] of projects) {
    const manifest = posix.join(configuration.root, 'package.json');
    const packageName: unknown = configuration.root !== '.' && tree.exists(manifest) ? readJson(tree, manifest).name : undefined;
    if (typeof packageName === 'string' && !byImportPath.has(packageName)) byImportPath.set(packageName, name);
  }
  return byImportPath;
}

/** A module specifier in source text: `from '…'`, `import '…'`, `import('…')`, `require('…')`. */
const IMPORTED = /(?:\bfrom\s*|\bimport\s*\(\s*|\brequire\s*\(\s*|\bimport\s+)(['"])([^'"\n]+)\1/g;

/** The project a specifier imports: its import path exactly, or the longest import path it goes below (`@org/ui/button`). */
function importedProject(byImportPath: Map<string, string>, specifier: string): string | undefined {
  for (let candidate = specifier; ; candidate = candidate.slice(0, candidate.lastIndexOf('/'))) {
    const project = byImportPath.get(candidate);
    if (project !== undefined) return project;
    if (!candidate.includes('/')) return undefined;
  }
}

/**
 * The projects `configuration` depends on directly, as the project graph sees it:
 * the workspace packages its package.json lists, its implicit dependencies, and the
 * projects its sources import.
 */
function directDependencies(
  tree: Tree,
  configuration: ProjectConfiguration,
  projects: Map<string, ProjectConfiguration>,
  byImportPath: Map<string, string>,
): Set<string> {
  const found = new Set<string>();
  const manifestPath = posix.join(configuration.root, 'package.json');
  const manifest = tree.exists(manifestPath) ? (readJson(tree, manifestPath) as Record<string, Record<string, string> | undefined>) : {};
  for (const field of ['dependencies', 'devDependencies', 'peerDependencies']) {
    for (const dependency of Object.keys(manifest[field] ?? {})) {
      const project = byImportPath.get(dependency);
      if (project !== undefined) found.add(project);
    }
  }
  for (const dependency of configuration.implicitDependencies ?? []) if (projects.has(dependency)) found.add(dependency);
  // Files of a project nested in this one are that project's.
  const nested = [...projects.values()]
    .map((project) => project.root)
    .filter((root) => root !== configuration.root && (configuration.root === '.' || root.startsWith(`${configuration.root}/`)));
  for (const file of listTreeFiles(tree, configuration.root)) {
    if (!/\.[cm]?[jt]sx?$/.test(file) || nested.some((root) => file.startsWith(`${root}/`))) continue;
    for (const [, , specifier] of (tree.read(file, 'utf-8') ?? '').matchAll(IMPORTED)) {
      const project = importedProject(byImportPath, specifier);
      if (project !== undefined) found.add(project);
    }
  }
  return found;
}

/**
 * How a project depends on a library through the project graph: the project names
 * from it to the library, both ends included (`page`, `state`, `contracts` when the
 * page uses the contracts through a state library), or undefined when it does not.
 */
export function dependencyPathTo(
  tree: Tree,
  configuration: ProjectConfiguration,
  library: { name: string; importPath: string; root: string },
): string[] | undefined {
  const projects = getProjects(tree);
  const start = configuration.name ?? [...projects].find(([, project]) => project.root === configuration.root)?.[0] ?? configuration.root;
  const byImportPath = projectsByImportPath(tree, projects);
  byImportPath.set(library.importPath, library.name);
  return dependencyPath(
    start,
    (project) => project === library.name,
    (project) => {
      const node = project === start ? configuration : projects.get(project);
      if (!node) return [];
      const dependencies = directDependencies(tree, node, projects, byImportPath);
      dependencies.delete(project);
      return dependencies;
    },
  );
}

/** Whether a project uses a library, directly or through other projects (see `dependencyPathTo`). */
export function usesLibrary(
  tree: Tree,
  configuration: ProjectConfiguration,
  library: { name: string; importPath: string; root: string },
): boolean {
  return dependencyPathTo(tree, configuration, library) !== undefined;
}

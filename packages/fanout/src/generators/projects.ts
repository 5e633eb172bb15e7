import {
  getProjects,
  getWorkspaceLayout,
  joinPathFragments,
  logger,
  normalizePath,
  readJson,
  readNxJson,
  readProjectConfiguration,
  type GeneratorCallback,
  type ProjectConfiguration,
  type Tree,
} from '@nx/devkit';
import { libraryGenerator, type LinterType } from '@nx/js';
import { posix } from 'path';
import { parse as parseYaml } from 'yaml';
import { listCollections } from './contracts/contracts-source';
import { assertValidName, normalizeWorkspaceDirectory } from '../core/naming/names';
import { CONTRACTS_TAG } from '../constants';
import { entryPoint } from '../core/checks/entry-point';
import { editDistance } from '../core/naming/edit-distance';
import { nxHelper } from './nx-internals';
import { addWorkspaceDependency } from './workspace-dependency';
import { updateJsonKeepingLayout } from './update-json';
import { dependencyPath } from '../core/graph/dependency-path';

/** What `--linter` accepts. */
export const LINTERS = ['eslint', 'none'] as const;
/** What `--unitTestRunner` accepts. */
export const UNIT_TEST_RUNNERS = ['jest', 'vitest', 'none'] as const;
type UnitTestRunner = (typeof UNIT_TEST_RUNNERS)[number];

/** How a project is linted and tested; Nx may also choose oxlint, when the workspace already lints with it. */
export interface LintAndTest {
  linter: LinterType;
  unitTestRunner: UnitTestRunner;
}

/** Where a new library goes and what it is called, validated. */
export interface LibraryPlacement {
  name: string;
  /** Relative to the workspace root. */
  root: string;
  importPath: string;
  tags: string[];
}

/** A library to create: nothing is written until `createLibrary`. */
export type LibraryPlan = LibraryPlacement & LintAndTest;

export interface PlaceLibraryOptions {
  name: string;
  /** `--directory`, read as Nx's generators read it: relative to the folder `nx g` runs in. */
  directory?: string;
  /** The root, relative to the workspace root, when there is no `--directory`. */
  defaultRoot: string;
  tags: string[];
  /** `--tags`: comma-separated, added to `tags`. */
  extraTags?: string;
}

export interface NewLibrary {
  name: string;
  root: string;
  importPath: string;
  /** Whether libraries are package-manager workspace packages with TS project references. */
  tsSolution: boolean;
  install: GeneratorCallback;
}

/** The folders that `<folder>/*` patterns of the package manager's workspaces name, in their order. */
function packageWorkspaceFolders(tree: Tree): string[] {
  const patterns: unknown[] = [];
  if (tree.exists('package.json')) {
    const workspaces: unknown = readJson(tree, 'package.json').workspaces;
    if (Array.isArray(workspaces)) patterns.push(...workspaces);
    else if (Array.isArray((workspaces as { packages?: unknown } | undefined)?.packages)) {
      patterns.push(...(workspaces as { packages: unknown[] }).packages);
    }
  }
  if (tree.exists('pnpm-workspace.yaml')) {
    const packages: unknown = parseYaml(tree.read('pnpm-workspace.yaml', 'utf-8') ?? '')?.packages;
    if (Array.isArray(packages)) patterns.push(...packages);
  }
  const folders = patterns.flatMap((pattern) => {
    const folder = typeof pattern === 'string' ? /^(?:\.\/)?([^!*?[{]+?)\/\*{1,2}$/.exec(pattern)?.[1] : undefined;
    return folder ? [folder] : [];
  });
  return [...new Set(folders)];
}

/**
 * The folder that holds the workspace's libraries, read from the workspace:
 * nx.json's `workspaceLayout.libsDir`; else the folder of a `<folder>/*`
 * package-manager workspace (the libraries one if there are several); else an
 * existing `libs/` or `packages/` folder, as Nx's `getWorkspaceLayout` finds it.
 * Undefined when the workspace has none of these.
 */
export function librariesFolder(tree: Tree): string | undefined {
  const configured = readNxJson(tree)?.workspaceLayout?.libsDir;
  if (configured) return workspaceFolder(configured);
  const { libsDir, appsDir } = getWorkspaceLayout(tree);
  const folders = packageWorkspaceFolders(tree);
  if (folders.length > 0) return folders.find((folder) => folder === libsDir) ?? folders.find((folder) => folder !== appsDir) ?? folders[0];
  return libsDir === '.' ? undefined : libsDir;
}

/** `folder` relative to the workspace root without `./` or a trailing slash; '' for the root itself. */
function workspaceFolder(folder: string): string {
  const normalized = normalizePath(folder)
    .replace(/^(\.\/)+/, '')
    .replace(/\/+$/, '');
  return normalized === '.' ? '' : normalized;
}

/**
 * Where a new library goes without `--directory`: in the workspace's libraries
 * folder or, when it has none, where `nx g` runs, as Nx's own generators place it.
 */
export function defaultLibraryRoot(tree: Tree, name: string): string {
  return joinPathFragments(librariesFolder(tree) ?? nxHelper('getRelativeCwd')(), name);
}

/**
 * A root fanout computed (relative to the workspace root) as the `directory`
 * Nx's helpers expect (relative to the folder `nx g` runs in).
 */
function directoryFromCwd(root: string): string {
  const cwd = nxHelper('getRelativeCwd')().replace(/\/$/, '');
  return cwd === '' ? root : posix.relative(cwd, root);
}

/** Throws unless `value`, when given, is one of `allowed`. */
export function assertOneOf<T extends string>(value: string | undefined, allowed: readonly T[], what: string): T | undefined {
  if (value === undefined || (allowed as readonly string[]).includes(value)) return value as T | undefined;
  throw new Error(`${what} is "${value}"; it must be one of: ${allowed.join(', ')}.`);
}

/** nx.json's defaults for @nx/js's library generator, which the nx CLI applies only when that generator is run by name. */
function jsLibraryDefaults(tree: Tree): { linter?: string; unitTestRunner?: string } {
  const generators = readNxJson(tree)?.generators ?? {};
  return { ...(generators['@nx/js']?.['library'] ?? {}), ...(generators['@nx/js:library'] ?? {}) };
}

/**
 * `--linter` and `--unitTestRunner` for a new library: as given; else nx.json's
 * defaults for @nx/js:library; else the test runner the workspace already uses; else what @nx/js's library generator would choose
 * (the workspace's linter, jest, or none in a TS-solution workspace, asking when interactive).
 */
export async function resolveLintAndTest(tree: Tree, options: { linter?: string; unitTestRunner?: string }): Promise<LintAndTest> {
  const defaults = jsLibraryDefaults(tree);
  const linter =
    assertOneOf(options.linter, LINTERS, '--linter') ??
    assertOneOf<LinterType>(defaults.linter, ['eslint', 'oxlint', 'none'], 'nx.json generators["@nx/js:library"].linter') ??
    (await nxHelper('normalizeLinterOption')(tree, undefined));
  const unitTestRunner =
    assertOneOf(options.unitTestRunner, UNIT_TEST_RUNNERS, '--unitTestRunner') ??
    assertOneOf(defaults.unitTestRunner, UNIT_TEST_RUNNERS, 'nx.json generators["@nx/js:library"].unitTestRunner') ??
    workspaceTestRunner(tree) ??
    (await nxHelper('normalizeUnitTestRunnerOption')(tree, undefined));
  return { linter, unitTestRunner };
}

/**
 * The test runner the workspace already uses, as Nx follows the workspace's linter:
 * its test plugin in nx.json, else the runner in the root package.json. A scaffold
 * whose tests gate the fan-out gets them wherever the workspace can run them.
 */
function workspaceTestRunner(tree: Tree): 'jest' | 'vitest' | undefined {
  const plugins = (readNxJson(tree)?.plugins ?? []).map((entry) => (typeof entry === 'string' ? entry : entry.plugin));
  if (plugins.includes('@nx/jest/plugin')) return 'jest';
  if (plugins.includes('@nx/vitest') || plugins.includes('@nx/vitest/plugin')) return 'vitest';
  if (!tree.exists('package.json')) return undefined;
  const manifest = readJson<{ dependencies?: Record<string, string>; devDependencies?: Record<string, string> }>(tree, 'package.json');
  const installed = { ...manifest.dependencies, ...manifest.devDependencies };
  if (installed['jest']) return 'jest';
  if (installed['vitest']) return 'vitest';
  return undefined;
}

/** A project's config files, by the tool whose targets Nx infers from them. */
const JEST_CONFIG = /^jest\.config\.([cm]?[jt]s|json)$/;
const VITEST_CONFIG = /^vitest\.config\.[cm]?[jt]s$/;
const VITE_CONFIG = /^vite\.config\.[cm]?[jt]s$/;
const ESLINT_CONFIG = /^(eslint\.config\.[cm]?[jt]s|\.eslintrc(\.(json|[cm]?js|ya?ml))?)$/;
const OXLINT_CONFIG = /^\.oxlintrc\.json$/;

/** How the existing project at `root` is linted and tested, read from its config files. */
export function projectLintAndTest(tree: Tree, root: string): LintAndTest {
  const files = tree.children(root);
  const viteTests = files.some(
    (file) => VITE_CONFIG.test(file) && /\btest\s*:/.test(tree.read(joinPathFragments(root, file), 'utf-8') ?? ''),
  );
  return {
    linter: files.some((file) => OXLINT_CONFIG.test(file)) ? 'oxlint' : files.some((file) => ESLINT_CONFIG.test(file)) ? 'eslint' : 'none',
    unitTestRunner: files.some((file) => JEST_CONFIG.test(file))
      ? 'jest'
      : viteTests || files.some((file) => VITEST_CONFIG.test(file))
        ? 'vitest'
        : 'none',
  };
}

function assertNameFree(tree: Tree, name: string): void {
  const existing = getProjects(tree).get(name);
  if (existing) throw new Error(`A project named "${name}" already exists (at ${existing.root}). Choose another name.`);
}

/** A new project needs a folder of its own: no project's root, and empty if it exists. */
function assertFolderFree(tree: Tree, root: string): void {
  for (const [other, project] of getProjects(tree)) {
    if (project.root === root) {
      throw new Error(`The folder "${root}" already holds the project "${other}". Choose another --directory.`);
    }
  }
  if (tree.exists(root) && tree.children(root).length > 0) {
    throw new Error(`The folder "${root}" already exists and is not empty. Choose another --directory.`);
  }
}

/**
 * Validates a new library and settles its name, root and import path with Nx's
 * own `determineProjectNameAndRootOptions`, before anything is written: a bad
 * name or folder leaves the workspace untouched.
 */
export async function placeLibrary(tree: Tree, options: PlaceLibraryOptions): Promise<LibraryPlacement> {
  // An npm-scoped name (`@shop/feature-dashboard`, as TS-solution workspaces name projects) has a plain name after its scope.
  const scope = /^@([^/]+)\//.exec(options.name);
  if (scope && !/^[a-z0-9][a-z0-9._-]*$/i.test(scope[1])) {
    throw new Error(`The scope of the project name "${options.name}" is not a valid npm scope: use letters, digits, ".", "-" and "_".`);
  }
  assertValidName(scope ? options.name.slice(scope[0].length) : options.name, 'project name');
  const directory =
    options.directory !== undefined && options.directory !== ''
      ? normalizeWorkspaceDirectory(options.directory)
      : directoryFromCwd(options.defaultRoot);
  assertNameFree(tree, options.name);
  const { projectRoot, importPath } = await nxHelper('determineProjectNameAndRootOptions')(tree, {
    name: options.name,
    directory,
    projectType: 'library',
  });
  assertFolderFree(tree, projectRoot);
  const tags = [
    ...options.tags,
    ...(options.extraTags ?? '')
      .split(',')
      .map((tag) => tag.trim())
      .filter(Boolean),
  ];
  return {
    name: options.name,
    root: projectRoot,
    importPath,
    tags: [...new Set(tags)],
  };
}

/**
 * The extension relative imports need in the project at `root`: `.js` in an ESM
 * package (`"type": "module"`), where Node's resolution requires it; none elsewhere.
 */
export function relativeImportExtension(tree: Tree, root: string): string {
  for (const manifest of [joinPathFragments(root, 'package.json'), 'package.json']) {
    if (tree.exists(manifest)) return readJson(tree, manifest).type === 'module' ? '.js' : '';
  }
  return '';
}

/** The module specifier other projects use to import the library at `root`. */
export function importPathOf(tree: Tree, root: string): string | undefined {
  if (tree.exists('tsconfig.base.json')) {
    const paths: Record<string, string[]> = readJson(tree, 'tsconfig.base.json').compilerOptions?.paths ?? {};
    for (const [specifier, targets] of Object.entries(paths)) {
      if (targets.some((target) => posix.normalize(target).startsWith(`${root}/`))) return specifier;
    }
  }
  const manifest = joinPathFragments(root, 'package.json');
  if (tree.exists(manifest)) {
    const name = readJson(tree, manifest).name;
    if (typeof name === 'string') return name;
  }
  return undefined;
}

/** The options fanout gives @nx/js's library generator for a planned library. */
export function libraryGeneratorOptions(tree: Tree, plan: LibraryPlan): Parameters<typeof libraryGenerator>[1] {
  return {
    directory: directoryFromCwd(plan.root),
    name: plan.name,
    importPath: plan.importPath,
    tags: plan.tags.join(','),
    bundler: 'none',
    linter: plan.linter,
    unitTestRunner: plan.unitTestRunner,
    testEnvironment: 'node',
    skipFormat: true,
    strict: true,
    // Inferred lint/test targets, as `nx g @nx/js:lib` gives (the exported generator defaults to executors).
    addPlugin: process.env['NX_ADD_PLUGINS'] !== 'false' && readNxJson(tree)?.useInferencePlugins !== false,
  };
}

/** Creates a planned TypeScript library with Nx's own generator, then strips its sample source. */
export async function createLibrary(tree: Tree, plan: LibraryPlan): Promise<NewLibrary> {
  const install = await libraryGenerator(tree, libraryGeneratorOptions(tree, plan));
  // Nx's library comes with `src/lib/<name>.ts` and its spec; ours brings its own sources.
  for (const sample of [`${plan.name}.ts`, `${plan.name}.spec.ts`]) {
    const path = joinPathFragments(plan.root, 'src', 'lib', sample);
    if (tree.exists(path)) tree.delete(path);
  }
  return {
    name: plan.name,
    root: plan.root,
    importPath: plan.importPath,
    tsSolution: nxHelper('isUsingTsSolutionSetup')(tree),
    install,
  };
}

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

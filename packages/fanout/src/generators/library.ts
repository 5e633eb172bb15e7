import {
  getProjects,
  getWorkspaceLayout,
  joinPathFragments,
  normalizePath,
  readJson,
  readNxJson,
  type GeneratorCallback,
  type Tree,
} from '@nx/devkit';
import { libraryGenerator, type LinterType } from '@nx/js';
import { posix } from 'path';
import { parse as parseYaml } from 'yaml';
import { assertValidName, normalizeWorkspaceDirectory } from '../core/naming/names';
import { nxHelper } from './nx-internals';

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

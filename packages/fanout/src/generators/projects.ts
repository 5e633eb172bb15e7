import {
  getProjects,
  joinPathFragments,
  readJson,
  readNxJson,
  readProjectConfiguration,
  updateJson,
  type GeneratorCallback,
  type ProjectConfiguration,
  type Tree,
} from '@nx/devkit';
import { libraryGenerator } from '@nx/js';
import { posix } from 'path';
import { listCollections } from '../core/checks/contracts-source';
import { assertValidName, normalizeWorkspaceDirectory } from '../core/naming/names';
import { CONTRACTS_TAG } from '../constants';

/** Tags that mark the parts of a fan-out; later steps find projects by them. */

export interface NewLibraryOptions {
  name: string;
  directory?: string;
  tags: string[];
  extraTags?: string;
  skipFormat?: boolean;
}

export interface NewLibrary {
  name: string;
  root: string;
  importPath: string;
  /** Whether libraries are package-manager workspace packages with TS project references. */
  tsSolution: boolean;
  install: GeneratorCallback;
}

function usesPackagesFolder(tree: Tree): boolean {
  const rootPackage = tree.exists('package.json') ? readJson(tree, 'package.json') : {};
  const workspaces: unknown = rootPackage.workspaces;
  const patterns = Array.isArray(workspaces)
    ? workspaces
    : Array.isArray((workspaces as { packages?: unknown } | undefined)?.packages)
      ? (workspaces as { packages: unknown[] }).packages
      : [];
  return patterns.some((pattern) => typeof pattern === 'string' && pattern.startsWith('packages/'));
}

/** Where a new project goes when `--directory` is not given. */
export function projectDirectory(tree: Tree, name: string, directory: string | undefined): string {
  if (directory !== undefined && directory !== '') return normalizeWorkspaceDirectory(directory);
  return `${usesPackagesFolder(tree) ? 'packages' : 'libs'}/${name}`;
}

/** Validates the name and target folder of a new project; throws before anything is written. */
export function assertNewProject(tree: Tree, name: string, root: string): void {
  assertValidName(name, 'project name');
  const projects = getProjects(tree);
  if (projects.has(name)) {
    throw new Error(`A project named "${name}" already exists (at ${projects.get(name)?.root}). Choose another name.`);
  }
  for (const [other, project] of projects) {
    if (project.root === root) {
      throw new Error(`The folder "${root}" already holds the project "${other}". Choose another --directory.`);
    }
  }
  if (tree.exists(root) && tree.children(root).length > 0) {
    throw new Error(`The folder "${root}" already exists and is not empty. Choose another --directory.`);
  }
}

function isTsSolution(tree: Tree): boolean {
  return tree.exists('tsconfig.json') && tree.exists('tsconfig.base.json') && usesPackagesWorkspaces(tree);
}

function usesPackagesWorkspaces(tree: Tree): boolean {
  if (tree.exists('pnpm-workspace.yaml')) return true;
  const rootPackage = tree.exists('package.json') ? readJson(tree, 'package.json') : {};
  return rootPackage.workspaces !== undefined;
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

/**
 * Validates where a new library would go, before anything is written; returns its root.
 * Generators call this first so that a bad name or folder leaves the workspace untouched.
 */
export function planLibrary(tree: Tree, options: Pick<NewLibraryOptions, 'name' | 'directory'>): string {
  const root = projectDirectory(tree, options.name, options.directory);
  assertNewProject(tree, options.name, root);
  return root;
}

/** Creates a TypeScript library with Nx's own generator, then strips its sample source. */
export async function createLibrary(tree: Tree, options: NewLibraryOptions): Promise<NewLibrary> {
  const root = planLibrary(tree, options);
  const tags = [
    ...options.tags,
    ...(options.extraTags ?? '')
      .split(',')
      .map((tag) => tag.trim())
      .filter(Boolean),
  ];
  const install = await libraryGenerator(tree, {
    directory: root,
    name: options.name,
    tags: [...new Set(tags)].join(','),
    bundler: 'none',
    unitTestRunner: 'jest',
    testEnvironment: 'node',
    linter: 'eslint',
    skipFormat: true,
    strict: true,
    // Inferred lint/test targets, as `nx g @nx/js:lib` gives (the exported generator defaults to executors).
    addPlugin: process.env['NX_ADD_PLUGINS'] !== 'false' && readNxJson(tree)?.useInferencePlugins !== false,
  });
  // Nx's library comes with `src/lib/<name>.ts` and its spec; ours brings its own sources.
  for (const sample of [`${options.name}.ts`, `${options.name}.spec.ts`]) {
    const path = joinPathFragments(root, 'src', 'lib', sample);
    if (tree.exists(path)) tree.delete(path);
  }
  const importPath = importPathOf(tree, root);
  if (!importPath) {
    throw new Error(`Nx created the library "${options.name}" at ${root} but gave it no import path.`);
  }
  return { name: options.name, root, importPath, tsSolution: isTsSolution(tree), install };
}

export interface ContractsLibrary {
  name: string;
  root: string;
  importPath: string;
  collectionsFile: string;
  indexFile: string;
  /** The extension of relative imports inside the library (see `relativeImportExtension`). */
  extension: string;
  /** The collection (plural entity) names the library declares. */
  collections: string[];
}

/** Reads a contracts library by project name, or explains why the project cannot serve as one. */
export function readContractsLibrary(tree: Tree, projectName: string): ContractsLibrary {
  let project: ProjectConfiguration;
  try {
    project = readProjectConfiguration(tree, projectName);
  } catch {
    const contracts = [...getProjects(tree)].filter(([, config]) => config.tags?.includes(CONTRACTS_TAG)).map(([name]) => name);
    throw new Error(
      `There is no project named "${projectName}". ` +
        (contracts.length > 0
          ? `Contracts libraries in this workspace: ${contracts.join(', ')}.`
          : `Create one first: nx g fanout:contracts ${projectName} --entities=user`),
    );
  }
  const root = project.root;
  const collectionsFile = joinPathFragments(root, 'src', 'lib', 'collections.ts');
  const indexFile = joinPathFragments(root, 'src', 'index.ts');
  if (!project.tags?.includes(CONTRACTS_TAG) || !tree.exists(collectionsFile) || !tree.exists(indexFile)) {
    throw new Error(
      `The project "${projectName}" (${root}) is not a fanout contracts library: it needs the tag "${CONTRACTS_TAG}" ` +
        `and the files src/index.ts and src/lib/collections.ts that nx g fanout:contracts writes.`,
    );
  }
  const importPath = importPathOf(tree, root);
  if (!importPath) {
    throw new Error(
      `The contracts library "${projectName}" has no import path: add it to tsconfig.base.json "paths" or give ${root}/package.json a name.`,
    );
  }
  return {
    name: projectName,
    root,
    importPath,
    collectionsFile,
    indexFile,
    extension: relativeImportExtension(tree, root),
    collections: listCollections(tree.read(collectionsFile, 'utf-8') ?? ''),
  };
}

/**
 * Makes `dependent` depend on `dependency` the way the workspace expects: a
 * package.json dependency and TS project references in a TS-solution workspace
 * (what Nx's typescript sync would write), nothing extra with tsconfig paths.
 */
export function addLibraryDependency(tree: Tree, dependent: NewLibrary, dependency: ContractsLibrary): void {
  if (!dependent.tsSolution) return;
  const manifest = joinPathFragments(dependent.root, 'package.json');
  if (tree.exists(manifest)) {
    updateJson(tree, manifest, (json) => {
      json.dependencies = { ...(json.dependencies ?? {}), [dependency.importPath]: '*' };
      return json;
    });
  }
  for (const config of ['tsconfig.lib.json', 'tsconfig.spec.json']) {
    const path = joinPathFragments(dependent.root, config);
    const target = joinPathFragments(dependency.root, 'tsconfig.lib.json');
    if (!tree.exists(path) || !tree.exists(target)) continue;
    updateJson(tree, path, (json) => {
      const reference = posix.relative(dependent.root, target);
      const references: { path: string }[] = json.references ?? [];
      if (!references.some((entry) => entry.path === reference)) references.push({ path: reference });
      json.references = references;
      return json;
    });
  }
}

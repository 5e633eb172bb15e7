import { getProjects, joinPathFragments, readJson, type GeneratorCallback, type Tree } from '@nx/devkit';
import { posix } from 'path';
import { REFERENCE_TAG, SUBJECT_TAG_PREFIX, TASK_TAG } from '../../constants';
import { siblingName, subjectSubstitution } from '../../core/naming/subject';
import { taskPlaceholder } from '../../core/session/assignment';
import { installPackages } from '../package-manager-install';
import { updateJsonKeepingLayout } from '../update-json';

/**
 * A task project made as a sibling of its reference: the reference's own project
 * files (project.json or package.json, tsconfigs, jest/vite/vitest, eslint, babel or
 * swc configuration, README) copied with the subject replaced, its workspace
 * dependencies (the contracts among them) kept, and `src/` holding only the
 * placeholder the session replaces. A React page gets a React page's project, a Node
 * service a Node service's: whatever the reference is built and tested with.
 */
export interface SiblingPlan {
  /** The new project's name. */
  name: string;
  /** Its package.json name, when the reference's package.json has one. */
  packageName?: string;
  root: string;
  reference: { name: string; root: string };
  /** The reference's subject and the task's. */
  subjects: { reference: string; task: string };
  /** Extra tags (fanout:task is always added). */
  tags: string[];
}

/** What a sibling is called and where it goes. */
export interface SiblingNames {
  /** The project name. */
  name: string;
  /** The package.json name, when the reference's package.json has one. */
  packageName?: string;
  /** The name of its folder, which goes beside the reference's. */
  folder: string;
}

/**
 * A sibling's folder, project name and package name: the reference's, each with the
 * subject replaced. In `libs/products/product-detail-page`, a project named
 * `products-product-detail-page` with the subject `product-detail` has the sibling
 * `products-product-reviews-page` in `libs/products/product-reviews-page`; a package
 * `@shop/feature-settings` whose project is `feature-settings` (`nx.name`) has the
 * sibling package `@shop/feature-dashboard`, project `feature-dashboard`. A name
 * that does not hold the subject gives the task's folder name in its own scope.
 */
export function siblingNames(
  tree: Tree,
  reference: { name: string; root: string; subject: string },
  task: string,
  subject: string,
): SiblingNames {
  const rename = subjectSubstitution(reference.subject, subject, 'text');
  const referenceFolder = posix.basename(reference.root);
  const renamedFolder = rename(referenceFolder);
  const folder =
    referenceFolder !== '.' && renamedFolder !== referenceFolder
      ? renamedFolder
      : siblingName(reference.name, reference.subject, task.replace(/^@[^/]+\//, ''));
  const renamed = (name: string) => (rename(name) !== name ? rename(name) : `${/^@[^/]+\//.exec(name)?.[0] ?? ''}${folder}`);
  const name = renamed(reference.name);
  const manifest = joinPathFragments(reference.root, 'package.json');
  const referencePackage: unknown = tree.exists(manifest) ? readJson(tree, manifest).name : undefined;
  if (typeof referencePackage !== 'string') return { name, folder };
  // Where the project is named by its package, so is the sibling.
  const packageName = referencePackage === reference.name ? name : renamed(referencePackage);
  assertPackageNameFree(tree, packageName, task);
  return { name, packageName, folder };
}

function assertPackageNameFree(tree: Tree, packageName: string, task: string): void {
  for (const [project, { root }] of getProjects(tree)) {
    const manifest = joinPathFragments(root, 'package.json');
    if (tree.exists(manifest) && readJson(tree, manifest).name === packageName) {
      throw new Error(
        `The task "${task}" would be the package "${packageName}", which ${manifest} (project "${project}") already is. ` +
          `Choose another task name, or make that project a task: --project=${project}.`,
      );
    }
  }
}

/** Folders that are build output, dependencies or fanout's own, never copied. */
const BUILD_OUTPUT = new Set(['node_modules', 'dist', 'out-tsc', 'coverage', 'test-output', '.fanout', '.nx']);
/** Files of the reference that are its own, not its project's shape. */
const NOT_COPIED = new Set(['fanout.md', 'CHANGELOG.md']);

/** The reference's files outside src/ (and outside build output), workspace-relative. */
export function projectFiles(tree: Tree, root: string, dir = root): string[] {
  return tree
    .children(dir)
    .sort()
    .flatMap((entry) => {
      const path = joinPathFragments(dir, entry);
      const top = dir === root;
      if (tree.isFile(path)) return top && NOT_COPIED.has(entry) ? [] : [path];
      if (BUILD_OUTPUT.has(entry) || (top && entry === 'src')) return [];
      return projectFiles(tree, root, path);
    });
}

/** A file is text unless it holds a NUL byte; only text gets the subject replaced. */
function isText(content: Buffer): boolean {
  return !content.includes(0);
}

/**
 * Writes the sibling project. Returns what must run after the tree is flushed: the
 * package manager's install where the workspace links its packages, so that the new
 * package is linked as the reference is.
 */
export function createSibling(tree: Tree, plan: SiblingPlan): GeneratorCallback {
  const rename = subjectSubstitution(plan.subjects.reference, plan.subjects.task, 'text');
  const relocate = siblingText(plan.reference.root, plan.root, rename);
  for (const file of projectFiles(tree, plan.reference.root)) {
    const relative = posix.relative(plan.reference.root, file);
    const target = joinPathFragments(plan.root, rename(relative));
    const content = tree.read(file);
    if (!content) continue;
    tree.write(target, isText(content) ? relocate(content.toString('utf-8')) : content);
  }
  tree.write(joinPathFragments(plan.root, 'src', 'index.ts'), taskPlaceholder(plan.name));
  configureProject(tree, plan);
  mapImportPath(tree, plan, rename);
  const linked = referenceRootTsconfig(tree, plan);
  const workspaces = addToPackageWorkspaces(tree, plan.root);
  const manifest = tree.exists(joinPathFragments(plan.root, 'package.json'));
  // A package.json project in a workspace that links its packages is linked only by an install.
  return () => {
    if (manifest && (workspaces || linked !== undefined)) installPackages(tree);
  };
}

/**
 * A copied file's text made the sibling's: a path naming the reference's folder
 * names the sibling's (`sourceRoot`, `coverageDirectory`, eslint's
 * `parserOptions.project`), a quoted relative path out of the folder
 * (`../../jest.preset.js`) reaches the same file from the sibling's folder, however
 * deep it is, and every other spelling of the subject is replaced.
 */
function siblingText(from: string, to: string, rename: (text: string) => string): (text: string) => string {
  if (from === '.' || from === '') return rename;
  const folder = from.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const roots = new RegExp(`(?<![\\w.@-])${folder}(?![\\w.-])`, 'g');
  const withRoots = (text: string) => text.split(roots).map(rename).join(to);
  const rebase = (path: string) => {
    const target = posix.join(from, path);
    const inside = target === from || target.startsWith(`${from}/`);
    const moved = inside ? posix.join(to, rename(target.slice(from.length))) : target;
    const relative = posix.relative(to, moved) || '.';
    const result = `${relative.startsWith('.') ? '' : './'}${relative}${path.endsWith('/') && relative !== '.' ? '/' : ''}`;
    return inside ? result : withRoots(result);
  };
  const relativePaths = /(['"`])(\.\.\/[^'"`\r\n]*)\1/g;
  return (text) => {
    let result = '';
    let last = 0;
    for (const match of text.matchAll(relativePaths)) {
      const [whole, quote, path] = match;
      result += withRoots(text.slice(last, match.index)) + quote + rebase(path) + quote;
      last = match.index + whole.length;
    }
    return result + withRoots(text.slice(last));
  };
}

/** The copied configuration describes the new project: its name, the task tag, and none of the reference's fanout records. */
function configureProject(tree: Tree, plan: SiblingPlan): void {
  const retag = (config: { tags?: string[] }) => {
    const tags = (config.tags ?? []).filter((tag) => tag !== REFERENCE_TAG && !tag.startsWith(SUBJECT_TAG_PREFIX));
    for (const tag of [TASK_TAG, ...plan.tags]) if (!tags.includes(tag)) tags.push(tag);
    config.tags = tags;
  };
  const projectJson = joinPathFragments(plan.root, 'project.json');
  const packageJson = joinPathFragments(plan.root, 'package.json');
  if (tree.exists(packageJson)) {
    updateJsonKeepingLayout(tree, packageJson, (json) => {
      if (typeof json.name === 'string' && plan.packageName !== undefined) json.name = plan.packageName;
      if (!tree.exists(projectJson)) {
        json.nx = json.nx ?? {};
        if (json.nx.name !== undefined) json.nx.name = plan.name;
        retag(json.nx);
      }
      return json;
    });
  }
  if (tree.exists(projectJson)) {
    updateJsonKeepingLayout(tree, projectJson, (json) => {
      json.name = plan.name;
      retag(json);
      return json;
    });
  }
}

/**
 * In a path-mapped workspace (tsconfig.base.json `paths`), the sibling gets the
 * reference's entries with the subject replaced (`@org/email-service` →
 * `@org/sms-service`), so that it can be imported the way the reference is.
 */
function mapImportPath(tree: Tree, plan: SiblingPlan, rename: (text: string) => string): void {
  if (!tree.exists('tsconfig.base.json')) return;
  const paths: Record<string, string[]> = readJson(tree, 'tsconfig.base.json').compilerOptions?.paths ?? {};
  const inReference = (target: string) => posix.normalize(target).replace(/^\.\//, '').startsWith(`${plan.reference.root}/`);
  const added: Record<string, string[]> = {};
  for (const [specifier, targets] of Object.entries(paths)) {
    if (!targets.some(inReference)) continue;
    const renamed = rename(specifier);
    if (renamed === specifier || paths[renamed]) continue;
    added[renamed] = targets.map((target) => (inReference(target) ? target.replace(plan.reference.root, plan.root) : target));
  }
  if (Object.keys(added).length === 0) return;
  updateJsonKeepingLayout(tree, 'tsconfig.base.json', (json) => {
    json.compilerOptions.paths = { ...json.compilerOptions.paths, ...added };
    return json;
  });
}

/**
 * In a TS-solution workspace the root tsconfig.json references every project: the
 * sibling is added beside its reference (what `nx sync` would write). Returns whether
 * the workspace is one, or undefined without a root tsconfig.json.
 */
function referenceRootTsconfig(tree: Tree, plan: SiblingPlan): boolean | undefined {
  if (!tree.exists('tsconfig.json')) return undefined;
  const references: { path: string }[] = readJson(tree, 'tsconfig.json').references ?? [];
  const normal = (path: string) => posix.normalize(path).replace(/^\.\//, '').replace(/\/$/, '');
  const reference = references.find((entry) => normal(entry.path) === normal(plan.reference.root));
  if (!reference) return false;
  if (!references.some((entry) => normal(entry.path) === normal(plan.root))) {
    // Spelt as the reference's entry is (`./libs/a` or `libs/a`).
    const path = reference.path.replace(normal(plan.reference.root), plan.root);
    updateJsonKeepingLayout(tree, 'tsconfig.json', (json) => {
      json.references = [...(json.references ?? []), { path }];
      return json;
    });
  }
  return true;
}

/** Whether the root package.json's workspaces link the new folder; adds `<parent>/*` when they would not. */
function addToPackageWorkspaces(tree: Tree, root: string): boolean {
  if (!tree.exists('package.json')) return false;
  const manifest = readJson(tree, 'package.json');
  const patterns: string[] | undefined = Array.isArray(manifest.workspaces) ? manifest.workspaces : manifest.workspaces?.packages;
  if (!patterns) return false;
  const covered = patterns.some((pattern) => {
    const expression = new RegExp(
      `^${posix
        .normalize(pattern)
        .replace(/^\.\//, '')
        .replace(/[.+^${}()|[\]\\]/g, '\\$&')
        .replace(/\*\*/g, '<globstar>')
        .replace(/\*/g, '[^/]+')
        .replace(/<globstar>/g, '.*')}$`,
    );
    return expression.test(root);
  });
  if (!covered) {
    updateJsonKeepingLayout(tree, 'package.json', (json) => {
      const pattern = `${posix.dirname(root)}/*`;
      if (Array.isArray(json.workspaces)) json.workspaces = [...json.workspaces, pattern];
      else json.workspaces.packages = [...json.workspaces.packages, pattern];
      return json;
    });
  }
  return true;
}

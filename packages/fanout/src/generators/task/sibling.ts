import { installPackagesTask, joinPathFragments, readJson, updateJson, type GeneratorCallback, type Tree } from '@nx/devkit';
import { posix } from 'path';
import { REFERENCE_TAG, SUBJECT_TAG_PREFIX, TASK_TAG } from '../../constants';
import { subjectSubstitution } from '../../core/naming/subject';
import { taskPlaceholder } from '../../core/session/assignment';

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
  root: string;
  reference: { name: string; root: string };
  /** The reference's subject and the task's. */
  subjects: { reference: string; task: string };
  /** Extra tags (fanout:task is always added). */
  tags: string[];
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
  for (const file of projectFiles(tree, plan.reference.root)) {
    const relative = posix.relative(plan.reference.root, file);
    const target = joinPathFragments(plan.root, rename(relative));
    const content = tree.read(file);
    if (!content) continue;
    tree.write(target, isText(content) ? rename(content.toString('utf-8')) : content);
  }
  tree.write(joinPathFragments(plan.root, 'src', 'index.ts'), taskPlaceholder(plan.name));
  configureProject(tree, plan);
  mapImportPath(tree, plan, rename);
  const linked = referenceRootTsconfig(tree, plan);
  const workspaces = addToPackageWorkspaces(tree, plan.root);
  const manifest = tree.exists(joinPathFragments(plan.root, 'package.json'));
  // A package.json project in a workspace that links its packages is linked only by an install.
  return () => {
    if (manifest && (workspaces || linked !== undefined)) installPackagesTask(tree, true);
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
    updateJson(tree, packageJson, (json) => {
      if (typeof json.name === 'string' && !tree.exists(projectJson)) json.name = plan.name;
      if (!tree.exists(projectJson)) {
        json.nx = json.nx ?? {};
        if (json.nx.name !== undefined) json.nx.name = plan.name;
        retag(json.nx);
      }
      return json;
    });
  }
  if (tree.exists(projectJson)) {
    updateJson(tree, projectJson, (json) => {
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
  updateJson(tree, 'tsconfig.base.json', (json) => {
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
  if (!references.some((entry) => normal(entry.path) === normal(plan.reference.root))) return false;
  if (!references.some((entry) => normal(entry.path) === normal(plan.root))) {
    updateJson(tree, 'tsconfig.json', (json) => {
      json.references = [...(json.references ?? []), { path: `./${plan.root}` }];
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
    updateJson(tree, 'package.json', (json) => {
      const pattern = `${posix.dirname(root)}/*`;
      if (Array.isArray(json.workspaces)) json.workspaces = [...json.workspaces, pattern];
      else json.workspaces.packages = [...json.workspaces.packages, pattern];
      return json;
    });
  }
  return true;
}

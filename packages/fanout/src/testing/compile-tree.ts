import type { Tree } from '@nx/devkit';
import { Project, ts } from 'ts-morph';

/**
 * Type-checks the sources a generator wrote, straight from the Tree, with the
 * strict compiler options generated projects use. Spec files are left out: they
 * need jest's types, which the generated projects' own `typecheck` covers.
 * Returns one line per diagnostic; an empty list means it compiles.
 */
export function compileTree(tree: Tree, roots: string[], paths: Record<string, string[]>): string[] {
  const project = new Project({
    useInMemoryFileSystem: true,
    compilerOptions: {
      strict: true,
      noImplicitOverride: true,
      noImplicitReturns: true,
      noUnusedLocals: true,
      noFallthroughCasesInSwitch: true,
      target: ts.ScriptTarget.ES2022,
      module: ts.ModuleKind.ESNext,
      moduleResolution: ts.ModuleResolutionKind.Bundler,
      lib: ['lib.es2022.d.ts'],
      paths: Object.fromEntries(Object.entries(paths).map(([specifier, targets]) => [specifier, targets.map((target) => `/${target}`)])),
    },
  });
  for (const root of roots) {
    visit(tree, root, (path) => {
      if (path.endsWith('.ts') && !path.endsWith('.spec.ts')) {
        project.createSourceFile(`/${path}`, tree.read(path, 'utf-8') ?? '');
      }
    });
  }
  return project
    .getPreEmitDiagnostics()
    .map(
      (diagnostic) =>
        `${diagnostic.getSourceFile()?.getFilePath() ?? ''}:${diagnostic.getLineNumber() ?? 0} ${ts.flattenDiagnosticMessageText(
          diagnostic.compilerObject.messageText,
          '\n',
        )}`,
    );
}

/** Every file under `dir` in the tree, depth first. */
export function visit(tree: Tree, dir: string, onFile: (path: string) => void): void {
  for (const child of tree.children(dir)) {
    const path = `${dir}/${child}`;
    if (tree.isFile(path)) onFile(path);
    else visit(tree, path, onFile);
  }
}

/** A path → content snapshot of every file under `dir`. */
export function snapshotFiles(tree: Tree, dir: string): Map<string, string> {
  const files = new Map<string, string>();
  visit(tree, dir, (path) => files.set(path, tree.read(path, 'utf-8') ?? ''));
  return files;
}

/** What the tree would write, as comparable text: proves a failed generator wrote nothing. */
export function pendingChanges(tree: Tree): string[] {
  return tree
    .listChanges()
    .map((change) => `${change.type} ${change.path}\n${change.content?.toString('utf-8') ?? ''}`)
    .sort();
}

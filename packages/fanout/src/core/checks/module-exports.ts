import { existsSync, readFileSync, statSync } from 'fs';
import { dirname, join } from 'path';
import type { ts } from 'ts-morph';
import { entryPoint } from './entry-point';
import { cachedByText } from './text-cache';
import { typescript } from '../system/typescript';

/**
 * What a TypeScript module exports, read from syntax alone: one parse per file,
 * no program and no type checker. The per-session checks run in every session's
 * own process, where building a program per session cost seconds (see
 * BENCHMARKS.md); following exports through relative modules is all they need.
 */
export interface ExportedDeclaration {
  node: ts.Node;
  /** Absolute path of the file that declares it. */
  file: string;
  /** 1-based line of the declaration (its comments excluded). */
  line: number;
}

const EXTENSIONS = ['.ts', '.tsx', '.mts', '.cts', '.d.ts'];

/**
 * Syntax trees by the file's kind and text, not its path: the sessions of a batch
 * (one process for the run) each read the same contracts in their own worktree,
 * and parse them once. A tree's own file name is then the first reader's; what is
 * read from it here (statements, lines) does not depend on it.
 */
const parse = cachedByText(256, (key, text) =>
  typescript.createSourceFile(key.slice(0, key.indexOf('\0')), text, typescript.ScriptTarget.Latest, true),
);

/** A file's syntax tree, reused while a file of its kind has the same text (the contracts are parsed ahead by `warmChecks`). */
export function parseModule(path: string): ts.SourceFile | undefined {
  if (!existsSync(path)) return undefined;
  const text = readFileSync(path, 'utf-8');
  // The extension decides how TypeScript parses it (.tsx, .d.ts, .mts, …).
  const kind = /(\.d)?\.[^./]*$/.exec(path)?.[0] ?? '';
  return parse(`file${kind}\0${text}`, text);
}

/**
 * The contracts library's public entry point, absolute, which the checks and the pattern
 * agent read its exports from (see entryPoint); `src/index.ts` when it has none, which
 * then does not exist and exports nothing.
 */
export function contractsEntry(root: string, contractsRoot: string): string {
  const read = (path: string) => {
    const absolute = join(root, path);
    return existsSync(absolute) && statSync(absolute).isFile() ? readFileSync(absolute, 'utf-8') : undefined;
  };
  return join(root, entryPoint(read, contractsRoot) ?? join(contractsRoot, 'src', 'index.ts'));
}

/** The file a relative specifier names: as written, with a TypeScript extension (also for a `.js` one), or its index. */
export function resolveRelativeModule(fromFile: string, specifier: string): string | undefined {
  const base = join(dirname(fromFile), specifier);
  const stem = base.replace(/\.(js|jsx|mjs|cjs)$/, '');
  const candidates = [
    base,
    ...EXTENSIONS.map((extension) => `${stem}${extension}`),
    ...EXTENSIONS.map((extension) => join(base, `index${extension}`)),
  ];
  return candidates.find((candidate) => existsSync(candidate) && statSync(candidate).isFile());
}

export function lineOf(node: ts.Node): number {
  const source = node.getSourceFile();
  return source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
}

function modifiers(node: ts.Node): readonly ts.ModifierLike[] {
  return (typescript.canHaveModifiers(node) ? typescript.getModifiers(node) : undefined) ?? [];
}

/** The names a top-level statement declares, each with the node declaring it. */
function declared(statement: ts.Statement): [string, ts.Node][] {
  if (typescript.isVariableStatement(statement)) {
    return statement.declarationList.declarations.flatMap((declaration) =>
      typescript.isIdentifier(declaration.name) ? [[declaration.name.text, declaration] as [string, ts.Node]] : [],
    );
  }
  if (
    typescript.isInterfaceDeclaration(statement) ||
    typescript.isTypeAliasDeclaration(statement) ||
    typescript.isEnumDeclaration(statement) ||
    typescript.isFunctionDeclaration(statement) ||
    typescript.isClassDeclaration(statement) ||
    typescript.isModuleDeclaration(statement)
  ) {
    return statement.name && typescript.isIdentifier(statement.name) ? [[statement.name.text, statement]] : [];
  }
  return [];
}

/**
 * The declarations a module exports, by exported name: declared with `export`
 * (`default` for a default export), listed in `export { a as b }` (local, or an
 * imported name exported again), re-exported with `export { … } from` or
 * `export *`, following relative modules. `cache` is shared by the calls of one
 * check, so each file is parsed once; an export cycle ends where it began.
 */
export function moduleExports(file: string, cache = new Map<string, Map<string, ExportedDeclaration>>()): Map<string, ExportedDeclaration> {
  const known = cache.get(file);
  if (known) return known;
  const exported = new Map<string, ExportedDeclaration>();
  cache.set(file, exported);
  const source = parseModule(file);
  if (!source) return exported;
  const at = (node: ts.Node): ExportedDeclaration => ({ node, file, line: lineOf(node) });
  const local = new Map<string, ts.Node>();
  const imported = new Map<string, { from: string; name: string }>();
  for (const statement of source.statements) {
    for (const [name, node] of declared(statement)) if (!local.has(name)) local.set(name, node);
    if (typescript.isImportDeclaration(statement) && typescript.isStringLiteral(statement.moduleSpecifier)) {
      const bindings = statement.importClause?.namedBindings;
      if (bindings && typescript.isNamedImports(bindings)) {
        for (const element of bindings.elements) {
          imported.set(element.name.text, { from: statement.moduleSpecifier.text, name: (element.propertyName ?? element.name).text });
        }
      }
    }
  }
  const fromModule = (specifier: string) => {
    const target = specifier.startsWith('.') ? resolveRelativeModule(file, specifier) : undefined;
    return target ? moduleExports(target, cache) : new Map<string, ExportedDeclaration>();
  };
  const stars: string[] = [];
  for (const statement of source.statements) {
    const flags = modifiers(statement).map((modifier) => modifier.kind);
    if (flags.includes(typescript.SyntaxKind.ExportKeyword)) {
      const names = declared(statement);
      if (flags.includes(typescript.SyntaxKind.DefaultKeyword)) exported.set('default', at(names[0]?.[1] ?? statement));
      else for (const [name, node] of names) if (!exported.has(name)) exported.set(name, at(node));
    }
    if (typescript.isExportAssignment(statement) && !statement.isExportEquals) exported.set('default', at(statement));
    if (!typescript.isExportDeclaration(statement)) continue;
    const specifier =
      statement.moduleSpecifier && typescript.isStringLiteral(statement.moduleSpecifier) ? statement.moduleSpecifier.text : undefined;
    const clause = statement.exportClause;
    if (!clause) {
      if (specifier !== undefined) stars.push(specifier);
    } else if (typescript.isNamedExports(clause)) {
      for (const element of clause.elements) {
        const name = (element.propertyName ?? element.name).text;
        let declaration: ExportedDeclaration | undefined;
        if (specifier !== undefined) {
          declaration = fromModule(specifier).get(name);
        } else {
          const node = local.get(name);
          const through = imported.get(name);
          declaration = node ? at(node) : through ? fromModule(through.from).get(through.name) : undefined;
        }
        if (declaration) exported.set(element.name.text, declaration);
      }
    }
  }
  // A module's own exports win over what `export *` brings in, and `export *` never brings a default.
  for (const specifier of stars) {
    for (const [name, declaration] of fromModule(specifier)) {
      if (name !== 'default' && !exported.has(name)) exported.set(name, declaration);
    }
  }
  return exported;
}

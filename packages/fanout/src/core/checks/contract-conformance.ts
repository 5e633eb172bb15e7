import { existsSync, realpathSync } from 'fs';
import { dirname, join, relative, sep } from 'path';
import type { ts } from 'ts-morph';
import { typescript } from '../system/typescript';
import { contractsEntry, lineOf, moduleExports, parseModule, resolveRelativeModule } from './module-exports';
import type { CheckInput, Finding, SessionCheck, Severity } from './check';

const CHECK_NAME = 'contract-conformance';

interface ContractType {
  name: string;
  /** Sorted `member:type` pairs; empty for types whose structure is not compared. */
  shape: string;
}

type TypeDeclaration = ts.InterfaceDeclaration | ts.TypeAliasDeclaration | ts.EnumDeclaration;

function isTypeDeclaration(node: ts.Node): node is TypeDeclaration {
  return typescript.isInterfaceDeclaration(node) || typescript.isTypeAliasDeclaration(node) || typescript.isEnumDeclaration(node);
}

/** A structural fingerprint of an interface, type literal or enum: its members and their types. */
function shapeOf(node: TypeDeclaration): string {
  const properties = (members: ts.NodeArray<ts.TypeElement>) =>
    members
      .filter(typescript.isPropertySignature)
      .map((property) => `${property.name.getText()}${property.questionToken ? '?' : ''}:${property.type?.getText() ?? ''}`)
      .sort()
      .join(';');
  if (typescript.isInterfaceDeclaration(node)) return properties(node.members);
  if (typescript.isTypeAliasDeclaration(node)) return typescript.isTypeLiteralNode(node.type) ? properties(node.type.members) : '';
  return `enum:${node.members
    .map((member) => member.name.getText())
    .sort()
    .join(',')}`;
}

function realpath(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
}

/**
 * Where a bare specifier resolves through node_modules (the nearest folder that
 * has the package, from the importing file up to `root`), following links: a
 * workspace package linked there may be the contracts under another name.
 */
function packageFolder(fromFile: string, specifier: string, root: string): string | undefined {
  const parts = specifier.split('/');
  const name = specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  for (let folder = dirname(fromFile); ; folder = dirname(folder)) {
    const candidate = join(folder, 'node_modules', name);
    if (existsSync(candidate)) return join(realpath(candidate), ...parts.slice(specifier.startsWith('@') ? 2 : 1));
    if (folder === root || dirname(folder) === folder || !folder.startsWith(root)) return undefined;
  }
}

function within(path: string | undefined, folder: string): boolean {
  return path !== undefined && path.startsWith(`${folder}${sep}`);
}

/**
 * Whether a package folder is the contracts: this root's, or the same library in
 * the workspace a worktree's node_modules link leads back to.
 */
function intoFolder(path: string | undefined, folder: string, workspaceRelative: string): boolean {
  if (path === undefined) return false;
  const marker = `${sep}${workspaceRelative.split('/').join(sep)}${sep}`;
  return path === folder || within(path, folder) || `${path}${sep}`.includes(marker);
}

/**
 * The session must not declare a type, interface or enum that the contracts
 * already export (by name or by structure), and must import contract types
 * from the contracts' import path, never from a copy or a deep path.
 */
export const contractConformance: SessionCheck = {
  name: CHECK_NAME,
  description: 'No redeclared contract types; contract imports only from the contracts import path.',
  defaultSeverity: 'error',
  run(input: CheckInput, severity: Severity): Finding[] {
    const index = contractsEntry(input.root, input.contracts.root);
    if (!existsSync(index)) return [];
    // Syntax only (module-exports.ts): a program and type checker per session cost seconds.
    const contractTypes: ContractType[] = [...moduleExports(index)].flatMap(([name, { node }]) =>
      isTypeDeclaration(node) ? [{ name, shape: shapeOf(node) }] : [],
    );
    const byName = new Map(contractTypes.map((type) => [type.name, type]));
    const byShape = new Map(contractTypes.filter((type) => type.shape.includes(':')).map((type) => [type.shape, type]));
    const contractsDir = join(input.root, input.contracts.root);
    const contractsReal = realpath(contractsDir);
    const findings: Finding[] = [];
    const report = (path: string, node: ts.Node, message: string, fix: string) =>
      findings.push({ check: CHECK_NAME, severity, file: path.split('\\').join('/'), line: lineOf(node), message, fix });

    for (const path of input.files.filter((file) => /\.(ts|tsx|mts|cts)$/.test(file) && !file.endsWith('.d.ts'))) {
      const absolute = join(input.root, path);
      const file = parseModule(absolute);
      if (!file) continue;
      const where = relative(input.root, absolute);
      const declarations = file.statements.filter(isTypeDeclaration);
      // Interfaces, then type aliases, then enums: the order findings are listed in.
      const ordered = [typescript.isInterfaceDeclaration, typescript.isTypeAliasDeclaration, typescript.isEnumDeclaration].flatMap((kind) =>
        declarations.filter((declaration) => kind(declaration)),
      );
      for (const declaration of ordered) {
        const name = declaration.name.text;
        const sameName = byName.get(name);
        const shape = shapeOf(declaration);
        const sameShape = shape.includes(':') ? byShape.get(shape) : undefined;
        if (sameName) {
          report(
            where,
            declaration,
            `declares ${name}, which the contracts already export.`,
            `delete it and import { ${name} } from '${input.contracts.importPath}'.`,
          );
        } else if (sameShape) {
          report(
            where,
            declaration,
            `declares ${name} with the same structure as the contract type ${sameShape.name}.`,
            `use ${sameShape.name} from '${input.contracts.importPath}' instead of a copy.`,
          );
        }
      }
      for (const declaration of file.statements.filter(typescript.isImportDeclaration)) {
        if (!typescript.isStringLiteral(declaration.moduleSpecifier)) continue;
        const specifier = declaration.moduleSpecifier.text;
        if (specifier === input.contracts.importPath) continue;
        const deepImport = specifier.startsWith(`${input.contracts.importPath}/`);
        const intoContracts = specifier.startsWith('.')
          ? within(resolveRelativeModule(absolute, specifier), contractsDir)
          : intoFolder(packageFolder(absolute, specifier, input.root), contractsReal, input.contracts.root);
        if (deepImport || intoContracts) {
          report(
            where,
            declaration,
            `imports the contracts through '${specifier}'.`,
            `import from '${input.contracts.importPath}', the contracts' public entry point.`,
          );
        }
      }
    }
    return findings;
  },
};

import { existsSync } from 'fs';
import { join, relative } from 'path';
import { Node, Project, type SourceFile } from 'ts-morph';
import type { CheckInput, Finding, SessionCheck, Severity } from './check';

const CHECK_NAME = 'contract-conformance';

interface ContractType {
  name: string;
  /** Sorted `member:type` pairs; empty for types whose structure is not compared. */
  shape: string;
}

/** A structural fingerprint of an interface, type literal or enum: its members and their types. */
function shapeOf(node: Node): string {
  if (Node.isInterfaceDeclaration(node)) {
    return node
      .getProperties()
      .map((property) => `${property.getName()}${property.hasQuestionToken() ? '?' : ''}:${property.getTypeNode()?.getText() ?? ''}`)
      .sort()
      .join(';');
  }
  if (Node.isTypeAliasDeclaration(node)) {
    const type = node.getTypeNode();
    if (type && Node.isTypeLiteral(type)) {
      return type
        .getProperties()
        .map((property) => `${property.getName()}${property.hasQuestionToken() ? '?' : ''}:${property.getTypeNode()?.getText() ?? ''}`)
        .sort()
        .join(';');
    }
    return '';
  }
  if (Node.isEnumDeclaration(node)) {
    return `enum:${node
      .getMembers()
      .map((member) => member.getName())
      .sort()
      .join(',')}`;
  }
  return '';
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
    // The check reads declarations and follows exports, never global types: without noLib and
    // types: [], the standard library's and every @types package's declarations in the worktree's
    // node_modules would be parsed and bound, most of the check's time.
    const project = new Project({ skipAddingFilesFromTsConfig: true, compilerOptions: { allowJs: false, noLib: true, types: [] } });
    const index = join(input.root, input.contracts.root, 'src', 'index.ts');
    if (!existsSync(index)) return [];
    const contractTypes: ContractType[] = [];
    for (const [name, declarations] of project.addSourceFileAtPath(index).getExportedDeclarations()) {
      for (const declaration of declarations) {
        if (
          Node.isInterfaceDeclaration(declaration) ||
          Node.isTypeAliasDeclaration(declaration) ||
          Node.isEnumDeclaration(declaration)
        ) {
          contractTypes.push({ name, shape: shapeOf(declaration) });
        }
      }
    }
    const byName = new Map(contractTypes.map((type) => [type.name, type]));
    const byShape = new Map(contractTypes.filter((type) => type.shape.includes(':')).map((type) => [type.shape, type]));
    const contractsDir = join(input.root, input.contracts.root);
    const findings: Finding[] = [];
    const report = (file: SourceFile, node: Node, message: string, fix: string) =>
      findings.push({
        check: CHECK_NAME,
        severity,
        file: relative(input.root, file.getFilePath()).split('\\').join('/'),
        line: node.getStartLineNumber(),
        message,
        fix,
      });

    for (const path of input.files.filter((file) => /\.(ts|tsx|mts|cts)$/.test(file) && !file.endsWith('.d.ts'))) {
      const absolute = join(input.root, path);
      if (!existsSync(absolute)) continue;
      const file = project.addSourceFileAtPath(absolute);
      for (const declaration of [...file.getInterfaces(), ...file.getTypeAliases(), ...file.getEnums()]) {
        const name = declaration.getName();
        const sameName = byName.get(name);
        const shape = shapeOf(declaration);
        const sameShape = shape.includes(':') ? byShape.get(shape) : undefined;
        if (sameName) {
          report(
            file,
            declaration,
            `declares ${name}, which the contracts already export.`,
            `delete it and import { ${name} } from '${input.contracts.importPath}'.`,
          );
        } else if (sameShape) {
          report(
            file,
            declaration,
            `declares ${name} with the same structure as the contract type ${sameShape.name}.`,
            `use ${sameShape.name} from '${input.contracts.importPath}' instead of a copy.`,
          );
        }
      }
      for (const declaration of file.getImportDeclarations()) {
        const specifier = declaration.getModuleSpecifierValue();
        if (specifier === input.contracts.importPath) continue;
        const resolved = declaration.getModuleSpecifierSourceFile()?.getFilePath();
        const deepImport = specifier.startsWith(`${input.contracts.importPath}/`);
        const intoContracts = resolved !== undefined && resolved.startsWith(`${contractsDir}/`);
        if (deepImport || intoContracts) {
          report(
            file,
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

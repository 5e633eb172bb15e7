import { IndentationText, Project, QuoteKind, type SourceFile } from 'ts-morph';
import type { EntityNames } from '../../core/naming/names';

/**
 * AST edits on the two files of a contracts library that list its entities:
 * the barrel (`src/index.ts`) and the `Collections` map (`src/lib/collections.ts`).
 * Editing the syntax tree, not the text, is what lets a second run add an entity
 * without disturbing anything a person wrote by hand around it.
 */
export const COLLECTIONS_INTERFACE = 'Collections';

/**
 * How the barrel or the collections file refers to an entity module. `extension`
 * is `.js` in ESM packages, where Node needs it, and empty elsewhere.
 */
export function entityModuleSpecifier(entity: EntityNames, fromIndex: boolean, extension = ''): string {
  return `${fromIndex ? './lib/entities' : './entities'}/${entity.singular}${extension}`;
}

/** Whether two relative module specifiers name the same module, with or without an extension. */
function sameModule(a: string, b: string): boolean {
  const strip = (specifier: string) => specifier.replace(/\.(js|ts|mjs|mts|cjs|cts)$/, '');
  return strip(a) === strip(b);
}

function parse(fileName: string, text: string): SourceFile {
  const project = new Project({
    useInMemoryFileSystem: true,
    manipulationSettings: {
      quoteKind: QuoteKind.Single,
      indentationText: IndentationText.TwoSpaces,
    },
  });
  return project.createSourceFile(fileName, text);
}

/** Adds `export * from './lib/entities/<entity>'` to the barrel unless it is there already. */
export function addEntityExport(indexText: string, entity: EntityNames, extension = ''): string {
  const file = parse('index.ts', indexText);
  const specifier = entityModuleSpecifier(entity, true, extension);
  const exists = file.getExportDeclarations().some((declaration) => sameModule(declaration.getModuleSpecifierValue() ?? '', specifier));
  if (exists) return indexText;
  file.addExportDeclaration({ moduleSpecifier: specifier });
  return file.getFullText();
}

/** Adds `<plural>: <Entity>` to the `Collections` interface, with its type import, unless present. */
export function addEntityCollection(collectionsText: string, entity: EntityNames, extension = ''): string {
  const file = parse('collections.ts', collectionsText);
  const collections = file.getInterface(COLLECTIONS_INTERFACE);
  if (!collections) {
    throw new Error(
      `collections.ts has no "interface ${COLLECTIONS_INTERFACE}"; it lists the entities of the contracts library and must not be removed.`,
    );
  }
  if (collections.getProperty(entity.plural) || collections.getProperty(`'${entity.plural}'`)) {
    return collectionsText;
  }
  const specifier = entityModuleSpecifier(entity, false, extension);
  const existingImport = file.getImportDeclaration((declaration) => sameModule(declaration.getModuleSpecifierValue(), specifier));
  if (!existingImport) {
    file.addImportDeclaration({
      isTypeOnly: true,
      namedImports: [entity.className],
      moduleSpecifier: specifier,
    });
  } else if (!existingImport.getNamedImports().some((named) => named.getName() === entity.className)) {
    existingImport.addNamedImport(entity.className);
  }
  const key = /^[A-Za-z_$][\w$]*$/.test(entity.plural) ? entity.plural : `'${entity.plural}'`;
  collections.addProperty({ name: key, type: entity.className });
  return file.getFullText();
}

/** The collection names (plural entity names) that `Collections` declares. */
export function listCollections(collectionsText: string): string[] {
  const collections = parse('collections.ts', collectionsText).getInterface(COLLECTIONS_INTERFACE);
  if (!collections) return [];
  return collections.getProperties().map((property) => property.getName().replace(/^['"]|['"]$/g, ''));
}

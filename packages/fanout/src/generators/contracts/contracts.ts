import {
  formatFiles,
  generateFiles,
  getProjects,
  joinPathFragments,
  runTasksInSerial,
  type GeneratorCallback,
  type Tree,
} from '@nx/devkit';
import { join } from 'path';
import { addEntityCollection, addEntityExport } from '../../core/checks/contracts-source';
import { assertValidName, parseEntityList, type EntityNames } from '../../core/naming/names';
import { initGenerator } from '../init/init';
import { createLibrary, planLibrary, readContractsLibrary, relativeImportExtension, type ContractsLibrary } from '../projects';
import type { ContractsGeneratorSchema } from './schema';
import { CONTRACTS_TAG } from '../../constants';

/** The entity a new contracts library starts with when none is named. */
export const DEFAULT_ENTITY = 'user';

/**
 * `nx g fanout:contracts <name> --entities=...`: creates the shared contracts
 * library, or adds entities to an existing one by editing its syntax tree.
 */
export async function contractsGenerator(tree: Tree, options: ContractsGeneratorSchema): Promise<GeneratorCallback | void> {
  assertValidName(options.name, 'contracts library name');
  const entities = parseEntityList(options.entities);
  const tasks: GeneratorCallback[] = [];

  let contracts: ContractsLibrary;
  if (getProjects(tree).has(options.name)) {
    contracts = readContractsLibrary(tree, options.name);
    if (entities.length === 0) {
      throw new Error(
        `The contracts library "${options.name}" already exists. To add entities to it, name them: ` +
          `nx g fanout:contracts ${options.name} --entities=invoice`,
      );
    }
  } else {
    planLibrary(tree, options);
    await initGenerator(tree, { skipFormat: true });
    const library = await createLibrary(tree, {
      name: options.name,
      directory: options.directory,
      tags: [CONTRACTS_TAG],
      extraTags: options.tags,
    });
    tasks.push(library.install);
    generateFiles(tree, join(__dirname, 'files'), library.root, {
      projectName: options.name,
      ext: relativeImportExtension(tree, library.root),
      template: '',
    });
    contracts = readContractsLibrary(tree, options.name);
    if (entities.length === 0) entities.push(...parseEntityList(DEFAULT_ENTITY));
  }

  for (const entity of entities) addEntity(tree, contracts, entity);

  if (!options.skipFormat) await formatFiles(tree);
  return runTasksInSerial(...tasks);
}

function addEntity(tree: Tree, contracts: ContractsLibrary, entity: EntityNames): void {
  const entityFile = joinPathFragments(contracts.root, 'src', 'lib', 'entities', `${entity.singular}.ts`);
  // An entity file a person already has is theirs: it is never regenerated.
  if (!tree.exists(entityFile)) {
    generateFiles(tree, join(__dirname, 'entity-files'), contracts.root, {
      ...entity,
      ext: contracts.extension,
      template: '',
    });
  }
  rewrite(tree, contracts.indexFile, (text) => addEntityExport(text, entity, contracts.extension));
  rewrite(tree, contracts.collectionsFile, (text) => addEntityCollection(text, entity, contracts.extension));
}

function rewrite(tree: Tree, path: string, edit: (text: string) => string): void {
  const before = tree.read(path, 'utf-8') ?? '';
  const after = edit(before);
  if (after !== before) tree.write(path, after);
}

export default contractsGenerator;

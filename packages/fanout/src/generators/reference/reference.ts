import { formatFiles, generateFiles, runTasksInSerial, type GeneratorCallback, type Tree } from '@nx/devkit';
import { join } from 'path';
import { assertValidName, entityNames } from '../../core/naming/names';
import { initGenerator } from '../init/init';
import { addLibraryDependency, createLibrary, planLibrary, readContractsLibrary, relativeImportExtension } from '../projects';
import type { ReferenceGeneratorSchema } from './schema';
import { REFERENCE_TAG } from '../../constants';

/**
 * `nx g fanout:reference <name> --contracts=<project>`: the reference
 * implementation, built serially, that every session of a fan-out replicates.
 * It holds nothing entity-specific beyond the entity's names: types, validators
 * and fixtures all come from the contracts, so a sibling is a renamed copy.
 */
export async function referenceGenerator(tree: Tree, options: ReferenceGeneratorSchema): Promise<GeneratorCallback> {
  assertValidName(options.name, 'reference project name');
  if (!options.contracts) {
    throw new Error('Name the contracts library the reference uses: --contracts=<project>.');
  }
  assertValidName(options.entity ?? options.name, 'entity name');
  const contracts = readContractsLibrary(tree, options.contracts);
  const entity = entityNames(options.entity ?? options.name);
  if (!contracts.collections.includes(entity.plural)) {
    throw new Error(
      `The contracts library "${contracts.name}" has no "${entity.singular}" entity (it has: ${
        contracts.collections.join(', ') || 'none'
      }). Add it first: nx g fanout:contracts ${contracts.name} --entities=${entity.singular}` +
        (options.entity ? '' : `, or pick one with --entity=<name>`),
    );
  }

  planLibrary(tree, options);
  await initGenerator(tree, { skipFormat: true });
  const library = await createLibrary(tree, {
    name: options.name,
    directory: options.directory,
    tags: [REFERENCE_TAG],
    extraTags: options.tags,
  });
  generateFiles(tree, join(__dirname, 'files'), library.root, {
    ...entity,
    contractsImportPath: contracts.importPath,
    ext: relativeImportExtension(tree, library.root),
    template: '',
  });
  addLibraryDependency(tree, library, contracts);

  if (!options.skipFormat) await formatFiles(tree);
  return runTasksInSerial(library.install);
}

export default referenceGenerator;

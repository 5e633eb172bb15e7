import {
  formatFiles,
  generateFiles,
  joinPathFragments,
  logger,
  readNxJson,
  readProjectConfiguration,
  runTasksInSerial,
  type GeneratorCallback,
  type Tree,
} from '@nx/devkit';
import { join } from 'path';
import { addEntityCollection, addEntityExport } from './contracts-source';
import { assertValidName, parseEntityList, type EntityNames } from '../../core/naming/names';
import { initGenerator } from '../init/init';
import {
  assertContractsCandidate,
  findProjectName,
  readContractsLibrary,
  resolveProjectName,
  retagProject,
  type ContractsLibrary,
} from '../projects';
import {
  createLibrary,
  defaultLibraryRoot,
  placeLibrary,
  projectLintAndTest,
  relativeImportExtension,
  resolveLintAndTest,
  type LibraryPlan,
} from '../library';
import type { ContractsGeneratorSchema } from './schema';
import { CONTRACTS_TAG, isPluginRegistered } from '../../constants';

/** The entity a new contracts library starts with when none is named. */
export const DEFAULT_ENTITY = 'user';

export interface NormalizedContractsOptions {
  name: string;
  /** Adopt the existing library `name` (`--project`): tag it, change nothing else. */
  adopt?: { root: string };
  /** The entities to add, in order. */
  entities: EntityNames[];
  /** The library to create; undefined when `name` is an existing contracts library that gains entities. */
  library?: LibraryPlan;
  /** Whether the library runs unit tests, and so gets the spec files of what is added to it. */
  specs: boolean;
  skipFormat: boolean;
}

/**
 * Validates the options and settles what the generator does, before anything is
 * written: extend the existing library `name`, or create it, and where.
 */
export async function normalizeOptions(tree: Tree, options: ContractsGeneratorSchema): Promise<NormalizedContractsOptions> {
  const skipFormat = options.skipFormat ?? false;
  if (options.project !== undefined) return normalizeAdoption(tree, options.project, options);
  if (options.name === undefined || options.name.trim() === '') {
    throw new Error(
      'Name the contracts library to create (nx g fanout:contracts contracts --entities=user,order), ' +
        'or adopt a library you have (nx g fanout:contracts --project=<your types library>).',
    );
  }
  const entities = parseEntityList(options.entities);

  const existing = findProjectName(tree, options.name, 'the contracts library name');
  if (existing !== undefined) {
    const contracts = readContractsLibrary(tree, existing);
    if (entities.length === 0) {
      throw new Error(
        `The contracts library "${existing}" already exists. To add entities to it, name them: ` +
          `nx g fanout:contracts ${existing} --entities=invoice`,
      );
    }
    if (!contracts.scaffold) {
      throw new Error(
        `The contracts library "${existing}" was adopted, not scaffolded: --entities adds to the API scaffold's ` +
          `collections only. Add your types to ${contracts.entry} yourself.`,
      );
    }
    const specs = projectLintAndTest(tree, contracts.root).unitTestRunner !== 'none';
    return { name: existing, entities, specs, skipFormat };
  }

  assertValidName(options.name, 'contracts library name');

  const placement = await placeLibrary(tree, {
    name: options.name,
    directory: options.directory,
    defaultRoot: defaultLibraryRoot(tree, options.name),
    tags: [CONTRACTS_TAG],
    extraTags: options.tags,
  });
  const library: LibraryPlan = { ...placement, ...(await resolveLintAndTest(tree, options)) };
  return {
    name: options.name,
    entities: entities.length > 0 ? entities : parseEntityList(DEFAULT_ENTITY),
    library,
    specs: library.unitTestRunner !== 'none',
    skipFormat,
  };
}

/** `--project`: the existing library to adopt, checked before anything is written. */
function normalizeAdoption(tree: Tree, given: string, options: ContractsGeneratorSchema): NormalizedContractsOptions {
  if (options.name !== undefined) {
    throw new Error(
      `Give either a name (a new contracts library) or --project (adopt an existing one), not both: got "${options.name}" and --project=${given}.`,
    );
  }
  const other = (['entities', 'directory', 'linter', 'unitTestRunner', 'tags'] as const).filter((key) => options[key] !== undefined);
  if (other.length > 0) {
    throw new Error(
      `--${other.join(', --')} shape${other.length === 1 ? 's' : ''} a new library; adopting one with --project changes nothing but its tag.`,
    );
  }
  const project = resolveProjectName(tree, given, '--project');
  const configuration = readProjectConfiguration(tree, project);
  if (configuration.projectType === 'application') {
    throw new Error(`The project "${project}" is an application; the contracts are a library every session imports.`);
  }
  assertContractsCandidate(tree, project, configuration.root);
  return { name: project, adopt: { root: configuration.root }, entities: [], specs: false, skipFormat: options.skipFormat ?? false };
}

/**
 * `nx g fanout:contracts <name> --entities=...`: creates the shared contracts
 * library, or adds entities to an existing one by editing its syntax tree.
 */
export async function contractsGenerator(tree: Tree, schema: ContractsGeneratorSchema): Promise<GeneratorCallback | void> {
  const options = await normalizeOptions(tree, schema);
  const tasks: GeneratorCallback[] = [];

  if (options.adopt) {
    // The plugin must be registered for the tag to mean anything; a workspace with fanout added is left alone.
    if (!isPluginRegistered(readNxJson(tree) ?? undefined)) await initGenerator(tree, { skipFormat: true });
    retagProject(tree, options.adopt.root, { add: [CONTRACTS_TAG] });
    logger.info(
      `fanout:contracts: ${options.name} (${options.adopt.root}) is the contracts library: tagged ${CONTRACTS_TAG}, nothing else changed.`,
    );
    return;
  }

  if (options.library) {
    await initGenerator(tree, { skipFormat: true });
    const library = await createLibrary(tree, options.library);
    tasks.push(library.install);
    const substitutions = { projectName: library.name, ext: relativeImportExtension(tree, library.root), template: '' };
    generateFiles(tree, join(__dirname, 'files'), library.root, substitutions);
    if (options.specs) generateFiles(tree, join(__dirname, 'spec-files'), library.root, substitutions);
  }

  const contracts = readContractsLibrary(tree, options.name);
  for (const entity of options.entities) addEntity(tree, contracts, entity, options.specs);

  if (!options.skipFormat) await formatFiles(tree);
  return runTasksInSerial(...tasks);
}

function addEntity(tree: Tree, contracts: ContractsLibrary, entity: EntityNames, specs: boolean): void {
  if (!contracts.scaffold) return;
  const entityFile = joinPathFragments(contracts.root, 'src', 'lib', 'entities', `${entity.singular}.ts`);
  // An entity file a person already has is theirs: it is never regenerated.
  if (!tree.exists(entityFile)) {
    const substitutions = { ...entity, ext: contracts.extension, template: '' };
    generateFiles(tree, join(__dirname, 'entity-files'), contracts.root, substitutions);
    if (specs) generateFiles(tree, join(__dirname, 'entity-spec-files'), contracts.root, substitutions);
  }
  rewrite(tree, contracts.scaffold.indexFile, (text) => addEntityExport(text, entity, contracts.extension));
  rewrite(tree, contracts.scaffold.collectionsFile, (text) => addEntityCollection(text, entity, contracts.extension));
}

function rewrite(tree: Tree, path: string, edit: (text: string) => string): void {
  const before = tree.read(path, 'utf-8') ?? '';
  const after = edit(before);
  if (after !== before) tree.write(path, after);
}

export default contractsGenerator;

import { formatFiles, generateFiles, logger, readNxJson, runTasksInSerial, type GeneratorCallback, type Tree } from '@nx/devkit';
import { join, posix } from 'path';
import { assertValidName, entityNames, isPlainName, type EntityNames } from '../../core/naming/names';
import { defaultSubject, spellingsOf } from '../../core/naming/subject';
import { initGenerator } from '../init/init';
import {
  addLibraryDependency,
  createLibrary,
  defaultLibraryRoot,
  listTreeFiles,
  placeLibrary,
  readContractsLibrary,
  readProjectOrExplain,
  usesLibrary,
  retagProject,
  relativeImportExtension,
  resolveLintAndTest,
  type ContractsLibrary,
  type LibraryPlan,
} from '../projects';
import type { ReferenceGeneratorSchema } from './schema';
import { isPluginRegistered, REFERENCE_TAG, SUBJECT_TAG_PREFIX, subjectTag } from '../../constants';

export interface NormalizedReferenceOptions {
  contracts: ContractsLibrary;
  /** The word that differs between the reference and its siblings, recorded in its configuration. */
  subject: string;
  /** Scaffold a new API reference (a name was given). */
  library?: LibraryPlan;
  /** The contracts entity the scaffold serves. */
  entity?: EntityNames;
  /** Adopt an existing project (`--project`). */
  adopt?: { name: string; root: string; subjectFrom: 'option' | 'name' };
  skipFormat: boolean;
}

/** Validates the options and settles what to create or adopt, before anything is written. */
export async function normalizeOptions(tree: Tree, options: ReferenceGeneratorSchema): Promise<NormalizedReferenceOptions> {
  if (!options.contracts) {
    throw new Error('Name the contracts library the reference uses: --contracts=<project>.');
  }
  if (options.project !== undefined) return normalizeAdoption(tree, options.project, options);
  if (options.name === undefined || options.name.trim() === '') {
    throw new Error(
      'Name the reference to create (nx g fanout:reference users --contracts=contracts), ' +
        'or adopt a project you have (nx g fanout:reference --project=<your page or service> --contracts=<contracts>).',
    );
  }
  assertValidName(options.name, 'reference project name');
  assertValidName(options.entity ?? options.name, 'entity name');
  const contracts = readContractsLibrary(tree, options.contracts);
  if (!contracts.scaffold) {
    throw new Error(
      `The contracts library "${contracts.name}" was adopted, not scaffolded: the API reference needs the scaffold's entities. ` +
        `Adopt your own reference instead: nx g fanout:reference --project=<project> --contracts=${contracts.name}`,
    );
  }
  const entity = entityNames(options.entity ?? options.name);
  if (!contracts.scaffold.collections.includes(entity.plural)) {
    throw new Error(
      `The contracts library "${contracts.name}" has no "${entity.singular}" entity (it has: ${
        contracts.scaffold.collections.join(', ') || 'none'
      }). Add it first: nx g fanout:contracts ${contracts.name} --entities=${entity.singular}` +
        (options.entity ? '' : `, or pick one with --entity=<name>`),
    );
  }
  const placement = await placeLibrary(tree, {
    name: options.name,
    directory: options.directory,
    defaultRoot: defaultLibraryRoot(tree, options.name),
    tags: [REFERENCE_TAG],
    extraTags: options.tags,
  });
  return {
    library: { ...placement, ...(await resolveLintAndTest(tree, options)) },
    contracts,
    entity,
    subject: entity.plural,
    skipFormat: options.skipFormat ?? false,
  };
}

/** `--project`: the existing project to adopt, its contracts and its subject, all checked before anything is written. */
function normalizeAdoption(tree: Tree, project: string, options: ReferenceGeneratorSchema): NormalizedReferenceOptions {
  if (options.name !== undefined) {
    throw new Error(
      `Give either a name (a new reference) or --project (adopt an existing one), not both: got "${options.name}" and --project=${project}.`,
    );
  }
  const other = (['entity', 'directory', 'linter', 'unitTestRunner', 'tags'] as const).filter((key) => options[key] !== undefined);
  if (other.length > 0) {
    throw new Error(
      `--${other.join(', --')} shape${other.length === 1 ? 's' : ''} a new project; adopting one with --project records only its tag and subject.`,
    );
  }
  const configuration = readProjectOrExplain(
    tree,
    project,
    REFERENCE_TAG,
    'nx g fanout:reference --project=<an existing project> --contracts=<contracts>',
  );
  const contracts = readContractsLibrary(tree, options.contracts);
  if (project === contracts.name) throw new Error(`"${project}" is the contracts library; the reference is the project that uses it.`);
  if (!usesLibrary(tree, configuration, contracts)) {
    throw new Error(
      `The project "${project}" does not depend on the contracts library "${contracts.name}": nothing in ${configuration.root} imports ` +
        `${contracts.importPath} and its package.json does not list it. The reference is the pattern sessions copy, contracts included: ` +
        `import the shared types from ${contracts.importPath} in it first.`,
    );
  }
  const subject = options.subject?.trim() || defaultSubject(project);
  if (!isPlainName(subject)) {
    throw new Error(`The subject "${subject}" is not a plain word: use letters, digits and single "-" between words, such as "settings".`);
  }
  assertSubjectOccurs(tree, project, configuration.root, subject);
  return {
    contracts,
    subject,
    adopt: { name: project, root: configuration.root, subjectFrom: options.subject ? 'option' : 'name' },
    skipFormat: options.skipFormat ?? false,
  };
}

/** The subject must be a word the reference's file names or exported symbols carry, or a sibling has nothing to replace. */
function assertSubjectOccurs(tree: Tree, project: string, root: string, subject: string): void {
  const spellings = spellingsOf(subject);
  const sources = listTreeFiles(tree, posix.join(root, 'src'));
  const inNames = sources.some((file) => spellings.some((spelling) => posix.basename(file).includes(spelling)));
  const exported =
    /export\s+(?:default\s+)?(?:declare\s+)?(?:abstract\s+)?(?:async\s+)?(?:const|let|var|function\*?|class|interface|type|enum)\s+([A-Za-z_$][\w$]*)/g;
  const inSymbols = sources
    .filter((file) => /\.[cm]?[jt]sx?$/.test(file))
    .some((file) =>
      [...(tree.read(file, 'utf-8') ?? '').matchAll(exported)].some(([, name]) => spellings.some((spelling) => name.includes(spelling))),
    );
  if (!inNames && !inSymbols) {
    throw new Error(
      `The subject "${subject}" occurs in none of the file names or exported symbols of "${project}" (${root}/src), ` +
        `so a sibling would have nothing to rename. Name the word that differs between this project and its siblings: ` +
        `--subject=<word> (for example "settings" for SettingsPage in feature-settings).`,
    );
  }
}

/**
 * `nx g fanout:reference <name> --contracts=<project>`: the API reference, built
 * serially, that every session of a fan-out replicates. With `--project`, a project
 * the workspace already has becomes the reference: its tag and subject are recorded
 * as tags (`fanout:reference`, `fanout:subject:<word>`), nothing else changes.
 */
export async function referenceGenerator(tree: Tree, schema: ReferenceGeneratorSchema): Promise<GeneratorCallback | void> {
  const options = await normalizeOptions(tree, schema);
  const subject = { add: [subjectTag(options.subject)], remove: (tag: string) => tag.startsWith(SUBJECT_TAG_PREFIX) };

  if (options.adopt) {
    if (!isPluginRegistered(readNxJson(tree) ?? undefined)) await initGenerator(tree, { skipFormat: true });
    retagProject(tree, options.adopt.root, { ...subject, add: [REFERENCE_TAG, ...subject.add] });
    logger.info(
      `fanout:reference: ${options.adopt.name} is the reference, with subject "${options.subject}" ` +
        (options.adopt.subjectFrom === 'option'
          ? '(from --subject).'
          : `(from its name; if siblings differ by another word, run again with --subject=<word>).`),
    );
    return;
  }

  const library = options.library as LibraryPlan;
  const entity = options.entity as EntityNames;
  await initGenerator(tree, { skipFormat: true });
  const created = await createLibrary(tree, library);
  const substitutions = {
    ...entity,
    contractsImportPath: options.contracts.importPath,
    ext: relativeImportExtension(tree, created.root),
    template: '',
  };
  generateFiles(tree, join(__dirname, 'files'), created.root, substitutions);
  // A spec in a project without a test runner would never run.
  if (library.unitTestRunner !== 'none') generateFiles(tree, join(__dirname, 'spec-files'), created.root, substitutions);
  addLibraryDependency(tree, created, options.contracts);
  retagProject(tree, created.root, subject);

  if (!options.skipFormat) await formatFiles(tree);
  return runTasksInSerial(created.install);
}

export default referenceGenerator;

import {
  detectPackageManager,
  formatFiles,
  generateFiles,
  logger,
  readJson,
  readNxJson,
  readProjectConfiguration,
  runTasksInSerial,
  type GeneratorCallback,
  type Tree,
} from '@nx/devkit';
import { join, posix } from 'path';
import { assertValidName, entityNames, isPlainName, type EntityNames } from '../../core/naming/names';
import { defaultSubject, proposeSubject, subjectOccurs, type SubjectEvidence } from '../../core/naming/subject';
import { initGenerator } from '../init/init';
import {
  addLibraryDependency,
  listTreeFiles,
  dependencyPathTo,
  readContractsLibrary,
  resolveProjectName,
  retagProject,
  type ContractsLibrary,
} from '../projects';
import { createLibrary, defaultLibraryRoot, placeLibrary, relativeImportExtension, resolveLintAndTest, type LibraryPlan } from '../library';
import type { ReferenceGeneratorSchema } from './schema';
import { nxHelper } from '../nx-internals';
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
  adopt?: {
    name: string;
    root: string;
    /** Where the subject came from: --subject, the words the name, file names and exported symbols share, or the name alone. */
    subjectFrom: 'option' | 'sources' | 'name';
    /** The projects through which it uses the contracts; empty when it imports them itself. */
    contractsThrough: string[];
  };
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
function normalizeAdoption(tree: Tree, given: string, options: ReferenceGeneratorSchema): NormalizedReferenceOptions {
  if (options.name !== undefined) {
    throw new Error(
      `Give either a name (a new reference) or --project (adopt an existing one), not both: got "${options.name}" and --project=${given}.`,
    );
  }
  const other = (['entity', 'directory', 'linter', 'unitTestRunner', 'tags'] as const).filter((key) => options[key] !== undefined);
  if (other.length > 0) {
    throw new Error(
      `--${other.join(', --')} shape${other.length === 1 ? 's' : ''} a new project; adopting one with --project records only its tag and subject.`,
    );
  }
  const project = resolveProjectName(tree, given, '--project');
  const configuration = readProjectConfiguration(tree, project);
  const contracts = readContractsLibrary(tree, options.contracts);
  if (project === contracts.name) throw new Error(`"${project}" is the contracts library; the reference is the project that uses it.`);
  const path = dependencyPathTo(tree, configuration, contracts);
  if (!path) {
    const steps = stepsToDependOn(tree, configuration.root, contracts);
    throw new Error(
      `The project "${project}" does not depend on the contracts library "${contracts.name}", directly or through another ` +
        `project: nothing in ${configuration.root} imports ${contracts.importPath} or a project that does, and neither its ` +
        `package.json nor its implicitDependencies name one. The reference is the pattern sessions copy, contracts included. To make it use ` +
        `them: ${steps.map((step, index) => `${index + 1}. ${step}`).join('; ')}. Then run this command again.`,
    );
  }
  const evidence = { projectName: project, folderName: posix.basename(configuration.root), ...namesInSources(tree, configuration.root) };
  const { subject, from } = settleSubject(project, configuration.root, options.subject, evidence);
  return {
    contracts,
    subject,
    adopt: { name: project, root: configuration.root, subjectFrom: from, contractsThrough: path.slice(1, -1) },
    skipFormat: options.skipFormat ?? false,
  };
}

/**
 * What makes a project use the contracts, every step, as this workspace needs it: in
 * a TS-solution workspace a package dependency, the install that links it and the
 * project reference `nx sync` writes (Nx stops with "out of sync" until then); with
 * tsconfig paths, the import alone.
 */
function stepsToDependOn(tree: Tree, root: string, contracts: ContractsLibrary): string[] {
  const manifest = posix.join(root, 'package.json');
  const steps: string[] = [];
  if (nxHelper('isUsingTsSolutionSetup')(tree) && tree.exists(manifest)) {
    const specs = Object.values<string>(readJson(tree, manifest).dependencies ?? {});
    const spec = specs.some((each) => each.startsWith('workspace:')) || tree.exists('pnpm-workspace.yaml') ? 'workspace:*' : '*';
    steps.push(
      `add "${contracts.importPath}": "${spec}" to "dependencies" in ${manifest}`,
      `run ${detectPackageManager(tree.root)} install, which links it`,
      `run nx sync, which adds the TypeScript project reference (until then every nx command stops with "out of sync")`,
    );
  }
  steps.push(`import the shared types from ${contracts.importPath} in ${root}/src`);
  return steps;
}

const EXPORTED =
  /export\s+(?:default\s+)?(?:declare\s+)?(?:abstract\s+)?(?:async\s+)?(?:const|let|var|function\*?|class|interface|type|enum)\s+([A-Za-z_$][\w$]*)/g;

/** The names of the files below `<root>/src` and the names their code exports: where a sibling renames the subject. */
function namesInSources(tree: Tree, root: string): Pick<SubjectEvidence, 'fileNames' | 'symbols'> {
  const sources = listTreeFiles(tree, posix.join(root, 'src'));
  return {
    fileNames: sources.map((file) => posix.basename(file)),
    symbols: sources
      .filter((file) => /\.[cm]?[jt]sx?$/.test(file))
      .flatMap((file) => [...(tree.read(file, 'utf-8') ?? '').matchAll(EXPORTED)].map(([, name]) => name)),
  };
}

/**
 * The reference's subject: `--subject`; else the word its name, file names and
 * exported symbols share, when one is best; else its name's (see `defaultSubject`).
 * Candidates that tie are proposed, never guessed between.
 */
function settleSubject(
  project: string,
  root: string,
  given: string | undefined,
  evidence: SubjectEvidence,
): { subject: string; from: 'option' | 'sources' | 'name' } {
  const proposal = proposeSubject(evidence);
  if (!given?.trim() && proposal.candidates.length > 1) {
    throw new Error(
      `"${project}" could have one of several subjects: its name, file names and exported symbols share ` +
        `${proposal.candidates.map((candidate) => `"${candidate}"`).join(' and ')}. Name the word that differs between it and its ` +
        `siblings: ${proposal.candidates.map((candidate) => `--subject=${candidate}`).join(' or ')}.`,
    );
  }
  const settled = given?.trim()
    ? { subject: given.trim(), from: 'option' as const }
    : proposal.subject
      ? { subject: proposal.subject, from: 'sources' as const }
      : { subject: defaultSubject(project), from: 'name' as const };
  if (!isPlainName(settled.subject)) {
    throw new Error(
      `The subject "${settled.subject}" is not a plain word: use letters, digits and single "-" between words, such as "settings".`,
    );
  }
  // A subject none of the names carries would leave a sibling nothing to rename.
  if (!subjectOccurs(settled.subject, evidence)) {
    const proposed = proposal.candidates.length > 0 ? `: ${proposal.candidates.map((each) => `--subject=${each}`).join(' or ')}` : '';
    throw new Error(
      `The subject "${settled.subject}" occurs in none of the file names or exported symbols of "${project}" (${root}/src), ` +
        `so a sibling would have nothing to rename. Name the word that differs between this project and its siblings` +
        (proposed || ` with --subject=<word> (for example "settings" for SettingsPage in feature-settings)`) +
        '.',
    );
  }
  return settled;
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
          : options.adopt.subjectFrom === 'sources'
            ? '(from the project name, file names and exported symbols).'
            : `(from its name; if siblings differ by another word, run again with --subject=<word>).`),
    );
    if (options.adopt.contractsThrough.length > 0) {
      logger.info(
        `fanout:reference: ${options.adopt.name} uses the contracts ${options.contracts.name} through ${options.adopt.contractsThrough.join(' → ')}.`,
      );
    }
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

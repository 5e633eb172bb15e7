import {
  formatFiles,
  getProjects,
  joinPathFragments,
  logger,
  runTasksInSerial,
  updateProjectConfiguration,
  readProjectConfiguration,
  type GeneratorCallback,
  type ProjectConfiguration,
  type Tree,
} from '@nx/devkit';
import { posix } from 'path';
import {
  assertInsideProject,
  parseDuration,
  renderAssignment,
  resolveWiredFiles,
  taskPlaceholder,
  wiredPath,
  type WiredFile,
} from '../../core/session/assignment';
import { splitTemplate } from '../../core/agents/argv';
import { AGENTS } from '../../core/agents/registry';
import { assertValidName, entityNames } from '../../core/naming/names';
import { defaultSubject, siblingName, siblingSubject } from '../../core/naming/subject';
import { SCAFFOLD_HANDLER } from '../../core/naming/substitution';
import { initGenerator } from '../init/init';
import {
  addLibraryDependency,
  findProjectName,
  listTreeFiles,
  readContractsLibrary,
  resolveProjectName,
  taggedProjectsOr,
  usesLibrary,
  type ContractsLibrary,
} from '../projects';
import {
  assertOneOf,
  createLibrary,
  importPathOf,
  LINTERS,
  placeLibrary,
  projectLintAndTest,
  UNIT_TEST_RUNNERS,
  type LibraryPlan,
  type LintAndTest,
} from '../library';
import type { TaskGeneratorSchema } from './schema';
import { ASSIGNMENT_FILE, CONTRACTS_TAG, DEFAULT_AGENT, DEFAULT_SCOPE, recordedSubject, REFERENCE_TAG, TASK_TAG } from '../../constants';
import { loadGenerator } from './external-generator';
import { createSibling, siblingNames, type SiblingNames } from './sibling';
import { updateJsonKeepingLayout } from '../update-json';
import { addWorkspaceDependency } from '../workspace-dependency';

/** The one contracts library the reference uses, when exactly one does. */
function referenceContracts(tree: Tree, reference: ProjectConfiguration): string | undefined {
  const used = [...getProjects(tree)]
    .filter(([, project]) => project.tags?.includes(CONTRACTS_TAG))
    .filter(([name, project]) => {
      const importPath = importPathOf(tree, project.root);
      return importPath !== undefined && usesLibrary(tree, reference, { name, importPath, root: project.root });
    })
    .map(([name]) => name);
  return used.length === 1 ? used[0] : undefined;
}

function defaultContracts(tree: Tree): string {
  const contracts = [...getProjects(tree)].filter(([, project]) => project.tags?.includes(CONTRACTS_TAG)).map(([name]) => name);
  if (contracts.length === 1) return contracts[0];
  throw new Error(
    contracts.length === 0
      ? 'There is no contracts library (a project tagged fanout:contracts). Create one: nx g fanout:contracts contracts --entities=user'
      : `There are several contracts libraries (${contracts.join(', ')}): choose one with --contracts=<project>.`,
  );
}

/** How a task's project comes to be. */
export type TaskShape =
  /** The API scaffold: a TypeScript library made by @nx/js, as the scaffolded reference was. */
  | 'scaffold'
  /** A copy of the reference's project files with the subject replaced (the default for any other reference). */
  | 'sibling'
  /** The user's own generator (`--generator`). */
  | 'generator';

export interface TaskPlan extends LibraryPlan {
  /** The task's subject: what replaces the reference's in every spelling. */
  subject: string;
}

export interface NormalizedTaskOptions {
  /** One project per task, in the order named; empty with `--project`. */
  tasks: TaskPlan[];
  shape: TaskShape;
  /** `--generator`, for the `generator` shape. */
  generator?: string;
  /** `--project`: an existing project made a task; only its fanout.md is written. */
  existing?: { name: string; root: string; subject: string };
  /** The reference the tasks follow (`--like`), with its subject. */
  reference: { name: string; root: string; subject: string };
  contracts: ContractsLibrary;
  agent: string;
  command?: string;
  scope?: string[];
  timeout?: string;
  /** `--wire`: the files each session may edit to register its work, with the projects that own them. */
  wire: WiredFile[];
  /** The assignment text, with `<name>` still in it; undefined for the default text. */
  prompt?: string;
  skipFormat: boolean;
}

function listOption(value: string | undefined): string[] {
  return [
    ...new Set(
      String(value ?? '')
        .split(',')
        .map((name) => name.trim())
        .filter(Boolean),
    ),
  ];
}

/** Validates the options and settles every task project, before anything is written. */
export async function normalizeOptions(tree: Tree, schema: TaskGeneratorSchema): Promise<NormalizedTaskOptions> {
  const names = listOption(schema.names);
  if (schema.project !== undefined && names.length > 0) {
    throw new Error(`Give either task names (new projects) or --project (make an existing project a task), not both.`);
  }
  if (schema.project === undefined && names.length === 0) {
    throw new Error(
      'Name at least one task: nx g fanout:task dashboard,profile --like=<reference>, or make a project you have a task: --project=<name>.',
    );
  }
  for (const name of names) {
    if (!/^(@[A-Za-z0-9][\w.-]*\/)?[A-Za-z][A-Za-z0-9]*(?:[-_][A-Za-z0-9]+)*$/.test(name)) assertValidName(name, 'task name');
  }
  if (!schema.like) throw new Error('Name the reference the tasks follow: --like=<project> (a project tagged fanout:reference).');
  // From here on, --like and --project are the names of existing projects.
  const options: TaskGeneratorSchema = {
    ...schema,
    like: resolveProjectName(
      tree,
      schema.like,
      '--like',
      taggedProjectsOr(
        tree,
        REFERENCE_TAG,
        `Create the reference first (nx g fanout:reference ${schema.like} --contracts=<contracts>) ` +
          `or adopt one (nx g fanout:reference --project=<project> --contracts=<contracts>).`,
      ),
    ),
    ...(schema.project !== undefined ? { project: resolveProjectName(tree, schema.project, '--project') } : {}),
  };
  const like = readProjectConfiguration(tree, options.like);
  if (!like.tags?.includes(REFERENCE_TAG)) {
    throw new Error(
      `The project "${options.like}" is not a reference (it lacks the tag "${REFERENCE_TAG}"). Make it one: ` +
        `nx g fanout:reference --project=${options.like} --contracts=<contracts>`,
    );
  }
  const namedProjects = names.map((name) => findProjectName(tree, name, 'the task name'));
  if (namedProjects.includes(options.like) || options.project === options.like) {
    throw new Error(`A task cannot follow itself: "${options.like}" is both --like and a task.`);
  }
  const existingProject = namedProjects.find((project) => project !== undefined);
  if (existingProject !== undefined) {
    // A task name makes a new project: given an existing one's, it would copy the reference beside it, not use it.
    const existing = readProjectConfiguration(tree, existingProject);
    const role = existing.tags?.includes(CONTRACTS_TAG)
      ? 'the contracts library'
      : existing.tags?.includes(REFERENCE_TAG)
        ? 'a reference'
        : existing.tags?.includes(TASK_TAG)
          ? 'a task already'
          : undefined;
    throw new Error(
      `A project named "${existingProject}" already exists (${existing.root}). Task names make new projects` +
        (role
          ? `, and "${existingProject}" is ${role}: give the new task a name no project has.`
          : `: to make "${existingProject}" a task, use --project: nx g fanout:task --project=${existingProject} --like=${options.like}. ` +
            `For a new project, give a name no project has.`),
    );
  }
  const contracts = readContractsLibrary(tree, options.contracts ?? referenceContracts(tree, like) ?? defaultContracts(tree));
  const agent = options.agent ?? DEFAULT_AGENT;
  if (!AGENTS.has(agent)) throw new Error(`Unknown agent "${agent}". Known agents: ${[...AGENTS.keys()].join(', ')}.`);
  if (agent === 'command') {
    if (!options.command || (splitTemplate(options.command)[0] ?? '').trim() === '') {
      throw new Error('The command agent needs a command template with a program: --command="node agent.js {promptFile}".');
    }
  }
  const scope = options.scope?.split(',').map((entry) => assertInsideProject(entry.trim(), '--scope'));
  if (options.timeout !== undefined) parseDuration(options.timeout, '--timeout');
  const prompt = options.prompt?.trim();
  if (options.prompt !== undefined && !prompt) throw new Error('--prompt is empty: say what the sessions should build, or leave it out.');
  const scaffoldEntity = tree
    .children(joinPathFragments(like.root, 'src', 'lib'))
    .map((file) => SCAFFOLD_HANDLER.exec(file)?.[1])
    .find((entity) => entity !== undefined);
  const referenceSubject = recordedSubject(like) ?? scaffoldEntity ?? defaultSubject(options.like);
  const reference = { name: options.like, root: like.root, subject: referenceSubject };
  const common = {
    reference,
    contracts,
    agent,
    command: options.command,
    scope,
    timeout: options.timeout,
    wire: [] as WiredFile[],
    prompt,
    skipFormat: options.skipFormat ?? false,
  };

  if (options.project !== undefined) {
    const existing = readProjectConfiguration(tree, options.project);
    if (tree.exists(joinPathFragments(existing.root, ASSIGNMENT_FILE))) {
      throw new Error(
        `"${options.project}" is a task already: ${existing.root}/${ASSIGNMENT_FILE} exists. Edit it, or delete it to start again.`,
      );
    }
    const subject = options.subject ?? siblingSubject(options.like, referenceSubject, options.project);
    const wire = wiredFiles(tree, options.wire, [{ name: options.project, root: existing.root }], scope, [reference.name, contracts.name]);
    return { ...common, wire, tasks: [], shape: 'sibling', existing: { name: options.project, root: existing.root, subject } };
  }

  const shape: TaskShape = options.generator ? 'generator' : scaffoldEntity && contracts.scaffold ? 'scaffold' : 'sibling';
  if (options.generator) loadGenerator(tree.root, options.generator);
  // A task replicates its reference, tests included: it is linted and tested as the reference is.
  const referenceChecks = projectLintAndTest(tree, like.root);
  const lintAndTest: LintAndTest = {
    linter: assertOneOf(options.linter, LINTERS, '--linter') ?? referenceChecks.linter,
    unitTestRunner: assertOneOf(options.unitTestRunner, UNIT_TEST_RUNNERS, '--unitTestRunner') ?? referenceChecks.unitTestRunner,
  };
  if (shape === 'sibling' && (options.linter !== undefined || options.unitTestRunner !== undefined)) {
    throw new Error(
      `--linter and --unitTestRunner choose how a new library is made; a task of "${options.like}" copies its configuration. ` +
        `Leave them out, or make the projects with --generator=<plugin:generator>.`,
    );
  }
  const tasks: TaskPlan[] = [];
  for (const task of names) {
    if (shape === 'scaffold' && agent === 'pattern' && contracts.scaffold) {
      const entity = entityNames(task);
      if (!contracts.scaffold.collections.includes(entity.plural)) {
        throw new Error(
          `The contracts library "${contracts.name}" has no "${entity.singular}" entity, which the pattern agent needs for the task "${task}". ` +
            `Add it first: nx g fanout:contracts ${contracts.name} --entities=${entity.singular}`,
        );
      }
    }
    const subject = shape === 'scaffold' ? task : siblingSubject(options.like, referenceSubject, task);
    const sibling: SiblingNames =
      shape === 'scaffold'
        ? { name: task, folder: siblingName(options.like, referenceSubject, task.replace(/^@[^/]+\//, '')) }
        : siblingNames(tree, reference, task, subject);
    const placement = await placeLibrary(tree, {
      name: sibling.name,
      directory: options.directory ? `${options.directory}/${sibling.folder}` : undefined,
      // Beside the reference, in the folder that holds it.
      defaultRoot: joinPathFragments(posix.dirname(like.root), sibling.folder),
      tags: [TASK_TAG],
      extraTags: options.tags,
    });
    tasks.push({ ...placement, importPath: sibling.packageName ?? placement.importPath, ...lintAndTest, subject });
  }
  const wire = wiredFiles(tree, options.wire, tasks, scope, [reference.name, contracts.name]);
  return { ...common, wire, tasks, shape, generator: options.generator };
}

/**
 * `--wire`, checked for every task as a run checks it: files that exist, outside
 * the tasks' scope, each owned by a project that is none of the tasks.
 */
function wiredFiles(
  tree: Tree,
  value: string | undefined,
  tasks: readonly { name: string; root: string }[],
  scope: string[] | undefined,
  readOnly: readonly string[],
): WiredFile[] {
  const paths = listOption(value).map((entry) => {
    const checked = wiredPath(entry);
    if ('problem' in checked) throw new Error(`--wire: ${checked.problem.replace(/^"wire" entry /, '')}`);
    return checked.path;
  });
  if (paths.length === 0) return [];
  const projects = new Map([...getProjects(tree)].map(([name, project]) => [name, project.root]));
  for (const task of tasks) projects.set(task.name, task.root);
  const names = new Set(tasks.map((task) => task.name));
  let wired: WiredFile[] = [];
  for (const task of tasks) {
    wired = resolveWiredFiles(
      paths,
      { project: task.name, file: `--wire of task ${task.name}`, root: task.root, scope: scope ?? [...DEFAULT_SCOPE] },
      projects,
      names,
      (path) => tree.exists(path) && tree.isFile(path),
      readOnly,
    );
  }
  return wired;
}

/**
 * Lets the project that owns a wired file import a task's project, so the
 * session's edit there typechecks: in a TypeScript-solution workspace, a
 * workspace dependency in its package.json and a TS reference in its tsconfigs;
 * in a path-mapped workspace the import resolves already.
 */
function dependOnTask(tree: Tree, owner: { root: string }, task: { root: string; importPath: string }): void {
  const manifest = joinPathFragments(owner.root, 'package.json');
  const tsSolution = tree.exists(joinPathFragments(task.root, 'package.json')) && tree.exists('tsconfig.json');
  if (!tsSolution) return;
  if (owner.root !== '.' && tree.exists(manifest)) addWorkspaceDependency(tree, manifest, task.importPath);
  const target = joinPathFragments(task.root, 'tsconfig.lib.json');
  if (!tree.exists(target)) return;
  for (const config of ['tsconfig.app.json', 'tsconfig.lib.json', 'tsconfig.spec.json']) {
    const path = joinPathFragments(owner.root, config);
    if (!tree.exists(path)) continue;
    updateJsonKeepingLayout(tree, path, (json) => {
      const reference = posix.relative(owner.root, target);
      const references: { path: string }[] = json.references ?? [];
      if (!references.some((entry) => entry.path === reference)) references.push({ path: reference });
      json.references = references;
      return json;
    });
  }
}

/** The assignment every task gets unless --prompt says otherwise. */
export function defaultAssignment(task: string, reference: string, contracts: string): string {
  return `Build ${task} following the same pattern as ${reference}, using the types in ${contracts}.`;
}

/**
 * `nx g fanout:task dashboard,profile --like=feature-settings`: one project per task,
 * a sibling of the reference made like it (or by `--generator`), holding the
 * assignment (`fanout.md`) from which the plugin infers its `fanout` target. With
 * `--project`, an existing project becomes a task: only its fanout.md is written.
 */
export async function taskGenerator(tree: Tree, schema: TaskGeneratorSchema): Promise<GeneratorCallback> {
  const options = await normalizeOptions(tree, schema);
  await initGenerator(tree, { skipFormat: true });
  const callbacks: GeneratorCallback[] = [];
  const assignment = (name: string, root: string, subject: string | undefined) =>
    tree.write(
      joinPathFragments(root, ASSIGNMENT_FILE),
      renderAssignment({
        like: options.reference.name,
        contracts: options.contracts.name,
        agent: options.agent,
        command: options.command,
        subject,
        scope: options.scope,
        timeout: options.timeout,
        ...(options.wire.length > 0 ? { wire: options.wire.map((file) => file.path) } : {}),
        text: options.prompt?.replace(/<name>/g, name) ?? defaultAssignment(name, options.reference.name, options.contracts.name),
      }),
    );

  if (options.existing) {
    assignment(options.existing.name, options.existing.root, options.existing.subject);
    if (!options.skipFormat) await formatFiles(tree);
    return () => undefined;
  }

  for (const plan of options.tasks) {
    if (options.shape === 'sibling') {
      callbacks.push(
        createSibling(tree, {
          name: plan.name,
          packageName: plan.importPath,
          root: plan.root,
          reference: options.reference,
          subjects: { reference: options.reference.subject, task: plan.subject },
          tags: plan.tags.filter((tag) => tag !== TASK_TAG),
        }),
      );
      assignment(plan.name, plan.root, plan.subject);
      continue;
    }
    if (options.shape === 'generator') {
      callbacks.push(await runUserGenerator(tree, options.generator as string, plan, options.contracts));
      assignment(plan.name, plan.root, plan.subject);
      continue;
    }
    const library = await createLibrary(tree, plan);
    callbacks.push(library.install);
    addLibraryDependency(tree, library, options.contracts);
    dependOnContracts(tree, plan.name, options.contracts.name);
    tree.write(joinPathFragments(library.root, 'src', 'index.ts'), taskPlaceholder(plan.name));
    assignment(plan.name, plan.root, undefined);
  }
  const owners = [...new Set(options.wire.map((file) => file.project))];
  for (const plan of options.tasks) {
    const importPath = importPathOf(tree, plan.root) ?? plan.importPath;
    for (const owner of owners) {
      const root = getProjects(tree).get(owner)?.root;
      if (root !== undefined) dependOnTask(tree, { root }, { root: plan.root, importPath });
    }
  }
  if (!options.skipFormat) await formatFiles(tree);
  return runTasksInSerial(...callbacks);
}

/**
 * `--generator`: the user's generator makes the project at the planned folder; fanout
 * then empties its sources down to the placeholder, tags it and makes it depend on
 * the contracts, as it does for the projects it makes itself.
 */
async function runUserGenerator(tree: Tree, spec: string, plan: TaskPlan, contracts: ContractsLibrary): Promise<GeneratorCallback> {
  const generator = loadGenerator(tree.root, spec);
  const before = new Set(getProjects(tree).keys());
  const callback = await generator(tree, {
    directory: plan.root,
    name: plan.name.replace(/^@[^/]+\//, ''),
    importPath: plan.importPath,
    linter: plan.linter,
    unitTestRunner: plan.unitTestRunner,
    skipFormat: true,
  });
  const created = [...getProjects(tree)].find(([name, project]) => !before.has(name) && project.root === plan.root);
  if (!created) {
    throw new Error(
      `--generator ${spec} made no project at ${plan.root}. Choose a generator that creates a project in the --directory it is given.`,
    );
  }
  const [name, project] = created;
  for (const file of listTreeFiles(tree, joinPathFragments(project.root, 'src'))) tree.delete(file);
  tree.write(joinPathFragments(project.root, 'src', 'index.ts'), taskPlaceholder(name));
  const configuration = readProjectConfiguration(tree, name);
  configuration.tags = [...new Set([...(configuration.tags ?? []), ...plan.tags])];
  updateProjectConfiguration(tree, name, configuration);
  const tsSolution = tree.exists(joinPathFragments(project.root, 'package.json')) && tree.exists('tsconfig.json');
  addLibraryDependency(tree, { name, root: project.root, importPath: plan.importPath, tsSolution, install: () => undefined }, contracts);
  if (!tsSolution) dependOnContracts(tree, name, contracts.name);
  if (name !== plan.name) logger.info(`fanout:task: ${spec} named the project "${name}".`);
  return () => (typeof callback === 'function' ? callback() : undefined);
}

/** The task's project depends on the contracts even before its session writes an import of them. */
function dependOnContracts(tree: Tree, project: string, contracts: string): void {
  const configuration = readProjectConfiguration(tree, project);
  configuration.implicitDependencies = [...new Set([...(configuration.implicitDependencies ?? []), contracts])];
  updateProjectConfiguration(tree, project, configuration);
}

export default taskGenerator;

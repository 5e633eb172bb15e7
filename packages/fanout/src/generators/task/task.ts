import {
  formatFiles,
  getProjects,
  joinPathFragments,
  runTasksInSerial,
  updateProjectConfiguration,
  readProjectConfiguration,
  type GeneratorCallback,
  type Tree,
} from '@nx/devkit';
import { assertInsideProject, DEFAULT_AGENT, parseDuration, renderAssignment, taskPlaceholder } from '../../core/session/assignment';
import { splitTemplate } from '../../core/agents/argv';
import { AGENTS } from '../../core/agents/registry';
import { assertValidName, entityNames } from '../../core/naming/names';
import { initGenerator } from '../init/init';
import { addLibraryDependency, createLibrary, planLibrary, readContractsLibrary } from '../projects';
import type { TaskGeneratorSchema } from './schema';
import { ASSIGNMENT_FILE, CONTRACTS_TAG, REFERENCE_TAG, TASK_TAG } from '../../constants';

function defaultContracts(tree: Tree): string {
  const contracts = [...getProjects(tree)].filter(([, project]) => project.tags?.includes(CONTRACTS_TAG)).map(([name]) => name);
  if (contracts.length === 1) return contracts[0];
  throw new Error(
    contracts.length === 0
      ? 'There is no contracts library (a project tagged fanout:contracts). Create one: nx g fanout:contracts contracts --entities=user'
      : `There are several contracts libraries (${contracts.join(', ')}): choose one with --contracts=<project>.`,
  );
}

/**
 * `nx g fanout:task orders,products --like=users`: one project per task,
 * tagged fanout:task and depending on the contracts, holding the assignment
 * (`fanout.md`) from which the plugin infers its `fanout` target.
 */
export async function taskGenerator(tree: Tree, options: TaskGeneratorSchema): Promise<GeneratorCallback> {
  const names = [
    ...new Set(
      String(options.names ?? '')
        .split(',')
        .map((name) => name.trim())
        .filter(Boolean),
    ),
  ];
  if (names.length === 0) throw new Error('Name at least one task: nx g fanout:task orders,products --like=users');
  for (const name of names) assertValidName(name, 'task name');
  if (!options.like) throw new Error('Name the reference the tasks follow: --like=<project> (a project tagged fanout:reference).');
  const projects = getProjects(tree);
  const like = projects.get(options.like);
  if (!like)
    throw new Error(
      `There is no project named "${options.like}" to follow (--like). Create the reference first: nx g fanout:reference ${options.like} --contracts=<contracts>`,
    );
  if (!like.tags?.includes(REFERENCE_TAG)) {
    throw new Error(
      `The project "${options.like}" is not a reference (it lacks the tag "${REFERENCE_TAG}"); --like must name one made by nx g fanout:reference.`,
    );
  }
  if (names.includes(options.like)) throw new Error(`A task cannot follow itself: "${options.like}" is both --like and a task name.`);
  const contracts = readContractsLibrary(tree, options.contracts ?? defaultContracts(tree));
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

  for (const name of names) {
    if (agent === 'pattern') {
      const entity = entityNames(name);
      if (!contracts.collections.includes(entity.plural)) {
        throw new Error(
          `The contracts library "${contracts.name}" has no "${entity.singular}" entity, which the pattern agent needs for the task "${name}". ` +
            `Add it first: nx g fanout:contracts ${contracts.name} --entities=${entity.singular}`,
        );
      }
    }
    planLibrary(tree, { name, directory: options.directory ? `${options.directory}/${name}` : undefined });
  }

  await initGenerator(tree, { skipFormat: true });
  const tasks: GeneratorCallback[] = [];
  for (const name of names) {
    const library = await createLibrary(tree, {
      name,
      directory: options.directory ? `${options.directory}/${name}` : undefined,
      tags: [TASK_TAG],
      extraTags: options.tags,
    });
    tasks.push(library.install);
    addLibraryDependency(tree, library, contracts);
    const project = readProjectConfiguration(tree, name);
    project.implicitDependencies = [...new Set([...(project.implicitDependencies ?? []), contracts.name])];
    updateProjectConfiguration(tree, name, project);
    tree.write(joinPathFragments(library.root, 'src', 'index.ts'), taskPlaceholder(name));
    tree.write(
      joinPathFragments(library.root, ASSIGNMENT_FILE),
      renderAssignment({
        like: options.like,
        contracts: contracts.name,
        agent,
        command: options.command,
        scope,
        timeout: options.timeout,
        text:
          prompt?.replace(/<name>/g, name) ??
          `Build the ${name} API following the same pattern as the ${options.like} API, using the types in ${contracts.name}.`,
      }),
    );
  }
  if (!options.skipFormat) await formatFiles(tree);
  return runTasksInSerial(...tasks);
}

export default taskGenerator;

/**
 * The shortest chain of projects from `from` to the first project `isTarget`
 * accepts, both ends included, following each project's direct dependencies;
 * undefined when no chain leads there. A project's dependencies are asked for
 * only once it is reached, so a search reads no more of the workspace than the
 * part `from` depends on.
 */
export function dependencyPath(
  from: string,
  isTarget: (project: string) => boolean,
  dependenciesOf: (project: string) => Iterable<string>,
): string[] | undefined {
  const parents = new Map<string, string | undefined>([[from, undefined]]);
  const queue = [from];
  for (let index = 0; index < queue.length; index++) {
    const project = queue[index];
    for (const next of dependenciesOf(project)) {
      if (parents.has(next)) continue;
      parents.set(next, project);
      if (isTarget(next)) {
        const path = [next];
        for (let parent = parents.get(next); parent !== undefined; parent = parents.get(parent)) path.unshift(parent);
        return path;
      }
      queue.push(next);
    }
  }
  return undefined;
}

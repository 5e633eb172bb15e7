import type { ProjectGraph } from '@nx/devkit';

/**
 * @nx/devkit for generator specs, where an Nx Tree is the whole workspace. Some
 * of Nx's own generators (@nx/eslint's init, through @nx/js's library generator)
 * build the project graph of the workspace the process runs in: here, this
 * repository, with a plugin worker started per plugin, every time, for a graph
 * that has nothing to do with the Tree. They get an empty graph instead. Used as
 * `jest.mock('@nx/devkit', () => require('…/testing/tree-project-graph').devkitForTrees())`.
 */
export function devkitForTrees(): typeof import('@nx/devkit') {
  const actual = jest.requireActual<typeof import('@nx/devkit')>('@nx/devkit');
  const empty: ProjectGraph = { nodes: {}, dependencies: {}, externalNodes: {} };
  return { ...actual, createProjectGraphAsync: async () => empty };
}

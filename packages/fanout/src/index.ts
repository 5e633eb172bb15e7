// Nx loads this entry to infer the fanout targets, in every nx command: it holds only what inference needs.
// The generators, which load @nx/js and the TypeScript compiler, are `fanout/generators`; Nx itself finds
// them, and the executors, by path through generators.json and executors.json.
export { createNodes, createNodesV2, type FanoutPluginOptions } from './plugin';
export type { InitGeneratorSchema } from './generators/init/schema';
export type { ContractsGeneratorSchema } from './generators/contracts/schema';
export type { ReferenceGeneratorSchema } from './generators/reference/schema';
export type { CiGeneratorSchema } from './generators/ci/schema';

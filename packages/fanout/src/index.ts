export { initGenerator } from './generators/init/init';
export { contractsGenerator } from './generators/contracts/contracts';
export { referenceGenerator } from './generators/reference/reference';
export { taskGenerator } from './generators/task/task';
export type { InitGeneratorSchema } from './generators/init/schema';
export type { ContractsGeneratorSchema } from './generators/contracts/schema';
export type { ReferenceGeneratorSchema } from './generators/reference/schema';
export { createNodes, createNodesV2, type FanoutPluginOptions } from './plugin';

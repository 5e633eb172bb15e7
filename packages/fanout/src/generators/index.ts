export { initGenerator } from './init/init';
export { contractsGenerator } from './contracts/contracts';
export { referenceGenerator } from './reference/reference';
export { taskGenerator } from './task/task';
export { ciGenerator } from './ci/ci';
export type { InitGeneratorSchema } from './init/schema';
export type { ContractsGeneratorSchema } from './contracts/schema';
export type { ReferenceGeneratorSchema } from './reference/schema';
export type { CiGeneratorSchema } from './ci/schema';

import { convertNxGenerator } from '@nx/devkit';
import { ciGenerator } from '../generators/ci/ci';
import { contractsGenerator } from '../generators/contracts/contracts';
import { initGenerator } from '../generators/init/init';
import { referenceGenerator } from '../generators/reference/reference';
import { taskGenerator } from '../generators/task/task';
import { takeGenerator } from '../generators/take/take';

// The same generators as Angular devkit schematics, for `ng g fanout:<name>`
// and any tool that drives @angular-devkit/schematics.
export const init = convertNxGenerator(initGenerator);
export const contracts = convertNxGenerator(contractsGenerator);
export const reference = convertNxGenerator(referenceGenerator);
export const task = convertNxGenerator(taskGenerator);
export const ci = convertNxGenerator(ciGenerator);
export const take = convertNxGenerator(takeGenerator);

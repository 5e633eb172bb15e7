import type * as DevkitInternal from '@nx/devkit/internal';
import type * as JsInternal from '@nx/js/internal';

/**
 * The helpers Nx's own generators use to place a project and to pick its linter
 * and test runner. They are not part of the public API: Nx 23 exports them from
 * `@nx/devkit/internal` and `@nx/js/internal`, Nx 21 and 22 only from the files
 * that define them. fanout supports all three, so each is taken from wherever
 * the installed Nx has it.
 */
export interface NxGeneratorHelpers {
  determineProjectNameAndRootOptions: typeof DevkitInternal.determineProjectNameAndRootOptions;
  getRelativeCwd: typeof DevkitInternal.getRelativeCwd;
  normalizeLinterOption: typeof JsInternal.normalizeLinterOption;
  normalizeUnitTestRunnerOption: typeof JsInternal.normalizeUnitTestRunnerOption;
  isUsingTsSolutionSetup: typeof JsInternal.isUsingTsSolutionSetup;
}

/** Where each helper lives, newest Nx first. */
export const HELPER_MODULES: Record<keyof NxGeneratorHelpers, string[]> = {
  determineProjectNameAndRootOptions: ['@nx/devkit/internal', '@nx/devkit/src/generators/project-name-and-root-utils'],
  getRelativeCwd: ['@nx/devkit/internal', '@nx/devkit/src/generators/artifact-name-and-directory-utils'],
  normalizeLinterOption: ['@nx/js/internal', '@nx/js/src/utils/generator-prompts'],
  normalizeUnitTestRunnerOption: ['@nx/js/internal', '@nx/js/src/utils/generator-prompts'],
  isUsingTsSolutionSetup: ['@nx/js/internal', '@nx/js/src/utils/typescript/ts-solution-setup'],
};

/** Errors that mean "not at this path in this Nx version", as opposed to a module that fails while loading. */
const NOT_HERE = new Set(['MODULE_NOT_FOUND', 'ERR_PACKAGE_PATH_NOT_EXPORTED']);

/** The export `name` of the first of `modules` that has it. */
export function loadHelper<K extends keyof NxGeneratorHelpers>(
  name: K,
  modules: readonly string[] = HELPER_MODULES[name],
  load: (specifier: string) => Record<string, unknown> = require,
): NxGeneratorHelpers[K] {
  for (const specifier of modules) {
    let exports: Record<string, unknown>;
    try {
      exports = load(specifier);
    } catch (error) {
      if (NOT_HERE.has((error as NodeJS.ErrnoException).code ?? '')) continue;
      throw error;
    }
    if (typeof exports[name] === 'function') return exports[name] as NxGeneratorHelpers[K];
  }
  throw new Error(
    `fanout needs Nx's ${name}, which the installed Nx does not provide (looked in ${modules.join(', ')}). ` +
      'Install the same version of nx, @nx/devkit and @nx/js, from 21 to 23.',
  );
}

const loaded: Partial<NxGeneratorHelpers> = {};

/** Nx's generator helper `name`, loaded on first use so that merely importing fanout never fails. */
export function nxHelper<K extends keyof NxGeneratorHelpers>(name: K): NxGeneratorHelpers[K] {
  const helper = loaded[name] ?? loadHelper(name);
  loaded[name] = helper;
  return helper;
}

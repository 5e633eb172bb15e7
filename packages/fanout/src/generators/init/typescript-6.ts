import { readJson, updateJson, type Tree } from '@nx/devkit';

/**
 * What TypeScript 6 breaks in an Nx 23 workspace, and the smallest repair.
 *
 * TypeScript 6 loads no `@types/*` package unless `compilerOptions.types` names it
 * (TypeScript 5 loaded them all). Jest reads a project's `jest.config.cts` through
 * ts-node, with the project's own tsconfig.json, which sets no `types`: `require`,
 * `module` and `__dirname` are unknown (TS2591), and every project's `test` fails,
 * those fanout's generators create included. Once Node's types are back, the
 * `moduleResolution: node10` that Nx's jest plugin hands ts-node is the next error
 * (TS5107, deprecated in TypeScript 6) unless `ignoreDeprecations` is "6.0".
 *
 * The repair goes into the `ts-node` section of the tsconfig every project extends:
 * only ts-node reads it, so `tsc`'s builds and type-checks see the same options as before.
 */

/** The version of the workspace's TypeScript, and where it was read. */
export interface TypeScriptVersion {
  major: number;
  /** The installed version, or the range package.json declares. */
  version: string;
  source: 'installed' | 'declared';
}

/** The tsconfig every project extends, and what its `ts-node` section must gain. */
export interface ConfigLoaderFix {
  file: string;
  compilerOptions: { types?: string[]; ignoreDeprecations?: string };
}

/** The tsconfig at the root of every project's `extends` chain: the base of an Nx workspace, else the root one. */
export const ROOT_TSCONFIGS = ['tsconfig.base.json', 'tsconfig.json'];

interface TsConfig {
  compilerOptions?: Record<string, unknown>;
  'ts-node'?: { compilerOptions?: Record<string, unknown> };
}

interface Manifest {
  version?: string;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

function readManifest(tree: Tree, path: string): Manifest | undefined {
  if (!tree.exists(path)) return undefined;
  try {
    return readJson<Manifest>(tree, path);
  } catch {
    return undefined;
  }
}

/** `~6.0.3`, `^6`, `>=6.0.0`, `6.0.3` → 6; a tag, a workspace or catalog reference → undefined. */
function lowestMajor(range: string): number | undefined {
  const match = /^\s*(?:[~^]|>=?|=)?\s*v?(\d+)/.exec(range);
  return match ? Number(match[1]) : undefined;
}

/**
 * The workspace's TypeScript: the installed one (what runs now), else the lowest
 * version package.json's range allows (what an install gives); undefined when
 * there is no TypeScript or its version cannot be told.
 */
export function typescriptVersion(tree: Tree): TypeScriptVersion | undefined {
  const installed = readManifest(tree, 'node_modules/typescript/package.json')?.version;
  const installedMajor = installed === undefined ? undefined : lowestMajor(installed);
  if (installed !== undefined && installedMajor !== undefined) return { major: installedMajor, version: installed, source: 'installed' };
  const manifest = readManifest(tree, 'package.json');
  const declared = manifest?.devDependencies?.['typescript'] ?? manifest?.dependencies?.['typescript'];
  const declaredMajor = declared === undefined ? undefined : lowestMajor(declared);
  return declared !== undefined && declaredMajor !== undefined
    ? { major: declaredMajor, version: declared, source: 'declared' }
    : undefined;
}

/** What the root tsconfig's `ts-node` section lacks under TypeScript 6; undefined when nothing (or there is no root tsconfig). */
export function configLoaderFix(tree: Tree): ConfigLoaderFix | undefined {
  const file = ROOT_TSCONFIGS.find((path) => tree.exists(path));
  if (!file) return undefined;
  const config = readJson<TsConfig>(tree, file);
  const main = config.compilerOptions ?? {};
  const loader = config['ts-node']?.compilerOptions ?? {};
  const compilerOptions: ConfigLoaderFix['compilerOptions'] = {};
  // A `types` the workspace chose itself (Nx's TypeScript 6 migration writes ["*"]) stays as it is.
  if (!('types' in main) && !('types' in loader)) compilerOptions.types = ['node'];
  if (main['ignoreDeprecations'] !== '6.0' && !('ignoreDeprecations' in loader)) compilerOptions.ignoreDeprecations = '6.0';
  return Object.keys(compilerOptions).length > 0 ? { file, compilerOptions } : undefined;
}

export function applyConfigLoaderFix(tree: Tree, fix: ConfigLoaderFix): void {
  updateJson<TsConfig>(tree, fix.file, (config) => ({
    ...config,
    'ts-node': {
      ...config['ts-node'],
      compilerOptions: { ...config['ts-node']?.compilerOptions, ...fix.compilerOptions },
    },
  }));
}

/** Whether Node's type declarations are there for `"types": ["node"]` to load. */
export function hasNodeTypes(tree: Tree): boolean {
  const manifest = readManifest(tree, 'package.json');
  return (
    manifest?.devDependencies?.['@types/node'] !== undefined ||
    manifest?.dependencies?.['@types/node'] !== undefined ||
    tree.exists('node_modules/@types/node/package.json')
  );
}

/** The section to add, as it reads in the tsconfig. */
export function fixText(fix: ConfigLoaderFix): string {
  return JSON.stringify({ 'ts-node': { compilerOptions: fix.compilerOptions } }).slice(1, -1);
}

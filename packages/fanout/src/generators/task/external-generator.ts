import type { GeneratorCallback, Tree } from '@nx/devkit';
import { readFileSync } from 'fs';
import { dirname, join } from 'path';

type Generator = (tree: Tree, options: Record<string, unknown>) => Promise<GeneratorCallback | void> | GeneratorCallback | void;

/**
 * A generator of the user's choice (`--generator=@nx/react:library`), loaded from the
 * workspace the way `nx g` finds it: the plugin's package.json names its generators'
 * collection (`generators`, else `schematics`), whose entry names the implementation.
 */
export function loadGenerator(workspaceRoot: string, spec: string): Generator {
  const match = /^((?:@[^/:\s]+\/)?[^:\s]+):([^:\s]+)$/.exec(spec.trim());
  if (!match) throw new Error(`--generator "${spec}" is not <plugin>:<generator>, for example @nx/react:library.`);
  const [, plugin, name] = match;
  let manifestPath: string;
  try {
    manifestPath = require.resolve(`${plugin}/package.json`, { paths: [workspaceRoot, process.cwd()] });
  } catch {
    throw new Error(`--generator ${spec}: the plugin "${plugin}" is not installed in this workspace. Add it first: nx add ${plugin}`);
  }
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf-8')) as { generators?: string; schematics?: string };
  const collectionFile = manifest.generators ?? manifest.schematics;
  if (!collectionFile) throw new Error(`--generator ${spec}: the package "${plugin}" has no generators.`);
  const collectionPath = join(dirname(manifestPath), collectionFile);
  const collection = JSON.parse(readFileSync(collectionPath, 'utf-8')) as {
    generators?: Record<string, { factory?: string; implementation?: string; aliases?: string[] }>;
    schematics?: Record<string, { factory?: string; implementation?: string; aliases?: string[] }>;
  };
  const entries = { ...collection.schematics, ...collection.generators };
  const entry = entries[name] ?? Object.values(entries).find((candidate) => candidate.aliases?.includes(name));
  if (!entry) {
    throw new Error(`--generator ${spec}: "${plugin}" has no generator "${name}" (it has: ${Object.keys(entries).sort().join(', ')}).`);
  }
  const implementation = entry.implementation ?? entry.factory;
  if (!implementation) throw new Error(`--generator ${spec}: its collection names no implementation.`);
  const [file, exported] = implementation.split('#');
  const module = require(require.resolve(join(dirname(collectionPath), file))) as Record<string, unknown>;
  const generator = (
    exported ? module[exported] : (module['default'] ?? module[Object.keys(module).find((key) => /Generator$/.test(key)) ?? ''])
  ) as Generator | undefined;
  if (typeof generator !== 'function') throw new Error(`--generator ${spec}: ${implementation} exports no generator function.`);
  return generator;
}

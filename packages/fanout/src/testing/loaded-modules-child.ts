import { resolve } from 'path';

/**
 * `node -r @swc-node/register loaded-modules-child.ts <module>`: requires `module` in a
 * fresh process, as Nx loads a plugin, and prints its export names and the files that
 * loading it loaded (not those the TypeScript loader had loaded before), as JSON.
 */
const before = new Set(Object.keys(require.cache));
const loaded = require(resolve(process.argv[2])) as Record<string, unknown>;
const modules = Object.keys(require.cache).filter((path) => !before.has(path));
process.stdout.write(`${JSON.stringify({ exports: Object.keys(loaded), modules })}\n`);

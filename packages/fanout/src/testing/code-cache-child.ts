import { requireWithCodeCache } from '../core/system/code-cache';

/**
 * `node -r @swc-node/register code-cache-child.ts <file> <cacheDir>`: loads `file`
 * (a module whose `add` adds two numbers) through the code cache, as a new process
 * does, and prints what became of the cache and what `add(2, 3)` gave, as JSON.
 */
const [file, cacheDir] = process.argv.slice(2);
const loaded = requireWithCodeCache(file, cacheDir, (outcome) => {
  process.stdout.write(`${JSON.stringify({ outcome, sum: (loaded as { add: (a: number, b: number) => number }).add(2, 3) })}\n`);
});

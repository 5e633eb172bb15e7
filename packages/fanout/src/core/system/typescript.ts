import { dirname } from 'path';
import type { ts as Ts } from 'ts-morph';
import { defaultCodeCacheDir, requireWithCodeCache } from './code-cache';

let loaded: typeof Ts | undefined;

/**
 * The compiler alone: the copy of TypeScript that ts-morph ships (in
 * `@ts-morph/common`), without the rest of ts-morph, which the checks do not use
 * and which costs another 60 ms or so to load; ts-morph's own export where that
 * file is not where it is expected. Through V8's code cache (`code-cache.ts`):
 * compiling its 9 MB is most of the cost of loading it.
 */
function loadCompiler(): typeof Ts {
  let file: string;
  try {
    file = require.resolve('@ts-morph/common/dist/typescript.js', { paths: [dirname(require.resolve('ts-morph'))] });
  } catch {
    return (require('ts-morph') as typeof import('ts-morph')).ts;
  }
  const cacheDir = defaultCodeCacheDir();
  try {
    if (cacheDir) return requireWithCodeCache(file, cacheDir) as typeof Ts;
  } catch {
    // Loaded the usual way below.
  }
  return require(file) as typeof Ts;
}

/**
 * TypeScript's compiler API (the copy ts-morph ships), loaded on first use.
 * Loading it costs 0.2 to 0.5 s of CPU, so a session loads it only when it reads
 * code, and the run executor loads it while the agents work (see `warmChecks`),
 * not before a session starts.
 */
export const typescript: typeof Ts = new Proxy({} as typeof Ts, {
  get(_target, key) {
    loaded ??= loadCompiler();
    return Reflect.get(loaded, key);
  },
});

/** Whether the compiler API has been loaded in this process. */
export function typescriptLoaded(): boolean {
  return loaded !== undefined;
}

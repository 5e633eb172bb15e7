import type { ts as Ts } from 'ts-morph';

let loaded: typeof Ts | undefined;

/**
 * TypeScript's compiler API (the copy ts-morph ships), loaded on first use.
 * Loading it costs about half a second of CPU; every Nx task is a process of
 * its own, so a session loads it only when it reads code, and the run executor
 * loads it while the agent works (see `warmChecks`), not before the session starts.
 */
export const typescript: typeof Ts = new Proxy({} as typeof Ts, {
  get(_target, key) {
    loaded ??= (require('ts-morph') as typeof import('ts-morph')).ts;
    return Reflect.get(loaded, key);
  },
});

/** Whether the compiler API has been loaded in this process. */
export function typescriptLoaded(): boolean {
  return loaded !== undefined;
}

import { rmSync } from 'node:fs';

/**
 * Stops the registry started by global-setup.ts and removes the base workspaces; jest
 * runs this whether the tests passed or not.
 */
export default async function globalTeardown(): Promise<void> {
  await globalThis.fanoutE2eRegistry?.stop();
  globalThis.fanoutE2eRegistry = undefined;
  if (globalThis.fanoutE2eTemp && process.env.FANOUT_E2E_KEEP !== '1') {
    rmSync(globalThis.fanoutE2eTemp, { recursive: true, force: true });
  }
  globalThis.fanoutE2eTemp = undefined;
}

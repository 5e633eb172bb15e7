/** Stops the registry started by global-setup.ts; jest runs this whether the tests passed or not. */
export default async function globalTeardown(): Promise<void> {
  await globalThis.fanoutE2eRegistry?.stop();
  globalThis.fanoutE2eRegistry = undefined;
}

import {
  publishPlugin,
  startLocalRegistry,
  type LocalRegistry,
} from './local-registry';

declare global {
  // Read back by global-teardown.ts, which jest runs in the same context.
  var fanoutE2eRegistry: LocalRegistry | undefined;
}

/**
 * Starts the local registry and publishes the plugin to it. The tests find them through
 * process.env, which jest hands on to the test environments created after this runs:
 * FANOUT_E2E_REGISTRY (url), FANOUT_E2E_VERSION (published version) and
 * FANOUT_E2E_REGISTRY_ENV (JSON of the variables npm needs to use the registry).
 */
export default async function globalSetup(): Promise<void> {
  const registry = await startLocalRegistry();
  globalThis.fanoutE2eRegistry = registry;
  try {
    const version = await publishPlugin(registry);
    process.env.FANOUT_E2E_REGISTRY = registry.url;
    process.env.FANOUT_E2E_VERSION = version;
    process.env.FANOUT_E2E_REGISTRY_ENV = JSON.stringify(registry.env);
    console.log(`\nfanout@${version} published to ${registry.url}`);
  } catch (error) {
    // jest does not run the global teardown when the global setup fails.
    await registry.stop();
    globalThis.fanoutE2eRegistry = undefined;
    throw error;
  }
}

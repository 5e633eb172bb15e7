import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { publishPlugin, startLocalRegistry, type LocalRegistry } from './local-registry';
import { createBareWorkspace, e2eEnv } from './workspace';

declare global {
  // Read back by global-teardown.ts, which jest runs in the same context.
  var fanoutE2eRegistry: LocalRegistry | undefined;
  var fanoutE2eTemp: string | undefined;
}

/**
 * Starts the local registry, publishes the plugin to it and creates the bare workspace
 * every suite copies. The tests find them through process.env, which jest hands on to
 * the test environments created after this runs: FANOUT_E2E_REGISTRY (url),
 * FANOUT_E2E_VERSION (published version), FANOUT_E2E_REGISTRY_ENV (JSON of the variables
 * npm needs to use the registry) and FANOUT_E2E_BARE (the bare workspace).
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

    const temp = mkdtempSync(join(tmpdir(), 'fanout-e2e-base-'));
    globalThis.fanoutE2eTemp = temp;
    const bare = await createBareWorkspace(temp, 'e2e-ws', e2eEnv());
    process.env.FANOUT_E2E_BARE = bare.root;
  } catch (error) {
    // jest does not run the global teardown when the global setup fails.
    await registry.stop();
    globalThis.fanoutE2eRegistry = undefined;
    throw error;
  }
}

import { readNxJson, updateNxJson } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import landingTarget from './landing-target';

describe('the landing-target migration', () => {
  it('removes the cache: true an earlier nx add fanout wrote for the fanout target, and leaves other defaults alone', async () => {
    const tree = createTreeWithEmptyWorkspace();
    updateNxJson(tree, {
      ...readNxJson(tree),
      plugins: ['fanout'],
      targetDefaults: { fanout: { cache: true }, build: { cache: true }, agents: { cache: true, dependsOn: ['^build'] } },
    });
    await landingTarget(tree);
    expect(readNxJson(tree)?.targetDefaults).toEqual({ build: { cache: true }, agents: { cache: true, dependsOn: ['^build'] } });
  });

  it('follows the plugin targetName, keeping what else the defaults say', async () => {
    const tree = createTreeWithEmptyWorkspace();
    updateNxJson(tree, {
      ...readNxJson(tree),
      plugins: [{ plugin: 'fanout', options: { targetName: 'agents' } }],
      targetDefaults: { agents: { cache: true, inputs: ['default'] }, fanout: { cache: true } },
    });
    await landingTarget(tree);
    expect(readNxJson(tree)?.targetDefaults).toEqual({ agents: { inputs: ['default'] }, fanout: { cache: true } });
  });
});

import type { CreateNodesContextV2 } from '@nx/devkit';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { installedNx, SUPPORTED_NX_RANGE, unsupportedNxMessage } from './nx-version';

// semver, as npm reads ranges (it ships no types of its own).
const { satisfies } = jest.requireActual<{ satisfies: (version: string, range: string) => boolean }>('semver');

const manifest = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf-8')) as {
  dependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
};

describe('the Nx versions fanout supports', () => {
  it.each(['nx', '@nx/devkit', '@nx/js'])(
    'takes %s from the workspace, as a peer: every release of a supported major and its .0.0 prereleases',
    (name) => {
      expect(manifest.dependencies?.[name]).toBeUndefined();
      const range = manifest.peerDependencies?.[name] ?? '';
      expect(range).toBe(SUPPORTED_NX_RANGE);
      for (const version of ['21.0.0', '22.7.1', '23.0.0-rc.4', '23.0.0-beta.1', '23.2.1'])
        expect([version, satisfies(version, range)]).toEqual([version, true]);
      for (const version of ['20.8.2', '24.0.0-rc.0', '24.0.0']) expect([version, satisfies(version, range)]).toEqual([version, false]);
    },
  );

  it('supports every version of a supported major and says what to do about any other', () => {
    const at = (version: string) => unsupportedNxMessage({ version, manifest: '/ws/node_modules/nx/package.json' }, '/ws');
    for (const version of ['21.0.0', '23.0.0-rc.4', '23.1.0-beta.2', '23.2.1']) expect(at(version)).toBeUndefined();
    expect(at('24.0.0')).toBe(
      `fanout supports Nx 21 to 23 (${SUPPORTED_NX_RANGE}), but this workspace runs nx 24.0.0 (node_modules/nx/package.json). ` +
        'Its targets and generators may fail. Install nx, @nx/devkit and @nx/js at one version from 21 to 23, ' +
        'or a fanout release that supports Nx 24.',
    );
    expect(at('20.8.2')).toMatch(/runs nx 20\.8\.2 .* Install nx, @nx\/devkit and @nx\/js at one version from 21 to 23\.$/);
  });

  describe('in a workspace', () => {
    let workspaceRoot: string;
    beforeEach(() => {
      workspaceRoot = mkdtempSync(join(tmpdir(), 'fanout-nx-version-'));
      mkdirSync(join(workspaceRoot, 'libs', 'orders'), { recursive: true });
      writeFileSync(join(workspaceRoot, 'libs', 'orders', 'fanout.md'), '---\nlike: users\ncontracts: contracts\n---\n\nBuild orders.\n');
    });
    afterEach(() => rmSync(workspaceRoot, { recursive: true, force: true }));

    const installNx = (version: string) => {
      mkdirSync(join(workspaceRoot, 'node_modules', 'nx'), { recursive: true });
      writeFileSync(join(workspaceRoot, 'node_modules', 'nx', 'package.json'), JSON.stringify({ name: 'nx', version }));
    };

    it("reads the workspace's own nx, not the one fanout was built with", () => {
      installNx('23.0.0-rc.4');
      expect(installedNx(workspaceRoot)).toEqual({
        version: '23.0.0-rc.4',
        manifest: join(workspaceRoot, 'node_modules', 'nx', 'package.json'),
      });
    });

    it('warns once per process when the plugin loads under an Nx it does not support, and still infers the targets', async () => {
      installNx('24.0.0');
      const warnings: string[] = [];
      await jest.isolateModulesAsync(async () => {
        // A fresh process's modules: the plugin as Nx's plugin worker loads it.
        const { logger } = require('@nx/devkit') as typeof import('@nx/devkit');
        jest.spyOn(logger, 'warn').mockImplementation((message: string) => void warnings.push(message));
        const { createNodesV2 } = require('./plugin') as typeof import('./plugin');
        const context: CreateNodesContextV2 = { workspaceRoot, nxJsonConfiguration: { namedInputs: { production: ['default'] } } };
        for (let computation = 0; computation < 3; computation++) {
          const results = await createNodesV2[1](['libs/orders/fanout.md'], {}, context);
          expect(results[0][1].projects?.['libs/orders']?.targets).toHaveProperty('fanout');
        }
      });
      expect(warnings).toEqual([expect.stringContaining('but this workspace runs nx 24.0.0 (node_modules/nx/package.json)')]);
    });

    it('says nothing under a prerelease of a supported Nx', async () => {
      installNx('23.0.0-rc.4');
      const warn = jest.fn();
      await jest.isolateModulesAsync(async () => {
        const { warnOnceIfUnsupportedNx } = require('./nx-version') as typeof import('./nx-version');
        warnOnceIfUnsupportedNx(workspaceRoot, warn);
      });
      expect(warn).not.toHaveBeenCalled();
    });
  });
});

import { updateJson, type Tree } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import {
  installPackages,
  isOnPath,
  nodeInstallSystem,
  planInstall,
  workspacePackageManager,
  type InstallSystem,
} from './package-manager-install';

let workspaces = 0;

/** A workspace of its own name each time: installs are remembered per workspace and root package.json, for the process. */
function workspace(manifest: Record<string, unknown>, files: Record<string, string> = {}): Tree {
  const tree = createTreeWithEmptyWorkspace();
  tree.write('package.json', JSON.stringify({ name: `@ws/source-${++workspaces}`, private: true, workspaces: ['libs/*'], ...manifest }));
  for (const [path, content] of Object.entries(files)) tree.write(path, content);
  return tree;
}

const yarn4 = () => workspace({ packageManager: 'yarn@4.5.1' }, { 'yarn.lock': '__metadata:\n  version: 8\n' });
const only =
  (...programs: string[]) =>
  (program: string) =>
    programs.includes(program);

/** A system that runs nothing: it records what it would have run and what it said. */
function recording(
  onPath: (program: string) => boolean,
  status: number | null = 0,
): InstallSystem & { runs: string[][]; warnings: string[] } {
  const runs: string[][] = [];
  const warnings: string[] = [];
  return {
    runs,
    warnings,
    onPath,
    run: (argv: string[]) => (runs.push(argv), { status }),
    warn: (message: string) => void warnings.push(message),
  };
}

describe("the workspace's install after a generator", () => {
  it('picks the package manager as Nx does: nx.json, then the lock file, then package.json\'s "packageManager"', () => {
    expect(workspacePackageManager(yarn4())).toBe('yarn');
    expect(workspacePackageManager(workspace({}, { 'pnpm-lock.yaml': '' }))).toBe('pnpm');
    expect(workspacePackageManager(workspace({ packageManager: 'pnpm@9.15.0' }))).toBe('pnpm');
    expect(workspacePackageManager(workspace({}))).toBe('npm');
    const configured = yarn4();
    updateJson(configured, 'nx.json', (json) => ({ ...json, cli: { packageManager: 'pnpm' } }));
    expect(workspacePackageManager(configured)).toBe('pnpm');
  });

  it('runs the package manager when it is on PATH', () => {
    expect(planInstall(yarn4(), only('yarn', 'corepack'))).toEqual({ argv: ['yarn', 'install'] });
    expect(planInstall(workspace({}, { 'package-lock.json': '{}' }), only('npm'))).toEqual({ argv: ['npm', 'install'] });
    expect(planInstall(workspace({}, { 'pnpm-lock.yaml': '' }), only('pnpm'))).toEqual({
      argv: ['pnpm', 'install', '--no-frozen-lockfile'],
    });
  });

  it('goes through corepack in a Yarn 4 workspace whose yarn is not on PATH', () => {
    const system = recording(only('corepack', 'node', 'npm'));
    const tree = yarn4();
    installPackages(tree, system);
    expect(system.runs).toEqual([['corepack', 'yarn', 'install']]);
    expect(system.warnings).toEqual([]);
  });

  it('says once what to run by hand when neither the package manager nor corepack is on PATH, and runs nothing', () => {
    const system = recording(only('node', 'npm'));
    const tree = yarn4();
    installPackages(tree, system);
    installPackages(tree, system);
    expect(system.runs).toEqual([]);
    expect(system.warnings).toEqual([
      'The new projects are written, but not yet linked into node_modules: yarn is not on PATH, nor is corepack, which runs the ' +
        'yarn@4.5.1 package.json names. Run "corepack enable" (after "npm install -g corepack" where Node.js does not bring it), ' +
        'then "yarn install" at the workspace root.',
    ]);
    // Without a "packageManager" field, corepack would not know which version to run.
    expect(planInstall(workspace({}, { 'pnpm-lock.yaml': '' }), only('corepack'))).toEqual({
      manual: 'pnpm is not on PATH. Install pnpm, then run "pnpm install --no-frozen-lockfile" at the workspace root.',
    });
  });

  it('does not fail the generator when the install fails, and says what to run once it is fixed', () => {
    const system = recording(only('yarn'), 1);
    expect(() => installPackages(yarn4(), system)).not.toThrow();
    expect(system.warnings).toEqual([
      'The new projects are written, but not yet linked into node_modules: "yarn install" failed with exit code 1. ' +
        'Fix what it reported, then run it again at the workspace root.',
    ]);
  });

  describe('on this machine', () => {
    let dir: string;
    beforeEach(() => (dir = mkdtempSync(join(tmpdir(), 'fanout-install-'))));
    afterEach(() => rmSync(dir, { recursive: true, force: true }));

    /** A program in bin/ that records its arguments and working folder in calls.txt. */
    function program(name: string): void {
      mkdirSync(join(dir, 'bin'), { recursive: true });
      writeFileSync(join(dir, 'bin', name), `#!/bin/sh\necho "${name} $* in $(pwd)" >> "${join(dir, 'calls.txt')}"\n`);
      chmodSync(join(dir, 'bin', name), 0o755);
    }

    it('finds executables on PATH only', () => {
      program('corepack');
      writeFileSync(join(dir, 'bin', 'yarn'), 'not executable\n');
      const env = { PATH: join(dir, 'bin') };
      expect([isOnPath('corepack', env), isOnPath('yarn', env), isOnPath('bin', { PATH: dir })]).toEqual([true, false, false]);
    });

    it('runs corepack yarn install at the workspace root when PATH has corepack and no yarn', () => {
      program('corepack');
      const tree = yarn4();
      const root = join(dir, 'ws');
      mkdirSync(root);
      installPackages(
        Object.assign(Object.create(tree), { root }),
        nodeInstallSystem({ PATH: join(dir, 'bin'), NX_GENERATE_QUIET: 'true' }),
      );
      expect(readFileSync(join(dir, 'calls.txt'), 'utf-8')).toBe(`corepack yarn install in ${root}\n`);
    });
  });
});

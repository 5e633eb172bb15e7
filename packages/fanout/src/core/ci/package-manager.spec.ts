import { detectPackageManager, type WorkspaceFiles } from './package-manager';

function files(contents: Record<string, string>): WorkspaceFiles {
  return { exists: (path) => path in contents, read: (path) => contents[path] };
}

describe('detectPackageManager', () => {
  it('reads npm from npm-shrinkwrap.json as well as package-lock.json', () => {
    expect(detectPackageManager(files({ 'npm-shrinkwrap.json': '{}' }))).toEqual({
      name: 'npm',
      lockFile: 'npm-shrinkwrap.json',
      version: undefined,
      berry: false,
      install: ['npm', 'ci'],
      exec: ['npx'],
    });
  });

  it('takes the version package.json pins, without its hash', () => {
    const pnpm = detectPackageManager(
      files({ 'pnpm-lock.yaml': '', 'package.json': JSON.stringify({ packageManager: 'pnpm@9.15.0+sha512.76e2379760' }) }),
    );
    expect(pnpm.version).toBe('9.15.0');
  });

  it('treats Yarn pinned at 2 or newer as berry, whatever the lock file says', () => {
    const yarn = detectPackageManager(
      files({ 'yarn.lock': '# yarn lockfile v1\n', 'package.json': JSON.stringify({ packageManager: 'yarn@3.8.0' }) }),
    );
    expect(yarn).toMatchObject({ berry: true, install: ['yarn', 'install', '--immutable'] });
  });

  it('accepts Yarn 2+ without a pinned version when .yarnrc.yml points at a checked-in release', () => {
    const yarn = detectPackageManager(
      files({ 'yarn.lock': '__metadata:\n  version: 6\n', '.yarnrc.yml': 'yarnPath: .yarn/releases/yarn-3.6.4.cjs\n' }),
    );
    expect(yarn).toMatchObject({ name: 'yarn', berry: true, version: undefined });
  });

  it('says which file is wrong when package.json cannot be read or its packageManager field is malformed', () => {
    expect(() => detectPackageManager(files({ 'package-lock.json': '{}', 'package.json': '{ nope' }))).toThrow(
      'package.json is not valid JSON',
    );
    expect(() =>
      detectPackageManager(files({ 'package-lock.json': '{}', 'package.json': JSON.stringify({ packageManager: 'npm' }) })),
    ).toThrow(`package.json's "packageManager" is "npm"; it must read <name>@<version>`);
  });
});

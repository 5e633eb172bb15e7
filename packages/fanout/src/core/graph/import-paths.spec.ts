import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { readImportPaths } from './import-paths';

describe('readImportPaths', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'fanout-import-paths-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const write = (file: string, json: unknown) => {
    mkdirSync(join(root, file, '..'), { recursive: true });
    writeFileSync(join(root, file), JSON.stringify(json));
  };

  it('gives each project the tsconfig paths into its root, in their order, and its package name', () => {
    write('tsconfig.base.json', {
      compilerOptions: {
        paths: {
          '@ws/a': ['./libs/a/src/index.ts'],
          '@ws/a/testing': ['libs/a/testing/index.ts'],
          '@ws/nested': ['libs/a/nested/src/index.ts'],
          '@ws/b/*': ['libs/b/src/*'],
          '@ws/both': ['libs/b/src/index.ts', 'libs/c/src/index.ts'],
          '@ws/elsewhere': ['tools/x.ts'],
          '@ws/ab': ['libs/ab/src/index.ts'],
        },
      },
    });
    write('libs/c/package.json', { name: '@ws/c-package' });
    write('package.json', { name: '@ws/source' });
    const projects = [
      { name: 'a', root: 'libs/a' },
      { name: 'nested', root: 'libs/a/nested' },
      { name: 'b', root: 'libs/b' },
      { name: 'c', root: 'libs/c' },
      { name: 'workspace', root: '.' },
    ];
    expect(readImportPaths(root, projects)).toEqual([
      // A path into a nested project's root is also under its parent's, as a folder of it.
      { name: 'a', root: 'libs/a', importPaths: ['@ws/a', '@ws/a/testing', '@ws/nested'] },
      { name: 'nested', root: 'libs/a/nested', importPaths: ['@ws/nested'] },
      { name: 'b', root: 'libs/b', importPaths: ['@ws/b/*', '@ws/both'] },
      { name: 'c', root: 'libs/c', importPaths: ['@ws/both', '@ws/c-package'] },
      // The root project is named by no path, and its package name is the workspace's own.
      { name: 'workspace', root: '.', importPaths: [] },
    ]);
  });

  it('reads tsconfig.json when there is no tsconfig.base.json, comments and trailing commas included', () => {
    writeFileSync(join(root, 'tsconfig.json'), '{ "compilerOptions": { "paths": { "@ws/a": ["libs/a/src/index.ts"] } } }');
    expect(readImportPaths(root, [{ name: 'a', root: 'libs/a' }])).toEqual([{ name: 'a', root: 'libs/a', importPaths: ['@ws/a'] }]);
    writeFileSync(
      join(root, 'tsconfig.json'),
      '{ // the libraries\n "compilerOptions": { "paths": { "@ws/bee": ["libs/a/index.ts"], }, } }',
    );
    expect(readImportPaths(root, [{ name: 'a', root: 'libs/a' }])).toEqual([{ name: 'a', root: 'libs/a', importPaths: ['@ws/bee'] }]);
    writeFileSync(join(root, 'tsconfig.json'), '{ "compilerOptions": ');
    expect(readImportPaths(root, [{ name: 'a', root: 'libs/a' }])).toEqual([{ name: 'a', root: 'libs/a', importPaths: [] }]);
  });

  it('reads the tsconfig again once it changed', () => {
    write('tsconfig.base.json', { compilerOptions: { paths: { '@ws/a': ['libs/a/src/index.ts'] } } });
    expect(readImportPaths(root, [{ name: 'a', root: 'libs/a' }])[0].importPaths).toEqual(['@ws/a']);
    write('tsconfig.base.json', { compilerOptions: { paths: { '@ws/renamed': ['libs/a/src/index.ts'], '@ws/more': ['libs/a/x.ts'] } } });
    expect(readImportPaths(root, [{ name: 'a', root: 'libs/a' }])[0].importPaths).toEqual(['@ws/renamed', '@ws/more']);
  });
});

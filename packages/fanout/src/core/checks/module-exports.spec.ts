import { mkdtempSync, rmSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { write } from '../../testing/git-workspace';
import { moduleExports, parseModule, resolveRelativeModule } from './module-exports';

describe('moduleExports', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'fanout-exports-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  const exportsOf = (file: string) =>
    Object.fromEntries(
      [...moduleExports(join(root, file))].map(([name, declared]) => [name, `${declared.file.slice(root.length + 1)}:${declared.line}`]),
    );

  it('lists every kind of exported declaration with its file and line, comments excluded', () => {
    write(
      root,
      'a.ts',
      '/** docs */\nexport function f() {}\nexport const x = 1, y = 2;\nexport class C {}\nexport interface I {}\nexport type T = string;\nexport enum E { A }\n' +
        'export namespace N {}\nconst hidden = 3;\nexport default function main() {}\n',
    );
    expect(exportsOf('a.ts')).toEqual({
      f: 'a.ts:2',
      x: 'a.ts:3',
      y: 'a.ts:3',
      C: 'a.ts:4',
      I: 'a.ts:5',
      T: 'a.ts:6',
      E: 'a.ts:7',
      N: 'a.ts:8',
      default: 'a.ts:10',
    });
  });

  it('follows export lists, renames, re-exported imports and export * to where things are declared', () => {
    write(root, 'lib/one.ts', 'export const one = 1;\nexport default 1;\n');
    write(root, 'lib/two.ts', "export * from './one';\nexport const two = 2;\n");
    write(root, 'lib/index.ts', "export * from './two.js';\n");
    write(
      root,
      'index.ts',
      "import { one as uno } from './lib/one';\nconst local = 0;\nexport { local, uno as first };\nexport { two as second } from './lib';\nexport * from './lib/index';\nexport const two = 'own';\n",
    );
    expect(exportsOf('index.ts')).toEqual({
      local: 'index.ts:2',
      first: 'lib/one.ts:1',
      second: 'lib/two.ts:2',
      one: 'lib/one.ts:1',
      two: 'index.ts:6',
    });
  });

  it('ends at an export cycle and ignores modules it cannot resolve', () => {
    write(root, 'a.ts', "export * from './b';\nexport * from 'some-package';\nexport const a = 1;\n");
    write(root, 'b.ts', "export * from './a';\nexport { gone } from './missing';\nexport const b = 1;\n");
    expect(exportsOf('a.ts')).toEqual({ a: 'a.ts:3', b: 'b.ts:3' });
  });
});

describe('resolveRelativeModule', () => {
  it('finds a module as written, by a TypeScript extension for a .js one, or as a folder index', () => {
    const root = mkdtempSync(join(tmpdir(), 'fanout-resolve-'));
    write(root, 'src/a.ts', '');
    write(root, 'src/lib/index.ts', '');
    write(root, 'src/data.json', '{}');
    const from = join(root, 'src', 'main.ts');
    expect(resolveRelativeModule(from, './a.js')).toBe(join(root, 'src/a.ts'));
    expect(resolveRelativeModule(from, './a')).toBe(join(root, 'src/a.ts'));
    expect(resolveRelativeModule(from, './lib')).toBe(join(root, 'src/lib/index.ts'));
    expect(resolveRelativeModule(from, './data.json')).toBe(join(root, 'src/data.json'));
    expect(resolveRelativeModule(from, './nothing')).toBeUndefined();
    rmSync(root, { recursive: true, force: true });
  });
});

describe('parseModule', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'fanout-parse-'));
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('reuses a parse while the text is the same and parses again once it changes', () => {
    write(root, 'contracts.ts', 'export interface Order { id: string }\n');
    const first = parseModule(join(root, 'contracts.ts'));
    expect(parseModule(join(root, 'contracts.ts'))).toBe(first);
    write(root, 'contracts.ts', 'export interface Invoice { id: string }\n');
    const second = parseModule(join(root, 'contracts.ts'));
    expect(second).not.toBe(first);
    expect(second?.getText()).toBe('export interface Invoice { id: string }\n');
    expect([...moduleExports(join(root, 'contracts.ts')).keys()]).toEqual(['Invoice']);
  });

  it('returns nothing for a file that does not exist', () => {
    expect(parseModule(join(root, 'missing.ts'))).toBeUndefined();
  });
});

import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, utimesSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { spawnTypeScript } from '../../testing/git-workspace';
import { defaultCodeCacheDir, requireWithCodeCache, type CodeCacheOutcome } from './code-cache';

describe('requireWithCodeCache', () => {
  let dir: string;
  let file: string;
  let cacheDir: string;

  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'fanout-code-cache-'));
    file = join(dir, 'lib', 'adder.js');
    cacheDir = join(dir, 'cache');
    mkdirSync(join(dir, 'lib'));
    writeFileSync(join(dir, 'lib', 'helper.js'), 'module.exports = { twice: (n) => 2 * n };\n');
    writeFileSync(
      file,
      "const { twice } = require('./helper');\n" +
        'exports.add = (a, b) => a + b;\n' +
        'exports.twice = twice;\n' +
        'exports.where = __dirname;\n' +
        "exports.self = module.exports === exports && typeof require('path').join === 'function';\n",
    );
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  /** Loads `file` in a new process, as a batch does, and returns what became of the cache and what the module computed. */
  function load(): Promise<{ outcome: CodeCacheOutcome; sum: number }> {
    const child = spawnTypeScript(join(__dirname, '..', '..', 'testing', 'code-cache-child.ts'), [file, cacheDir]);
    return new Promise((resolve, reject) =>
      child.on('close', () => {
        try {
          resolve(JSON.parse(child.output().trim().split('\n').pop() ?? ''));
        } catch {
          reject(new Error(`the child printed no result: ${child.output()}`));
        }
      }),
    );
  }

  const caches = () => readdirSync(cacheDir).filter((name) => name.endsWith('.v8-cache'));

  it('runs the module as require would: its own require, __dirname, module and exports', async () => {
    let cached!: () => void;
    const written = new Promise<void>((resolve) => (cached = resolve));
    const exports = requireWithCodeCache(file, cacheDir, () => cached()) as Record<string, unknown>;
    await written;
    expect((exports.add as (a: number, b: number) => number)(2, 3)).toBe(5);
    expect((exports.twice as (n: number) => number)(4)).toBe(8);
    expect(exports.where).toBe(join(dir, 'lib'));
    expect(exports.self).toBe(true);
  });

  it('compiles and writes the cache the first time, and loads from it the next', async () => {
    expect(await load()).toEqual({ outcome: 'written', sum: 5 });
    expect(caches()).toHaveLength(1);
    expect(await load()).toEqual({ outcome: 'used', sum: 5 });
  });

  it('writes the cache also when nobody asks what became of it', async () => {
    requireWithCodeCache(file, cacheDir);
    for (let waited = 0; !existsSync(cacheDir) && waited < 2000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(caches()).toHaveLength(1);
  });

  it('compiles afresh over a cache that does not match, and replaces it', async () => {
    await load();
    const [name] = caches();
    writeFileSync(join(cacheDir, name), 'not a code cache');
    expect(await load()).toEqual({ outcome: 'written', sum: 5 });
    expect((await load()).outcome).toBe('used');
  });

  it('keeps one cache per file: a changed file gets a new one and the old one goes', async () => {
    await load();
    const [before] = caches();
    writeFileSync(file, 'exports.add = (a, b) => a + b + 1;\n');
    utimesSync(file, new Date(), new Date(Date.now() + 5000));
    expect(await load()).toEqual({ outcome: 'written', sum: 6 });
    expect(caches()).toHaveLength(1);
    expect(caches()).not.toContain(before);
  });

  it('still loads the module where the cache cannot be written', async () => {
    writeFileSync(cacheDir, 'a file where the cache folder would be');
    expect(await load()).toEqual({ outcome: 'compiled', sum: 5 });
  });

  it('puts the cache in node_modules/.cache/fanout of the workspace, and nowhere without one', () => {
    expect(defaultCodeCacheDir(dir)).toBeUndefined();
    mkdirSync(join(dir, 'node_modules'));
    expect(defaultCodeCacheDir(dir)).toBe(join(dir, 'node_modules', '.cache', 'fanout'));
    expect(existsSync(join(dir, 'node_modules', '.cache'))).toBe(false);
  });
});

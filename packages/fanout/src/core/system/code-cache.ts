import { createHash } from 'crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'fs';
import { createRequire, Module } from 'module';
import { basename, dirname, join } from 'path';
import { Script } from 'vm';

/** How a file was loaded: from V8's code cache, or compiled (and the cache written for the next process). */
export type CodeCacheOutcome = 'used' | 'written' | 'compiled';

/**
 * Where the code cache goes: `node_modules/.cache/fanout` of the workspace a task
 * runs in (its working folder, as Nx runs tasks), where build tools keep theirs.
 * Undefined without a `node_modules` there: nowhere else is as safe (a code cache
 * is run as code, so never one from a folder others can write to, such as the
 * system's temporary one).
 */
export function defaultCodeCacheDir(cwd = process.cwd()): string | undefined {
  const modules = join(cwd, 'node_modules');
  return existsSync(modules) ? join(modules, '.cache', 'fanout') : undefined;
}

/**
 * Requires the CommonJS file `file` with V8's code cache: the compiled code is
 * kept in `cacheDir`, named by the file, its size and time and the Node.js that
 * compiled it, and a later process loads it instead of parsing the source again
 * (the compiler's 9 MB take 0.2 s to compile, a tenth of that from the cache).
 * V8 checks that the cache matches the source and itself, and compiles afresh
 * when it does not. The cache is written after `file` has run and been used
 * for a moment (on a later turn of the event loop, when `onLoaded` hears what
 * became of the cache), so it holds the functions its first use compiled too.
 * Any failure to read or write the cache only costs the compile; the module is
 * registered in `require.cache` as `require` would, so a later `require` of the
 * same file gets the same module.
 */
export function requireWithCodeCache(file: string, cacheDir: string, onLoaded?: (outcome: CodeCacheOutcome) => void): unknown {
  const known = require.cache[file];
  if (known?.loaded) return known.exports;
  const source = readFileSync(file, 'utf-8');
  const { size, mtimeMs } = statSync(file);
  const key = createHash('sha256').update(`${file}\0${size}\0${mtimeMs}\0${process.version}\0${process.arch}`).digest('hex').slice(0, 16);
  const cacheFile = join(cacheDir, `${basename(file)}-${key}.v8-cache`);
  let cachedData: Buffer | undefined;
  try {
    cachedData = readFileSync(cacheFile);
  } catch {
    // Not cached yet.
  }
  const script = new Script(Module.wrap(source), { filename: file, ...(cachedData ? { cachedData } : {}) });
  const used = cachedData !== undefined && !script.cachedDataRejected;
  const module = new Module(file);
  module.filename = file;
  const wrapper = script.runInThisContext() as (
    exports: unknown,
    require: NodeJS.Require,
    module: Module,
    filename: string,
    dirname: string,
  ) => void;
  require.cache[file] = module;
  try {
    wrapper.call(module.exports, module.exports, createRequire(file), module, file, dirname(file));
  } catch (error) {
    delete require.cache[file];
    throw error;
  }
  module.loaded = true;
  setTimeout(() => {
    const outcome = used ? 'used' : writeCodeCache(script, cacheFile, `${basename(file)}-`) ? 'written' : 'compiled';
    onLoaded?.(outcome);
  }, 0);
  return module.exports;
}

/**
 * Writes the script's code cache aside and renames it into place (a process
 * reading it meanwhile never sees half of it), then removes the caches of other
 * versions of the same file, so that upgrades leave none behind.
 */
function writeCodeCache(script: Script, cacheFile: string, stem: string): boolean {
  const draft = `${cacheFile}.${process.pid}.${Math.random().toString(36).slice(2)}`;
  try {
    mkdirSync(dirname(cacheFile), { recursive: true });
    writeFileSync(draft, script.createCachedData());
    renameSync(draft, cacheFile);
  } catch {
    try {
      rmSync(draft, { force: true });
    } catch {
      // No folder to write in: nothing was written.
    }
    return false;
  }
  const name = basename(cacheFile);
  try {
    for (const other of readdirSync(dirname(cacheFile))) {
      if (other !== name && other.startsWith(stem) && other.endsWith('.v8-cache')) rmSync(join(dirname(cacheFile), other), { force: true });
    }
  } catch {
    // Another process removed it first.
  }
  return true;
}

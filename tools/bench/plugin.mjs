// The plugin under test: built from this repository, then installed into each
// benchmark workspace the way a package manager would (a copy of the package in
// node_modules/fanout), so the benchmarks run the published files, not the sources.
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const benchRoot = join(repo, 'tmp', 'bench');
const PACKAGE_FILES = ['package.json', 'generators.json', 'executors.json', 'migrations.json', 'collection.json', 'README.md', 'dist'];

/** The environment of commands in a bench workspace: none of this repository's Nx settings, no daemon, no cloud. */
export function workspaceEnv(extra = {}) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('NX_')));
  return { ...env, NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_TUI: 'false', NX_INTERACTIVE: 'false', ...extra };
}

/** Runs argv (no shell); its output is shown only when it fails. */
export function run(program, args, options) {
  const result = spawnSync(program, args, { encoding: 'utf-8', maxBuffer: 64 * 1024 * 1024, ...options });
  if (result.status !== 0) {
    throw new Error(
      `${[program, ...args].join(' ')} (in ${options.cwd}) failed with ${result.error ?? `exit ${result.status}`}:\n${result.stdout}\n${result.stderr}`,
    );
  }
  return result.stdout;
}

/**
 * `nx build fanout` in this repository (restored from Nx's cache when the sources
 * did not change); returns the package folder. `pluginDir` skips the build and
 * uses an already built package instead.
 */
export function buildPlugin(pluginDir) {
  if (pluginDir) {
    const dir = resolve(pluginDir);
    if (!existsSync(join(dir, 'dist', 'index.js'))) {
      throw new Error(`--plugin-dir ${dir} holds no built plugin (dist/index.js is missing); build it with npx nx build fanout.`);
    }
    return dir;
  }
  console.log('Building the plugin: npx nx build fanout');
  run('npx', ['nx', 'build', 'fanout'], { cwd: repo });
  return join(repo, 'packages', 'fanout');
}

/**
 * Gives `workspace` a node_modules: a copy of the plugin package, and links to
 * this repository's installed packages for everything else (nx, ts-morph, ...).
 * Nothing is installed from a registry and nothing in the repository is written.
 */
export function installPlugin(workspace, pluginDir) {
  const modules = join(workspace, 'node_modules');
  mkdirSync(modules, { recursive: true });
  for (const entry of readdirSync(join(repo, 'node_modules'))) {
    if (entry === 'fanout' || entry === '.package-lock.json' || entry === '.cache') continue;
    if (!existsSync(join(modules, entry))) symlinkSync(join(repo, 'node_modules', entry), join(modules, entry));
  }
  for (const file of PACKAGE_FILES) {
    if (existsSync(join(pluginDir, file))) {
      cpSync(join(pluginDir, file), join(modules, 'fanout', file), {
        recursive: true,
        filter: (source) => !source.endsWith('.tsbuildinfo'),
      });
    }
  }
}

/** A module of the installed plugin's core, e.g. `core/worktree`. */
export function pluginModule(workspace, path) {
  return createRequire(import.meta.url)(join(workspace, 'node_modules', 'fanout', 'dist', `${path}.js`));
}

// The Nx workspace the fan-out and cache benchmarks run in: made by fanout's own
// generators (contracts, the users reference, 12 tasks on the `command` agent),
// with the built plugin installed, committed to a git repository of its own.
import { createHash } from 'node:crypto';
import { copyFileSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { installPlugin, run, workspaceEnv } from './plugin.mjs';

const here = dirname(fileURLToPath(import.meta.url));
export const TASKS = [
  'orders',
  'products',
  'invoices',
  'customers',
  'payments',
  'shipments',
  'refunds',
  'reviews',
  'coupons',
  'vendors',
  'warehouses',
  'categories',
];
export const REFERENCE = 'users';
export const SLEEP_MS = 5000;
const IDENTITY = ['-c', 'user.name=fanout bench', '-c', 'user.email=bench@fanout.invalid', '-c', 'commit.gpgsign=false'];

function singular(plural) {
  return plural.endsWith('ies') ? `${plural.slice(0, -3)}y` : plural.replace(/s$/, '');
}

/** sha512 over the installed package's files, so the lock file changes when the plugin does (as a new tarball would). */
function packageIntegrity(dir) {
  const hash = createHash('sha512');
  const walk = (path) => {
    for (const entry of readdirSync(path).sort()) {
      const full = join(path, entry);
      if (statSync(full).isDirectory()) walk(full);
      else hash.update(entry).update(readFileSync(full));
    }
  };
  walk(dir);
  return `sha512-${hash.digest('base64')}`;
}

function writeJson(path, data) {
  writeFileSync(path, `${JSON.stringify(data, null, 2)}\n`);
}

function readJson(path) {
  return JSON.parse(readFileSync(path, 'utf-8'));
}

/**
 * package.json and a lock file as npm writes them for a plugin installed from a
 * tarball: Nx hashes the fanout package (an input of every fanout target) from its entry.
 */
export function writePackageFiles(root, name) {
  const version = readJson(join(root, 'node_modules', 'fanout', 'package.json')).version;
  const nxVersion = readJson(join(root, 'node_modules', 'nx', 'package.json')).version;
  const devDependencies = { fanout: version, nx: nxVersion };
  writeJson(join(root, 'package.json'), { name, version: '0.0.0', private: true, devDependencies });
  writeJson(join(root, 'package-lock.json'), {
    name,
    version: '0.0.0',
    lockfileVersion: 3,
    requires: true,
    packages: {
      '': { name, version: '0.0.0', devDependencies },
      'node_modules/fanout': {
        version,
        resolved: `file:fanout-${version}.tgz`,
        integrity: packageIntegrity(join(root, 'node_modules', 'fanout')),
        dev: true,
      },
      'node_modules/nx': { version: nxVersion, resolved: `https://registry.npmjs.org/nx/-/nx-${nxVersion}.tgz`, dev: true },
    },
  });
}

export function git(root, args) {
  return run('git', [...IDENTITY, ...args], { cwd: root });
}

/**
 * Creates the workspace at `root` (replacing what is there). Besides `fanout`, each
 * task project gets two nx:run-commands targets over the same projects, the baselines:
 * `bench-sleep` (the agent's wait and nothing else, not cached) and `bench-noop`
 * (a cached no-op).
 */
export function createTaskWorkspace(root, pluginDir, { tasks = TASKS, sleepMs = SLEEP_MS } = {}) {
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  installPlugin(root, pluginDir);
  const command = `node tools/bench-agent.mjs ${sleepMs} libs/${REFERENCE} {projectRoot}`;
  // Nx's lint and jest generators build the project graph of the workspace they run in:
  // an empty workspace outside this repository (whose graph would be this repository's).
  // Without an nx.json there, building that graph never finishes; with Nx's plugins
  // loaded in-process it takes a fraction of the time plugin workers take to start.
  const scratch = mkdtempSync(join(tmpdir(), 'fanout-bench-generate-'));
  writeJson(join(scratch, 'nx.json'), {});
  writeJson(join(scratch, 'package.json'), { name: 'scratch', private: true });
  try {
    run(
      process.execPath,
      [
        join(here, 'generate-workspace.mjs'),
        root,
        JSON.stringify({ entities: [singular(REFERENCE), ...tasks.map(singular)], reference: REFERENCE, tasks, command }),
      ],
      {
        cwd: scratch,
        env: workspaceEnv({ NX_WORKSPACE_ROOT_PATH: scratch, NX_ISOLATE_PLUGINS: 'false' }),
        timeout: 10 * 60_000,
      },
    );
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }

  // Only what the benchmarks use: no lint or test plugins loading on every run. And the gate
  // off (`gate: []`): the fan-out and cache benchmarks measure fanout's own work, not the
  // task projects' typecheck, test and lint; the gate benchmark runs the gate itself.
  const nxJson = readJson(join(root, 'nx.json'));
  nxJson.plugins = nxJson.plugins
    .filter((plugin) => (typeof plugin === 'string' ? plugin : plugin.plugin) === 'fanout')
    .map((plugin) =>
      typeof plugin === 'string' ? { plugin, options: { gate: [] } } : { ...plugin, options: { ...plugin.options, gate: [] } },
    );
  writeJson(join(root, 'nx.json'), nxJson);
  for (const task of tasks) {
    const path = join(root, 'libs', task, 'project.json');
    const project = readJson(path);
    project.targets = {
      ...project.targets,
      'bench-sleep': { executor: 'nx:run-commands', cache: false, options: { command: `node tools/bench-agent.mjs ${sleepMs}` } },
      'bench-noop': { executor: 'nx:run-commands', cache: true, options: { command: 'node -e 0' } },
    };
    writeJson(path, project);
  }
  writePackageFiles(root, '@bench/source');
  mkdirSync(join(root, 'tools'), { recursive: true });
  copyFileSync(join(here, 'bench-agent.mjs'), join(root, 'tools', 'bench-agent.mjs'));
  const ignored = readFileSync(join(root, '.gitignore'), 'utf-8');
  writeFileSync(join(root, '.gitignore'), `${ignored}${ignored.endsWith('\n') ? '' : '\n'}node_modules\n.nx\n`);
  git(root, ['init', '-q', '-b', 'main']);
  git(root, ['add', '-A']);
  git(root, ['commit', '-q', '-m', 'contracts, reference and 12 fanout tasks']);
}

/** Back to the committed state: what sessions integrated is undone; .fanout, .nx and node_modules (ignored) stay. */
export function resetTaskWorkspace(root) {
  git(root, ['reset', '-q', '--hard']);
  git(root, ['clean', '-q', '-f', '-d']);
}

/** `nx <args>` in the workspace; returns its wall time in ms. */
export function nx(root, args, env = {}) {
  const started = performance.now();
  run(process.execPath, [join(root, 'node_modules', 'nx', 'dist', 'bin', 'nx.js'), ...args], { cwd: root, env: workspaceEnv(env) });
  return performance.now() - started;
}

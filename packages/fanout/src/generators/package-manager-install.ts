import { logger, readNxJson, type Tree } from '@nx/devkit';
import { spawnSync } from 'child_process';
import { accessSync, constants, statSync } from 'fs';
import { delimiter, join } from 'path';
import { LOCK_FILES, packageManagerField, type PackageManagerName } from '../core/ci/package-manager';

/** The install that links a workspace's new packages: argv to run, or, when nothing can run it, what to tell the user. */
export type InstallPlan = { argv: string[] } | { manual: string };

/** The install each package manager runs after a generator, as Nx's generators run it (`getPackageManagerCommand().install`). */
const INSTALL_ARGS: Record<PackageManagerName, string[]> = {
  npm: ['install'],
  yarn: ['install'],
  pnpm: ['install', '--no-frozen-lockfile'],
  bun: ['install'],
};

/** Lock files in the order Nx's detectPackageManager tries them. */
const LOCK_FILE_ORDER: PackageManagerName[] = ['bun', 'yarn', 'pnpm', 'npm'];

const isName = (value: unknown): value is PackageManagerName => typeof value === 'string' && value in INSTALL_ARGS;

/** package.json's `packageManager` field, or undefined when it has none or one that cannot be read. */
function pinned(tree: Tree): { name: string; version: string } | undefined {
  try {
    return packageManagerField({ exists: (path) => tree.exists(path), read: (path) => tree.read(path, 'utf-8') ?? undefined });
  } catch {
    // An unreadable field does not stop the install: the lock file still names the package manager.
    return undefined;
  }
}

/**
 * The workspace's package manager, as Nx's generators pick it: nx.json's
 * `cli.packageManager`, else the lock file, else package.json's `packageManager`
 * field (a workspace not installed yet), else npm.
 */
export function workspacePackageManager(tree: Tree): PackageManagerName {
  const configured = readNxJson(tree)?.cli?.packageManager;
  if (isName(configured)) return configured;
  const locked = LOCK_FILE_ORDER.find((name) => LOCK_FILES[name].some((file) => tree.exists(file)));
  if (locked) return locked;
  const field = pinned(tree)?.name;
  return isName(field) ? field : 'npm';
}

/**
 * How to run the install: the package manager itself when it is on PATH; else,
 * when package.json's `packageManager` field names it, through corepack, which
 * fetches that version (Yarn 2+ and pnpm are often reached only so); else nothing
 * can run it, and the plan says what the user must do.
 */
export function planInstall(tree: Tree, onPath: (program: string) => boolean): InstallPlan {
  const name = workspacePackageManager(tree);
  const args = INSTALL_ARGS[name];
  const command = [name, ...args].join(' ');
  if (onPath(name)) return { argv: [name, ...args] };
  const field = pinned(tree);
  const viaCorepack = field?.name === name && name !== 'bun';
  if (viaCorepack && onPath('corepack')) return { argv: ['corepack', name, ...args] };
  return {
    manual: viaCorepack
      ? `${name} is not on PATH, nor is corepack, which runs the ${name}@${field.version} package.json names. ` +
        `Run "corepack enable" (after "npm install -g corepack" where Node.js does not bring it), then "${command}" at the workspace root.`
      : `${name} is not on PATH. Install ${name}, then run "${command}" at the workspace root.`,
  };
}

export interface InstallSystem {
  /** Whether `program` is an executable on PATH. */
  onPath(program: string): boolean;
  /** Runs argv in `cwd` with its output on the terminal: its exit status, or the error that kept it from starting. */
  run(argv: string[], cwd: string): { status: number | null; error?: Error };
  warn(message: string): void;
}

/** Whether `program` is an executable file in one of PATH's folders (with one of PATHEXT's extensions on Windows). */
export function isOnPath(program: string, env: NodeJS.ProcessEnv = process.env): boolean {
  const extensions = process.platform === 'win32' ? (env['PATHEXT'] ?? '.EXE;.CMD;.BAT;.COM').split(';') : [''];
  return (env['PATH'] ?? '')
    .split(delimiter)
    .filter(Boolean)
    .some((dir) =>
      extensions.some((extension) => {
        const file = join(dir, program + extension);
        try {
          accessSync(file, constants.X_OK);
          return statSync(file).isFile();
        } catch {
          return false;
        }
      }),
    );
}

export function nodeInstallSystem(env: NodeJS.ProcessEnv = process.env): InstallSystem {
  return {
    onPath: (program) => isOnPath(program, env),
    run: (argv, cwd) =>
      spawnSync(argv[0], argv.slice(1), {
        cwd,
        env,
        stdio: env['NX_GENERATE_QUIET'] === 'true' ? 'ignore' : 'inherit',
        // Windows runs package managers through .cmd shims, which Node starts only in a shell; argv holds no user text.
        shell: process.platform === 'win32',
        windowsHide: true,
      }),
    warn: (message) => logger.warn(message),
  };
}

/** Installs already run (or found impossible) in this process, by workspace and root package.json, as devkit's installPackagesTask keeps them. */
const done = new Set<string>();

/**
 * Runs the workspace's install after a generator has written new packages, so that
 * the package manager links them. It never fails the generator, whose files are
 * written: when the install cannot run or fails, it says once what to run by hand.
 */
export function installPackages(tree: Tree, system: InstallSystem = nodeInstallSystem()): void {
  const key = `${tree.root}\0${tree.read('package.json', 'utf-8') ?? ''}`;
  if (done.has(key)) return;
  done.add(key);
  const plan = planInstall(tree, system.onPath);
  const linkNote = 'The new projects are written, but not yet linked into node_modules:';
  if ('manual' in plan) {
    system.warn(`${linkNote} ${plan.manual}`);
    return;
  }
  const command = plan.argv.join(' ');
  const { status, error } = system.run(plan.argv, tree.root);
  if (error) system.warn(`${linkNote} "${command}" could not start (${error.message}). Run it at the workspace root.`);
  else if (status !== 0) {
    const exit = status === null ? 'was stopped' : `failed with exit code ${status}`;
    system.warn(`${linkNote} "${command}" ${exit}. Fix what it reported, then run it again at the workspace root.`);
  }
}

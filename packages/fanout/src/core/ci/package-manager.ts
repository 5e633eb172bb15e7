/**
 * Which package manager a workspace uses, read from its lock file, and the
 * commands CI runs with it: a frozen install (the lock file is the truth in CI)
 * and the prefix that runs a binary installed in the workspace.
 */
export type PackageManagerName = 'npm' | 'pnpm' | 'yarn' | 'bun';

export interface PackageManager {
  name: PackageManagerName;
  /** The lock file CI installs from, at the workspace root. */
  lockFile: string;
  /** The version package.json's `packageManager` field pins, if it pins one. */
  version?: string;
  /** Yarn 2 or newer, which GitHub's runners provide only through corepack. */
  berry: boolean;
  /** The install that fails instead of changing the lock file. */
  install: string[];
  /** Runs a binary of the workspace's own dependencies: `[...exec, 'nx', ...]`. */
  exec: string[];
}

/** Read access to the workspace's root files (a devkit Tree, or the file system). */
export interface WorkspaceFiles {
  exists(path: string): boolean;
  read(path: string): string | undefined;
}

export const LOCK_FILES: Record<PackageManagerName, readonly string[]> = {
  npm: ['package-lock.json', 'npm-shrinkwrap.json'],
  pnpm: ['pnpm-lock.yaml'],
  yarn: ['yarn.lock'],
  bun: ['bun.lock', 'bun.lockb'],
};

const NAMES = Object.keys(LOCK_FILES) as PackageManagerName[];

function isName(value: string): value is PackageManagerName {
  return (NAMES as string[]).includes(value);
}

/** `"pnpm@9.15.0+sha512.abc"` → `{ name: 'pnpm', version: '9.15.0' }`. */
export function packageManagerField(files: WorkspaceFiles): { name: string; version: string; raw: string } | undefined {
  const source = files.exists('package.json') ? files.read('package.json') : undefined;
  if (source === undefined) return undefined;
  let manifest: { packageManager?: unknown };
  try {
    manifest = JSON.parse(source);
  } catch (error) {
    throw new Error(`package.json is not valid JSON (${(error as Error).message}); fix it and run this again.`);
  }
  if (typeof manifest.packageManager !== 'string') return undefined;
  const raw = manifest.packageManager;
  const match = /^(@?[^@\s]+)@([^+\s]+)/.exec(raw.trim());
  if (!match) {
    throw new Error(`package.json's "packageManager" is "${raw}"; it must read <name>@<version>, for example "pnpm@9.15.0".`);
  }
  return { name: match[1], version: match[2], raw };
}

function isBerry(files: WorkspaceFiles, version: string | undefined): boolean {
  if (version !== undefined) return Number.parseInt(version, 10) >= 2;
  // Yarn 2+ lock files carry a __metadata entry; Yarn 1's start with "# yarn lockfile v1".
  return /^__metadata:/m.test(files.read('yarn.lock') ?? '');
}

function commandsFor(name: PackageManagerName, berry: boolean): Pick<PackageManager, 'install' | 'exec'> {
  switch (name) {
    case 'npm':
      return { install: ['npm', 'ci'], exec: ['npx'] };
    case 'pnpm':
      return { install: ['pnpm', 'install', '--frozen-lockfile'], exec: ['pnpm', 'exec'] };
    case 'yarn':
      return {
        install: berry ? ['yarn', 'install', '--immutable'] : ['yarn', 'install', '--frozen-lockfile'],
        exec: ['yarn'],
      };
    case 'bun':
      return { install: ['bun', 'install', '--frozen-lockfile'], exec: ['bun'] };
  }
}

/**
 * The workspace's package manager: the one whose lock file is at the root, or
 * `requested` when given (its lock file must be there too). Throws, saying what
 * to do, when there is no lock file, several, or not enough to install the same
 * package manager version in CI.
 */
export function detectPackageManager(files: WorkspaceFiles, requested?: string): PackageManager {
  if (requested !== undefined && !isName(requested)) {
    throw new Error(`Unknown package manager "${requested}" (--packageManager): use ${NAMES.join(', ')}.`);
  }
  const lockFileOf = (name: PackageManagerName) => LOCK_FILES[name].find((file) => files.exists(file));
  const found = NAMES.filter((name) => lockFileOf(name) !== undefined);
  let name: PackageManagerName;
  if (requested !== undefined) {
    if (!found.includes(requested)) {
      throw new Error(
        `--packageManager=${requested}, but there is no ${LOCK_FILES[requested].join(' or ')} at the workspace root, and CI's ` +
          `install must follow a lock file. Run "${requested} install", commit the lock file, and run this again.`,
      );
    }
    name = requested;
  } else if (found.length === 1) {
    name = found[0];
  } else if (found.length === 0) {
    throw new Error(
      `There is no lock file at the workspace root (${NAMES.map((each) => LOCK_FILES[each][0]).join(', ')}), and CI installs ` +
        "exactly what a lock file pins. Run your package manager's install, commit the lock file, and run this again.",
    );
  } else {
    throw new Error(
      `There are several lock files at the workspace root (${found.map((each) => lockFileOf(each)).join(', ')}). ` +
        `Choose the package manager CI uses with --packageManager=${found.join('|')}, or delete the stale lock file.`,
    );
  }
  const lockFile = lockFileOf(name) as string;

  const field = packageManagerField(files);
  if (field && field.name !== name) {
    throw new Error(
      `package.json's "packageManager" is "${field.raw}", but CI would install with ${name} (${lockFile}). ` +
        'Make them agree: fix the field, or pass --packageManager to match it.',
    );
  }
  const version = field?.version;
  const berry = name === 'yarn' && isBerry(files, version);
  // GitHub's runners carry npm and Yarn 1 only; the others are installed at the version the workspace pins.
  if (name === 'pnpm' && version === undefined) {
    throw new Error(
      'package.json has no "packageManager" field, so CI cannot tell which pnpm to install. ' +
        'Add one with the version "pnpm --version" prints (for example "packageManager": "pnpm@9.15.0") and run this again.',
    );
  }
  if (berry && version === undefined && !/^yarnPath:/m.test(files.read('.yarnrc.yml') ?? '')) {
    throw new Error(
      'yarn.lock is a Yarn 2+ lock file, but package.json has no "packageManager" field and .yarnrc.yml no yarnPath, ' +
        'so CI cannot tell which Yarn to use. Run "yarn set version <version>" (it writes the field) and run this again.',
    );
  }
  return { name, lockFile, version, berry, ...commandsFor(name, berry) };
}

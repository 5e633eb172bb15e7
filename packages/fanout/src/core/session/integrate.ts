import { createHash } from 'crypto';
import {
  closeSync,
  constants,
  existsSync,
  fchmodSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmdirSync,
  rmSync,
  writeFileSync,
} from 'fs';
import { dirname, join } from 'path';
import { isInside, type FileChange } from './scope';
import { DELETED } from '../landing/decide';
import { withLock } from '../system/lock';
import { FANOUT_DIR, lockPath } from '../../constants';
import { lstatIfAny, present } from '../system/files';

export function sha256(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

export class IntegrationRefused extends Error {
  constructor(
    message: string,
    readonly paths: string[],
  ) {
    super(message);
    this.name = 'IntegrationRefused';
  }
}

/** Whether the workspace's copy of `path` is exactly what fanout left there (`owned`: path → sha256). */
function isFanoutsOwn(workspaceRoot: string, path: string, owned: ReadonlyMap<string, string>): boolean {
  const expected = owned.get(path);
  if (expected === undefined) return false;
  const target = join(workspaceRoot, path);
  if (!present(target)) return expected === DELETED;
  return lstatSync(target).isFile() && expected === sha256(target);
}

class UncommittedInScope extends Error {
  constructor(
    message: string,
    readonly paths: string[],
  ) {
    super(message);
    this.name = 'UncommittedInScope';
  }
}

/**
 * Refuses to start a session while the user has uncommitted changes inside its
 * scope (`dirty`: a status of the workspace that covers `scopeRoots`): the session
 * starts from them and may rewrite or delete any file there, so they would be at
 * the mercy of an agent. Paths inside the scope that the session may not write
 * (`readOnly`: the assignment) do not count; nor does what fanout landed (`owned`).
 */
export function refuseUsersWorkInScope(
  workspaceRoot: string,
  dirty: ReadonlyMap<string, unknown>,
  scopeRoots: readonly string[],
  readOnly: readonly string[],
  owned: ReadonlyMap<string, string>,
): void {
  const theirs = [...dirty.keys()]
    .filter(
      (path) =>
        scopeRoots.some((root) => isInside(path, root)) &&
        !readOnly.some((root) => isInside(path, root)) &&
        !path.startsWith(`${FANOUT_DIR}/`) &&
        !isFanoutsOwn(workspaceRoot, path, owned),
    )
    .sort();
  if (theirs.length === 0) return;
  const shown = theirs.length > 10 ? [...theirs.slice(0, 10), `and ${theirs.length - 10} more`] : theirs;
  throw new UncommittedInScope(
    `uncommitted changes of yours inside this task's scope (${scopeRoots.join(', ')}): ${shown.join(', ')}. ` +
      'The session may rewrite or delete any file there, so it was not started. Commit or stash them ' +
      `(git stash push --include-untracked -- ${scopeRoots.join(' ')}), or move them out of the scope, then run the task again.`,
    theirs,
  );
}

/** The first symbolic link among the parent folders of `path` below `root`, if any. */
function linkOnPath(root: string, path: string): string | undefined {
  const parts = path.split('/');
  for (let index = 1; index < parts.length; index++) {
    const folder = parts.slice(0, index).join('/');
    const stat = lstatIfAny(join(root, folder));
    // Missing: nothing below it exists yet, and fanout creates it as a real folder.
    if (!stat) return undefined;
    if (stat.isSymbolicLink()) return folder;
  }
  return undefined;
}

/** Why fanout will not read a session's file, or undefined when it is a plain file of the worktree. */
function unreadable(worktree: string, path: string): string | undefined {
  const via = linkOnPath(worktree, path);
  if (via) return `${path} (inside ${via}, a symbolic link)`;
  const stat = lstatSync(join(worktree, path));
  if (stat.isSymbolicLink()) return `${path} (a symbolic link, which fanout never integrates)`;
  if (!stat.isFile()) return `${path} (not a regular file)`;
  // A hard link shares its content with a file elsewhere, possibly outside the worktree.
  if (stat.nlink > 1) return `${path} (a hard link to another file)`;
  return undefined;
}

/**
 * Refuses a session's changes that could make fanout read outside the session's
 * own files: symbolic or hard links the session made, and files below a
 * symbolic link of the worktree.
 */
export function refuseLinks(worktree: string, changes: readonly FileChange[]): void {
  const escapes = changes.flatMap((change) => {
    const reason = change.status === 'deleted' ? undefined : unreadable(worktree, change.path);
    return reason ? [{ reason, path: change.path }] : [];
  });
  if (escapes.length > 0) {
    throw new IntegrationRefused(
      `the session's changes could make fanout read or write outside the session's own files, so nothing was recorded: ${escapes.map((escape) => escape.reason).join(', ')}. ` +
        'Fanout lands plain files only, and never through a symbolic link.',
      escapes.map((escape) => escape.path),
    );
  }
}

/** Refuses to land files below a symbolic link of the workspace: the write would go wherever the link points. */
export function refuseWorkspaceLinks(workspaceRoot: string, paths: readonly string[]): void {
  const escapes = paths.flatMap((path) => {
    const via = linkOnPath(workspaceRoot, path);
    return via ? [{ reason: `${path} (the workspace's ${via} is a symbolic link)`, path }] : [];
  });
  if (escapes.length > 0) {
    throw new IntegrationRefused(
      `landing would write outside the workspace's own files, so nothing was landed: ${escapes.map((escape) => escape.reason).join(', ')}. ` +
        'Fanout never lands through a symbolic link.',
      escapes.map((escape) => escape.path),
    );
  }
}

/**
 * Copies a session's file without following links: its folders are checked and
 * the file itself is opened with O_NOFOLLOW, so a link swapped in after
 * `checkIntegration` (by a process the agent left behind) still cannot make
 * fanout read a file elsewhere. Keeps the file's mode. Returns the sha256 of what it wrote.
 */
export function copySessionFile(worktree: string, path: string, destination: string): string {
  const via = linkOnPath(worktree, path);
  if (via) throw new IntegrationRefused(`${path} is inside ${via}, a symbolic link; fanout never integrates through one.`, [path]);
  let source: number;
  try {
    source = openSync(join(worktree, path), constants.O_RDONLY | (constants.O_NOFOLLOW ?? 0));
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOOP') {
      throw new IntegrationRefused(`${path} is a symbolic link; fanout never integrates one.`, [path]);
    }
    throw error;
  }
  try {
    const stat = fstatSync(source);
    if (!stat.isFile()) throw new IntegrationRefused(`${path} is not a regular file; fanout integrates plain files only.`, [path]);
    const content = readFileSync(source);
    const target = openSync(destination, 'wx', stat.mode & 0o777);
    try {
      fchmodSync(target, stat.mode & 0o777);
      writeFileSync(target, content);
    } finally {
      closeSync(target);
    }
    return createHash('sha256').update(content).digest('hex');
  } finally {
    closeSync(source);
  }
}

/** Where one task's integration stages its files and keeps its journal and its record of what it wrote. */
export function integrationDir(workspaceRoot: string, project: string): string {
  // This workspace's own: no target's outputs name it. A scoped name (@scope/name) is a folder inside its scope's folder.
  return join(workspaceRoot, FANOUT_DIR, 'integration', ...project.split('/'));
}

/** The integration folders there are: one per project, those of scoped projects one level down. */
function integrationDirs(workspaceRoot: string): { project: string; dir: string }[] {
  const root = join(workspaceRoot, FANOUT_DIR, 'integration');
  if (!existsSync(root)) return [];
  return readdirSync(root, { withFileTypes: true })
    .filter((entry) => entry.isDirectory())
    .flatMap((entry) =>
      entry.name.startsWith('@')
        ? readdirSync(join(root, entry.name), { withFileTypes: true })
            .filter((inner) => inner.isDirectory())
            .map((inner) => ({ project: `${entry.name}/${inner.name}`, dir: join(root, entry.name, inner.name) }))
        : [{ project: entry.name, dir: join(root, entry.name) }],
    );
}

/**
 * What an integration is about to do to the workspace, written before it
 * touches anything there. While this file exists the integration is
 * unfinished; `recoverIntegrations` undoes it.
 */
interface Journal {
  pid: number;
  /**
   * `flat`: staged files sit in the integration folder itself, as `new-<staged>` and `old-<staged>`.
   * Absent in a journal of an older version, which staged them in folders `new/` and `old/`.
   */
  layout?: 'flat';
  /**
   * Files written; `existed`: a file was there before (moved aside first). `staged`: its staged name
   * (a number); absent in a journal of an older version, which staged each file under its own path.
   */
  files: { path: string; existed: boolean; staged?: string }[];
  /** Files removed (moved aside). */
  deleted: string[];
  /** Their staged names, in the same order (absent in a journal of an older version: their paths). */
  deletedStaged?: string[];
  /** Folders created for new files, parents first. */
  createdDirs: string[];
}

/** What an integration leaves in its folder only while it is unfinished (the folders: an older version's staging). */
function isStaging(entry: string): boolean {
  return entry === 'journal.json' || entry === 'new' || entry === 'old' || entry.startsWith('new-') || entry.startsWith('old-');
}

/** Writes a small file so it is either absent or whole, whenever a crash comes. */
export function writeWhole(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const draft = `${path}.${process.pid}.draft`;
  writeFileSync(draft, text);
  renameSync(draft, path);
}

/**
 * Copies the accepted changes from the worktree into the workspace, all or
 * nothing. Every file is first staged in `.fanout/integration/<project>` as
 * `new-<n>` (a crash there leaves the workspace untouched), then a journal is
 * written, then each target is moved aside to `old-<n>` and the new file renamed
 * into place. Staging is flat, in the integration folder itself: making a folder
 * costs as much as writing a file, and a landing would otherwise make and remove
 * two folders besides its files' own.
 * An error midway undoes what was done; a crash midway (the process killed)
 * leaves the journal, and the next run undoes it before it starts
 * (`recoverIntegrations`). Must run under the workspace lock, after
 * `recoverIntegrations`. Returns path → sha256 of every file written.
 */
export function applyChanges(
  workspaceRoot: string,
  project: string,
  worktree: string,
  changes: readonly FileChange[],
  merged: readonly { path: string; content: string }[] = [],
): Map<string, string> {
  const dir = integrationDir(workspaceRoot, project);
  const writes = changes.filter((change) => change.status !== 'deleted');
  const written = new Map<string, string>();
  mkdirSync(dir, { recursive: true });
  writes.forEach((change, index) => {
    written.set(change.path, copySessionFile(worktree, change.path, join(dir, `new-${index}`)));
  });
  // Wired files: their merged content, staged like the session's own files (and, like them, all or nothing).
  merged.forEach((file, index) => {
    writeFileSync(join(dir, `new-${writes.length + index}`), file.content, {
      mode: present(join(workspaceRoot, file.path)) ? lstatSync(join(workspaceRoot, file.path)).mode & 0o777 : 0o644,
    });
  });
  const createdDirs = new Set<string>();
  for (const change of writes) {
    const missing: string[] = [];
    for (let folder = dirname(change.path); folder !== '.' && !present(join(workspaceRoot, folder)); folder = dirname(folder)) {
      missing.unshift(folder);
    }
    for (const folder of missing) createdDirs.add(folder);
  }
  const deleted = changes.filter((change) => change.status === 'deleted').map((change) => change.path);
  const journal: Journal = {
    pid: process.pid,
    layout: 'flat',
    files: [...writes.map((change) => change.path), ...merged.map((file) => file.path)].map((path, index) => ({
      path,
      existed: present(join(workspaceRoot, path)),
      staged: String(index),
    })),
    deleted,
    deletedStaged: deleted.map((_path, index) => `deleted-${index}`),
    createdDirs: [...createdDirs],
  };
  writeWhole(join(dir, 'journal.json'), JSON.stringify(journal));

  const aside: string[] = [];
  try {
    for (const folder of journal.createdDirs) mkdirSync(join(workspaceRoot, folder), { recursive: true });
    for (const file of journal.files) {
      const target = join(workspaceRoot, file.path);
      if (file.existed) {
        renameSync(target, stagedOld(dir, journal, stagedName(file)));
        aside.push(stagedOld(dir, journal, stagedName(file)));
      }
      renameSync(stagedNew(dir, journal, stagedName(file)), target);
    }
    deleted.forEach((path, index) => {
      if (!present(join(workspaceRoot, path))) return;
      renameSync(join(workspaceRoot, path), stagedOld(dir, journal, deletedName(journal, index)));
      aside.push(stagedOld(dir, journal, deletedName(journal, index)));
    });
  } catch (error) {
    rollBack(workspaceRoot, dir, journal);
    throw error;
  }
  // Removing the journal is the moment the integration counts as done.
  rmSync(join(dir, 'journal.json'));
  for (const file of aside) rmSync(file, { force: true });
  return written;
}

/** A written file's staged name (its path, in a journal of an older version). */
function stagedName(file: Journal['files'][number]): string {
  return file.staged ?? file.path;
}

/** A deleted file's staged name (its path, in a journal of an older version). */
function deletedName(journal: Journal, index: number): string {
  return journal.deletedStaged?.[index] ?? journal.deleted[index];
}

/** Where the journal's new version of a file is staged. */
function stagedNew(dir: string, journal: Journal, name: string): string {
  return journal.layout === 'flat' ? join(dir, `new-${name}`) : join(dir, 'new', name);
}

/** Where the journal's file moved aside (replaced or deleted) waits. */
function stagedOld(dir: string, journal: Journal, name: string): string {
  return journal.layout === 'flat' ? join(dir, `old-${name}`) : join(dir, 'old', name);
}

/** Puts the workspace back as it was before an unfinished integration. */
function rollBack(workspaceRoot: string, dir: string, journal: Journal): void {
  for (const file of journal.files) {
    const target = join(workspaceRoot, file.path);
    const aside = stagedOld(dir, journal, stagedName(file));
    if (file.existed) {
      if (present(aside)) renameSync(aside, target);
    } else if (!present(stagedNew(dir, journal, stagedName(file)))) {
      // The new file was renamed into place: it is fanout's, and it goes.
      rmSync(target, { force: true });
    }
  }
  journal.deleted.forEach((path, index) => {
    const aside = stagedOld(dir, journal, deletedName(journal, index));
    if (present(aside)) renameSync(aside, join(workspaceRoot, path));
  });
  for (const folder of [...journal.createdDirs].reverse()) {
    try {
      rmdirSync(join(workspaceRoot, folder));
    } catch {
      // Not empty (someone else's file) or already gone.
    }
  }
  rmSync(join(dir, 'journal.json'), { force: true });
  clearStaging(dir);
}

/** Removes what an integration staged in `dir` (its entries: read by the caller, else here). */
function clearStaging(dir: string, entries: readonly string[] = readdirSync(dir)): void {
  for (const entry of entries) {
    if (isStaging(entry) && entry !== 'journal.json') rmSync(join(dir, entry), { recursive: true, force: true });
  }
}

/**
 * Undoes every integration a killed run left unfinished, and clears staged
 * files it never committed, so nothing half-integrated stays in the workspace.
 * Must run under the workspace lock (no integration is then in progress).
 * Returns the projects whose integration was undone.
 */
export function recoverIntegrations(workspaceRoot: string): string[] {
  const undone: string[] = [];
  for (const { project, dir } of integrationDirs(workspaceRoot)) {
    const entries = readdirSync(dir);
    if (entries.includes('journal.json')) {
      rollBack(workspaceRoot, dir, JSON.parse(readFileSync(join(dir, 'journal.json'), 'utf-8')) as Journal);
      undone.push(project);
    } else {
      clearStaging(dir, entries);
    }
  }
  return undone;
}

/**
 * `recoverIntegrations` under the workspace lock, for the start of a session.
 * The lock is taken only when there is something to look at: an integration
 * folder with a journal or staged files.
 */
export async function recoverUnfinished(workspaceRoot: string): Promise<string[]> {
  const pending = integrationDirs(workspaceRoot).some(({ dir }) => readdirSync(dir).some(isStaging));
  return pending ? withLock(lockPath(workspaceRoot), async () => recoverIntegrations(workspaceRoot)) : [];
}

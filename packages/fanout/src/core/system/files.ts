import { existsSync, lstatSync, readdirSync, statSync, type Stats } from 'fs';
import { join } from 'path';

/** Every file below `dir`, sorted; none when it does not exist. */
export function listFiles(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .sort()
    .flatMap((entry) => {
      const path = join(dir, entry);
      return statSync(path).isDirectory() ? listFiles(path) : [path];
    });
}

/** Whether anything is at `path`, a dangling link included (existsSync follows links). */
export function present(path: string): boolean {
  return lstatIfAny(path) !== undefined;
}

/** lstat of what is at `path`, or undefined where nothing is (a missing entry costs no exception, the common case). */
export function lstatIfAny(path: string): Stats | undefined {
  try {
    return lstatSync(path, { throwIfNoEntry: false });
  } catch {
    return undefined; // ENOTDIR (a file where a folder would be), or unreadable: nothing there to use.
  }
}

/**
 * `read()` of what is at `path`, read again only once it changed (its size or
 * modification time) since `cache` last held it: a batch sets up every session of
 * a run from the same workspace files and folders. Throws where `path` is not.
 */
export function readWhileUnchanged<T>(cache: Map<string, { stamp: string; value: T }>, path: string, read: () => T): T {
  const { size, mtimeMs } = statSync(path);
  const stamp = `${size}:${mtimeMs}`;
  const known = cache.get(path);
  if (known?.stamp === stamp) return known.value;
  const value = read();
  cache.set(path, { stamp, value });
  return value;
}

import { readJson, updateNxJson, type NxJsonConfiguration, type Tree } from '@nx/devkit';
import { editJson } from '../core/system/json-edit';

/**
 * devkit's `updateJson`, writing back only what the updater changed: the rest of
 * the file keeps its layout (arrays on one line or one item a line) and comments,
 * where `updateJson` rewrites the whole file as `JSON.stringify` would.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- as devkit's updateJson
export function updateJsonKeepingLayout<T extends object = any>(tree: Tree, path: string, updater: (json: T) => T): void {
  const updated = updater(readJson<T>(tree, path));
  tree.write(path, editJson(tree.read(path, 'utf-8') ?? '', updated));
}

/** devkit's `updateNxJson` (the value `readNxJson` gave, changed), writing back only what changed. */
export function updateNxJsonKeepingLayout(tree: Tree, nxJson: NxJsonConfiguration): void {
  // An nx.json that extends another holds only what differs from it: devkit's updateNxJson works that out.
  if (!tree.exists('nx.json') || readJson(tree, 'nx.json').extends !== undefined) return updateNxJson(tree, nxJson);
  updateJsonKeepingLayout(tree, 'nx.json', () => nxJson);
}

import { createHash } from 'crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync } from 'fs';
import { join } from 'path';

/**
 * sha256 of every file below `root` (a link as its target), by workspace-relative
 * path, leaving out the folders named in `skip`: what a test compares before and
 * after to prove that nothing was written.
 */
export function bytes(root: string, skip: readonly string[] = ['.git', '.fanout', 'node_modules']): Record<string, string> {
  const result: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const entry of readdirSync(join(root, dir)).sort()) {
      const path = dir ? `${dir}/${entry}` : entry;
      if (skip.includes(path)) continue;
      const stat = lstatSync(join(root, path));
      if (stat.isSymbolicLink()) result[path] = `link → ${readlinkSync(join(root, path))}`;
      else if (stat.isDirectory()) walk(path);
      else
        result[path] = createHash('sha256')
          .update(readFileSync(join(root, path)))
          .digest('hex');
    }
  };
  walk('');
  return result;
}

import { join } from 'node:path';
import { e2eEnv } from './workspace';

/**
 * The environment of a workspace under test that keeps its own Nx cache, as a CI
 * machine does. Nx 23 keeps one local cache for every checkout of a repository, in
 * `~/.nx/<repository id>` (the id comes from the git remote, else the first commit),
 * so every copy of the e2e workspace, and a git clone of one, would otherwise share
 * one cache and replay each other's tasks. With NX_CACHE_DIRECTORY set, the cache and
 * Nx's task database stay inside the checkout.
 */
export function ownCacheEnv(root: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...e2eEnv(), NX_CACHE_DIRECTORY: join(root, '.nx', 'cache'), ...extra };
}

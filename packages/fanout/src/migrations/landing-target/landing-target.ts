import { formatFiles, logger, readNxJson, type Tree } from '@nx/devkit';
import { dropLandingCache } from '../../generators/init/init';
import { updateNxJsonKeepingLayout } from '../../generators/update-json';

/**
 * The `fanout` target now lands a session that its `fanout-session` target runs or
 * Nx replays, and must never be cached: removes the `cache: true` earlier versions
 * of `nx add fanout` wrote to nx.json's target defaults for it.
 */
export default async function landingTarget(tree: Tree): Promise<void> {
  const nxJson = readNxJson(tree);
  if (!nxJson || !dropLandingCache(nxJson)) return;
  updateNxJsonKeepingLayout(tree, nxJson);
  logger.info('fanout: removed cache: true from nx.json targetDefaults of the landing target (the sessions are cached by fanout-session).');
  await formatFiles(tree);
}

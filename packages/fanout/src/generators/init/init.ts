import { formatFiles, readNxJson, updateNxJson, type Tree } from '@nx/devkit';
import { appendSectionOnce, CLAUDE_POINTER, CONVENTIONS_SECTION } from '../../core/session/conventions';
import type { InitGeneratorSchema } from './schema';
import { CLAUDE_FILE, CONVENTIONS_FILE, FANOUT_DIR, FANOUT_TARGET, isPluginRegistered, PLUGIN_NAME } from '../../constants';

export const FANOUT_FOLDER = `${FANOUT_DIR}/`;

/**
 * `nx add fanout` / `nx g fanout:init`: registers the plugin, keeps fanout's
 * working folder out of git, turns caching on for fanout targets and writes the
 * conventions file agents read. Every step is skipped when already done.
 */
export async function initGenerator(tree: Tree, options: InitGeneratorSchema = {}): Promise<void> {
  registerPlugin(tree);
  ignoreWorkingFolder(tree);
  writeConventions(tree);
  if (!options.skipFormat) await formatFiles(tree);
}

function registerPlugin(tree: Tree): void {
  const nxJson = readNxJson(tree) ?? {};
  const plugins = nxJson.plugins ?? [];
  const registered = isPluginRegistered(nxJson);
  const targetDefaults = nxJson.targetDefaults ?? {};
  const hasDefaults = targetDefaults[FANOUT_TARGET] !== undefined;
  if (registered && hasDefaults) return;
  if (!registered) nxJson.plugins = [...plugins, { plugin: PLUGIN_NAME, options: {} }];
  // Sessions are slow and cost money: a session whose inputs did not change replays from the cache.
  if (!hasDefaults) nxJson.targetDefaults = { ...targetDefaults, [FANOUT_TARGET]: { cache: true } };
  updateNxJson(tree, nxJson);
}

function ignoreWorkingFolder(tree: Tree): void {
  const existing = tree.exists('.gitignore') ? (tree.read('.gitignore', 'utf-8') ?? '') : '';
  const lines = existing.split(/\r?\n/).map((line) => line.trim());
  if (lines.some((line) => ['.fanout', '.fanout/', '/.fanout', '/.fanout/'].includes(line))) return;
  const separator = existing === '' || existing.endsWith('\n') ? '' : '\n';
  tree.write('.gitignore', `${existing}${separator}\n# fanout: worktrees, prompts, logs and reports of agent sessions\n${FANOUT_FOLDER}\n`);
}

function writeConventions(tree: Tree): void {
  const read = (path: string) => (tree.exists(path) ? (tree.read(path, 'utf-8') ?? '') : undefined);
  const conventions = appendSectionOnce(read(CONVENTIONS_FILE), CONVENTIONS_SECTION);
  if (conventions !== undefined) tree.write(CONVENTIONS_FILE, conventions);
  const claude = read(CLAUDE_FILE);
  // A CLAUDE.md that already imports AGENTS.md needs no second pointer.
  if (claude !== undefined && claude.includes(`@${CONVENTIONS_FILE}`)) return;
  const pointer = appendSectionOnce(claude, CLAUDE_POINTER);
  if (pointer !== undefined) tree.write(CLAUDE_FILE, pointer);
}

export default initGenerator;

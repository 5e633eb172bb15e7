import { formatFiles, logger, readNxJson, type NxJsonConfiguration, type Tree } from '@nx/devkit';
import { appendSectionOnce, CLAUDE_POINTER, CONVENTIONS_SECTION } from '../../core/session/conventions';
import type { InitGeneratorSchema } from './schema';
import { updateNxJsonKeepingLayout } from '../update-json';
import { applyConfigLoaderFix, configLoaderFix, fixText, hasNodeTypes, typescriptVersion, type ConfigLoaderFix } from './typescript-6';
import {
  CLAUDE_FILE,
  CONVENTIONS_FILE,
  FANOUT_DIR,
  fanoutTargetName,
  isPluginRegistered,
  PLUGIN_NAME,
  readPluginOptions,
} from '../../constants';

export const FANOUT_FOLDER = `${FANOUT_DIR}/`;

/**
 * `nx add fanout` / `nx g fanout:init`: registers the plugin, keeps fanout's
 * working folder out of git, turns caching on for fanout targets, writes the
 * conventions file agents read, and under TypeScript 6 lets jest read the
 * projects' jest.config.cts again. Every step is skipped when already done.
 */
export async function initGenerator(tree: Tree, options: InitGeneratorSchema = {}): Promise<void> {
  registerPlugin(tree);
  ignoreWorkingFolder(tree);
  writeConventions(tree);
  fixJestConfigLoading(tree, options);
  if (!options.skipFormat) await formatFiles(tree);
}

function registerPlugin(tree: Tree): void {
  const nxJson = readNxJson(tree) ?? {};
  const changed = dropLandingCache(nxJson);
  if (isPluginRegistered(nxJson) && !changed) return;
  // The plugin caches the session target itself; the landing target must never be cached.
  if (!isPluginRegistered(nxJson)) nxJson.plugins = [...(nxJson.plugins ?? []), { plugin: PLUGIN_NAME, options: {} }];
  updateNxJsonKeepingLayout(tree, nxJson);
}

/**
 * Removes `cache: true` from nx.json's target defaults of the landing target (the
 * plugin's `targetName`, `fanout` by default), which earlier versions of this
 * generator wrote when that target ran the sessions: a cached landing would be
 * replayed instead of run, and nothing would land. Returns whether it changed nx.json.
 */
export function dropLandingCache(nxJson: NxJsonConfiguration): boolean {
  const target = fanoutTargetName(readPluginOptions(nxJson));
  const defaults = nxJson.targetDefaults?.[target];
  if (!defaults || Array.isArray(defaults) || defaults.cache !== true) return false;
  const rest = { ...defaults };
  delete rest.cache;
  const targetDefaults = { ...nxJson.targetDefaults };
  if (Object.keys(rest).length === 0) delete targetDefaults[target];
  else targetDefaults[target] = rest;
  nxJson.targetDefaults = targetDefaults;
  return true;
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

/**
 * Under TypeScript 6, jest fails to read every jest.config.cts (see typescript-6.ts):
 * give ts-node Node's types back in the tsconfig every project extends, or, with
 * --skipTypeScriptFix, say exactly what to add.
 */
function fixJestConfigLoading(tree: Tree, options: InitGeneratorSchema): void {
  const typescript = typescriptVersion(tree);
  if (!typescript || typescript.major < 6) return;
  let fix: ConfigLoaderFix | undefined;
  try {
    fix = configLoaderFix(tree);
  } catch (error) {
    logger.warn(
      `fanout: could not read the root tsconfig to check it for TypeScript ${typescript.version} ` +
        `(${error instanceof Error ? error.message : String(error)}). Fix the file and run nx g fanout:init again.`,
    );
    return;
  }
  if (!fix) return;
  const why =
    `TypeScript ${typescript.version} (${typescript.source} in this workspace) loads no @types package that a tsconfig does not list, ` +
    `so jest cannot read the projects' jest.config.cts (TS2591: Cannot find name 'require'), nor those of the libraries fanout creates.`;
  const nodeTypes = hasNodeTypes(tree) ? '' : ' "types": ["node"] needs @types/node: add it to devDependencies and install.';
  if (options.skipTypeScriptFix) {
    logger.warn(
      `fanout: ${why} Add to ${fix.file}, beside "compilerOptions": ${fixText(fix)} ` +
        `(only ts-node, which jest loads its config with, reads it), or pin "typescript": "~5.9.3" in package.json and install again.${nodeTypes}`,
    );
    return;
  }
  applyConfigLoaderFix(tree, fix);
  logger.info(
    `fanout: ${why} Added to ${fix.file}: ${fixText(fix)}. Only ts-node reads this section: tsc's builds and type-checks are unchanged ` +
      `("ignoreDeprecations" covers the node10 module resolution Nx's jest plugin gives ts-node). ` +
      `Back on TypeScript 5, remove the section; --skipTypeScriptFix leaves the file alone.${nodeTypes}`,
  );
}

export default initGenerator;

import { formatFiles, getProjects, logger, readNxJson, type NxJsonConfiguration, type Tree } from '@nx/devkit';
import { isDeepStrictEqual } from 'util';
import { parse } from 'yaml';
import {
  NX_CLOUD_TOKEN,
  REMOTE_CACHES,
  remoteCacheEnv,
  renderWorkflow,
  runsAgents,
  SELF_HOSTED_READ_ONLY_TOKEN,
  type AffectedTargets,
  type RemoteCache,
  type WorkflowSettings,
} from '../../core/ci/ci-workflow';
import { detectPackageManager } from '../../core/ci/package-manager';
import { initGenerator } from '../init/init';
import type { CiGeneratorSchema } from './schema';
import { DEFAULT_CHECK_TARGETS, fanoutTargetName, isPluginRegistered, readPluginOptions, VERIFY_TARGET } from '../../constants';

export const WORKFLOWS_DIR = '.github/workflows';
export const DEFAULT_WORKFLOW_NAME = 'fanout';
export const DEFAULT_SECRETS = ['ANTHROPIC_API_KEY', 'OPENAI_API_KEY', 'GEMINI_API_KEY'];
export const DEFAULT_NODE_VERSION = '20';

// Targets and secrets end up inside the workflow's `run:` line and expressions, which a
// shell and GitHub evaluate: only plain names get there.
const WORKFLOW_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;
const TARGET_NAME = /^[A-Za-z0-9][A-Za-z0-9_.:-]*$/;
const SECRET_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const BRANCH_NAME = /^[A-Za-z0-9_][A-Za-z0-9._/-]*$/;
const NODE_VERSION = /^(?:(\d+)(?:\.(\d+|x))?(?:\.(?:\d+|x))?|lts\/(?:\*|[a-z-]+)|node|latest)$/;

function list(value: string | undefined): string[] {
  return [...new Set((value ?? '').split(/[\s,]+/).filter(Boolean))];
}

/** The fanout plugin's target names in this workspace, renamed by its `targetName` option or not. */
function fanoutTargets(nxJson: NxJsonConfiguration): string[] {
  return [fanoutTargetName(readPluginOptions(nxJson)), VERIFY_TARGET];
}

function workflowName(value: string | undefined): string {
  const name = (value ?? DEFAULT_WORKFLOW_NAME).trim().replace(/\.ya?ml$/, '');
  if (!WORKFLOW_NAME.test(name)) {
    throw new Error(
      `The workflow name "${value}" (--name) is not a plain file name: use letters, digits, ".", "-" and "_", ` +
        `for example "fanout"; the file is ${WORKFLOWS_DIR}/<name>.yml.`,
    );
  }
  return name;
}

/**
 * The targets of each `nx affected` step. The session and verify targets get steps of their
 * own, first, wherever --targets lists them; every other target is a check and runs last.
 */
function affectedTargets(value: string | undefined, nxJson: NxJsonConfiguration): AffectedTargets {
  const sessions = fanoutTargetName(readPluginOptions(nxJson));
  if (value === undefined) return { sessions, verify: VERIFY_TARGET, checks: [...DEFAULT_CHECK_TARGETS] };
  const targets = list(value);
  if (targets.length === 0) {
    throw new Error(`--targets is empty: name the targets nx affected runs, for example --targets=${sessions},${VERIFY_TARGET},lint,test.`);
  }
  for (const target of targets) {
    if (!TARGET_NAME.test(target)) {
      throw new Error(
        `The target "${target}" (--targets) is not a target name: use letters, digits, ".", ":", "-" and "_". ` +
          'The workflow runs it in a shell, so nothing else may get in.',
      );
    }
  }
  return {
    ...(targets.includes(sessions) ? { sessions } : {}),
    ...(targets.includes(VERIFY_TARGET) ? { verify: VERIFY_TARGET } : {}),
    checks: targets.filter((target) => target !== sessions && target !== VERIFY_TARGET),
  };
}

/** Every target the workflow runs, sessions first. */
function allTargets({ sessions, verify, checks }: AffectedTargets): string[] {
  return [...(sessions ? [sessions] : []), ...(verify ? [verify] : []), ...checks];
}

function remoteCacheOf(value: string | undefined, nxJson: NxJsonConfiguration): RemoteCache {
  if (value === undefined) return nxJson.nxCloudId || nxJson.nxCloudAccessToken ? 'nx-cloud' : 'self-hosted';
  if (!(REMOTE_CACHES as string[]).includes(value)) {
    throw new Error(`Unknown remote cache "${value}" (--remoteCache): use ${REMOTE_CACHES.join(', ')}.`);
  }
  return value as RemoteCache;
}

function secretList(value: string | undefined, remoteCache: RemoteCache): string[] {
  const secrets = value === undefined ? DEFAULT_SECRETS : list(value);
  const taken = [...Object.keys(remoteCacheEnv(remoteCache)), SELF_HOSTED_READ_ONLY_TOKEN, NX_CLOUD_TOKEN];
  for (const name of secrets) {
    if (!SECRET_NAME.test(name) || /^GITHUB_/i.test(name)) {
      throw new Error(
        `"${name}" (--secrets) is not a GitHub secret name: use letters, digits and "_", not starting with a digit or GITHUB_.`,
      );
    }
    if (taken.includes(name)) {
      throw new Error(
        `"${name}" (--secrets) is a remote cache setting: leave it out of --secrets and choose the cache with --remoteCache=self-hosted|nx-cloud.`,
      );
    }
  }
  return secrets;
}

function nodeVersionOf(value: string | number | undefined): string {
  const version = String(value ?? DEFAULT_NODE_VERSION).trim();
  const match = NODE_VERSION.exec(version);
  if (!match) {
    throw new Error(`The Node.js version "${version}" (--nodeVersion) is not one setup-node understands: use 20, 22.x, 20.19.0 or lts/*.`);
  }
  const major = match[1] === undefined ? undefined : Number(match[1]);
  const minor = match[2] === undefined || match[2] === 'x' ? undefined : Number(match[2]);
  if (major !== undefined && (major < 20 || (major === 20 && minor !== undefined && minor < 19))) {
    throw new Error(`fanout needs Node.js 20.19 or newer, and --nodeVersion is ${version}: use 20, 22 or newer.`);
  }
  return version;
}

function mainBranchOf(value: string | undefined, nxJson: NxJsonConfiguration): string {
  const branch = (value ?? nxJson.defaultBase ?? nxJson.affected?.defaultBase ?? 'main').trim().replace(/^origin\//, '');
  if (!BRANCH_NAME.test(branch) || branch.includes('..') || branch.endsWith('/') || branch.endsWith('.lock')) {
    throw new Error(`"${branch}" is not a branch name (--mainBranch, or nx.json's defaultBase): for example "main".`);
  }
  return branch;
}

/** Everything the workflow needs, validated before anything is written. */
export function normalizeOptions(tree: Tree, options: CiGeneratorSchema): { path: string; settings: WorkflowSettings } {
  const nxJson = readNxJson(tree) ?? {};
  const name = workflowName(options.name);
  const remoteCache = remoteCacheOf(options.remoteCache, nxJson);
  const settings: WorkflowSettings = {
    name,
    mainBranch: mainBranchOf(options.mainBranch, nxJson),
    nodeVersion: nodeVersionOf(options.nodeVersion),
    packageManager: detectPackageManager(
      { exists: (path) => tree.exists(path), read: (path) => tree.read(path, 'utf-8') ?? undefined },
      options.packageManager,
    ),
    targets: affectedTargets(options.targets, nxJson),
    remoteCache,
    secrets: secretList(options.secrets, remoteCache),
  };
  const manifest = tree.exists('package.json') ? JSON.parse(tree.read('package.json', 'utf-8') ?? '{}') : {};
  if (!manifest.devDependencies?.nx && !manifest.dependencies?.nx) {
    throw new Error(
      `The workflow runs "${settings.packageManager.exec.join(' ')} nx", but nx is not a dependency in package.json, so CI ` +
        `would not run the workspace's own Nx. Add it (${settings.packageManager.name} add -D nx) and run this again.`,
    );
  }
  return { path: `${WORKFLOWS_DIR}/${name}.yml`, settings };
}

/** Two workflows are the same when they say the same thing, however they are formatted or commented. */
function sameWorkflow(existing: string, wanted: string): boolean {
  try {
    return isDeepStrictEqual(parse(existing), parse(wanted));
  } catch {
    return false;
  }
}

/** Every string under an option whose name ends in "targetName": how Nx's plugins name what they infer. */
function optionTargetNames(options: unknown): string[] {
  if (typeof options !== 'object' || options === null) return [];
  return Object.entries(options).flatMap(([key, value]) =>
    typeof value === 'string' && /targetname$/i.test(key) ? [value] : optionTargetNames(value),
  );
}

/**
 * The targets this workspace visibly has: its projects' own, its target defaults,
 * the names its plugins' options give, and fanout's. A plugin that infers a target
 * under its default name is invisible here, so a miss is a warning, not an error.
 */
export function declaredTargets(tree: Tree): Set<string> {
  const nxJson = readNxJson(tree) ?? {};
  const targets = new Set<string>(Object.keys(nxJson.targetDefaults ?? {}));
  for (const [, project] of getProjects(tree)) Object.keys(project.targets ?? {}).forEach((target) => targets.add(target));
  for (const entry of nxJson.plugins ?? []) {
    if (typeof entry === 'object') optionTargetNames(entry.options).forEach((target) => targets.add(target));
  }
  if (isPluginRegistered(nxJson)) fanoutTargets(nxJson).forEach((target) => targets.add(target));
  return targets;
}

/**
 * `nx g fanout:ci`: a GitHub Actions workflow that installs, then runs `nx affected`
 * in three steps, each after the one before succeeded: the sessions, fanout-verify,
 * the checks. The remote cache serves all three, the agent keys reach only the steps
 * that can run an agent, and the fanout report is kept as an artifact.
 */
export async function ciGenerator(tree: Tree, options: CiGeneratorSchema = {}): Promise<void> {
  const { path, settings } = normalizeOptions(tree, options);
  const content = renderWorkflow(settings);
  const existing = tree.exists(path) ? (tree.read(path, 'utf-8') ?? '') : undefined;
  const unchanged = existing !== undefined && sameWorkflow(existing, content);
  if (existing !== undefined && !unchanged && !options.force) {
    throw new Error(
      `${path} already exists and differs from the workflow fanout:ci would write. Run again with --force to replace it, ` +
        `or with --name=<another name> to write a second workflow.`,
    );
  }

  // The workflow runs fanout's targets, which exist only where the plugin is registered.
  await initGenerator(tree, { skipFormat: true });
  if (!unchanged) tree.write(path, content);

  const known = declaredTargets(tree);
  const unknown = allTargets(settings.targets).filter((target) => !known.has(target));
  if (unknown.length > 0) {
    logger.warn(
      `fanout:ci: no project, target default or plugin option of this workspace names the target(s) ${unknown.join(', ')}; ` +
        'nx affected skips a target no project has. If a plugin infers it under its default name, all is well.',
    );
  }
  const secrets = [...Object.keys(remoteCacheEnv(settings.remoteCache)), ...(runsAgents(settings.targets) ? settings.secrets : [])];
  if (!unchanged && secrets.length > 0) {
    const optional = settings.remoteCache === 'self-hosted' ? ` (and, for read-only pull requests, ${SELF_HOSTED_READ_ONLY_TOKEN})` : '';
    logger.info(
      `fanout:ci: ${path} reads these repository secrets (Settings → Secrets and variables → Actions): ${secrets.join(', ')}${optional}.`,
    );
  }
  if (!options.skipFormat) await formatFiles(tree);
}

export default ciGenerator;

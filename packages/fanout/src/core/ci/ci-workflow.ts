import { Document, isMap, isSeq } from 'yaml';
import type { PackageManager } from './package-manager';

/**
 * The GitHub Actions workflow that runs a workspace's affected fanout sessions
 * and checks in CI, sharing results through Nx's remote cache so that a session
 * whose inputs did not change replays instead of running (and costing) again.
 */
export type RemoteCache = 'self-hosted' | 'nx-cloud' | 'none';
export const REMOTE_CACHES: readonly RemoteCache[] = ['self-hosted', 'nx-cloud', 'none'];

export interface WorkflowSettings {
  /** The workflow's name, shown in GitHub's Actions tab. */
  name: string;
  /** The branch `nx affected` compares against and pushes to which run the workflow. */
  mainBranch: string;
  nodeVersion: string;
  packageManager: PackageManager;
  /** The targets of `nx affected -t`, in order. */
  targets: string[];
  remoteCache: RemoteCache;
  /** Names of repository secrets passed to the nx step under the same name (agent API keys). */
  secrets: string[];
}

/** The major versions Nx 23's own `nx g ci-workflow` uses, where it uses the action. */
export const ACTIONS = {
  checkout: 'actions/checkout@v7',
  setupNode: 'actions/setup-node@v6',
  setupPnpm: 'pnpm/action-setup@v6',
  setupBun: 'oven-sh/setup-bun@v2',
  setShas: 'nrwl/nx-set-shas@v5',
  uploadArtifact: 'actions/upload-artifact@v6',
} as const;

/** What the fanout executor writes as the run's report. */
export const REPORT_GLOB = '.fanout/report.*';
export const REPORT_ARTIFACT = 'fanout-report';

export const SELF_HOSTED_SERVER = 'NX_SELF_HOSTED_REMOTE_CACHE_SERVER';
export const SELF_HOSTED_TOKEN = 'NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN';
/** Optional: when the repository defines it, pull-request runs read the cache with it and cannot write. */
export const SELF_HOSTED_READ_ONLY_TOKEN = 'NX_SELF_HOSTED_REMOTE_CACHE_READ_ONLY_TOKEN';
export const NX_CLOUD_TOKEN = 'NX_CLOUD_ACCESS_TOKEN';

/** Environment variables the remote cache settings occupy; agent secrets must not reuse them. */
export const REMOTE_CACHE_VARIABLES = [SELF_HOSTED_SERVER, SELF_HOSTED_TOKEN, SELF_HOSTED_READ_ONLY_TOKEN, NX_CLOUD_TOKEN];

const secret = (name: string) => `\${{ secrets.${name} }}`;

export function remoteCacheEnv(remoteCache: RemoteCache): Record<string, string> {
  switch (remoteCache) {
    case 'self-hosted':
      return {
        [SELF_HOSTED_SERVER]: secret(SELF_HOSTED_SERVER),
        // A bucket anyone can write to can be poisoned (CVE-2025-36852): pull requests get the
        // read-only token when the repository has one, so only the main branch's runs write.
        [SELF_HOSTED_TOKEN]: `\${{ github.event_name == 'pull_request' && secrets.${SELF_HOSTED_READ_ONLY_TOKEN} || secrets.${SELF_HOSTED_TOKEN} }}`,
      };
    case 'nx-cloud':
      return { [NX_CLOUD_TOKEN]: secret(NX_CLOUD_TOKEN) };
    case 'none':
      return {};
  }
}

type Step = Record<string, unknown>;

/** Puts the package manager on the runner, before setup-node (whose cache asks the package manager). */
function packageManagerSteps(packageManager: PackageManager): Step[] {
  if (packageManager.name === 'pnpm') {
    // Without a version input the action installs the one package.json's "packageManager" pins.
    return [{ name: 'Set up pnpm', uses: ACTIONS.setupPnpm }];
  }
  if (packageManager.name === 'bun') {
    return [{ name: 'Set up Bun', uses: ACTIONS.setupBun, with: { 'bun-version': packageManager.version ?? 'latest' } }];
  }
  if (packageManager.berry) return [{ name: 'Enable corepack (Yarn 2+)', run: 'corepack enable' }];
  return [];
}

function setupNodeStep(settings: WorkflowSettings): Step {
  const { name } = settings.packageManager;
  return {
    name: 'Set up Node.js',
    uses: ACTIONS.setupNode,
    with: {
      'node-version': settings.nodeVersion,
      // setup-node caches the package manager's download cache; it has no cache for Bun.
      ...(name === 'bun' ? {} : { cache: name }),
    },
  };
}

/** `npx nx affected -t fanout lint`, as argv. */
export function affectedCommand(settings: Pick<WorkflowSettings, 'packageManager' | 'targets'>): string[] {
  return [...settings.packageManager.exec, 'nx', 'affected', '-t', ...settings.targets];
}

/** The workflow as plain data, in the order GitHub shows it. */
export function workflowDocument(settings: WorkflowSettings): Record<string, unknown> {
  const env = {
    ...remoteCacheEnv(settings.remoteCache),
    ...Object.fromEntries(settings.secrets.map((name) => [name, secret(name)])),
  };
  return {
    name: settings.name,
    on: { push: { branches: [settings.mainBranch] }, pull_request: null },
    // nx-set-shas reads earlier workflow runs to find the last successful commit on the main branch.
    permissions: { actions: 'read', contents: 'read' },
    jobs: {
      main: {
        'runs-on': 'ubuntu-latest',
        steps: [
          // The whole history: nx affected compares against the last successful commit of the main branch.
          { name: 'Check out', uses: ACTIONS.checkout, with: { 'fetch-depth': 0 } },
          ...packageManagerSteps(settings.packageManager),
          setupNodeStep(settings),
          { name: 'Install dependencies', run: settings.packageManager.install.join(' ') },
          { name: 'Set the affected base and head', uses: ACTIONS.setShas, with: { 'main-branch-name': settings.mainBranch } },
          {
            name: 'Run the affected fanout sessions and checks',
            run: affectedCommand(settings).join(' '),
            // Secrets reach this step only: the install above runs dependencies' install scripts.
            ...(Object.keys(env).length > 0 ? { env } : {}),
          },
          {
            name: 'Upload the fanout report',
            if: 'always()',
            uses: ACTIONS.uploadArtifact,
            with: {
              name: REPORT_ARTIFACT,
              path: REPORT_GLOB,
              // .fanout/ is a dot folder, which upload-artifact leaves out unless told otherwise.
              'include-hidden-files': true,
              'if-no-files-found': 'ignore',
            },
          },
        ],
      },
    },
  };
}

const HEADER = [
  ' Written by `nx g fanout:ci`: runs the fanout sessions and the checks of every project a change',
  " affects. Sessions whose inputs did not change replay from Nx's cache instead of running again.",
  ' Edit freely; `nx g fanout:ci --force` rewrites this file.',
].join('\n');

const REMOTE_CACHE_NOTE: Record<RemoteCache, string | undefined> = {
  'self-hosted':
    ` Remote cache: a server implementing Nx's self-hosted cache API (secrets ${SELF_HOSTED_SERVER},\n` +
    ` ${SELF_HOSTED_TOKEN}; define ${SELF_HOSTED_READ_ONLY_TOKEN} to keep pull requests read-only).`,
  'nx-cloud': ` Remote cache: Nx Cloud (secret ${NX_CLOUD_TOKEN}).`,
  none: undefined,
};

/** The workflow as YAML, with comments saying where the secrets come from. */
export function renderWorkflow(settings: WorkflowSettings): string {
  const document = new Document(workflowDocument(settings));
  document.commentBefore = HEADER;
  const steps = document.getIn(['jobs', 'main', 'steps'], true);
  const note = REMOTE_CACHE_NOTE[settings.remoteCache];
  if (note && isSeq(steps)) {
    const nxStep = steps.items.find((item) => isMap(item) && item.get('run') === affectedCommand(settings).join(' '));
    if (isMap(nxStep)) nxStep.commentBefore = note;
  }
  return document.toString({ lineWidth: 0, nullStr: '' });
}

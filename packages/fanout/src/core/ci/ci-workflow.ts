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
  /** What `nx affected` runs, step by step. */
  targets: AffectedTargets;
  remoteCache: RemoteCache;
  /** Names of repository secrets passed under the same name to the steps that can run agents (agent API keys). */
  secrets: string[];
}

/**
 * The targets of the workflow's `nx affected` steps. Nx runs the targets of one
 * `nx affected -t` in whatever order their dependencies allow, and the checks do
 * not depend on the sessions, so one command could lint or test a project before
 * or while its session integrates files into it. Each group gets a step of its
 * own instead: GitHub starts a step only once the one before it has succeeded.
 */
export interface AffectedTargets {
  /** The session target (`fanout`, or the plugin's `targetName`): the agents run here. */
  sessions?: string;
  /** `fanout-verify`: the cross-session checks and the report, once every session is integrated. */
  verify?: string;
  /** The checks over the integrated workspace (lint, test, typecheck, build), in the order given. */
  checks: string[];
}

/** The major versions Nx 23's own `nx g ci-workflow` uses, where it uses the action. */
const ACTIONS = {
  checkout: 'actions/checkout@v7',
  setupNode: 'actions/setup-node@v6',
  setupPnpm: 'pnpm/action-setup@v6',
  setupBun: 'oven-sh/setup-bun@v2',
  setShas: 'nrwl/nx-set-shas@v5',
  uploadArtifact: 'actions/upload-artifact@v6',
} as const;

/** What the fanout executor writes as the run's report. */
const REPORT_GLOB = '.fanout/report.*';
const REPORT_ARTIFACT = 'fanout-report';

const SELF_HOSTED_SERVER = 'NX_SELF_HOSTED_REMOTE_CACHE_SERVER';
const SELF_HOSTED_TOKEN = 'NX_SELF_HOSTED_REMOTE_CACHE_ACCESS_TOKEN';
/** Optional: when the repository defines it, pull-request runs read the cache with it and cannot write. */
export const SELF_HOSTED_READ_ONLY_TOKEN = 'NX_SELF_HOSTED_REMOTE_CACHE_READ_ONLY_TOKEN';
export const NX_CLOUD_TOKEN = 'NX_CLOUD_ACCESS_TOKEN';

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

/** `npx nx affected -t fanout`, as argv. */
function affectedCommand(packageManager: PackageManager, targets: readonly string[], flags: readonly string[] = []): string[] {
  return [...packageManager.exec, 'nx', 'affected', '-t', ...targets, ...flags];
}

/** fanout-verify's option that leaves the checks to the workflow's own step (see verify's schema.json). */
const SKIP_AFFECTED_FLAG = '--skipAffected';

/** Whether some step can start an agent session, and so needs the agents' keys. */
export function runsAgents(targets: AffectedTargets): boolean {
  // fanout-verify depends on every task's session: one that no earlier step ran and no cache holds runs there.
  return targets.sessions !== undefined || targets.verify !== undefined;
}

/** The `nx affected` steps, sessions first, then the verification, then the checks. */
function affectedSteps(settings: WorkflowSettings): Step[] {
  const cache = remoteCacheEnv(settings.remoteCache);
  const agents = Object.fromEntries(settings.secrets.map((name) => [name, secret(name)]));
  // The remote cache serves every nx step; the agents' keys go only where an agent can run.
  const step = (name: string, targets: string[], withAgents: boolean, flags: string[] = []): Step => {
    const env = { ...cache, ...(withAgents ? agents : {}) };
    return {
      name,
      run: affectedCommand(settings.packageManager, targets, flags).join(' '),
      ...(Object.keys(env).length > 0 ? { env } : {}),
    };
  };
  const { sessions, verify, checks } = settings.targets;
  return [
    ...(sessions ? [step('Run the affected fanout sessions', [sessions], true)] : []),
    // With a checks step after it, verify leaves the checks to that step rather than run them twice.
    ...(verify ? [step('Verify the sessions together', [verify], true, checks.length > 0 ? [SKIP_AFFECTED_FLAG] : [])] : []),
    ...(checks.length > 0 ? [step('Run the affected checks on the integrated workspace', checks, false)] : []),
  ];
}

/** The workflow as plain data, in the order GitHub shows it. */
function workflowDocument(settings: WorkflowSettings): Record<string, unknown> {
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
          // Secrets reach these steps only: the install above runs dependencies' install scripts.
          ...affectedSteps(settings),
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
  ' The sessions, their verification and the checks are separate steps, in this order: Nx does not',
  ' run the targets of one `nx affected -t` in the order given, and a check must see integrated code.',
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
  const [firstNxStep] = affectedSteps(settings);
  if (note && firstNxStep && isSeq(steps)) {
    const nxStep = steps.items.find((item) => isMap(item) && item.get('run') === firstNxStep['run']);
    if (isMap(nxStep)) nxStep.commentBefore = note;
  }
  return document.toString({ lineWidth: 0, nullStr: '' });
}

import { isAbsolute, join, relative, resolve } from 'path';

/** Where a CLI agent's provider is reached: the variable that overrides its API's address, and the default. */
export interface ProviderEndpoint {
  baseUrlVariable: string;
  defaultUrl: string;
}

export const PROVIDER_ENDPOINTS = {
  anthropic: { baseUrlVariable: 'ANTHROPIC_BASE_URL', defaultUrl: 'https://api.anthropic.com' },
  openai: { baseUrlVariable: 'OPENAI_BASE_URL', defaultUrl: 'https://api.openai.com' },
  gemini: { baseUrlVariable: 'GOOGLE_GEMINI_BASE_URL', defaultUrl: 'https://generativelanguage.googleapis.com' },
} satisfies Record<string, ProviderEndpoint>;

/** Credential stores under the home folder that no agent reads. */
export const CREDENTIAL_STORES = [
  '.ssh',
  '.aws',
  '.config/gcloud',
  '.azure',
  '.kube',
  '.docker/config.json',
  '.npmrc',
  '.netrc',
  '.git-credentials',
  '.gnupg',
];

/** What in the user's checkout the user's later runs replay or execute: never writable from a sandbox. */
const CHECKOUT_PROTECTED = ['.git', 'node_modules', '.nx/cache', '.nx/workspace-data'];

export interface SandboxPolicyOptions {
  /** The session's worktree: the agent's working folder. */
  worktree: string;
  /** A folder only this session uses: TMPDIR, and the agent's own Nx cache. */
  privateTemp: string;
  /** The user's checkout (the workspace root). Worktrees may live inside it; nothing else in it is writable. */
  checkout: string;
  /** The home folder the credential stores are under. */
  home: string;
  /** Narrow folders the agent's CLI must write, such as its session store. */
  stateFolders?: string[];
  /** More paths the agent may not read (absolute, or under `~/`). */
  denyRead?: string[];
  /** Where the agent's model is: the host of each one's base URL, read from `env`, is reachable. */
  providers?: ProviderEndpoint[];
  /** More hosts the agent may reach, such as a package registry (`host`, `*.host`, `host:port`). */
  allowedDomains?: string[];
  /** The environment the agent starts from, for the providers' base URL variables. */
  env?: NodeJS.ProcessEnv;
  /** The agent may run nx: it gets a cache and workspace data of its own, in its private temp folder. */
  nx?: boolean;
}

export interface SandboxPolicy {
  allowWrite: string[];
  denyWrite: string[];
  denyRead: string[];
  allowedDomains: string[];
  privateTemp: string;
  /** Variables the sandboxed process needs for the policy to hold (its TMPDIR, its Nx folders). */
  env: Record<string, string>;
  /**
   * Variables set inside the sandbox, over the library's own. The library's NO_PROXY sends loopback
   * straight to the sandbox's own (empty) loopback: when an allowed host is on the host's loopback,
   * NO_PROXY leaves loopback out, so that clients reach it through the proxy.
   */
  insideEnv: Record<string, string>;
}

/** What result.json records of a policy: paths and hosts, never a variable's value. */
export interface SandboxPolicySummary {
  writable: string[];
  readDenied: string[];
  network: string[];
  env: string[];
}

export function sandboxPolicy(options: SandboxPolicyOptions): SandboxPolicy {
  const worktree = absolute(options.worktree, 'worktree');
  const privateTemp = absolute(options.privateTemp, 'privateTemp');
  const checkout = absolute(options.checkout, 'checkout');
  const home = absolute(options.home, 'home');
  const stateFolders = (options.stateFolders ?? []).map((folder, i) => absolute(folder, `stateFolders[${i}]`));

  const writable = unique([worktree, privateTemp, ...stateFolders]);
  const protectedPaths = CHECKOUT_PROTECTED.map((path) => join(checkout, path));
  for (const root of writable) {
    const exposed = [checkout, home, ...protectedPaths].find((path) => isWithin(path, root));
    if (exposed) {
      throw new Error(
        `Sandbox policy: the writable folder ${root} holds ${exposed}, which a sandboxed agent must not write. ` +
          `Give the agent a narrower folder (its own worktree, temp folder or CLI state folder).`,
      );
    }
    const inside = protectedPaths.find((path) => isWithin(root, path));
    if (inside) {
      throw new Error(
        `Sandbox policy: the writable folder ${root} is inside ${inside}, which the user's later runs use. ` +
          `Put the agent's folders elsewhere.`,
      );
    }
  }

  const denyRead = unique([
    ...CREDENTIAL_STORES.map((store) => join(home, store)),
    ...(options.denyRead ?? []).map((path, i) => homePath(path, home, `denyRead[${i}]`)),
  ]);

  const env: Record<string, string> = { TMPDIR: privateTemp };
  if (options.nx) {
    Object.assign(env, {
      NX_CACHE_DIRECTORY: join(privateTemp, 'nx-cache'),
      NX_WORKSPACE_DATA_DIRECTORY: join(privateTemp, 'nx-workspace-data'),
      NX_NATIVE_FILE_CACHE_DIRECTORY: join(privateTemp, 'nx-native-cache'),
      NX_SOCKET_DIR: join(privateTemp, 'nx-sockets'),
      // The sandbox refuses new Unix sockets: no daemon, and plugins load in the nx process itself.
      NX_DAEMON: 'false',
      NX_ISOLATE_PLUGINS: 'false',
      // npx keeps its cache in the home folder, which is not writable.
      npm_config_cache: join(privateTemp, 'npm-cache'),
    });
  }

  const allowedDomains = unique([
    ...(options.providers ?? []).map((provider) => providerHost(provider, options.env ?? {})),
    ...(options.allowedDomains ?? []).map((domain, i) => checkedDomain(domain, `allowedDomains[${i}]`)),
  ]);
  const insideEnv: Record<string, string> = {};
  if (allowedDomains.some(isLoopback)) {
    insideEnv['NO_PROXY'] = insideEnv['no_proxy'] = PRIVATE_NETWORKS.join(',');
  }

  return {
    allowWrite: writable,
    // Worktrees live inside the checkout, so the checkout itself cannot be a denyWrite entry (a deny
    // above an allow wins); it stays unwritable because no writable folder holds it.
    denyWrite: [],
    denyRead,
    allowedDomains,
    privateTemp,
    env,
    insideEnv,
  };
}

/** The library's NO_PROXY without loopback: private networks still go direct (and fail), loopback goes through the proxy. */
const PRIVATE_NETWORKS = ['169.254.0.0/16', '10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16'];

/** Whether an allowed host (`host`, `host:port`) is on the loopback interface. */
export function isLoopback(domain: string): boolean {
  const host = domain.startsWith('[') ? domain.slice(1, domain.indexOf(']')) : domain.replace(/:\d+$/, '');
  return host === 'localhost' || host === '::1' || /^127\.\d+\.\d+\.\d+$/.test(host);
}

export function policySummary(policy: SandboxPolicy): SandboxPolicySummary {
  return {
    writable: [...policy.allowWrite],
    readDenied: [...policy.denyRead],
    network: [...policy.allowedDomains],
    env: Object.keys(policy.env).sort(),
  };
}

/** `host:port` of the provider's API: its base URL variable when set, else its default. Credentials in the URL stay out. */
export function providerHost(provider: ProviderEndpoint, env: NodeJS.ProcessEnv): string {
  const configured = env[provider.baseUrlVariable]?.trim();
  const url = configured || provider.defaultUrl;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new Error(
      `Sandbox policy: ${configured ? provider.baseUrlVariable : 'the default URL'} is not a URL ` +
        `(got ${JSON.stringify(redactUrl(url))}). Set it to the API's address, such as https://api.example.com.`,
    );
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new Error(
      `Sandbox policy: ${provider.baseUrlVariable} must be an http:// or https:// URL (got ${parsed.protocol}//${parsed.host}).`,
    );
  }
  return hostAndPort(parsed);
}

/** `host:port` of a URL, the scheme's port when it names none: the form the sandbox's allowed hosts take. */
export function hostAndPort(url: URL): string {
  return `${url.hostname}:${url.port || (url.protocol === 'https:' ? '443' : '80')}`;
}

// A name, a wildcard name, an IPv4 address or a bracketed IPv6 one, with an optional port: the sandbox's grammar.
const DOMAIN = /^(\*\.)?([a-z0-9]([a-z0-9-]*[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:\d{1,5})?$|^\[[0-9a-f:.]+\](:\d{1,5})?$/i;

function checkedDomain(domain: string, where: string): string {
  const trimmed = domain.trim();
  if (DOMAIN.test(trimmed)) return trimmed;
  const asUrl = /^[a-z]+:\/\//i.test(trimmed) ? ` Give the host alone, such as "${safeHost(trimmed)}".` : '';
  throw new Error(
    `Sandbox policy: ${where} ${JSON.stringify(domain)} is not a host.${asUrl} ` +
      `Allowed forms: registry.npmjs.org, *.example.com, 127.0.0.1:8080, [::1]:8080.`,
  );
}

function safeHost(url: string): string {
  try {
    return new URL(url).host;
  } catch {
    return 'registry.npmjs.org';
  }
}

function redactUrl(url: string): string {
  return url.replace(/\/\/[^/@]*@/, '//***@');
}

function absolute(path: string, where: string): string {
  if (!path || !isAbsolute(path)) {
    throw new Error(`Sandbox policy: ${where} must be an absolute path (got ${JSON.stringify(path)}).`);
  }
  return resolve(path);
}

function homePath(path: string, home: string, where: string): string {
  if (path === '~') return home;
  if (path.startsWith('~/')) return join(home, path.slice(2));
  if (!isAbsolute(path)) {
    throw new Error(
      `Sandbox policy: ${where} ${JSON.stringify(path)} must be absolute or start with ~/ (a relative path would ` +
        `depend on the folder the agent starts in).`,
    );
  }
  return resolve(path);
}

/** Whether `path` is `folder` or inside it (absolute paths). */
export function isWithin(path: string, folder: string): boolean {
  const rel = relative(folder, path);
  return rel === '' || (!rel.startsWith('..') && !isAbsolute(rel));
}

function unique(values: string[]): string[] {
  return [...new Set(values)];
}

import { execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { workspaceRoot } from '@nx/devkit';
import { runServer } from 'verdaccio';
import { childEnv, runCommand } from './run-command';

/**
 * The packages published to the local registry. They are not proxied, so a package of
 * the same name upstream can neither block the publish nor be installed instead.
 * Everything else is proxied.
 */
const PUBLISHED_PACKAGES = ['fanout'];

export interface LocalRegistry {
  /** e.g. http://127.0.0.1:41234 */
  url: string;
  /** What a child process needs to install from and publish to this registry, ~/.npmrc untouched. */
  env: Record<string, string>;
  /** Closes the server and removes its storage. Safe to call twice. */
  stop: () => Promise<void>;
}

/**
 * Starts verdaccio in this process on 127.0.0.1 and a free port, with its storage in a
 * fresh temporary folder. Packages other than ours are proxied to the npm registry
 * configured for this machine.
 */
export async function startLocalRegistry(): Promise<LocalRegistry> {
  const storageRoot = mkdtempSync(join(tmpdir(), 'fanout-e2e-registry-'));
  const configPath = join(storageRoot, 'config.yaml');
  // Asked outside this repository: inside an npm workspaces root, `npm config` refuses to run.
  const upstream = execFileSync('npm', ['config', 'get', 'registry'], {
    encoding: 'utf8',
    cwd: tmpdir(),
    env: childEnv({}),
  }).trim();

  const access = { access: '$all', publish: '$all', unpublish: '$all' };
  const packages: Record<string, object> = {};
  for (const name of PUBLISHED_PACKAGES) packages[name] = access;
  packages['**'] = { ...access, proxy: 'npmjs' };

  // verdaccio reads the storage path from this variable before its config: keep it ours.
  delete process.env.VERDACCIO_STORAGE_PATH;
  let server: Server;
  try {
    server = await runServer({
      configPath,
      self_path: configPath,
      storage: join(storageRoot, 'storage'),
      auth: { htpasswd: { file: join(storageRoot, 'htpasswd') } },
      // npm sends the token with every request. The default (legacy) token carries the
      // password, which verdaccio checks with bcrypt each time (~300 ms of CPU per request:
      // it made installs take twice as long); a JWT is checked by its signature alone.
      security: { api: { jwt: { sign: { expiresIn: '1d' } } } },
      // maxage: the registry lives for one run, so metadata fetched once is not fetched again.
      uplinks: {
        npmjs: { url: upstream, timeout: '60s', max_fails: 5, maxage: '30m' },
      },
      packages,
      publish: { allow_offline: true },
      log: { type: 'stdout', format: 'pretty', level: 'warn' },
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => resolve());
    });
  } catch (error) {
    rmSync(storageRoot, { recursive: true, force: true });
    throw error;
  }

  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
    rmSync(storageRoot, { recursive: true, force: true });
  };

  try {
    const { port } = server.address() as AddressInfo;
    const url = `http://127.0.0.1:${port}`;
    const token = await createUser(url);
    return {
      url,
      env: {
        npm_config_registry: `${url}/`,
        [`npm_config_//127.0.0.1:${port}/:_authToken`]: token,
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** What `npm adduser` does: the registry answers with a token for the new user. */
async function createUser(url: string): Promise<string> {
  const name = 'fanout-e2e';
  const response = await fetch(`${url}/-/user/org.couchdb.user:${name}`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      name,
      password: `pw-${Date.now()}`,
      type: 'user',
      roles: [],
    }),
  });
  const body = (await response.json()) as { token?: string; error?: string };
  if (!response.ok || !body.token) {
    throw new Error(`The local registry at ${url} refused to create a user (${response.status}): ${JSON.stringify(body)}`);
  }
  return body.token;
}

/**
 * Publishes packages/fanout, as built in its dist/, under the dist-tag `e2e` and a
 * version of its own, so a stale copy in npm's cache can never be installed instead.
 * Only a staged copy is changed: packages/fanout/package.json is left as it is.
 */
export async function publishPlugin(registry: LocalRegistry): Promise<string> {
  const packageRoot = join(workspaceRoot, 'packages', 'fanout');
  if (!existsSync(join(packageRoot, 'dist', 'index.js'))) {
    throw new Error(`${packageRoot}/dist/index.js is missing: build the plugin first (npx nx build fanout).`);
  }

  // npm itself says which files a publish would contain (the `files` field of package.json).
  const packed = await runCommand('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
    cwd: packageRoot,
    env: childEnv(registry.env),
  });
  const [{ files }] = JSON.parse(packed.stdout) as [{ files: { path: string }[] }];

  const staging = mkdtempSync(join(tmpdir(), 'fanout-e2e-package-'));
  try {
    for (const { path } of files) {
      mkdirSync(dirname(join(staging, path)), { recursive: true });
      copyFileSync(join(packageRoot, path), join(staging, path));
    }
    const version = `0.0.0-e2e.${Date.now()}`;
    const manifestPath = join(staging, 'package.json');
    const manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
    writeFileSync(manifestPath, JSON.stringify({ ...manifest, version }, null, 2) + '\n');

    await runCommand('npm', ['publish', '--tag', 'e2e', '--ignore-scripts'], {
      cwd: staging,
      env: childEnv(registry.env),
      timeoutMs: 2 * 60_000,
    });
    return version;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

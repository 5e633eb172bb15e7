import {
  CREDENTIAL_STORES,
  isLoopback,
  PROVIDER_ENDPOINTS,
  policySummary,
  providerHost,
  sandboxPolicy,
  type SandboxPolicyOptions,
} from './policy';

const base: SandboxPolicyOptions = {
  worktree: '/work/ws/.fanout/worktrees/orders',
  privateTemp: '/tmp/fanout-orders',
  checkout: '/work/ws',
  home: '/home/ada',
};

describe('sandboxPolicy', () => {
  describe('writes', () => {
    it('allows the worktree and the private temp folder, nothing else by default', () => {
      const policy = sandboxPolicy(base);
      expect(policy.allowWrite).toEqual(['/work/ws/.fanout/worktrees/orders', '/tmp/fanout-orders']);
      expect(policy.denyWrite).toEqual([]);
    });

    it("adds the CLI's state folders", () => {
      const policy = sandboxPolicy({ ...base, stateFolders: ['/home/ada/.claude', '/home/ada/.claude'] });
      expect(policy.allowWrite).toEqual(['/work/ws/.fanout/worktrees/orders', '/tmp/fanout-orders', '/home/ada/.claude']);
    });

    it('refuses a writable folder that holds the checkout', () => {
      expect(() => sandboxPolicy({ ...base, stateFolders: ['/work'] })).toThrow(
        'Sandbox policy: the writable folder /work holds /work/ws, which a sandboxed agent must not write.',
      );
    });

    it('refuses the checkout itself as the worktree', () => {
      expect(() => sandboxPolicy({ ...base, worktree: '/work/ws' })).toThrow('the writable folder /work/ws holds /work/ws');
    });

    it('refuses the home folder, which holds the credential stores', () => {
      expect(() => sandboxPolicy({ ...base, stateFolders: ['/home/ada'] })).toThrow('the writable folder /home/ada holds /home/ada');
    });

    it.each([
      '/work/ws/.git/worktrees/orders',
      '/work/ws/node_modules/.cache/agent',
      '/work/ws/.nx/cache/x',
      '/work/ws/.nx/workspace-data/agent',
    ])('refuses a writable folder inside what later runs use: %s', (folder) => {
      expect(() => sandboxPolicy({ ...base, stateFolders: [folder] })).toThrow(
        /is inside \/work\/ws\/(\.git|node_modules|\.nx\/cache|\.nx\/workspace-data), which the user's later runs use/,
      );
    });

    it('refuses a relative path, naming the option', () => {
      expect(() => sandboxPolicy({ ...base, stateFolders: ['.claude'] })).toThrow(
        'Sandbox policy: stateFolders[0] must be an absolute path (got ".claude").',
      );
    });
  });

  describe('reads', () => {
    it('denies every credential store under the home folder', () => {
      const policy = sandboxPolicy(base);
      expect(policy.denyRead).toEqual(CREDENTIAL_STORES.map((store: string) => `/home/ada/${store}`));
      expect(policy.denyRead).toEqual(
        expect.arrayContaining(['/home/ada/.ssh', '/home/ada/.docker/config.json', '/home/ada/.config/gcloud', '/home/ada/.gnupg']),
      );
    });

    it('adds denyRead entries, ~/ meaning the home folder', () => {
      const policy = sandboxPolicy({ ...base, denyRead: ['~/.vault-token', '/etc/secrets'] });
      expect(policy.denyRead.slice(-2)).toEqual(['/home/ada/.vault-token', '/etc/secrets']);
    });

    it('refuses a relative denyRead entry', () => {
      expect(() => sandboxPolicy({ ...base, denyRead: ['secrets'] })).toThrow(
        'Sandbox policy: denyRead[0] "secrets" must be absolute or start with ~/',
      );
    });
  });

  describe('network', () => {
    it('reaches nothing by default', () => {
      expect(sandboxPolicy(base).allowedDomains).toEqual([]);
    });

    it("reaches the provider's default API host when its base URL variable is unset", () => {
      const policy = sandboxPolicy({ ...base, providers: [PROVIDER_ENDPOINTS.anthropic], env: {} });
      expect(policy.allowedDomains).toEqual(['api.anthropic.com:443']);
    });

    it('reaches the host of the base URL variable when set, with its port', () => {
      const policy = sandboxPolicy({
        ...base,
        providers: [PROVIDER_ENDPOINTS.openai, PROVIDER_ENDPOINTS.gemini],
        env: { OPENAI_BASE_URL: 'http://127.0.0.1:4010/v1', GOOGLE_GEMINI_BASE_URL: '' },
      });
      expect(policy.allowedDomains).toEqual(['127.0.0.1:4010', 'generativelanguage.googleapis.com:443']);
    });

    it('adds allowedDomains, checked', () => {
      const policy = sandboxPolicy({ ...base, allowedDomains: ['registry.npmjs.org', '*.example.com', '127.0.0.1:8080', '[::1]:9000'] });
      expect(policy.allowedDomains).toEqual(['registry.npmjs.org', '*.example.com', '127.0.0.1:8080', '[::1]:9000']);
    });

    it('refuses a URL in allowedDomains, saying which host to give', () => {
      expect(() => sandboxPolicy({ ...base, allowedDomains: ['https://registry.npmjs.org/'] })).toThrow(
        'Sandbox policy: allowedDomains[0] "https://registry.npmjs.org/" is not a host. Give the host alone, such as "registry.npmjs.org".',
      );
    });

    it('refuses a base URL that is not a URL, without printing its credentials', () => {
      const attempt = () => providerHost(PROVIDER_ENDPOINTS.anthropic, { ANTHROPIC_BASE_URL: 'https//user:hunter2@proxy' });
      expect(attempt).toThrow('Sandbox policy: ANTHROPIC_BASE_URL is not a URL');
      expect(attempt).not.toThrow(/hunter2/);
    });

    it('keeps credentials in a base URL out of the host', () => {
      expect(providerHost(PROVIDER_ENDPOINTS.anthropic, { ANTHROPIC_BASE_URL: 'https://key:secret@gw.corp:8443/anthropic' })).toBe(
        'gw.corp:8443',
      );
    });
  });

  describe('environment', () => {
    it('points TMPDIR at the private temp folder', () => {
      expect(sandboxPolicy(base).env).toEqual({ TMPDIR: '/tmp/fanout-orders' });
    });

    it('gives an agent that runs nx a cache and workspace data of its own', () => {
      const { env } = sandboxPolicy({ ...base, nx: true });
      expect(env).toMatchObject({
        NX_CACHE_DIRECTORY: '/tmp/fanout-orders/nx-cache',
        NX_WORKSPACE_DATA_DIRECTORY: '/tmp/fanout-orders/nx-workspace-data',
        NX_DAEMON: 'false',
      });
      for (const value of Object.values(env) as string[]) expect(value.startsWith('/work/ws/')).toBe(false);
    });
  });
});

describe('policySummary', () => {
  it('names paths, hosts and variable names, never a value', () => {
    const policy = sandboxPolicy({
      ...base,
      nx: true,
      providers: [PROVIDER_ENDPOINTS.anthropic],
      env: { ANTHROPIC_BASE_URL: 'https://key:secret@gw.corp/' },
    });
    const summary = policySummary(policy);
    expect(summary).toEqual({
      writable: ['/work/ws/.fanout/worktrees/orders', '/tmp/fanout-orders'],
      readDenied: policy.denyRead,
      network: ['gw.corp:443'],
      env: expect.arrayContaining(['TMPDIR', 'NX_CACHE_DIRECTORY']),
    });
    expect(JSON.stringify(summary)).not.toMatch(/secret|key:/);
  });
});

describe('a host on loopback', () => {
  it("takes loopback out of the library's NO_PROXY inside the sandbox, so that clients reach it through the proxy", () => {
    const policy = sandboxPolicy({
      ...base,
      providers: [PROVIDER_ENDPOINTS.anthropic],
      env: { ANTHROPIC_BASE_URL: 'http://127.0.0.1:4010' },
    });
    expect(policy.insideEnv).toEqual({
      NO_PROXY: '169.254.0.0/16,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16',
      no_proxy: '169.254.0.0/16,10.0.0.0/8,172.16.0.0/12,192.168.0.0/16',
    });
  });

  it('leaves the NO_PROXY alone when no allowed host is on loopback', () => {
    expect(sandboxPolicy({ ...base, providers: [PROVIDER_ENDPOINTS.anthropic], env: {} }).insideEnv).toEqual({});
  });

  it.each([
    ['127.0.0.1:8080', true],
    ['localhost', true],
    ['[::1]:9000', true],
    ['127.3.2.1', true],
    ['api.anthropic.com:443', false],
    ['10.0.0.1', false],
  ])('%s is loopback: %s', (domain, loopback) => expect(isLoopback(domain)).toBe(loopback));
});

import { sandboxEnv } from './env';

const parent: NodeJS.ProcessEnv = {
  PATH: '/usr/bin',
  HOME: '/home/ada',
  USER: 'ada',
  LANG: 'en_GB.UTF-8',
  LC_ALL: 'en_GB.UTF-8',
  TERM: 'xterm-256color',
  COLORTERM: 'truecolor',
  TMPDIR: '/tmp',
  HTTPS_PROXY: 'http://proxy:3128',
  no_proxy: 'localhost',
  FANOUT_TRACE: '1',
  ANTHROPIC_API_KEY: 'sk-ant-1',
  ANTHROPIC_BASE_URL: 'http://127.0.0.1:4000',
  OPENAI_API_KEY: 'sk-openai',
  GITHUB_TOKEN: 'ghp_1',
  AWS_ACCESS_KEY_ID: 'AKIA1',
  AWS_SECRET_ACCESS_KEY: 'secret',
  NPM_TOKEN: 'npm_1',
  NX_CLOUD_ACCESS_TOKEN: 'nxc',
  MY_TOOL_HOME: '/opt/tool',
  MY_TOOL_LEVEL: '3',
};

describe('sandboxEnv', () => {
  it('keeps the basics: PATH, HOME, locale, terminal, TMPDIR, proxies and FANOUT_*', () => {
    expect(sandboxEnv(parent)).toEqual({
      PATH: '/usr/bin',
      HOME: '/home/ada',
      USER: 'ada',
      LANG: 'en_GB.UTF-8',
      LC_ALL: 'en_GB.UTF-8',
      TERM: 'xterm-256color',
      COLORTERM: 'truecolor',
      TMPDIR: '/tmp',
      HTTPS_PROXY: 'http://proxy:3128',
      no_proxy: 'localhost',
      FANOUT_TRACE: '1',
    });
  });

  it("keeps the agent's own key and base URL, and not another provider's key", () => {
    const env = sandboxEnv(parent, { agentVariables: ['ANTHROPIC_API_KEY', 'ANTHROPIC_BASE_URL'] });
    expect(env).toMatchObject({ ANTHROPIC_API_KEY: 'sk-ant-1', ANTHROPIC_BASE_URL: 'http://127.0.0.1:4000' });
    expect(env.OPENAI_API_KEY).toBeUndefined();
  });

  it('drops every other secret', () => {
    const env = sandboxEnv(parent, { agentVariables: ['ANTHROPIC_API_KEY'] });
    for (const name of ['GITHUB_TOKEN', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'NPM_TOKEN', 'NX_CLOUD_ACCESS_TOKEN']) {
      expect(env[name]).toBeUndefined();
    }
  });

  it('keeps what the env allow list names, by name or by prefix', () => {
    expect(sandboxEnv(parent, { allow: ['NPM_TOKEN'] }).NPM_TOKEN).toBe('npm_1');
    const env = sandboxEnv(parent, { allow: ['MY_TOOL_*'] });
    expect(env).toMatchObject({ MY_TOOL_HOME: '/opt/tool', MY_TOOL_LEVEL: '3' });
    expect(env.GITHUB_TOKEN).toBeUndefined();
  });

  it.each(['*', 'MY TOOL', 'A=B', '1ABC', 'MY_*_X'])('refuses %j as an allow list entry, naming the option', (entry) => {
    expect(() => sandboxEnv(parent, { allow: [entry] })).toThrow(
      `Sandbox environment: env entry ${JSON.stringify(entry)} is not a variable name.`,
    );
  });
});

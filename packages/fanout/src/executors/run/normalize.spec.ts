import { checkPluginOptions, normalizeRunOptions, OptionsError, runSettings } from './normalize';

describe('normalizeRunOptions', () => {
  it('takes --timeout=90, which Nx parses as a number, as the seconds the docs promise', () => {
    expect(normalizeRunOptions({ timeout: 90 })).toEqual({ timeout: '90' });
    expect(normalizeRunOptions({ timeout: '30m', repairs: '3', fresh: 'false', quiet: true, model: 4 })).toEqual({
      timeout: '30m',
      repairs: 3,
      fresh: false,
      quiet: true,
      model: '4',
    });
  });

  it("lets through fanout-verify's options, which Nx hands every target of a command that runs both", () => {
    expect(normalizeRunOptions({ skipAffected: true, base: 'main', agent: 'pattern' })).toEqual({ agent: 'pattern' });
  });

  it('names every problem at once, with what to write instead', () => {
    let error: unknown;
    try {
      normalizeRunOptions({ budget: 1, timeout: -5, gate: { typecheck: true } }, 'agents');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(OptionsError);
    const message = (error as Error).message;
    expect(message).toMatch(/^3 problems with the options:/);
    expect(message).toContain('--budget is not an option of agents (nor of fanout-verify');
    expect(message).toContain('--timeout is seconds, or a duration such as 90s, 30m or 1h (got -5).');
    expect(message).toContain('--gate is a list of target names, such as --gate=typecheck,test (got {"typecheck":true}).');
  });
});

describe('the sandbox setting', () => {
  it('takes --sandbox=auto|on|off, and refuses anything else with the modes', () => {
    expect(normalizeRunOptions({ sandbox: 'off' })).toEqual({ sandbox: 'off' });
    expect(() => normalizeRunOptions({ sandbox: 'strict' })).toThrow('--sandbox is one of auto, on, off (got "strict").');
  });

  it('takes the plugin option as a mode or with what the policy adds, and names what is wrong with it', () => {
    expect(runSettings({ sandbox: 'on' }).sandbox).toEqual({ mode: 'on' });
    expect(runSettings({ sandbox: { allowedDomains: ['registry.npmjs.org'] } }).sandbox).toEqual({
      allowedDomains: ['registry.npmjs.org'],
    });
    expect(runSettings({}).sandbox).toBeUndefined();
    expect(() => checkPluginOptions({ sandbox: { mode: 'on', env: 'GITHUB_TOKEN' } as never })).toThrow(
      'nx.json (fanout plugin options): "sandbox".env is a list of non-empty strings, e.g. ["MY_TOOL_HOME", "MY_TOOL_*"] (got "GITHUB_TOKEN").',
    );
    expect(() => checkPluginOptions({ sandbox: 'yes' as never })).toThrow(
      'nx.json (fanout plugin options): "sandbox" is one of auto, on, off (got "yes").',
    );
  });
});

describe('checkPluginOptions', () => {
  it('accepts the options as documented', () => {
    expect(() =>
      checkPluginOptions({
        checks: { 'naming-parity': 'off', 'contract-conformance': 'error' },
        portBase: 30_000,
        portRange: 50,
        strictNaming: true,
        sparseCheckout: false,
        copyFiles: ['.env'],
        stagger: '2s',
        leadWait: 0,
      }),
    ).not.toThrow();
  });

  it('refuses a severity typo, which would otherwise act as a warning, and ports given as text', () => {
    expect(() => checkPluginOptions({ checks: { 'naming-parity': 'erorr' as 'error' } })).toThrow(
      'nx.json (fanout plugin options): "checks.naming-parity" is error, warning or off (got "erorr").',
    );
    expect(() => checkPluginOptions({ portRange: '100' as unknown as number })).toThrow('"portRange" is a whole number from 1 to 65535');
  });
});

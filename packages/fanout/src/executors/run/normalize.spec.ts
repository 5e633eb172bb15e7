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
      normalizeRunOptions({ maxCost: 1, timeout: -5, gate: { typecheck: true } }, 'agents');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(OptionsError);
    const message = (error as Error).message;
    expect(message).toMatch(/^3 problems with the options:/);
    expect(message).toContain('--maxCost is not an option of agents (nor of fanout-verify');
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

describe('the budget, prices and maxConcurrent', () => {
  it("takes FANOUT_BUDGET where --budget is not given (outside Nx's cache key), and names it when it is wrong", () => {
    const before = process.env['FANOUT_BUDGET'];
    try {
      process.env['FANOUT_BUDGET'] = '2.5';
      expect(normalizeRunOptions({})).toEqual({ budget: { usd: 2.5 } });
      expect(normalizeRunOptions({ budget: 1 })).toEqual({ budget: { usd: 1 } });
      process.env['FANOUT_BUDGET'] = 'plenty';
      expect(() => normalizeRunOptions({})).toThrow('FANOUT_BUDGET');
      process.env['FANOUT_BUDGET'] = ' ';
      expect(normalizeRunOptions({})).toEqual({});
    } finally {
      if (before === undefined) delete process.env['FANOUT_BUDGET'];
      else process.env['FANOUT_BUDGET'] = before;
    }
  });

  it('takes --budget as USD, tokens or both, as Nx hands it over (a number, or text)', () => {
    expect(normalizeRunOptions({ budget: 0.03 })).toEqual({ budget: { usd: 0.03 } });
    expect(normalizeRunOptions({ budget: '$5' })).toEqual({ budget: { usd: 5 } });
    expect(normalizeRunOptions({ budget: '5usd,2M tokens' })).toEqual({ budget: { usd: 5, tokens: 2_000_000 } });
    expect(() => normalizeRunOptions({ budget: -1 })).toThrow('--budget is USD (--budget=5 or "$5")');
    expect(() => normalizeRunOptions({ budget: 'a lot' })).toThrow('(got "a lot").');
  });

  it('settles the plugin options: the budget parsed, the prices over the table, maxConcurrent per agent', () => {
    const settings = runSettings({
      budget: { usd: 5, tokens: 2_000_000 },
      prices: { 'my-model': { input: 1, output: 2 } },
      maxConcurrent: { claude: 2 },
    });
    expect(settings.budget).toEqual({ usd: 5, tokens: 2_000_000 });
    expect(settings.prices.rows[0]).toMatchObject({ model: 'my-model', input: 1, output: 2, cacheWrite: 1, cacheRead: 1 });
    expect(settings.prices.overridden).toEqual(new Set(['my-model']));
    expect(settings.maxConcurrent).toEqual({ claude: 2 });
    expect(runSettings({}).budget).toBeUndefined();
  });

  it('names every problem with them at once, and where it is', () => {
    let message = '';
    try {
      checkPluginOptions({
        budget: '5 euros',
        prices: { 'my-model': { input: 'cheap' as never, output: 2, discount: 1 } as never },
        maxConcurrent: { claude: 1.5, robot: 1 },
      });
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toMatch(/^5 problems with the options:/);
    expect(message).toContain('nx.json (fanout plugin options): "budget" is USD (--budget=5 or "$5")');
    expect(message).toContain('"prices.my-model.discount" is not a price; a row takes input, output, cacheWrite, cacheRead.');
    expect(message).toContain('"prices.my-model.input" is USD per million tokens, a number of 0 or more without quotes (got "cheap").');
    expect(message).toContain('"maxConcurrent.claude" is a whole number of 1 or more, without quotes (got 1.5).');
    expect(message).toContain('"maxConcurrent" names an unknown agent "robot". Known: pattern, command, claude');
  });
});

import { sandboxAvailability, type AvailabilityLookups } from './availability';
import { checkSandboxMode, checkSandboxSetting, sandboxDecision, sessionSandboxSetting } from './settings';

const machine = (absent: string[] = []): (() => ReturnType<typeof sandboxAvailability>) => {
  const lookups: AvailabilityLookups = {
    platform: 'linux',
    onPath: (command) => !absent.includes(command),
    namespacesProblem: () => null,
    libraryResolvable: () => true,
  };
  return () => sandboxAvailability(lookups);
};

describe('checkSandboxMode', () => {
  it.each(['auto', 'on', 'off', ' on '])('takes %j', (mode) => expect(checkSandboxMode(mode, '--sandbox')).toBe(mode.trim()));

  it('takes the booleans YAML reads from true and false', () => {
    expect(checkSandboxMode(true, 'x')).toBe('on');
    expect(checkSandboxMode(false, 'x')).toBe('off');
  });

  it('refuses anything else, naming where and the modes', () => {
    expect(checkSandboxMode('yes', '--sandbox')).toEqual({ problem: '--sandbox is one of auto, on, off (got "yes").' });
  });
});

describe('checkSandboxSetting', () => {
  it('takes a mode alone, or an object with the lists', () => {
    expect(checkSandboxSetting('on', 'sandbox')).toEqual({ mode: 'on' });
    expect(
      checkSandboxSetting({ mode: 'auto', denyRead: ['~/.vault-token'], allowedDomains: ['registry.npmjs.org'], env: ['MY_*'] }, 'sandbox'),
    ).toEqual({ mode: 'auto', denyRead: ['~/.vault-token'], allowedDomains: ['registry.npmjs.org'], env: ['MY_*'] });
    expect(checkSandboxSetting({ allowedDomains: ['a.example.com'] }, 'sandbox')).toEqual({ allowedDomains: ['a.example.com'] });
  });

  it('names every problem: an unknown key, a bad mode, a list that is not one of strings', () => {
    const checked = checkSandboxSetting({ mode: 'always', allowDomains: [], env: 'GITHUB_TOKEN', denyRead: [''] }, 'nx.json: "sandbox"');
    expect(checked).toEqual({
      problems: [
        'nx.json: "sandbox" has unknown key(s) allowDomains. Known: mode, denyRead, allowedDomains, env.',
        'nx.json: "sandbox".mode is one of auto, on, off (got "always").',
        'nx.json: "sandbox".denyRead is a list of non-empty strings, e.g. ["~/.vault-token", "/etc/secrets"] (got [""]).',
        'nx.json: "sandbox".env is a list of non-empty strings, e.g. ["MY_TOOL_HOME", "MY_TOOL_*"] (got "GITHUB_TOKEN").',
      ],
    });
  });

  it('refuses a list in place of the setting', () => {
    expect(checkSandboxSetting(['on'], 'sandbox')).toEqual({
      problems: ['sandbox is a mode (auto, on, off) or an object { mode, denyRead, allowedDomains, env } (got a list).'],
    });
  });
});

describe('sessionSandboxSetting', () => {
  it('is auto with nothing added when nothing is set', () => {
    expect(sessionSandboxSetting({})).toEqual({ mode: 'auto', denyRead: [], allowedDomains: [], env: [] });
  });

  it('takes the mode from --sandbox, else fanout.md, else the plugin options', () => {
    expect(sessionSandboxSetting({ run: 'off', assignment: { mode: 'on' }, plugin: { mode: 'auto' } }).mode).toBe('off');
    expect(sessionSandboxSetting({ assignment: { mode: 'on' }, plugin: { mode: 'off' } }).mode).toBe('on');
    expect(sessionSandboxSetting({ assignment: { env: ['X'] }, plugin: { mode: 'off' } }).mode).toBe('off');
  });

  it("takes each list from fanout.md when it sets one, else the plugin options'", () => {
    const setting = sessionSandboxSetting({
      assignment: { allowedDomains: ['registry.npmjs.org'] },
      plugin: { allowedDomains: ['a.example.com'], env: ['MY_TOOL_*'] },
    });
    expect(setting).toEqual({ mode: 'auto', denyRead: [], allowedDomains: ['registry.npmjs.org'], env: ['MY_TOOL_*'] });
  });
});

describe('sandboxDecision', () => {
  it('is on where the sandbox can run, for auto and on', () => {
    expect(sandboxDecision('auto', machine())).toEqual({ on: true });
    expect(sandboxDecision('on', machine())).toEqual({ on: true });
  });

  it('is off for off, without looking at the machine', () => {
    const availability = jest.fn(machine(['bwrap']));
    expect(sandboxDecision('off', availability)).toEqual({ on: false });
    expect(availability).not.toHaveBeenCalled();
  });

  it('warns for auto where it cannot run: what is missing and the install command', () => {
    const decision = sandboxDecision('auto', machine(['socat']));
    expect(decision.on).toBe(false);
    expect(decision.warning).toMatch(
      /^The sandbox cannot run here: missing socat on PATH\. Install it with: apt-get install -y bubblewrap socat ripgrep/,
    );
    expect(decision.warning).toContain('Agents run unsandboxed (sandbox: auto)');
  });

  it('refuses on where it cannot run, with the install command', () => {
    expect(() => sandboxDecision('on', machine(['bwrap']))).toThrow(
      /^sandbox "on": The sandbox cannot run here: missing bubblewrap \(bwrap\) on PATH\. Install it with: apt-get install -y bubblewrap socat ripgrep/,
    );
  });
});

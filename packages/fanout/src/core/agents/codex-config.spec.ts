import { mkdtempSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';
import { codexProviderHost } from './codex-config';

describe('codexProviderHost', () => {
  let home: string;
  beforeEach(() => (home = mkdtempSync(join(tmpdir(), 'fanout-codex-config-'))));
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  const withConfig = (text: string) => {
    writeFileSync(join(home, 'config.toml'), text);
    return codexProviderHost(home);
  };

  it('reads the host and port of the provider config.toml selects, in each way TOML defines a table', () => {
    const table = ['model_provider = "scripted"', '', '[model_providers.scripted]', 'base_url = "http://127.0.0.1:4123/v1"'];
    expect(withConfig(table.join('\n'))).toBe('127.0.0.1:4123');
    expect(withConfig('model_provider = "gw"\nmodel_providers.gw.base_url = "https://gateway.example.com/openai/v1"\n')).toBe(
      'gateway.example.com:443',
    );
    expect(withConfig('model_provider = "my-gw"\n[model_providers]\n"my-gw" = { base_url = "http://[::1]:8080/v1" }\n')).toBe('[::1]:8080');
    expect(withConfig('model_provider = "local"\n[model_providers.local]\nbase_url = "http://localhost/v1"\n')).toBe('localhost:80');
  });

  it('reads only the provider selected, and none for a built-in one (Codex takes their addresses from itself)', () => {
    const providers = '[model_providers.other]\nbase_url = "http://127.0.0.1:9/v1"\n';
    expect(withConfig(providers)).toBeUndefined();
    expect(withConfig(`model_provider = "openai"\n${providers}`)).toBeUndefined();
    expect(withConfig('model_provider = "ollama"\n')).toBeUndefined();
  });

  it('reads none from a missing file, a file that is not TOML, or a base_url that is not an http(s) URL', () => {
    expect(codexProviderHost(home)).toBeUndefined();
    expect(withConfig('model_provider = "x\n')).toBeUndefined();
    expect(withConfig('model_provider = "x"\n[model_providers.x]\nbase_url = "127.0.0.1:8080"\n')).toBeUndefined();
    expect(withConfig('model_provider = "x"\n[model_providers.x]\nbase_url = "ftp://127.0.0.1/v1"\n')).toBeUndefined();
    expect(withConfig('model_provider = "x"\n[model_providers.x]\nname = "no url"\n')).toBeUndefined();
  });
});

import { join } from 'path';
import { spawnTypeScript } from '../testing/git-workspace';
import { formatOptions } from './options';

function run(args: string[]): Promise<{ code: number | null; output: string }> {
  const child = spawnTypeScript(join(__dirname, 'options.ts'), args);
  return new Promise((resolve) => child.on('close', (code) => resolve({ code, output: child.output() })));
}

describe('fanout-options', () => {
  it("prints the executor's description, then each option with its type, default and description", () => {
    const text = formatOptions('verify');
    expect(text).toMatch(/^fanout:verify \(fanout verify\)\n\nVerifies the integrated result/);
    expect(text).toMatch(/--skipAffected\s+boolean \[default: false\]\n\s+Only run the cross-session checks/);
    expect(formatOptions('run')).toMatch(/--agent\s+string \| number\n/);
  });

  it('leaves out the options the plugin sets itself', () => {
    const text = formatOptions('run');
    expect(text).toContain('--agent ');
    expect(text).not.toContain('--pluginVersion');
    expect(text).not.toContain('--agents ');
  });

  it('refuses an unknown executor, naming the ones there are', async () => {
    const { code, output } = await run(['lint']);
    expect(code).toBe(1);
    expect(output).toContain('no executor "lint". Name one of fanout\'s executors: run, land, verify');
  }, 60_000);
});

import { readFileSync } from 'fs';
import { join } from 'path';
import { spawnTypeScript } from './testing/git-workspace';

const packageRoot = join(__dirname, '..');
const manifest = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf-8')) as {
  main: string;
  exports: Record<string, string | Record<string, string>>;
};

/** Requires `entry` in a new process, as Nx's plugin worker does, and returns its exports and every file it loaded. */
function load(entry: string): Promise<{ exports: string[]; modules: string[] }> {
  const child = spawnTypeScript(join(__dirname, 'testing', 'loaded-modules-child.ts'), [entry]);
  return new Promise((resolve, reject) =>
    child.on('close', () => {
      try {
        resolve(JSON.parse(child.output().trim().split('\n').pop() ?? ''));
      } catch {
        reject(new Error(`the child printed no result: ${child.output()}`));
      }
    }),
  );
}

describe("the package's entries", () => {
  it('the entry Nx loads for inference (main, exports ".") is src/index.ts, and the generators are fanout/generators', () => {
    const dot = manifest.exports['.'] as Record<string, string>;
    const generators = manifest.exports['./generators'] as Record<string, string>;
    expect([manifest.main, dot['default'], dot['@fanout/source']]).toEqual(['./dist/index.js', './dist/index.js', './src/index.ts']);
    expect([generators['default'], generators['@fanout/source']]).toEqual(['./dist/generators/index.js', './src/generators/index.ts']);
  });

  it('the plugin entry gives Nx createNodes and loads neither @nx/js, the TypeScript compiler nor any generator', async () => {
    const { exports, modules } = await load(join(__dirname, 'index.ts'));
    expect(exports.sort()).toEqual(['createNodes', 'createNodesV2']);
    expect(modules.filter((path) => /[\\/]node_modules[\\/](@nx[\\/]js|ts-morph|typescript)[\\/]/.test(path))).toEqual([]);
    expect(modules.filter((path) => path.startsWith(join(__dirname, 'generators', '/')))).toEqual([]);
    expect(modules).toContain(join(__dirname, 'plugin.ts'));
  });

  it('fanout/generators gives the generators', async () => {
    const { exports } = await load(join(__dirname, 'generators', 'index.ts'));
    expect(exports.sort()).toEqual(['ciGenerator', 'contractsGenerator', 'initGenerator', 'referenceGenerator', 'taskGenerator']);
  });
});

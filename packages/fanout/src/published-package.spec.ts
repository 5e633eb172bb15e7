import { CopyAssetsHandler, type FileEvent } from '@nx/js/src/utils/assets/copy-assets-handler';
import { execFileSync } from 'child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'fs';
import { minimatch } from 'minimatch';
import { tmpdir } from 'os';
import { dirname, join, posix, relative } from 'path';

const packageRoot = join(__dirname, '..');
const workspaceRoot = join(packageRoot, '..', '..');
const manifest = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf-8')) as {
  nx: { targets: { build: { inputs?: string[]; options: { outputPath: string; assets: unknown[] } } } };
};
const build = manifest.nx.targets.build;

interface Shipped {
  /** Every file of the package as npm would publish it, by its path in the package. */
  files: Set<string>;
  /** The files the build copies in: their source in the workspace → their path in the package. */
  copied: Map<string, string>;
}

/**
 * What the published package holds, as far as the build's assets go: the assets
 * copied as Nx's tsc executor copies them into a staged package, then what
 * `npm pack` takes of it through package.json's `files` (compiled code aside).
 */
function shippedPackage(): Shipped {
  const staging = mkdtempSync(join(tmpdir(), 'fanout-package-'));
  try {
    const copied = new Map<string, string>();
    const outputDir = join(staging, relative(packageRoot, join(workspaceRoot, build.options.outputPath)));
    new CopyAssetsHandler({
      projectDir: packageRoot,
      rootDir: workspaceRoot,
      outputDir,
      assets: build.options.assets as ConstructorParameters<typeof CopyAssetsHandler>[0]['assets'],
      callback: (events: FileEvent[]) => {
        for (const event of events) {
          mkdirSync(dirname(event.dest), { recursive: true });
          copyFileSync(event.src, event.dest);
          copied.set(relative(workspaceRoot, event.src).split('\\').join('/'), relative(staging, event.dest).split('\\').join('/'));
        }
      },
    }).processAllAssetsOnceSync();
    copyFileSync(join(packageRoot, 'package.json'), join(staging, 'package.json'));
    copyFileSync(join(packageRoot, 'README.md'), join(staging, 'README.md'));
    const packed = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: staging,
      encoding: 'utf-8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const [{ files }] = JSON.parse(packed) as [{ files: { path: string }[] }];
    return { files: new Set(files.map((file) => file.path)), copied };
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

/** The relative links of a Markdown page (not web addresses, not anchors within the page), without their anchors. */
function relativeLinks(markdown: string): string[] {
  return [...markdown.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)]
    .map(([, target]) => target)
    .filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target) && !target.startsWith('#'))
    .map((target) => decodeURIComponent(target.split('#')[0]));
}

describe('the published package', () => {
  let shipped: Shipped;
  beforeAll(() => {
    shipped = shippedPackage();
  });

  it("ships every file its README links to, so the links work in node_modules and on npm's files", () => {
    const readme = readFileSync(join(packageRoot, 'README.md'), 'utf-8');
    const links = relativeLinks(readme);
    expect(links.length).toBeGreaterThan(5);
    const missing = links.map((link) => posix.normalize(link)).filter((path) => !shipped.files.has(path));
    expect(missing).toEqual([]);
  });

  it('keeps the links between the shipped pages working: a page linked in the repository is linked in the package', () => {
    const broken: string[] = [];
    for (const [source, shippedAs] of shipped.copied) {
      if (!source.endsWith('.md')) continue;
      for (const link of relativeLinks(readFileSync(join(workspaceRoot, source), 'utf-8'))) {
        const target = posix.normalize(posix.join(posix.dirname(source), link));
        const targetShippedAs = shipped.copied.get(target);
        // A page the package does not ship (the repository's README, CONTRIBUTING.md) is linked in the repository only.
        if (targetShippedAs === undefined) continue;
        if (posix.normalize(posix.join(posix.dirname(shippedAs), link)) !== targetShippedAs) broken.push(`${source} → ${link}`);
      }
    }
    expect(shipped.copied.size).toBeGreaterThan(0);
    expect(broken).toEqual([]);
  });

  it("rebuilds when a page it ships from outside the plugin's folder changes: each is an input of the build", () => {
    const inputs = (build.inputs ?? [])
      .filter((input) => input.startsWith('{workspaceRoot}/'))
      .map((input) => input.slice('{workspaceRoot}/'.length));
    const outside = [...shipped.copied.keys()].filter((source) => !source.startsWith('packages/fanout/'));
    expect(outside.length).toBeGreaterThan(0);
    expect(outside.filter((source) => !inputs.some((input) => minimatch(source, input)))).toEqual([]);
  });
});

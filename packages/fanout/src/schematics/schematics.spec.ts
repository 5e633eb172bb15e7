import { HostTree } from '@angular-devkit/schematics';
import { SchematicTestRunner } from '@angular-devkit/schematics/testing';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { join } from 'path';

const packageRoot = join(__dirname, '..', '..');
const published = JSON.parse(readFileSync(join(packageRoot, 'collection.json'), 'utf-8'));
const generators = JSON.parse(readFileSync(join(packageRoot, 'generators.json'), 'utf-8'));

describe('Angular devkit schematics collection', () => {
  let dir: string;
  let runner: SchematicTestRunner;

  beforeAll(() => {
    // The published collection points at dist/; the test points the same entries at the sources.
    dir = mkdtempSync(join(tmpdir(), 'fanout-schematics-'));
    const schematics = Object.fromEntries(
      Object.entries(published.schematics as Record<string, { factory: string; schema: string }>).map(([name, entry]) => [
        name,
        {
          ...entry,
          factory: join(packageRoot, entry.factory.replace('./dist/', 'src/')),
          schema: join(packageRoot, entry.schema.replace('./dist/', 'src/')),
        },
      ]),
    );
    const collectionPath = join(dir, 'collection.json');
    writeFileSync(collectionPath, JSON.stringify({ ...published, schematics }));
    runner = new SchematicTestRunner('fanout', collectionPath);
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('exposes every generator as a schematic with the same schema', () => {
    expect(Object.keys(published.schematics).sort()).toEqual(Object.keys(generators.generators).sort());
    for (const [name, entry] of Object.entries(published.schematics as Record<string, { schema: string }>)) {
      expect(entry.schema).toBe(generators.generators[name].schema);
    }
  });

  it('runs the init schematic through the devkit test runner', async () => {
    const host = new HostTree();
    host.create('package.json', JSON.stringify({ name: '@proj/source', devDependencies: {} }));
    host.create('nx.json', JSON.stringify({}));
    host.create('.gitignore', 'node_modules\n');

    const result = await runner.runSchematic('init', { skipFormat: true }, host);

    expect(JSON.parse(result.readContent('nx.json')).plugins).toContainEqual({ plugin: 'fanout', options: {} });
    expect(result.readContent('.gitignore')).toContain('.fanout/');
    expect(result.readContent('AGENTS.md')).toContain('fanout:contracts');
    expect(result.readContent('CLAUDE.md')).toContain('@AGENTS.md');
  });

  it('reports a generator error through the schematic', async () => {
    const host = new HostTree();
    host.create('package.json', JSON.stringify({ name: '@proj/source' }));
    host.create('nx.json', JSON.stringify({}));
    await expect(runner.runSchematic('reference', { name: '../x', contracts: 'contracts', skipFormat: true }, host)).rejects.toThrow(
      'not a valid name',
    );
  });
});

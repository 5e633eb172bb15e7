import { updateJson, type Tree } from '@nx/devkit';
import { createTreeWithEmptyWorkspace } from '@nx/devkit/testing';
import { initGenerator } from './init/init';
import { retagProject } from './projects';
import { updateJsonKeepingLayout, updateNxJsonKeepingLayout } from './update-json';

// The Tree is the workspace: Nx's generators get an empty graph, not this repository's (see devkitForTrees).
jest.mock('@nx/devkit', () => require('../testing/tree-project-graph').devkitForTrees());

/** An nx.json as a workspace's formatter leaves it: short arrays on one line, a long one item a line. */
const NX_JSON = `{
  "$schema": "./node_modules/nx/schemas/nx-schema.json",
  "namedInputs": {
    "default": ["{projectRoot}/**/*", "sharedGlobals"],
    "production": [
      "default",
      "!{projectRoot}/**/?(*.)+(spec|test).[jt]s?(x)?(.snap)",
      "!{projectRoot}/tsconfig.spec.json"
    ]
  },
  "plugins": [
    { "plugin": "@nx/js/typescript", "options": { "typecheck": { "targetName": "typecheck" } } },
    { "plugin": "@nx/jest/plugin", "options": { "targetName": "test" } }
  ],
  "targetDefaults": {
    "fanout": { "cache": true, "dependsOn": ["^build"] }
  }
}
`;

type References = { files: string[]; references: { path: string }[] };

describe('updateJsonKeepingLayout', () => {
  let tree: Tree;
  beforeEach(() => {
    tree = createTreeWithEmptyWorkspace({ formatter: 'none' });
  });

  it("changes what the updater changed and leaves the rest of the file as it was, where devkit's updateJson rewrites it", () => {
    const text = '{\n  // the libraries\n  "files": [],\n  "references": [{ "path": "./libs/a" }]\n}\n';
    tree.write('tsconfig.json', text);
    updateJsonKeepingLayout<References>(tree, 'tsconfig.json', (json) => ({
      ...json,
      references: [...json.references, { path: './libs/b' }],
    }));
    expect(tree.read('tsconfig.json', 'utf-8')).toBe(
      '{\n  // the libraries\n  "files": [],\n  "references": [{ "path": "./libs/a" }, { "path": "./libs/b" }]\n}\n',
    );

    tree.write('other.json', text);
    updateJson<References>(tree, 'other.json', (json) => ({ ...json, references: [...json.references, { path: './libs/b' }] }));
    expect(tree.read('other.json', 'utf-8')).not.toContain('[{ "path": "./libs/a" }, { "path": "./libs/b" }]');
  });

  it('keeps the tags of an adopted project one item a line', () => {
    tree.write('libs/a/project.json', '{\n  "name": "a",\n  "tags": [\n    "scope:shop"\n  ]\n}\n');
    retagProject(tree, 'libs/a', { add: ['fanout:reference'] });
    expect(tree.read('libs/a/project.json', 'utf-8')).toBe(
      '{\n  "name": "a",\n  "tags": [\n    "scope:shop",\n    "fanout:reference"\n  ]\n}\n',
    );
  });
});

describe('updateNxJsonKeepingLayout', () => {
  let tree: Tree;
  beforeEach(() => {
    tree = createTreeWithEmptyWorkspace({ formatter: 'none' });
    tree.write('nx.json', NX_JSON);
  });

  it('registers the plugin (fanout:init) and drops the cached landing, leaving the rest of nx.json as it was', async () => {
    await initGenerator(tree, { skipFormat: true });
    expect(tree.read('nx.json', 'utf-8')).toBe(
      NX_JSON.replace(
        '    { "plugin": "@nx/jest/plugin", "options": { "targetName": "test" } }\n',
        '    { "plugin": "@nx/jest/plugin", "options": { "targetName": "test" } },\n    { "plugin": "fanout", "options": {} }\n',
      ).replace('"fanout": { "cache": true, "dependsOn": ["^build"] }', '"fanout": { "dependsOn": ["^build"] }'),
    );
  });

  it("leaves an nx.json that extends another to devkit's updateNxJson, which writes only what differs from it", () => {
    tree.write('nx.json', '{ "extends": "nx/presets/npm.json", "plugins": [] }');
    const updateNxJson = jest
      .spyOn(jest.requireMock<typeof import('@nx/devkit')>('@nx/devkit'), 'updateNxJson')
      .mockImplementation(() => undefined);
    const nxJson = { extends: 'nx/presets/npm.json', plugins: ['fanout'] };
    updateNxJsonKeepingLayout(tree, nxJson);
    expect(updateNxJson).toHaveBeenCalledWith(tree, nxJson);
    updateNxJson.mockRestore();
  });
});

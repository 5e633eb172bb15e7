// Runs fanout's own generators (init, contracts, reference, task) on an in-memory
// workspace and writes the result to disk: the same files `nx g` would write, with
// no package installation. Run as its own process by task-workspace.mjs, because
// Nx's testing tree prints warnings about its virtual root that are noise here.
//   node generate-workspace.mjs <workspace> <options as JSON>
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const [workspace, json] = process.argv.slice(2);
const options = JSON.parse(json);
const require = createRequire(join(workspace, 'package.json'));
const { createTreeWithEmptyWorkspace } = require('@nx/devkit/testing');
const generator = (name) => require(join(workspace, 'node_modules', 'fanout', 'dist', 'generators', name, `${name}.js`));

// libs/: where task-workspace.mjs looks for the reference and the tasks.
const tree = createTreeWithEmptyWorkspace({ formatter: 'none', layout: 'apps-libs' });
await generator('init').initGenerator(tree, { skipFormat: true });
await generator('contracts').contractsGenerator(tree, { name: 'contracts', entities: options.entities.join(','), skipFormat: true });
await generator('reference').referenceGenerator(tree, { name: options.reference, contracts: 'contracts', skipFormat: true });
await generator('task').taskGenerator(tree, {
  names: options.tasks.join(','),
  like: options.reference,
  agent: 'command',
  command: options.command,
  skipFormat: true,
});
for (const change of tree.listChanges()) {
  if (change.type === 'DELETE') continue;
  mkdirSync(dirname(join(workspace, change.path)), { recursive: true });
  writeFileSync(join(workspace, change.path), change.content);
}

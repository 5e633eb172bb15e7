// npm run demo: the fan-out pattern's first three steps end to end, in a fresh
// workspace under tmp/demo, with the plugin built from this repository.
//   build the plugin -> pack it -> create-nx-workspace -> install fanout
//   -> init -> contracts (user, order, product) -> reference (users)
//   -> nx run-many -t typecheck test lint in the demo workspace
import { execFileSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const demoRoot = join(repo, 'tmp', 'demo');
const workspace = join(demoRoot, 'demo-ws');
const nxVersion = JSON.parse(readFileSync(join(repo, 'node_modules', 'nx', 'package.json'), 'utf-8')).version;

// The demo workspace is its own Nx workspace: nothing of this repository's nx run may leak into it.
const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('NX_')));
Object.assign(env, { NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_INTERACTIVE: 'false' });

let stepNumber = 0;
function step(title, program, args, cwd) {
  stepNumber += 1;
  const started = Date.now();
  console.log(`\n[demo ${stepNumber}] ${title}\n  $ ${[program, ...args].join(' ')}   (in ${cwd})`);
  execFileSync(program, args, { cwd, env, stdio: 'inherit' });
  console.log(`[demo ${stepNumber}] done in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}

const started = Date.now();
rmSync(demoRoot, { recursive: true, force: true });
mkdirSync(demoRoot, { recursive: true });

step('Build the fanout plugin', 'npx', ['nx', 'build', 'fanout', '--skip-nx-cache'], repo);
step('Pack it as the npm package users install', 'npm', ['pack', '--pack-destination', demoRoot], join(repo, 'packages', 'fanout'));
const tarball = join(demoRoot, readdirSync(demoRoot).find((file) => file.startsWith('fanout-') && file.endsWith('.tgz')));

step(
  `Create a fresh Nx ${nxVersion} workspace`,
  'npx',
  ['-y', `create-nx-workspace@${nxVersion}`, 'demo-ws', '--preset=ts', '--nxCloud=skip', '--interactive=false', '--packageManager=npm'],
  demoRoot,
);
// Nx 23's generated jest configs do not compile under TypeScript 6; 5.9 is what Nx 23 supports.
step('Pin TypeScript 5.9 and install fanout', 'npm', ['install', '-D', 'typescript@~5.9.3', tarball], workspace);
step('nx g fanout:init: register the plugin, write AGENTS.md', 'npx', ['nx', 'g', 'fanout:init'], workspace);
step(
  'nx g fanout:contracts: the shared types, validators and DbClient',
  'npx',
  ['nx', 'g', 'fanout:contracts', 'contracts', '--entities=user,order,product'],
  workspace,
);
step(
  'nx g fanout:reference: the users API every session will follow',
  'npx',
  ['nx', 'g', 'fanout:reference', 'users', '--contracts=contracts'],
  workspace,
);
step('Write the project graph', 'npx', ['nx', 'graph', `--file=${join(demoRoot, 'graph.json')}`], workspace);
const { graph } = JSON.parse(readFileSync(join(demoRoot, 'graph.json'), 'utf-8'));
for (const [project, dependencies] of Object.entries(graph.dependencies)) {
  const tags = graph.nodes[project]?.data?.tags ?? [];
  if (!tags.some((tag) => tag.startsWith('fanout:'))) continue;
  const targets = dependencies.map((dependency) => dependency.target).filter((target) => !target.startsWith('npm:'));
  console.log(`  ${project} [${tags.join(', ')}] → ${targets.join(', ') || '(no dependencies)'}`);
}
step('Typecheck, test and lint the demo workspace', 'npx', ['nx', 'run-many', '-t', 'typecheck', 'test', 'lint'], workspace);

console.log(
  `\nDemo finished in ${((Date.now() - started) / 1000).toFixed(0)} s. The workspace is at ${workspace}:\n` +
    `  contracts: ${join(workspace, 'packages', 'contracts', 'src')}\n` +
    `  reference: ${join(workspace, 'packages', 'users', 'src')}`,
);

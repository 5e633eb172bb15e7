// npm run demo: the fan-out pattern end to end on the built-in `pattern` agent,
// in a fresh workspace under tmp/demo, with the plugin built from this repository.
//   build the plugin -> pack it -> create-nx-workspace -> install fanout
//   -> init -> contracts (user, order, product, then invoice added) -> reference (users)
//   -> fanout:task orders,products,invoices --like=users
//   -> nx run-many -t fanout --parallel=3 (three sessions at once, each in its own worktree)
//   -> nx run-many -t test typecheck -> nx run-many -t fanout again (replayed from the cache)
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const demoRoot = join(repo, 'tmp', 'demo');
const workspace = join(demoRoot, 'demo-ws');
const nxVersion = JSON.parse(readFileSync(join(repo, 'node_modules', 'nx', 'package.json'), 'utf-8')).version;

// The demo workspace is its own Nx workspace: nothing of this repository's nx run may leak into it.
const env = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('NX_')));
Object.assign(env, { NX_DAEMON: 'false', NX_NO_CLOUD: 'true', NX_INTERACTIVE: 'false' });

// Commits in the demo repository use a fixed identity, whatever the machine's git config.
const identity = ['-c', 'user.name=fanout demo', '-c', 'user.email=demo@fanout.invalid'];

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
const tarball = join(
  demoRoot,
  readdirSync(demoRoot).find((file) => file.startsWith('fanout-') && file.endsWith('.tgz')),
);

step(
  `Create a fresh Nx ${nxVersion} workspace`,
  'npx',
  ['-y', `create-nx-workspace@${nxVersion}`, 'demo-ws', '--preset=ts', '--nxCloud=skip', '--interactive=false', '--packageManager=npm'],
  demoRoot,
);
// Nx 23's generated jest configs do not compile under TypeScript 6; 5.9 is what Nx 23 supports.
// Inside this repository create-nx-workspace skips `git init`; the fan-out needs a repository of its own.
if (!existsSync(join(workspace, '.git'))) {
  step('Make the demo workspace a git repository', 'git', ['init', '-q'], workspace);
}
step('Pin TypeScript 5.9 and install fanout', 'npm', ['install', '-D', 'typescript@~5.9.3', tarball], workspace);
step('nx g fanout:init: register the plugin, write AGENTS.md', 'npx', ['nx', 'g', 'fanout:init'], workspace);
step(
  'nx g fanout:contracts: the shared types, validators and DbClient',
  'npx',
  ['nx', 'g', 'fanout:contracts', 'contracts', '--entities=user,order,product', '--linter=eslint', '--unitTestRunner=jest'],
  workspace,
);
step(
  'nx g fanout:contracts again: add the invoice entity (an AST edit; nothing else changes)',
  'npx',
  ['nx', 'g', 'fanout:contracts', 'contracts', '--entities=invoice'],
  workspace,
);
step(
  'nx g fanout:reference: the users API every session will follow',
  'npx',
  ['nx', 'g', 'fanout:reference', 'users', '--contracts=contracts', '--linter=eslint', '--unitTestRunner=jest'],
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
step('Typecheck, test and lint the contracts and the reference', 'npx', ['nx', 'run-many', '-t', 'typecheck', 'test', 'lint'], workspace);
step('Commit the contracts and the reference: sessions start from this commit', 'git', [...identity, 'add', '-A'], workspace);
step('git commit', 'git', [...identity, 'commit', '-q', '-m', 'contracts and reference'], workspace);
step(
  'nx g fanout:task: three tasks that follow the users reference',
  'npx',
  ['nx', 'g', 'fanout:task', 'orders,products,invoices', '--like=users'],
  workspace,
);
step('Show the fanout target Nx inferred for a task', 'npx', ['nx', 'show', 'project', 'orders'], workspace);
step('nx run-many -t fanout --parallel=3: the fan-out', 'npx', ['nx', 'run-many', '-t', 'fanout', '--parallel=3'], workspace);

console.log('\nWhat each session did (.fanout/sessions/<project>/result.json):');
const results = ['orders', 'products', 'invoices'].map((project) =>
  JSON.parse(readFileSync(join(workspace, '.fanout', 'sessions', project, 'result.json'), 'utf-8')),
);
const origin = Math.min(...results.map((result) => Date.parse(result.startedAt)));
for (const result of results) {
  const from = Date.parse(result.startedAt) - origin;
  const to = Date.parse(result.endedAt) - origin;
  const sandbox = result.sandbox?.on ? 'sandboxed' : `not sandboxed (sandbox: ${result.sandbox?.mode ?? 'unknown'})`;
  console.log(
    `  ${result.project.padEnd(9)} ${result.status.padEnd(9)} ${String(from).padStart(5)}–${String(to).padEnd(5)} ms  ${sandbox}  ` +
      `${result.files.length} file(s): ${result.files.map((file) => file.path.split('/').pop()).join(', ')}`,
  );
}
const overlapping = results.every((a) => results.every((b) => Date.parse(a.startedAt) < Date.parse(b.endedAt)));
console.log(`  the sessions ${overlapping ? 'ran at the same time (their start–end times overlap)' : 'did not all overlap'}`);

step('Test and typecheck the integrated workspace', 'npx', ['nx', 'run-many', '-t', 'test', 'typecheck'], workspace);
step('nx run-many -t fanout again: every session replays from the cache', 'npx', ['nx', 'run-many', '-t', 'fanout'], workspace);

console.log(
  `\nDemo finished in ${((Date.now() - started) / 1000).toFixed(0)} s. The workspace is at ${workspace}:\n` +
    `  contracts: ${join(workspace, 'packages', 'contracts', 'src')}\n` +
    `  reference: ${join(workspace, 'packages', 'users', 'src')}\n` +
    `  sessions:  ${join(workspace, '.fanout', 'sessions')}`,
);

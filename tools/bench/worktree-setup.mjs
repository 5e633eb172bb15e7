// Worktree setup in a large workspace: 2,000 projects, 20,000 committed files.
// fanout's createWorktree with the plugin's sparseCheckout (what the session
// needs) and without it (the whole workspace, the default), against the
// baseline of git alone: `git worktree add` of the same commit.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pluginModule, run } from './plugin.mjs';
import { median, measure } from './stats.mjs';

const PROJECTS = 2000;
const FILES_PER_PROJECT = 10;
const MARKER = '.bench-workspace.json';
const IDENTITY = ['-c', 'user.name=fanout bench', '-c', 'user.email=bench@fanout.invalid', '-c', 'commit.gpgsign=false'];
const name = (index) => `lib-${String(index).padStart(4, '0')}`;
const SESSION = { project: name(1000), contracts: name(0), reference: name(1) };

function git(root, args) {
  return run('git', [...IDENTITY, ...args], { cwd: root });
}

/**
 * The large workspace, committed. Reused from an earlier run when it is still as
 * generated (same shape, nothing uncommitted): writing and committing 20,000 files
 * is most of this benchmark's time on a slow disk.
 */
function largeWorkspace(root) {
  const shape = { projects: PROJECTS, filesPerProject: FILES_PER_PROJECT };
  if (existsSync(join(root, MARKER)) && readFileSync(join(root, MARKER), 'utf-8') === JSON.stringify(shape)) {
    try {
      if (git(root, ['status', '--porcelain']).trim() === '') return false;
    } catch {
      // Not a usable repository: generate it again.
    }
  }
  rmSync(root, { recursive: true, force: true });
  mkdirSync(root, { recursive: true });
  const write = (path, text) => {
    mkdirSync(join(root, path, '..'), { recursive: true });
    writeFileSync(join(root, path), text);
  };
  write('nx.json', '{ "extends": "nx/presets/npm.json" }\n');
  write('package.json', JSON.stringify({ name: '@large/source', private: true }, null, 2));
  write('AGENTS.md', '# Conventions\n');
  write('.gitignore', 'node_modules\n.fanout/\n');
  for (let index = 0; index < PROJECTS; index++) {
    const project = `libs/${name(index)}`;
    write(`${project}/project.json`, JSON.stringify({ name: name(index), sourceRoot: `${project}/src` }, null, 2));
    write(`${project}/README.md`, `# ${name(index)}\n`);
    write(`${project}/tsconfig.json`, '{ "extends": "../../tsconfig.base.json" }\n');
    write(`${project}/src/index.ts`, "export * from './lib/part-0';\n");
    for (let part = 0; part < FILES_PER_PROJECT - 4; part++) {
      write(`${project}/src/lib/part-${part}.ts`, `export const value${part} = ${index};\n`.repeat(30));
    }
  }
  mkdirSync(join(root, 'node_modules'));
  git(root, ['init', '-q', '-b', 'main']);
  git(root, ['add', '-A']);
  git(root, ['commit', '-q', '-m', `${PROJECTS} projects`]);
  writeFileSync(join(root, MARKER), JSON.stringify(shape));
  // The marker stays out of git status: the reuse check wants a clean tree.
  writeFileSync(join(root, '.git', 'info', 'exclude'), `${MARKER}\n`);
  return true;
}

export async function benchWorktreeSetup({ workspace, scratch, repetitions = { sparse: 5, full: 2 } }) {
  const root = join(scratch, 'large');
  const generated = largeWorkspace(root);
  const files = git(root, ['ls-files']).trim().split('\n').length;
  const { createWorktree, removeWorktree } = pluginModule(workspace, 'core/session/worktree');
  const keep = [SESSION.project, SESSION.contracts, SESSION.reference].map((project) => `libs/${project}`);
  const leave = Array.from({ length: PROJECTS }, (_, index) => `libs/${name(index)}`).filter((project) => !keep.includes(project));

  const session = async (checkout) => {
    const created = await measure(() => createWorktree(root, SESSION.project, [], checkout));
    const removed = await measure(() => removeWorktree(root, SESSION.project));
    return { created, removed, sparse: created.value.sparse === true };
  };
  const plain = join(scratch, 'plain-worktree');
  const gitAlone = async () => {
    rmSync(plain, { recursive: true, force: true });
    const created = await measure(() => git(root, ['worktree', 'add', '-q', '--detach', plain, 'HEAD']));
    git(root, ['worktree', 'remove', '--force', plain]);
    return created;
  };

  const sparse = [];
  const full = [];
  const baseline = [];
  for (let index = 0; index < repetitions.sparse; index++) sparse.push(await session({ keep, leave }));
  for (let index = 0; index < repetitions.full; index++) {
    full.push(await session(undefined));
    baseline.push(await gitAlone());
  }
  if (!sparse.every((entry) => entry.sparse)) throw new Error('createWorktree did not make a sparse checkout in the large workspace.');
  const baselineMs = median(baseline.map((entry) => entry.wallMs));
  const sparseMs = median(sparse.map((entry) => entry.created.wallMs));
  const fullMs = median(full.map((entry) => entry.created.wallMs));
  const shape = `${PROJECTS} projects, ${files} files${generated ? '' : ' (reused from an earlier run)'}`;
  return [
    {
      bench: 'worktree setup',
      figure: 'createWorktree, sparse checkout (the default)',
      value: sparseMs,
      unit: 'ms',
      baseline: { label: 'git worktree add (full checkout)', value: baselineMs },
      target: { text: '≤ 1 s', met: sparseMs <= 1000 },
      note: `${shape}; keeps 3 projects; removal ${Math.round(median(sparse.map((entry) => entry.removed.wallMs)))} ms; median of ${repetitions.sparse}`,
    },
    {
      bench: 'worktree setup',
      figure: 'createWorktree, whole workspace (sparseCheckout: false)',
      value: fullMs,
      unit: 'ms',
      baseline: { label: 'git worktree add (full checkout)', value: baselineMs },
      note: `${shape}; removal ${Math.round(median(full.map((entry) => entry.removed.wallMs)))} ms; median of ${repetitions.full}`,
    },
  ];
}

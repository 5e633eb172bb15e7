import { execFileSync, spawn, type ChildProcess } from 'child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'fs';
import { tmpdir } from 'os';
import { dirname, join } from 'path';
import { parseAssignment } from '../core/session/assignment';
import { assembleBase } from '../core/session/prompt';
import type { SessionSpec } from '../core/session/session-spec';

/**
 * A real git repository in a temporary folder, shaped like a small fan-out
 * workspace (conventions, contracts, a reference, task projects), for tests that
 * run sessions against real worktrees and real processes. `scripts` is a sibling
 * temporary folder for agent scripts, outside the repository.
 */
export interface TestWorkspace {
  root: string;
  scripts: string;
  remove(): void;
}

const CONTRACTS_INDEX = `export interface User { id: string; name: string }
export const USERS_COLLECTION = 'users' as const;
`;

export function write(root: string, file: string, text: string): void {
  mkdirSync(dirname(join(root, file)), { recursive: true });
  writeFileSync(join(root, file), text);
}

export function gitIn(root: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=test', '-c', 'user.email=test@example.com', ...args], {
    cwd: root,
    encoding: 'utf-8',
  });
}

/** A committed workspace with the task projects `projects` (each with an empty `src/index.ts`). */
export function createWorkspace(projects: readonly string[]): TestWorkspace {
  const root = mkdtempSync(join(tmpdir(), 'fanout-ws-'));
  const scripts = mkdtempSync(join(tmpdir(), 'fanout-agents-'));
  write(root, '.gitignore', 'node_modules\n.fanout/\n');
  write(root, 'AGENTS.md', '# Conventions\nUse the contracts.\n');
  write(root, 'libs/contracts/src/index.ts', CONTRACTS_INDEX);
  write(root, 'libs/users/src/index.ts', "export const USERS = 'users';\n");
  for (const project of projects) write(root, `libs/${project}/src/index.ts`, 'export {};\n');
  mkdirSync(join(root, 'node_modules'));
  gitIn(root, 'init', '-q', '-b', 'main');
  gitIn(root, 'add', '-A');
  gitIn(root, 'commit', '-q', '-m', 'base');
  return {
    root,
    scripts,
    remove() {
      rmSync(root, { recursive: true, force: true });
      rmSync(scripts, { recursive: true, force: true });
    },
  };
}

/** A command agent: a node script (fs, path and child_process in scope), run with the worktree as cwd. */
export function agentScript(workspace: TestWorkspace, name: string, body: string): string {
  const path = join(workspace.scripts, `${name}-${Math.random().toString(36).slice(2)}.js`);
  writeFileSync(path, `const fs = require('fs'); const path = require('path'); const cp = require('child_process');\n${body}\n`);
  return path;
}

/** fanout.md for the command agent running `argv` (a template), with extra front matter lines. */
export function commandTask(argv: string, extra = ''): string {
  return `---\nlike: users\ncontracts: contracts\nagent: command\ncommand: ${argv}\n${extra}---\n\nBuild it.\n`;
}

/** The session of task `project`, with its fanout.md written. */
export function sessionSpec(root: string, project: string, fanoutMd: string, overrides: Partial<SessionSpec> = {}): SessionSpec {
  const contracts = { project: 'contracts', root: 'libs/contracts', importPath: '@ws/contracts' };
  const reference = { project: 'users', root: 'libs/users' };
  write(root, `libs/${project}/fanout.md`, fanoutMd);
  return {
    workspaceRoot: root,
    project,
    projectRoot: `libs/${project}`,
    assignment: parseAssignment(fanoutMd, `libs/${project}/fanout.md`),
    contracts,
    reference,
    base: assembleBase({ workspaceRoot: root, conventions: ['AGENTS.md'], contracts, reference }),
    copyFiles: [],
    portBase: 20_000,
    echo: false,
    // Sessions here run unsandboxed (each sandboxed one costs about a second): the sandbox's own tests ask for it.
    sandbox: { mode: 'off', denyRead: [], allowedDomains: [], env: [] },
    ...overrides,
  };
}

/** Live members of a process group (zombies, which have ended, excluded), from /proc. */
export function groupMembers(pgid: number): number[] {
  const members: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf-8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (fields[0] !== 'Z' && Number(fields[2]) === pgid) members.push(Number(entry));
    } catch {
      // Ended while we looked.
    }
  }
  return members;
}

/** Polls `condition` until it holds; throws with `what` if it does not within `limitMs` (a bound, not a measurement). */
export async function eventually(condition: () => boolean, what: string, limitMs = 20_000): Promise<void> {
  const deadline = Date.now() + limitMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`still waiting for: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** The path of every file under `dir` (relative) with its content, for before/after comparisons. */
export function snapshot(dir: string, skip: (relative: string) => boolean = () => false): Record<string, string> {
  const files: Record<string, string> = {};
  const visit = (relative: string) => {
    for (const entry of readdirSync(join(dir, relative), { withFileTypes: true })) {
      const path = relative ? `${relative}/${entry.name}` : entry.name;
      if (skip(path)) continue;
      if (entry.isDirectory()) visit(path);
      else files[path] = readFileSync(join(dir, path), 'utf-8');
    }
  };
  visit('');
  return files;
}

/**
 * Runs a TypeScript module of the plugin's source in a child node process (for
 * tests that kill the process running fanout). Stdout and stderr are collected.
 */
export function spawnTypeScript(script: string, args: string[]): ChildProcess & { output: () => string } {
  const child = spawn(process.execPath, ['-r', '@swc-node/register', script, ...args], {
    cwd: join(__dirname, '..', '..'),
    env: { ...process.env, SWC_NODE_PROJECT: join(__dirname, '..', '..', 'tsconfig.spec.json') },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  return Object.assign(child, { output: () => output });
}

import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { readJsonFile, workspaceRoot } from '@nx/devkit';
import { childEnv, runCommand, type CommandResult } from './run-command';

/**
 * The workspaces the e2e suites run in. Creating an Nx workspace and installing the
 * plugin takes minutes, so it happens once per suite run: the global setup creates a
 * bare workspace, the first suite that needs fanout installed makes a "ready" copy of it
 * (fanout added, contracts and reference generated, committed), and every suite then
 * works in its own copy, its node_modules hard-linked (nothing in a test writes there).
 */

// Limits for a busy machine: on an idle one the slowest install takes about a third of
// INSTALLING. A command's limit is below its test's, so a timeout reports its output.
export const INSTALLING = 5 * 60_000;
export const TEST_LIMIT = INSTALLING + 60_000;

/** The Nx this plugin is built and tested with; the workspace under test gets it, never @latest. */
export const nxVersion = readJsonFile<{ version: string }>(join(workspaceRoot, 'node_modules/nx/package.json')).version;

export function requireEnv(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: run this suite with \`npx nx e2e fanout-e2e\`, whose global setup sets it.`);
  return value;
}

/** npm and Nx settings for commands in a workspace under test: the local registry, no daemon. */
export function e2eEnv(): NodeJS.ProcessEnv {
  const registryEnv = JSON.parse(requireEnv('FANOUT_E2E_REGISTRY_ENV')) as Record<string, string>;
  return childEnv({
    ...registryEnv,
    NX_DAEMON: 'false',
    NX_NO_CLOUD: 'true',
    NX_TUI: 'false',
  });
}

/** What the tests read of `.fanout/sessions/<project>/result.json`. */
export interface SessionResult {
  project: string;
  status: 'succeeded' | 'failed';
  agent: string;
  startedAt: string;
  endedAt: string;
  baseCommit: string;
  files: { path: string; status: string; sha256?: string }[];
  rejected: { path: string; status: string; reason: string }[];
  error?: string;
  worktree?: string;
  /** The session's log file, absolute. */
  log: string;
  costUsd?: number;
  tokens?: { input?: number; output?: number; cacheRead?: number; cacheWrite?: number };
  sessionId?: string;
  rounds?: {
    round: number;
    failed?: string;
    costUsd?: number;
    tokens?: { input?: number; output?: number };
    gate: { target: string; ok: boolean; durationMs: number }[];
  }[];
  gate?: { ok: boolean; project: string; targets: { target: string; ok: boolean; output: string }[] };
  wired?: { path: string; project: string; status: string }[];
  /** When its record landed in this workspace; absent until it has. */
  integratedAt?: string;
  landing?: { ranNow: boolean; files: { path: string; action: string; reason?: string }[] };
  lead?: { role: 'lead' } | { role: 'follower'; lead: string; waitedMs: number; outcome: 'response' | 'ended' | 'timeout' };
  /** Under a run budget: what the session spent, and whether it was stopped at the cap. */
  budget?: { spentUsd: number; tokens: number; stopped?: boolean };
}

/** One workspace under test, and what the tests do in it. */
export class TestWorkspace {
  /**
   * Nx 23 keeps one local cache for every checkout of a repository (`~/.nx/<id>`), so
   * the copies of one workspace would replay each other's tasks: each keeps its own.
   */
  constructor(
    readonly root: string,
    readonly env: NodeJS.ProcessEnv = { ...e2eEnv(), NX_CACHE_DIRECTORY: join(root, '.nx', 'cache') },
  ) {}

  run(command: string, args: string[], timeoutMs?: number) {
    return runCommand(command, args, { cwd: this.root, env: this.env, timeoutMs });
  }

  /** Resolves with the result even when the command fails. */
  runFailing(command: string, args: string[], timeoutMs?: number) {
    return runCommand(command, args, {
      cwd: this.root,
      env: this.env,
      timeoutMs,
      allowFailure: true,
    });
  }

  nx(args: string[], timeoutMs?: number): Promise<CommandResult> {
    return this.run('npx', ['nx', ...args], timeoutMs);
  }

  nxFailing(args: string[], timeoutMs?: number): Promise<CommandResult> {
    return this.runFailing('npx', ['nx', ...args], timeoutMs);
  }

  path(...parts: string[]): string {
    return join(this.root, ...parts);
  }

  exists(path: string): boolean {
    return existsSync(this.path(path));
  }

  readFile(path: string): string {
    return readFileSync(this.path(path), 'utf8');
  }

  readJson<T extends object>(path: string): T {
    return readJsonFile<T>(this.path(path));
  }

  writeFile(path: string, content: string): void {
    const file = this.path(path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content);
  }

  /** Sets options of the fanout plugin's entry in nx.json (the entry `nx add fanout` wrote). */
  setPluginOptions(options: Record<string, unknown>): void {
    const nxJson = this.readJson<{ plugins?: (string | { plugin: string; options?: Record<string, unknown> })[] }>('nx.json');
    const plugins = (nxJson.plugins ?? []).map((entry) => (typeof entry === 'string' ? { plugin: entry } : entry));
    const fanout = plugins.find((entry) => entry.plugin === 'fanout');
    if (!fanout) throw new Error(`nx.json of ${this.root} registers no fanout plugin`);
    fanout.options = { ...fanout.options, ...options };
    this.writeFile('nx.json', `${JSON.stringify({ ...nxJson, plugins }, null, 2)}\n`);
  }

  sha256(path: string): string {
    return createHash('sha256')
      .update(readFileSync(this.path(path)))
      .digest('hex');
  }

  readResult(project: string): SessionResult {
    return this.readJson<SessionResult>(`.fanout/sessions/${project}/result.json`);
  }
  /**
   * The session's record as its session target wrote it (and a cache holds it): result.json
   * without what the landing adds in this workspace (integratedAt, landing, how each wired edit landed).
   */
  readRecord(project: string): Omit<SessionResult, 'integratedAt' | 'landing' | 'wired'> {
    const { integratedAt: _landedAt, landing: _landing, wired: _wired, ...record } = this.readResult(project);
    return record;
  }

  /** Every project's root and tags, from one `nx graph` (each nx call computes the graph). */
  async projectGraphNodes(): Promise<Record<string, { root: string; tags?: string[] }>> {
    const graphFile = join(dirname(this.root), `graph-${Date.now()}.json`);
    await this.nx(['graph', `--file=${graphFile}`]);
    const { graph } = readJsonFile<{
      graph: {
        nodes: Record<string, { data: { root: string; tags?: string[] } }>;
      };
    }>(graphFile);
    rmSync(graphFile, { force: true });
    return Object.fromEntries(Object.entries(graph.nodes).map(([name, node]) => [name, node.data]));
  }

  /** The paths of the repository's worktrees, the workspace's own first. */
  async worktrees(): Promise<string[]> {
    const list = (await this.run('git', ['worktree', 'list', '--porcelain'])).stdout;
    return list
      .split('\n')
      .filter((line) => line.startsWith('worktree '))
      .map((line) => line.slice('worktree '.length));
  }

  async fanoutBranches(): Promise<string[]> {
    const list = (await this.run('git', ['branch', '--list', 'fanout/*', '--format=%(refname:short)'])).stdout;
    return list.split('\n').filter(Boolean);
  }

  /** `git status` and a hash of every file git does not ignore: what a command must not change. */
  async snapshot(): Promise<{ status: string; files: Record<string, string> }> {
    const status = (await this.run('git', ['status', '--porcelain'])).stdout;
    const listed = (await this.run('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'])).stdout;
    const files: Record<string, string> = {};
    for (const path of listed.split('\0').filter(Boolean)) {
      const file = this.path(path);
      files[path] = existsSync(file) ? createHash('sha1').update(readFileSync(file)).digest('hex') : 'deleted';
    }
    return { status, files };
  }

  /**
   * Commits every change (or only those under `paths`); the workspace is made a git
   * repository first if it is not one, whatever git's global settings.
   */
  async commitEverything(message: string, paths: string[] = []): Promise<void> {
    if (!this.exists('.git')) await this.run('git', ['init', '-q']);
    await this.run('git', ['config', 'user.name', 'fanout e2e']);
    await this.run('git', ['config', 'user.email', 'fanout-e2e@example.com']);
    await this.run('git', ['add', '-A', '--', ...paths]);
    await this.run('git', ['commit', '-q', '--allow-empty', '--no-verify', '-m', message]);
  }
}

/**
 * Creates a bare Nx workspace (the `ts` preset, TypeScript pinned, committed) in
 * `parent/name`. Used by the global setup, once per suite run.
 */
export async function createBareWorkspace(parent: string, name: string, env: NodeJS.ProcessEnv): Promise<TestWorkspace> {
  await runCommand(
    'npx',
    ['-y', `create-nx-workspace@${nxVersion}`, name, '--preset=ts', '--nxCloud=skip', '--interactive=false', '--packageManager=npm'],
    { cwd: parent, env, timeoutMs: INSTALLING },
  );
  const workspace = new TestWorkspace(join(parent, name), env);
  // create-nx-workspace installs TypeScript 6 here, with which the jest.config.cts files
  // Nx 23 generates do not compile (TS2591: cannot find name 'require'/'module').
  await workspace.run('npm', ['install', '-D', 'typescript@~5.9.3'], INSTALLING);
  await workspace.commitEverything('e2e: workspace as created');
  return workspace;
}

/**
 * Copies a workspace, its git repository included. node_modules is hard-linked: the
 * copy is made in seconds, and npm replaces files rather than writing into them.
 */
export async function copyWorkspace(from: string, to: string): Promise<void> {
  mkdirSync(to, { recursive: true });
  for (const entry of readdirSync(from)) {
    const flags = entry === 'node_modules' ? '-al' : '-a';
    await runCommand('cp', [flags, join(from, entry), join(to, entry)], {
      cwd: from,
      env: process.env,
    });
  }
}

/** A fresh copy of the bare workspace in a new temporary folder, for one suite. */
export async function bareWorkspace(suite: string): Promise<TestWorkspace> {
  const root = join(mkdtempSync(join(tmpdir(), `fanout-e2e-${suite}-`)), 'ws');
  await copyWorkspace(requireEnv('FANOUT_E2E_BARE'), root);
  return new TestWorkspace(root);
}

const READY_ENTITIES = ['user', 'order', 'product', 'invoice'];

/** The scaffold's own targets gate the fan-out: lint and tests, whatever the workspace's defaults. */
export const CHECKED = ['--linter=eslint', '--unitTestRunner=jest'];

/**
 * A fresh copy of a workspace with fanout added, contracts (`contracts`, with the
 * READY_ENTITIES) and a reference (`users`) generated and committed. The ready
 * workspace is made on first use and reused by the suites after it.
 */
export async function readyWorkspace(suite: string): Promise<TestWorkspace> {
  const ready = `${requireEnv('FANOUT_E2E_BARE')}-ready`;
  await buildOnce(ready, async () => {
    rmSync(ready, { recursive: true, force: true });
    await copyWorkspace(requireEnv('FANOUT_E2E_BARE'), ready);
    const workspace = new TestWorkspace(ready);
    await workspace.nx(['add', `fanout@${requireEnv('FANOUT_E2E_VERSION')}`], INSTALLING);
    await workspace.nx(
      ['g', 'fanout:contracts', 'contracts', `--entities=${READY_ENTITIES.join(',')}`, ...CHECKED, '--no-interactive'],
      INSTALLING,
    );
    await workspace.nx(['g', 'fanout:reference', 'users', '--contracts=contracts', ...CHECKED, '--no-interactive'], INSTALLING);
    await workspace.commitEverything('e2e: fanout, contracts and reference');
  });
  const root = join(mkdtempSync(join(tmpdir(), `fanout-e2e-${suite}-`)), 'ws');
  await copyWorkspace(ready, root);
  return new TestWorkspace(root);
}

/**
 * Runs `build` once across the suites, which run in parallel jest workers: the
 * first to create `<path>.lock` builds and then writes `<path>.done`; the others
 * wait for it. If the builder fails, it removes its lock and the next suite tries.
 */
export async function buildOnce(path: string, build: () => Promise<void>): Promise<void> {
  const done = `${path}.done`;
  const lock = `${path}.lock`;
  const deadline = Date.now() + 2 * INSTALLING;
  while (!existsSync(done)) {
    let mine = false;
    try {
      mkdirSync(lock);
      mine = true;
    } catch {
      // Another suite is building it.
    }
    if (mine) {
      try {
        if (!existsSync(done)) {
          await build();
          writeFileSync(done, '');
        }
      } finally {
        rmSync(lock, { recursive: true, force: true });
      }
      return;
    }
    if (Date.now() > deadline) throw new Error(`${path} was not built within ${(2 * INSTALLING) / 60_000} minutes by another suite.`);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
}

/** Removes a suite's workspace, unless FANOUT_E2E_KEEP=1 asks to keep it for inspection. */
export function removeWorkspace(workspace: TestWorkspace | undefined): void {
  if (!workspace) return;
  if (process.env.FANOUT_E2E_KEEP === '1') {
    console.log(`FANOUT_E2E_KEEP=1: the workspace under test is kept in ${workspace.root}`);
    return;
  }
  rmSync(dirname(workspace.root), { recursive: true, force: true });
}

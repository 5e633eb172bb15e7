import { copyFileSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync } from 'fs';
import { homedir, tmpdir } from 'os';
import { basename, dirname, join, resolve } from 'path';
import { sandboxEnv } from './env';
import { isWithin, policySummary, sandboxPolicy, type ProviderEndpoint, type SandboxPolicy, type SandboxPolicySummary } from './policy';
import type { SandboxDenial } from './sandbox';
import { releaseRunner, sessionRunner, type SandboxRunner } from './sandbox-runner';
import type { SessionSandboxSetting } from './settings';

/** What an agent needs from the sandbox: each adapter says it once, for every session. */
export interface AgentSandboxNeeds {
  /** The APIs it talks to: the host of each one's base URL variable (or its default) is reachable. */
  providers?: readonly ProviderEndpoint[];
  /**
   * Hosts (`host:port`) its own configuration sends it to, such as a provider its config file defines,
   * read from the agent's environment (after `state`): reachable too, as its providers are.
   */
  hosts?(env: NodeJS.ProcessEnv): string[];
  /** The variables it reads its key, base URL and configuration from (names, or prefixes ending in `*`). */
  variables?: readonly string[];
  /** It may run the workspace's nx: a cache and workspace data of its own, no daemon. */
  nx?: boolean;
  /**
   * Its CLI's state (session store, configuration, login) in `folder`, a folder of the session's own
   * that lasts all its rounds: copies what the CLI needs from the user's own state, and returns the
   * variables that point the CLI at it. The user's own state folders stay unwritable.
   */
  state?(folder: string, env: NodeJS.ProcessEnv): Record<string, string>;
}

/** What runProcess needs to run a process sandboxed, and the list it adds what the sandbox denied to. */
export interface ProcessSandbox {
  policy: SandboxPolicy;
  denied: SandboxDenial[];
  /** The session's runner, started ahead, for each of its processes in turn (runProcess starts one of its own without it). */
  runner?(): SandboxRunner | undefined;
}

/**
 * Adds the denials of `policy` not seen before (same kind and target) to `into`. Left out: paths the
 * policy lets the process write, and paths through a file descriptor (/proc/self/fd/N/...), which the
 * Linux monitor names for writes it cannot place and which are not refusals.
 */
export function addDenials(into: SandboxDenial[], denials: readonly SandboxDenial[], policy: SandboxPolicy): void {
  for (const denial of denials) {
    if (denial.kind === 'filesystem') {
      if (/^\/proc\/(self|\d+)\/fd\//.test(denial.target)) continue;
      if (policy.allowWrite.some((folder) => isWithin(denial.target, folder))) continue;
    }
    if (!into.some((seen) => seen.kind === denial.kind && seen.target === denial.target)) into.push(denial);
  }
}

/** Copies `from` to `to` when it is a file (a CLI's login or configuration the session's state folder needs). */
export function copyIfPresent(from: string, to: string): void {
  try {
    if (!existsSync(from) || !statSync(from).isFile()) return;
    mkdirSync(dirname(to), { recursive: true });
    copyFileSync(from, to);
  } catch {
    // Unreadable: the CLI then says what it misses.
  }
}

/** The home folder of `env` (HOME), else the process's. */
export function homeOf(env: NodeJS.ProcessEnv): string {
  return env['HOME'] || homedir();
}

/**
 * One session's sandbox: its private folder (temp files, the CLI's state, its Nx cache), outside
 * the checkout and removed when the session ends, the policy each of its agent's processes runs
 * under, and every denial they met.
 */
export class SessionSandbox {
  readonly denied: SandboxDenial[] = [];
  private lastPolicy: SandboxPolicy | undefined;
  private runner: SandboxRunner | undefined;
  private closed = false;

  private constructor(
    readonly setting: SessionSandboxSetting,
    readonly privateTemp: string,
  ) {}

  /**
   * A session's sandbox. `keptState`: the CLI's state a finished session kept (`keepState`), taken
   * back as this sandbox's own, so that the CLI resumes that session's conversation.
   */
  static open(setting: SessionSandboxSetting, keptState?: string): SessionSandbox {
    // A short name: the folder's paths must stay short enough for Unix sockets the agent's tools make in it.
    const sandbox = new SessionSandbox(setting, mkdtempSync(join(tmpdir(), 'fanout-agent-')));
    if (keptState !== undefined && isKeptState(keptState) && existsSync(join(keptState, 'state'))) {
      renameSync(join(keptState, 'state'), sandbox.stateFolder);
      rmSync(keptState, { recursive: true, force: true });
    }
    return sandbox;
  }

  /**
   * Moves the CLI's state (its conversation) out of the private folder, to outlive the session for
   * fanout-verify's repairs of the whole, which resume the conversation on this machine. Returns
   * its folder, or undefined when the CLI kept nothing. `removeKeptState` removes it.
   */
  keepState(): string | undefined {
    if (this.closed || !existsSync(this.stateFolder)) return undefined;
    const kept = mkdtempSync(join(tmpdir(), KEPT_STATE_PREFIX));
    renameSync(this.stateFolder, join(kept, 'state'));
    return kept;
  }

  /** The CLI's state folder: in the private folder, so it lasts the session's rounds (a resumed conversation) and no longer. */
  get stateFolder(): string {
    return join(this.privateTemp, 'state');
  }

  /**
   * The agent's environment: the basics, its own variables and the `env` allow list out of `parent`
   * (GITHUB_TOKEN, AWS_*, NPM_TOKEN stay out), then the variables that point its CLI at its state.
   */
  env(parent: NodeJS.ProcessEnv, needs: AgentSandboxNeeds | undefined): NodeJS.ProcessEnv {
    const env = sandboxEnv(parent, { agentVariables: [...(needs?.variables ?? [])], allow: this.setting.env });
    if (!needs?.state) return env;
    mkdirSync(this.stateFolder, { recursive: true });
    return { ...env, ...needs.state(this.stateFolder, env) };
  }

  /** What one of the agent's processes runs under: the worktree, the private folder, and its provider's API. */
  process(options: { worktree: string; checkout: string; env: NodeJS.ProcessEnv; needs: AgentSandboxNeeds | undefined }): ProcessSandbox {
    const policy = sandboxPolicy({
      worktree: options.worktree,
      privateTemp: this.privateTemp,
      checkout: options.checkout,
      home: homeOf(options.env),
      denyRead: this.setting.denyRead,
      providers: [...(options.needs?.providers ?? [])],
      allowedDomains: [...this.setting.allowedDomains, ...(options.needs?.hosts?.(options.env) ?? [])],
      env: options.env,
      nx: options.needs?.nx === true,
    });
    this.lastPolicy = policy;
    return { policy, denied: this.denied, runner: () => this.runner };
  }

  /**
   * Takes the session's runner now, in `env` (the agent's): one an ended session of this process gave
   * back, set up already, else one started now, which loads and sets up the sandbox while the session
   * makes its worktree. Each of the agent's processes runs in it in turn, each under its own policy.
   */
  prestart(env: NodeJS.ProcessEnv): void {
    if (this.runner || this.closed) return;
    this.runner = sessionRunner(env);
  }

  /** The policy for result.json: paths, hosts and variable names, no values. */
  summary(): SandboxPolicySummary | undefined {
    return this.lastPolicy && policySummary(this.lastPolicy);
  }

  /** Removes the private folder, and gives the session's runner back (for a session still to come) or ends it. */
  close(): void {
    this.closed = true;
    if (this.runner) releaseRunner(this.runner);
    this.runner = undefined;
    rmSync(this.privateTemp, { recursive: true, force: true });
  }
}

const KEPT_STATE_PREFIX = 'fanout-state-';

/**
 * Whether `path` is a folder `keepState` made: a result.json names it, and a result.json may come
 * from another machine's cache, so nothing else is ever taken or removed.
 */
export function isKeptState(path: string): boolean {
  return resolve(path) === path && dirname(path) === resolve(tmpdir()) && basename(path).startsWith(KEPT_STATE_PREFIX);
}

/** Removes a CLI state a session kept (`keepState`), once nothing will resume its conversation. */
export function removeKeptState(path: string | undefined): void {
  if (path !== undefined && isKeptState(path)) rmSync(path, { recursive: true, force: true });
}
